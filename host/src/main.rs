//! The `stratbox` command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Parser, Subcommand};

use stratbox::backtest::{self, BacktestConfig, Costs};
use stratbox::bundled;
use stratbox::data::{CandleSeries, parse_candles, read_candles};
use stratbox::report::{self, Report, summary};
use stratbox::report::files::StrategyInfo;
use stratbox::sandbox::{self, Limits, Sandbox, WasmStrategy, limits};
use stratbox::strategy::{Strategy as _, StrategyError};

#[derive(Parser)]
#[command(name = "stratbox", version, about = "Runs crypto trading strategies as sandboxed WebAssembly components")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Backtest a strategy component on a candle file and print a summary.
    ///
    /// With no options, runs the bundled SMA crossover on the bundled
    /// Coinbase BTC-USD hourly candles of 2024.
    Backtest(BacktestArgs),
    /// Inspect a strategy component: its world, imports, exports, sha256,
    /// and whether it passes the import policy. Exits with 1 when it does not.
    Check {
        /// The component file (.wasm).
        file: PathBuf,
    },
}

#[derive(Args)]
struct BacktestArgs {
    /// Strategy component to run [default: the bundled SMA crossover].
    #[arg(long, value_name = "FILE.wasm")]
    strategy: Option<PathBuf>,

    /// Candle CSV: canonical (timestamp,open,high,low,close,volume), Coinbase
    /// export or Binance klines layout [default: the bundled
    /// data/coinbase-btc-usd-1h-2024.csv].
    #[arg(long, value_name = "FILE.csv")]
    data: Option<PathBuf>,

    /// Product the candles belong to and the strategy may trade.
    #[arg(long, default_value = bundled::BTC_USD_PRODUCT)]
    product: String,

    /// Starting cash, in the quote currency (USD for BTC-USD).
    #[arg(long, default_value_t = 10_000.0, value_name = "AMOUNT")]
    cash: f64,

    /// Strategy parameter as key=value; repeat for several. The bundled SMA
    /// crossover takes fast (candles, default 10), slow (candles, default 30)
    /// and fraction (share of cash per buy, default 0.95).
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
    params: Vec<(String, String)>,

    /// Write report.json, trades.csv, fills.csv and equity.csv into DIR.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// Fee on fills of resting limit orders, in basis points of the notional.
    /// The default is Coinbase Advanced's fee for its lowest volume tier.
    #[arg(long, default_value_t = backtest::venue::DEFAULT_MAKER_FEE_BPS, value_name = "BPS")]
    maker_fee_bps: f64,

    /// Fee on fills of market and marketable limit orders, in basis points of
    /// the notional. The default is Coinbase Advanced's fee for its lowest
    /// volume tier.
    #[arg(long, default_value_t = backtest::venue::DEFAULT_TAKER_FEE_BPS, value_name = "BPS")]
    taker_fee_bps: f64,

    /// Price move against each market order from the open it fills at, in
    /// basis points.
    #[arg(long, default_value_t = backtest::venue::DEFAULT_SLIPPAGE_BPS, value_name = "BPS")]
    slippage_bps: f64,

    #[command(flatten)]
    limits: LimitArgs,
}

#[derive(Args)]
struct LimitArgs {
    /// Fuel (about one unit per Wasm instruction) for each event call; a
    /// call that uses it all faults.
    #[arg(long, default_value_t = limits::DEFAULT_EVENT_FUEL, value_name = "UNITS")]
    event_fuel: u64,

    /// Fuel for instantiation and the init call.
    #[arg(long, default_value_t = limits::DEFAULT_INIT_FUEL, value_name = "UNITS")]
    init_fuel: u64,

    /// Maximum linear memory of the strategy, in bytes (the default is 64 MiB).
    #[arg(long, default_value_t = limits::DEFAULT_MEMORY_BYTES, value_name = "BYTES")]
    memory_limit: usize,

    /// Maximum actions one event call may return.
    #[arg(long, default_value_t = limits::DEFAULT_MAX_ACTIONS, value_name = "COUNT")]
    max_actions: usize,
}

impl LimitArgs {
    fn limits(&self) -> Limits {
        Limits {
            init_fuel: self.init_fuel,
            event_fuel: self.event_fuel,
            memory_bytes: self.memory_limit,
            max_actions: self.max_actions,
            ..Limits::default()
        }
    }
}

