//! Backtest reports: metrics, the terminal summary and the files written
//! with `--out`.

pub mod files;
pub mod metrics;
pub mod summary;

pub use files::{Report, write_report};
pub use metrics::{Metrics, compute};
