//! The bundled SMA crossover component on the bundled Coinbase candles,
//! through the sandbox, the backtester and the command line.

#[path = "support/native_sma.rs"]
mod native_sma;

use std::path::{Path, PathBuf};
use std::process::Command;

use stratbox::backtest::{self, BacktestConfig, BacktestResult, Costs};
use stratbox::bundled;
use stratbox::data::{CandleSeries, parse_candles};
use stratbox::sandbox::{Limits, Sandbox, WasmStrategy};
use stratbox::strategy::{FaultKind, StrategyError};

fn bundled_series() -> CandleSeries {
    parse_candles(bundled::BTC_USD_1H_2024_CSV).unwrap()
}

fn default_config(params: &[(&str, &str)]) -> BacktestConfig {
    BacktestConfig {
        product: bundled::BTC_USD_PRODUCT.to_string(),
        initial_cash: 10_000.0,
        costs: Costs::default(),
        params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..BacktestConfig::default()
    }
}

fn run_component(limits: Limits, config: &BacktestConfig) -> Result<BacktestResult, backtest::BacktestError> {
    let sandbox = Sandbox::new().unwrap();
    let component = sandbox.load(bundled::SMA_CROSSOVER_ID, bundled::SMA_CROSSOVER_WASM).unwrap();
    let mut strategy = WasmStrategy::instantiate(&component, limits).unwrap();
    backtest::run(&mut strategy, &bundled_series(), config)
}

/// Returns a CLI command whose compiled-code cache is in the test's target
/// directory.
fn stratbox() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stratbox"));
    command.env("XDG_CACHE_HOME", PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cache"));
    command
}

fn out_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn bundled_strategy_trades_and_pnl_adds_up() {
    let result = run_component(Limits::default(), &default_config(&[])).unwrap();

    assert!(result.trades.len() > 10, "only {} trades", result.trades.len());
    assert_eq!(result.fills.len() as u64, result.orders_accepted);

    let gross: f64 = result.trades.iter().map(|trade| trade.gross_pnl).sum();
    let fees: f64 = result.trades.iter().map(|trade| trade.fees).sum();
    let change = result.equity.last().unwrap().equity - 10_000.0;
    assert!((gross - fees - change).abs() < 1e-6, "gross {gross} - fees {fees} against equity change {change}");

    let fees_paid = result.equity.last().unwrap().fees_paid;
    assert!((fees - fees_paid).abs() < 1e-6, "trade fees {fees} against fees paid {fees_paid}");
}

#[test]
fn sandboxed_and_native_runs_fill_identically() {
    let config = default_config(&[("fast", "8"), ("slow", "21")]);
    let sandboxed = run_component(Limits::default(), &config).unwrap();
    let mut native = native_sma::NativeSma::default();
    let native = backtest::run(&mut native, &bundled_series(), &config).unwrap();

    assert_eq!(sandboxed.fills, native.fills);
    assert_eq!(sandboxed.equity, native.equity);
}

#[test]
fn parameters_change_the_trades() {
    let default = run_component(Limits::default(), &default_config(&[])).unwrap();
    let faster = run_component(Limits::default(), &default_config(&[("fast", "5"), ("slow", "20")])).unwrap();
    assert_ne!(default.fills.len(), faster.fills.len());
}

#[test]
fn invalid_parameter_is_named_in_error() {
    let error = run_component(Limits::default(), &default_config(&[("slow", "zero")])).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, backtest::BacktestError::Init(StrategyError::InvalidParams { .. })), "{message}");
    assert!(message.contains("parameter slow"), "{message}");
    assert!(message.contains("\"zero\""), "{message}");
}

#[test]
fn fast_not_below_slow_is_refused() {
    let error = run_component(Limits::default(), &default_config(&[("fast", "30"), ("slow", "10")])).unwrap_err();
    assert!(error.to_string().contains("fast (30) must be less than slow (10)"), "{error}");
}

#[test]
fn fuel_exhaustion_names_the_candle() {
    let limits = Limits { event_fuel: 500, ..Limits::default() };
    let error = run_component(limits, &default_config(&[])).unwrap_err();
    let backtest::BacktestError::Strategy { index, error: StrategyError::Fault { fault, strategy }, .. } = &error else {
        panic!("expected a strategy fault, got {error}");
    };
    assert_eq!(strategy, "sma-crossover");
    assert_eq!(fault.kind, FaultKind::OutOfFuel);
    assert!(*index >= 1);
    assert!(error.to_string().contains("stopped at candle"), "{error}");
}

#[test]
fn memory_cap_below_initial_memory_refuses_instance() {
    let sandbox = Sandbox::new().unwrap();
    let component = sandbox.load(bundled::SMA_CROSSOVER_ID, bundled::SMA_CROSSOVER_WASM).unwrap();
    let limits = Limits { memory_bytes: 64 * 1024, ..Limits::default() };
    let Err(error) = WasmStrategy::instantiate(&component, limits) else {
        panic!("a 64 KiB cap is below the component's initial memory");
    };
    assert!(error.to_string().contains("sma-crossover"), "{error}");
}

fn run_cli_backtest(dir: &Path, extra: &[&str]) -> std::process::Output {
    let output = stratbox().arg("backtest").arg("--out").arg(dir).args(extra).output().unwrap();
    assert!(output.status.success(), "stratbox failed: {}", String::from_utf8_lossy(&output.stderr));
    output
}