fn parse_param(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Backtest(args) => run_backtest(&args).map(|()| ExitCode::SUCCESS),
        Command::Check { file } => run_check(&file),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_backtest(args: &BacktestArgs) -> anyhow::Result<()> {
    for (name, value) in [
        ("--maker-fee-bps", args.maker_fee_bps),
        ("--taker-fee-bps", args.taker_fee_bps),
        ("--slippage-bps", args.slippage_bps),
    ] {
        if !(value.is_finite() && value >= 0.0) {
            bail!("{name} {value} must be a finite number of basis points, 0 or more");
        }
    }

    let (data_name, series) = load_data(args.data.as_deref())?;
    let (strategy_id, wasm) = load_strategy_bytes(args.strategy.as_deref())?;

    let sandbox = Sandbox::new()?;
    let component = sandbox.load(&strategy_id, &wasm)?;
    let limits = args.limits.limits();
    let mut strategy = WasmStrategy::instantiate(&component, limits).map_err(describe_strategy_error)?;

    let config = BacktestConfig {
        product: args.product.clone(),
        initial_cash: args.cash,
        costs: Costs {
            maker_fee_bps: args.maker_fee_bps,
            taker_fee_bps: args.taker_fee_bps,
            slippage_bps: args.slippage_bps,
        },
        params: args.params.clone(),
    };
    tracing::info!(strategy = strategy.id(), data = data_name, candles = series.candles.len(), "backtest started");
    let result = backtest::run(&mut strategy, &series, &config)?;

    let info = StrategyInfo {
        id: strategy_id,
        sha256: component.sha256().to_string(),
        params: config.params.clone(),
    };
    let report = Report::new(info, &data_name, &series, &config, &result, Some((limits, strategy.fuel_stats())));
    print!("{}", summary::render(&report));

    if let Some(dir) = &args.out {
        report::write_report(dir, &report, &result)?;
        println!("\n  report written to {}", dir.display());
    }
    Ok(())
}

fn describe_strategy_error(error: StrategyError) -> anyhow::Error {
    anyhow::Error::new(error).context("failed to start the strategy")
}

fn load_data(path: Option<&Path>) -> anyhow::Result<(String, CandleSeries)> {
    match path {
        Some(path) => Ok((path.display().to_string(), read_candles(path)?)),
        None => {
            let series = parse_candles(bundled::BTC_USD_1H_2024_CSV)
                .with_context(|| format!("invalid bundled candle file {}", bundled::BTC_USD_1H_2024_NAME))?;
            Ok((bundled::BTC_USD_1H_2024_NAME.to_string(), series))
        }
    }
}

fn load_strategy_bytes(path: Option<&Path>) -> anyhow::Result<(String, Vec<u8>)> {
    match path {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("failed to read strategy {}", path.display()))?;
            Ok((strategy_id_of(path), bytes))
        }
        None => Ok((bundled::SMA_CROSSOVER_ID.to_string(), bundled::SMA_CROSSOVER_WASM.to_vec())),
    }
}

/// Names a strategy after its file, without the extension.
fn strategy_id_of(path: &Path) -> String {
    path.file_stem().map_or_else(|| path.display().to_string(), |stem| stem.to_string_lossy().into_owned())
}

fn run_check(path: &Path) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(path).with_context(|| format!("failed to read {}", path.display()))?;
    let id = strategy_id_of(path);
    let sandbox = Sandbox::new()?;
    let inspection = sandbox::inspect(&sandbox.engine, &id, &bytes)?;

    println!("file      {}", path.display());
    println!("sha256    {}", inspection.sha256);
    println!("world     {}", inspection.world().unwrap_or_else(|| "unknown (imports no stratbox:strategy interface)".to_string()));
    println!("imports");
    for import in &inspection.imports {
        println!("          {import}");
    }
    println!("exports");
    for export in &inspection.exports {
        println!("          {export}");
    }

    if let Err(forbidden) = &inspection.policy {
        println!("policy    FAIL: {forbidden}");
        return Ok(ExitCode::FAILURE);
    }
    match sandbox.load(&id, &bytes) {
        Ok(_) => {
            println!("policy    pass: every import is allowed and the exports match {}@{}", sandbox::policy::WORLD_PACKAGE, sandbox::policy::WORLD_VERSION);
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            println!("policy    FAIL: {error}");
            Ok(ExitCode::FAILURE)
        }
    }
}
