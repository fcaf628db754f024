//! Market data sources.

pub mod candles;

pub use candles::{CANONICAL_HEADER, Candle, CandleError, CandleSeries, Layout, parse_candles, read_candles};