#[test]
fn cli_reports_are_byte_identical_across_runs() {
    let first = out_dir("determinism-first");
    let second = out_dir("determinism-second");
    run_cli_backtest(&first, &[]);
    run_cli_backtest(&second, &[]);

    for file in ["report.json", "trades.csv", "fills.csv", "equity.csv"] {
        let a = std::fs::read(first.join(file)).unwrap();
        let b = std::fs::read(second.join(file)).unwrap();
        assert!(!a.is_empty(), "{file} is empty");
        assert!(a == b, "{file} differs between two runs");
    }
}

#[test]
fn cli_report_names_digests_and_metrics() {
    let dir = out_dir("report-contents");
    let output = run_cli_backtest(&dir, &["--param", "fast=12"]);
    let summary = String::from_utf8(output.stdout).unwrap();
    for label in [
        "start equity", "end equity", "total return", "CAGR", "max drawdown", "Sharpe ratio", "trades", "win rate",
        "profit factor", "fees paid", "exposure", "buy and hold", "data gaps",
    ] {
        assert!(summary.contains(label), "summary lacks {label}:\n{summary}");
    }

    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["strategy"]["sha256"], stratbox::sandbox::sha256_hex(bundled::SMA_CROSSOVER_WASM));
    assert_eq!(report["data"]["sha256"], stratbox::sandbox::sha256_hex(bundled::BTC_USD_1H_2024_CSV));
    assert_eq!(report["strategy"]["params"][0][0], "fast");
    assert_eq!(report["strategy"]["params"][0][1], "12");
    assert!(report["metrics"]["sharpe"].is_number());
    assert_eq!(report["metrics"]["sharpe_periods_per_year"], 8760.0);
    assert!(report["sharpe_basis"].as_str().unwrap().contains("365-day year"));

    let trades = std::fs::read_to_string(dir.join("trades.csv")).unwrap();
    assert_eq!(trades.lines().count() as u64 - 1, report["metrics"]["trades"].as_u64().unwrap());
    let equity = std::fs::read_to_string(dir.join("equity.csv")).unwrap();
    assert_eq!(equity.lines().count() - 1, 6115);
}

#[test]
fn cli_rejects_bad_candle_file_with_line() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/candles/negative-volume.csv");
    let output = stratbox().args(["backtest", "--data"]).arg(&fixture).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("negative-volume.csv"), "{stderr}");
    assert!(stderr.contains("line 3: volume -3 is negative"), "{stderr}");
}

#[test]
fn cli_check_reports_world_and_policy() {
    let file = out_dir("check").with_extension("wasm");
    std::fs::write(&file, bundled::SMA_CROSSOVER_WASM).unwrap();
    let output = stratbox().arg("check").arg(&file).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("world     stratbox:strategy@0.1.0"), "{stdout}");
    assert!(stdout.contains("stratbox:strategy/logging@0.1.0"), "{stdout}");
    assert!(stdout.contains("on-event"), "{stdout}");
    assert!(stdout.contains(&stratbox::sandbox::sha256_hex(bundled::SMA_CROSSOVER_WASM)), "{stdout}");
    assert!(stdout.contains("policy    pass"), "{stdout}");
}

#[test]
fn cli_check_refuses_core_module() {
    let file = out_dir("core-module").with_extension("wasm");
    std::fs::write(&file, b"\0asm\x01\0\0\0").unwrap();
    let output = stratbox().arg("check").arg(&file).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("core Wasm module, not a component"), "{stderr}");
}

#[test]
fn cli_config_runs_strategies_side_by_side() {
    let dir = out_dir("config-two-strategies");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/example-config.toml");
    let output = stratbox().args(["backtest", "--config"]).arg(&config).arg("--out").arg(&dir).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("== sma-10-30"), "{stdout}");
    assert!(stdout.contains("== sma-24-96"), "{stdout}");

    let report = |id: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.join(id).join("report.json")).unwrap()).unwrap()
    };
    assert_eq!(report("sma-24-96")["strategy"]["params"][0], serde_json::json!(["fast", "24"]));
    assert_eq!(report("sma-10-30")["config"]["costs"]["slippage_bps"], 2.0);
    assert_ne!(report("sma-10-30")["metrics"]["trades"], report("sma-24-96")["metrics"]["trades"]);
}

#[test]
fn cli_pinned_digest_mismatch_refuses_to_run() {
    let wrong = "ab".repeat(32);
    let output = stratbox().args(["backtest", "--sha256", &wrong]).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("expected sha256 {wrong}")), "{stderr}");
    assert!(stderr.contains(&stratbox::sandbox::sha256_hex(bundled::SMA_CROSSOVER_WASM)), "{stderr}");
}

#[test]
fn cli_fault_names_candle_and_kind() {
    let output = stratbox().args(["backtest", "--event-fuel", "300"]).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("stopped at candle 1 (2023-12-31T23:00:00Z)"), "{stderr}");
    assert!(stderr.contains("out of fuel"), "{stderr}");
}

#[test]
fn cli_rejects_invalid_options_by_name() {
    let cases: [(&[&str], &str); 6] = [
        (&["--cash", "-5"], "--cash -5 is invalid"),
        (&["--taker-fee-bps", "-1"], "--taker-fee-bps -1 is invalid"),
        (&["--slippage-bps", "10000"], "--slippage-bps 10000 is invalid"),
        (&["--product", ""], "--product \"\" is invalid"),
        (&["--param", "fast=5", "--param", "fast=7"], "--param fast is given twice"),
        (&["--event-fuel", "0"], "--event-fuel 0 is invalid"),
    ];
    for (options, expected) in cases {
        let output = stratbox().arg("backtest").args(options).output().unwrap();
        assert!(!output.status.success(), "{options:?} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{options:?}: {stderr}");
    }
}
