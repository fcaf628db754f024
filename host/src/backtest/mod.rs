//! Backtesting: the candle replay loop, the simulated venue, portfolio
//! accounting and the trade ledger.

pub mod account;
pub mod engine;
pub mod trades;
pub mod venue;

pub use engine::{
    BacktestConfig, BacktestError, BacktestResult, EquityPoint, FaultRecord, OnFault, RejectionRecord, format_time, run,
    run_many,
};
pub use trades::Trade;
pub use venue::{Costs, FillRecord};
