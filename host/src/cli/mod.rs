//! Command-line arguments and the commands they run.

pub mod backtest;
pub mod check;
pub mod data;
pub mod exchange;
pub mod sandbox_args;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "stratbox", version, about = "Runs crypto trading strategies as sandboxed WebAssembly components")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Backtest strategy components on a candle file and print a summary.
    ///
    /// With no options, runs the bundled SMA crossover on the bundled
    /// Coinbase BTC-USD hourly candles of 2024. Several strategies can run
    /// side by side from a config file, each with its own account.
    Backtest(backtest::BacktestArgs),
    /// Inspect a strategy component: its world, imports, exports, sha256,
    /// and whether it passes the import policy. Exits with 1 when it does not.
    Check(check::CheckArgs),
    /// Market data files.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Check the exchange set-up: the secret, the key, the clock, the key's
    /// permissions and the products. Exits with 0 only when every check
    /// passes, 1 when one fails, 2 when the key cannot be read.
    Doctor(exchange::DoctorArgs),
    /// Show balances and open orders.
    Account(exchange::AccountArgs),
}
