//! WebSocket market data and user channel.

pub mod fills;
pub mod stream;

pub use fills::{CumulativeOrder, DerivedFill, FillTracker};
pub use stream::{StreamConfig, StreamEvent, backoff, run};
