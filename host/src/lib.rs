//! stratbox runs crypto trading strategies as sandboxed WebAssembly
//! components: the same component is backtested on candle files and traded
//! live, while the host keeps the exchange key, the connection and the risk
//! limits to itself.

pub mod backtest;
pub mod bundled;
pub mod coinbase;
pub mod config;
pub mod data;
pub mod report;
pub mod risk;
pub mod sandbox;
pub mod secrets;
pub mod strategy;
