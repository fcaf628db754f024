//! `stratbox backtest`: one or more strategies over one candle file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;
use stratbox::backtest::{self, BacktestConfig, BacktestResult, Costs, OnFault};
use stratbox::bundled;
use stratbox::config::{ConfigFile, StrategyEntry};
use stratbox::data::{CandleSeries, parse_candles, read_candles};
use stratbox::report::files::StrategyInfo;
use stratbox::report::{self, Report, summary};
use stratbox::sandbox::{FaultPolicy, Limits, LoadOptions, Metering, Sandbox, WasmStrategy};
use stratbox::strategy::Strategy;

use super::check::strategy_id_of;
use super::sandbox_args::{CacheArgs, LimitArgs};

#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub struct BacktestArgs {
    /// Configuration file (TOML) with data, fees, limits, fault policy and
    /// any number of strategies; options given here override it.
    #[arg(long, value_name = "FILE.toml")]
    config: Option<PathBuf>,

    /// Strategy component to run, instead of those in the config file
    /// [default: the bundled SMA crossover].
    #[arg(long, value_name = "FILE.wasm")]
    strategy: Option<PathBuf>,

    /// Refuse to run the strategy unless its file has this sha256 (hex).
    #[arg(long, value_name = "HEX")]
    sha256: Option<String>,

    /// Candle CSV: canonical (timestamp,open,high,low,close,volume), Coinbase
    /// export or ISO open_time layout [default: the bundled
    /// data/coinbase-btc-usd-1h-2024.csv].
    #[arg(long, value_name = "FILE.csv")]
    data: Option<PathBuf>,

    /// Product the candles belong to and the strategies may trade
    /// [default: BTC-USD].
    #[arg(long)]
    product: Option<String>,

    /// Starting cash of each strategy, in the quote currency (USD for
    /// BTC-USD) [default: 10000].
    #[arg(long, value_name = "AMOUNT")]
    cash: Option<f64>,

    /// Strategy parameter as key=value; repeat for several. The bundled SMA
    /// crossover takes fast (candles, default 10), slow (candles, default 30)
    /// and fraction (share of cash per buy, default 0.95).
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
    params: Vec<(String, String)>,

    /// Write report.json, trades.csv, fills.csv and equity.csv into DIR (into
    /// DIR/<strategy id>/ when several strategies run).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// Fee on fills of resting limit orders, in basis points of the notional
    /// [default: 40, Coinbase Advanced's lowest volume tier].
    #[arg(long, value_name = "BPS")]
    maker_fee_bps: Option<f64>,

    /// Fee on fills of market and marketable limit orders, in basis points
    /// of the notional [default: 60, Coinbase Advanced's lowest volume tier].
    #[arg(long, value_name = "BPS")]
    taker_fee_bps: Option<f64>,

    /// Price move against each market order from the open it fills at, in
    /// basis points [default: 0].
    #[arg(long, value_name = "BPS")]
    slippage_bps: Option<f64>,

    /// On a strategy fault: stop the run with an error naming the candle, or
    /// skip the event, replace the instance and carry on [default: stop].
    #[arg(long, value_enum)]
    on_fault: Option<OnFaultArg>,

    /// With --on-fault skip, quarantine a strategy after this many faults
    /// within the fault window [default: 3].
    #[arg(long, value_name = "COUNT")]
    max_faults: Option<usize>,

    /// Length of the fault window, in events [default: 1000].
    #[arg(long, value_name = "EVENTS")]
    fault_window: Option<u64>,

    /// CPU bound of each call. Fuel counts instructions and keeps reruns
    /// identical. Epoch bounds wall-clock time with --call-timeout-ms, as
    /// live trading does, but a strategy near its budget may then fault on
    /// one run and not another [default: fuel].
    #[arg(long, value_enum)]
    metering: Option<MeteringArg>,

    /// Seed of the strategies' random-number imports [default: 0].
    #[arg(long, value_name = "N")]
    seed: Option<u64>,

    #[command(flatten)]
    limits: LimitArgs,

    #[command(flatten)]
    cache: CacheArgs,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum MeteringArg {
    Fuel,
    Epoch,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum OnFaultArg {
    Stop,
    Skip,
}

impl From<OnFaultArg> for OnFault {
    fn from(value: OnFaultArg) -> Self {
        match value {
            OnFaultArg::Stop => OnFault::Stop,
            OnFaultArg::Skip => OnFault::Skip,
        }
    }
}

fn parse_param(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

/// One strategy ready to run, with what its report needs.
struct Planned {
    info: StrategyInfo,
    strategy: WasmStrategy,
    config: BacktestConfig,
}

pub fn run(args: &BacktestArgs) -> anyhow::Result<ExitCode> {
    let file = match &args.config {
        Some(path) => ConfigFile::load(path)?,
        None => ConfigFile::default(),
    };

    let costs = Costs {
        maker_fee_bps: args.maker_fee_bps.or(file.fees.maker_fee_bps).unwrap_or(backtest::venue::DEFAULT_MAKER_FEE_BPS),
        taker_fee_bps: args.taker_fee_bps.or(file.fees.taker_fee_bps).unwrap_or(backtest::venue::DEFAULT_TAKER_FEE_BPS),
        slippage_bps: args.slippage_bps.or(file.fees.slippage_bps).unwrap_or(backtest::venue::DEFAULT_SLIPPAGE_BPS),
    };
    for (name, value) in [
        ("--maker-fee-bps", costs.maker_fee_bps),
        ("--taker-fee-bps", costs.taker_fee_bps),
        ("--slippage-bps", costs.slippage_bps),
    ] {
        // 10,000 bps is 100%: a fee or slippage that large would turn a sale
        // into a payment or a price negative.
        if !(value.is_finite() && (0.0..10_000.0).contains(&value)) {
            bail!("{name} {value} is invalid: give basis points from 0 up to, not including, 10000 (100%)");
        }
    }
    let limits = args.limits.apply(file.limits);
    super::sandbox_args::check_limits(&limits)?;
    let fault_policy = FaultPolicy {
        max_faults: args.max_faults.unwrap_or(file.fault_policy.max_faults),
        window_events: args.fault_window.unwrap_or(file.fault_policy.window_events),
    };
    if fault_policy.max_faults == 0 {
        bail!("--max-faults 0 is invalid: give at least 1");
    }
    if fault_policy.window_events == 0 {
        bail!("--fault-window 0 is invalid: give at least 1 event");
    }
    let product = args.product.clone().or(file.product.clone()).unwrap_or_else(|| bundled::BTC_USD_PRODUCT.to_string());
    if product.is_empty() || product.contains(char::is_whitespace) {
        bail!("--product {product:?} is invalid: give a product id such as BTC-USD");
    }
    let cash = args.cash.or(file.cash).unwrap_or(DEFAULT_CASH);
    if !(cash.is_finite() && cash > 0.0) {
        bail!("--cash {cash} is invalid: give a positive amount of the quote currency");
    }
    let mut seen = Vec::new();
    for (key, _) in &args.params {
        if seen.contains(&key) {
            bail!("--param {key} is given twice; keep one");
        }
        seen.push(key);
    }
    if let Some(dir) = &args.out
        && dir.exists()
        && !dir.is_dir()
    {
        bail!("--out {} is an existing file; give a directory", dir.display());
    }

    let (data_name, series) = load_data(args.data.as_deref().or(file.data.as_deref()))?;
    let metering = match args.metering {
        Some(MeteringArg::Epoch) => Metering::Epoch,
        Some(MeteringArg::Fuel) | None => Metering::Fuel,
    };
    let mut sandbox = Sandbox::with_metering(metering)?;
    args.cache.attach(&mut sandbox, file.cache_dir.clone());

    let entries = match &args.strategy {
        Some(path) => vec![StrategyEntry { id: None, path: Some(path.clone()), sha256: args.sha256.clone(), params: Default::default() }],
        None if file.strategies.is_empty() => vec![StrategyEntry { sha256: args.sha256.clone(), ..StrategyEntry::default() }],
        None => file.strategies.clone(),
    };

    let mut planned = Vec::new();
    let mut used_ids = Vec::new();
    for entry in &entries {
        let (mut id, bytes) = read_strategy(entry)?;
        if used_ids.contains(&id) {
            id = format!("{id}-{}", used_ids.len() + 1);
        }
        used_ids.push(id.clone());

        let options = LoadOptions { max_component_bytes: limits.max_component_bytes, expected_sha256: entry.sha256.as_deref() };
        let source = entry.path.as_ref().map_or_else(|| "the bundled SMA crossover".to_string(), |path| path.display().to_string());
        let component = sandbox.load_with(&id, &bytes, &options).with_context(|| format!("cannot run {source}"))?;
        let seed = args.seed.or(file.seed).unwrap_or(0);
        let strategy = WasmStrategy::instantiate_seeded(&component, limits, seed).context("failed to start the strategy")?;

        // Command-line parameters apply to every strategy and win over the
        // config file's.
        let mut params: Vec<(String, String)> = entry.params.clone().into_iter().collect();
        for (key, value) in &args.params {
            params.retain(|(existing, _)| existing != key);
            params.push((key.clone(), value.clone()));
        }
        let config = BacktestConfig {
            product: product.clone(),
            initial_cash: cash,
            costs,
            params: params.clone(),
            on_fault: args.on_fault.map(OnFault::from).or(file.on_fault).unwrap_or_default(),
            fault_policy,
        };
        let info = StrategyInfo { id, sha256: component.sha256().to_string(), params };
        planned.push(Planned { info, strategy, config });
    }

    tracing::info!(strategies = planned.len(), data = data_name, candles = series.candles.len(), "backtest started");
    let (infos, runs): (Vec<_>, Vec<_>) = planned
        .into_iter()
        .map(|plan| (plan.info, (Box::new(plan.strategy) as Box<dyn Strategy + Send>, plan.config)))
        .unzip();
    let configs: Vec<BacktestConfig> = runs.iter().map(|(_, config)| config.clone()).collect();
    let results = backtest::run_many(runs, &series);

    let several = infos.len() > 1;
    let mut failed = 0;
    for ((info, config), result) in infos.into_iter().zip(configs).zip(results) {
        if several {
            println!("\n== {}", info.id);
        }
        match result {
            Ok(result) => report_one(args, info, &data_name, &series, &config, &result, limits, several)?,
            Err(error) => {
                failed += 1;
                eprintln!("error: strategy {}: {error:#}", info.id);
            }
        }
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

const DEFAULT_CASH: f64 = 10_000.0;

#[allow(clippy::too_many_arguments)]
fn report_one(
    args: &BacktestArgs,
    info: StrategyInfo,
    data_name: &str,
    series: &CandleSeries,
    config: &BacktestConfig,
    result: &BacktestResult,
    limits: Limits,
    several: bool,
) -> anyhow::Result<()> {
    let out = args.out.as_ref().map(|dir| if several { dir.join(&info.id) } else { dir.clone() });
    let report = Report::new(info, data_name, series, config, result, Some(limits));
    print!("{}", summary::render(&report));
    if let Some(dir) = out {
        report::write_report(&dir, &report, result)?;
        println!("\n  report written to {}", dir.display());
    }
    Ok(())
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

fn read_strategy(entry: &StrategyEntry) -> anyhow::Result<(String, Vec<u8>)> {
    match &entry.path {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("failed to read strategy {}", path.display()))?;
            Ok((entry.id.clone().unwrap_or_else(|| strategy_id_of(path)), bytes))
        }
        None => Ok((
            entry.id.clone().unwrap_or_else(|| bundled::SMA_CROSSOVER_ID.to_string()),
            bundled::SMA_CROSSOVER_WASM.to_vec(),
        )),
    }
}
