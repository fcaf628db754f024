//! The Coinbase Advanced Trade client: API keys and request signing, exact
//! decimals on product increments, and the REST endpoints with safe order
//! submission.

pub mod auth;
pub mod decimal;
pub mod download;
pub mod http;
pub mod ws;

pub use auth::{ApiKey, ExchangeClock, KeyError, RequestTarget};
pub use decimal::{Increments, QuantizeError, wire};
