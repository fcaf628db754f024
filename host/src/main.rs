//! The `stratbox` command line.

mod cli;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let outcome = match cli::Cli::parse().command {
        cli::Command::Backtest(args) => cli::backtest::run(&args),
        cli::Command::Check(args) => cli::check::run(&args),
        cli::Command::Data(command) => cli::data::run(&command),
        cli::Command::Doctor(args) => cli::exchange::doctor(&args),
        cli::Command::Account(args) => cli::exchange::account(&args),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
