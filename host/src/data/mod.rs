//! Market data sources.

pub mod candles;

pub use candles::{Candle, CandleError, CandleSeries, Layout, parse_candles, read_candles};
