//! Hostile strategies, each a real component built from source or from WAT.
//! Every case checks four things. The host keeps running, and the failure
//! has a specific kind and names the strategy. A well-behaved strategy run
//! beside it produces exactly what it produces alone. Containment finishes
//! within a bound at default limits.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use stratbox::backtest::{self, BacktestConfig, BacktestError, BacktestResult, OnFault};
use stratbox::bundled;
use stratbox::data::{CandleSeries, parse_candles};
use stratbox::sandbox::policy::ImportRejection;
use stratbox::sandbox::{
    CacheError, CompiledCache, FaultPolicy, Limits, LoadError, LoadOptions, Metering, Sandbox, WasmStrategy,
};
use stratbox::strategy::{FaultKind, Strategy, StrategyError};

const HOSTILE_ID: &str = "hostile";
/// Containment at default limits must finish well within this, even in an
/// unoptimised test build; a hang would blow far past it.
const CONTAINMENT_BOUND: Duration = Duration::from_secs(60);
/// Candles each case replays: enough for a later-event attack and for the
/// SMA crossover to trade.
const CANDLES: usize = 1_000;

fn hostile_wasm() -> Vec<u8> {
    let path = env!("STRATBOX_HOSTILE_STRATEGY_WASM");
    std::fs::read(path).unwrap_or_else(|error| panic!("hostile component {path} missing ({error}); run cargo build"))
}

fn series() -> &'static CandleSeries {
    static SERIES: OnceLock<CandleSeries> = OnceLock::new();
    SERIES.get_or_init(|| {
        let mut series = parse_candles(bundled::BTC_USD_1H_2024_CSV).unwrap();
        series.candles.truncate(CANDLES);
        series
    })
}

fn config(params: &[(&str, &str)], on_fault: OnFault) -> BacktestConfig {
    BacktestConfig {
        params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        on_fault,
        ..BacktestConfig::default()
    }
}

fn instance(sandbox: &Sandbox, id: &str, bytes: &[u8], limits: Limits) -> WasmStrategy {
    let component = sandbox.load(id, bytes).unwrap();
    WasmStrategy::instantiate(&component, limits).unwrap()
}

/// Runs the SMA crossover alone over the same candles, once, for every case
/// to compare against.
fn sma_alone() -> &'static BacktestResult {
    static ALONE: OnceLock<BacktestResult> = OnceLock::new();
    ALONE.get_or_init(|| {
        let sandbox = Sandbox::new().unwrap();
        let mut sma = instance(&sandbox, "sma", bundled::SMA_CROSSOVER_WASM, Limits::default());
        let result = backtest::run(&mut sma, series(), &config(&[], OnFault::Stop)).unwrap();
        assert!(!result.fills.is_empty(), "the reference run must trade");
        result
    })
}

struct Outcome {
    hostile: Result<BacktestResult, BacktestError>,
}

/// Runs the hostile strategy with `params` beside the SMA crossover, checks
/// the SMA crossover's results against its run alone, and returns the
/// hostile strategy's outcome.
fn beside_sma(sandbox: &Sandbox, params: &[(&str, &str)], limits: Limits, on_fault: OnFault) -> Outcome {
    let hostile = instance(sandbox, HOSTILE_ID, &hostile_wasm(), limits);
    let sma = instance(sandbox, "sma", bundled::SMA_CROSSOVER_WASM, Limits::default());

    let start = Instant::now();
    let mut results = backtest::run_many(
        vec![
            (Box::new(hostile) as Box<dyn Strategy + Send>, config(params, on_fault)),
            (Box::new(sma), config(&[], OnFault::Stop)),
        ],
        series(),
    );
    let elapsed = start.elapsed();

    let sma = results.pop().unwrap().expect("the well-behaved strategy finishes");
    let alone = sma_alone();
    assert_eq!(sma.fills, alone.fills, "fills differ from the SMA crossover's run alone");
    assert_eq!(sma.equity, alone.equity, "equity differs from the SMA crossover's run alone");
    assert!(elapsed < CONTAINMENT_BOUND, "containment took {elapsed:?}");
    Outcome { hostile: results.pop().unwrap() }
}

/// Asserts a fault of `kind` from the hostile strategy and returns the
/// candle number it stopped at (0 for init) and the fault detail.
fn expect_fault(outcome: Outcome, kind: FaultKind) -> (usize, String) {
    let error = outcome.hostile.expect_err("the hostile strategy must fault");
    let message = error.to_string();
    assert!(message.contains(HOSTILE_ID), "error does not name the strategy: {message}");
    let (candle, source) = match error {
        BacktestError::Strategy { index, error, .. } => (index, error),
        BacktestError::Init(source) => (0, source),
        other => panic!("expected a strategy fault, got {other}"),
    };
    let StrategyError::Fault { strategy, fault } = source else {
        panic!("expected a fault, got {source}");
    };
    assert_eq!(strategy, HOSTILE_ID);
    assert_eq!(fault.kind, kind, "detail: {}", fault.detail);
    (candle, fault.detail)
}

#[test]
fn endless_loop_in_init_runs_out_of_fuel() {
    let sandbox = Sandbox::new().unwrap();
    let outcome = beside_sma(&sandbox, &[("attack", "loop-init")], Limits::default(), OnFault::Stop);
    let (candle, _) = expect_fault(outcome, FaultKind::OutOfFuel);
    assert_eq!(candle, 0, "the fault happens in init");
}

#[test]
fn first_event_loop_runs_out_of_fuel() {
    let sandbox = Sandbox::new().unwrap();
    let outcome = beside_sma(&sandbox, &[("attack", "loop-event"), ("at", "1")], Limits::default(), OnFault::Stop);
    let (candle, _) = expect_fault(outcome, FaultKind::OutOfFuel);
    assert_eq!(candle, 1);
}

#[test]
fn later_event_loop_runs_out_of_fuel() {
    let sandbox = Sandbox::new().unwrap();
    let outcome = beside_sma(&sandbox, &[("attack", "loop-event"), ("at", "700")], Limits::default(), OnFault::Stop);
    let (candle, _) = expect_fault(outcome, FaultKind::OutOfFuel);
    assert_eq!(candle, 700, "every call has its own budget");
}

#[test]
fn endless_loop_times_out_under_epochs() {
    let sandbox = Sandbox::with_metering(Metering::Epoch).unwrap();
    let outcome = beside_sma(&sandbox, &[("attack", "loop-event"), ("at", "300")], Limits::default(), OnFault::Stop);
    let (candle, _) = expect_fault(outcome, FaultKind::Timeout);
    assert_eq!(candle, 300, "the deadline fires on a later call too");
}

#[test]
fn memory_grow_to_exact_cap_is_allowed() {
    let sandbox = Sandbox::new().unwrap();
    let cap = Limits::default().memory_bytes.to_string();
    let outcome = beside_sma(&sandbox, &[("attack", "grow-memory"), ("total-bytes", &cap)], Limits::default(), OnFault::Stop);
    let result = outcome.hostile.unwrap();
    assert_eq!(result.fills[0].tag, "grown");
}

#[test]
fn memory_grow_one_page_above_cap_is_refused() {
    let sandbox = Sandbox::new().unwrap();
    let above = (Limits::default().memory_bytes + 65_536).to_string();
    let outcome = beside_sma(&sandbox, &[("attack", "grow-memory"), ("total-bytes", &above)], Limits::default(), OnFault::Stop);
    let result = outcome.hostile.unwrap();
    assert_eq!(result.fills[0].tag, "refused", "the guest sees memory.grow fail");
}

#[test]
fn unbounded_recursion_overflows_stack() {
    let sandbox = Sandbox::new().unwrap();
    let outcome = beside_sma(&sandbox, &[("attack", "recurse")], Limits::default(), OnFault::Stop);
    expect_fault(outcome, FaultKind::StackOverflow);
}

#[test]
fn panic_is_a_fault_not_an_empty_answer() {
    let sandbox = Sandbox::new().unwrap();
    let outcome = beside_sma(&sandbox, &[("attack", "panic")], Limits::default(), OnFault::Stop);
    let (candle, detail) = expect_fault(outcome, FaultKind::Trap);
    assert_eq!(candle, 1);
    assert!(detail.contains("hostile strategy panics on purpose"), "the panic message is quoted: {detail}");
}

/// Limits under which a strategy can build a huge result, so that the
/// result-size limit is what stops it. At default limits the memory cap or
/// the fuel budget stops it first.
fn generous_memory_and_fuel(memory_bytes: usize) -> Limits {
    Limits { memory_bytes, event_fuel: 100_000_000_000, ..Limits::default() }
}

#[test]
fn ten_million_actions_hit_memory_cap() {
    let sandbox = Sandbox::new().unwrap();
    let outcome = beside_sma(&sandbox, &[("attack", "many-actions"), ("count", "10000000")], Limits::default(), OnFault::Stop);
    let (_, detail) = expect_fault(outcome, FaultKind::MemoryLimit);
    assert!(detail.contains("refused; the cap is 67108864 bytes"), "{detail}");
}

#[test]
fn huge_action_list_exceeds_result_bytes() {
    let sandbox = Sandbox::new().unwrap();
    let limits = generous_memory_and_fuel(2 << 30);
    let outcome = beside_sma(&sandbox, &[("attack", "many-actions"), ("count", "10000000")], limits, OnFault::Stop);
    expect_fault(outcome, FaultKind::ResultTooLarge);
}

#[test]
fn one_action_over_limit_is_too_many() {
    let sandbox = Sandbox::new().unwrap();
    let count = (Limits::default().max_actions + 1).to_string();
    let outcome = beside_sma(&sandbox, &[("attack", "many-actions"), ("count", &count)], Limits::default(), OnFault::Stop);
    let (_, detail) = expect_fault(outcome, FaultKind::TooManyActions);
    assert!(detail.contains("returned 1001 actions; the limit is 1000"), "{detail}");
}

#[test]
fn hundred_megabyte_tag_hits_memory_cap() {
    let sandbox = Sandbox::new().unwrap();
    let outcome = beside_sma(&sandbox, &[("attack", "huge-tag"), ("bytes", "100000000")], Limits::default(), OnFault::Stop);
    expect_fault(outcome, FaultKind::MemoryLimit);
}

#[test]
fn huge_tag_exceeds_result_bytes() {
    let sandbox = Sandbox::new().unwrap();
    let limits = generous_memory_and_fuel(256 << 20);
    let outcome = beside_sma(&sandbox, &[("attack", "huge-tag"), ("bytes", "100000000")], limits, OnFault::Stop);
    expect_fault(outcome, FaultKind::ResultTooLarge);
}

#[test]
fn long_tag_over_string_limit_is_refused() {
    let sandbox = Sandbox::new().unwrap();
    let bytes = (Limits::default().max_string_bytes + 1).to_string();
    let outcome = beside_sma(&sandbox, &[("attack", "huge-tag"), ("bytes", &bytes)], Limits::default(), OnFault::Stop);
    let (_, detail) = expect_fault(outcome, FaultKind::ResultTooLarge);
    assert!(detail.contains("tag is 1025 bytes; the limit is 1024"), "{detail}");
}

#[test]
fn hundred_megabyte_log_message_is_not_copied() {
    let sandbox = Sandbox::new().unwrap();
    let limits = generous_memory_and_fuel(256 << 20);
    let outcome = beside_sma(&sandbox, &[("attack", "huge-log"), ("bytes", "100000000")], limits, OnFault::Stop);
    expect_fault(outcome, FaultKind::ResultTooLarge);
}

#[test]
fn log_flood_is_capped_per_call() {
    let sandbox = Sandbox::new().unwrap();
    let mut hostile = instance(&sandbox, HOSTILE_ID, &hostile_wasm(), Limits::default());
    let mut short = series().clone();
    short.candles.truncate(20);

    let start = Instant::now();
    let result = backtest::run(&mut hostile, &short, &config(&[("attack", "log-flood"), ("count", "5000")], OnFault::Stop));
    assert!(start.elapsed() < CONTAINMENT_BOUND);
    assert!(result.is_ok(), "a flood is dropped, not fatal: {:?}", result.err());
    let per_call = Limits::default().max_log_lines_per_call as u64;
    assert_eq!(hostile.dropped_log_lines(), 20 * (5000 - per_call));
}

#[test]
fn log_flood_beside_sma_leaves_it_untouched() {
    let sandbox = Sandbox::new().unwrap();
    let outcome = beside_sma(&sandbox, &[("attack", "log-flood"), ("count", "200")], Limits::default(), OnFault::Stop);
    assert!(outcome.hostile.is_ok());
}

#[test]
fn bad_intents_are_rejected_with_reasons() {
    let sandbox = Sandbox::new().unwrap();
    let outcome = beside_sma(&sandbox, &[("attack", "bad-intents")], Limits::default(), OnFault::Stop);
    let result = outcome.hostile.unwrap();
    assert!(result.fills.is_empty());

    let reason = |tag: &str| {
        result
            .rejections
            .iter()
            .find(|rejection| rejection.tag == tag)
            .unwrap_or_else(|| panic!("no rejection for {tag}"))
            .reason
            .clone()
    };
    for tag in ["nan-size", "inf-size", "zero-size", "negative-size"] {
        assert!(reason(tag).contains("is not a positive finite number"), "{tag}: {}", reason(tag));
    }
    for tag in ["nan-price", "inf-price", "zero-price", "negative-price"] {
        assert!(reason(tag).starts_with("limit price"), "{tag}: {}", reason(tag));
    }
    assert!(reason("other-product").contains("\"ETH-USD\" is not configured"));
}

fn component_from_wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).expect("valid WAT")
}

/// Loads `bytes`, expects a refusal, then checks that the same sandbox still
/// runs the SMA crossover exactly as it runs alone.
fn load_error(bytes: &[u8], options: &LoadOptions<'_>) -> LoadError {
    let sandbox = Sandbox::new().unwrap();
    let start = Instant::now();
    let error = match sandbox.load_with(HOSTILE_ID, bytes, options) {
        Ok(_) => panic!("the component must be refused"),
        Err(error) => error,
    };
    assert!(start.elapsed() < CONTAINMENT_BOUND);
    assert!(error.to_string().contains(HOSTILE_ID), "error does not name the strategy: {error}");

    let mut sma = instance(&sandbox, "sma", bundled::SMA_CROSSOVER_WASM, Limits::default());
    let result = backtest::run(&mut sma, series(), &config(&[], OnFault::Stop)).unwrap();
    assert_eq!(result.fills, sma_alone().fills, "the sandbox changed after refusing a component");
    error
}

fn forbidden_import(wat: &str) -> (String, ImportRejection) {
    match load_error(&component_from_wat(wat), &LoadOptions::default()) {
        LoadError::Forbidden { forbidden, .. } => (forbidden.import, forbidden.reason),
        other => panic!("expected a forbidden import, got {other}"),
    }
}

#[test]
fn sockets_import_is_refused_at_load() {
    let (import, reason) = forbidden_import(r#"(component (import "wasi:sockets/tcp@0.2.6" (instance)))"#);
    assert_eq!(import, "wasi:sockets/tcp@0.2.6");
    assert_eq!(reason, ImportRejection::Network);
}

#[test]
fn http_import_is_refused_at_load() {
    let (import, reason) = forbidden_import(r#"(component (import "wasi:http/outgoing-handler@0.2.6" (instance)))"#);
    assert_eq!(import, "wasi:http/outgoing-handler@0.2.6");
    assert_eq!(reason, ImportRejection::Http);
}

#[test]
fn unknown_interface_is_refused_at_load() {
    let (import, reason) = forbidden_import(r#"(component (import "acme:wallet/keys@1.0.0" (instance)))"#);
    assert_eq!(import, "acme:wallet/keys@1.0.0");
    assert_eq!(reason, ImportRejection::Unknown);
}

#[test]
fn future_world_version_is_refused_at_load() {
    let (import, reason) = forbidden_import(r#"(component (import "stratbox:strategy/logging@1.0.0" (instance)))"#);
    assert_eq!(import, "stratbox:strategy/logging@1.0.0");
    assert_eq!(reason, ImportRejection::UnsupportedWorldVersion);
}

#[test]
fn directory_lister_is_refused_at_load() {
    let bytes = std::fs::read(env!("STRATBOX_DIRECTORY_LISTER_WASM")).unwrap();
    match load_error(&bytes, &LoadOptions::default()) {
        LoadError::Forbidden { forbidden, .. } => {
            assert!(forbidden.import.starts_with("wasi:filesystem/"), "{}", forbidden.import);
            assert_eq!(forbidden.reason, ImportRejection::Filesystem);
        }
        other => panic!("expected a forbidden import, got {other}"),
    }
}

#[test]
fn component_for_another_world_is_refused() {
    let bytes = component_from_wat("(component)");
    assert!(matches!(load_error(&bytes, &LoadOptions::default()), LoadError::WrongWorld { .. }));
}

#[test]
fn core_module_is_refused() {
    let bytes = component_from_wat("(module)");
    let error = load_error(&bytes, &LoadOptions::default());
    assert!(matches!(error, LoadError::CoreModule { .. }), "{error}");
    assert!(error.to_string().contains("wasm32-wasip2"), "{error}");
}

#[test]
fn truncated_component_is_refused() {
    let bytes = &bundled::SMA_CROSSOVER_WASM[..bundled::SMA_CROSSOVER_WASM.len() / 2];
    assert!(matches!(load_error(bytes, &LoadOptions::default()), LoadError::Invalid { .. }));
}

#[test]
fn random_bytes_are_refused() {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    assert!(matches!(load_error(&bytes, &LoadOptions::default()), LoadError::NotWasm { .. }));
}

#[test]
fn random_bytes_behind_wasm_header_are_refused() {
    let mut bytes = b"\0asm\x0d\x00\x01\x00".to_vec();
    bytes.extend((0..4096u32).map(|index| (index.wrapping_mul(2_654_435_761) >> 24) as u8));
    assert!(matches!(load_error(&bytes, &LoadOptions::default()), LoadError::Invalid { .. }));
}

#[test]
fn component_above_size_limit_is_refused() {
    let options = LoadOptions { max_component_bytes: 1000, expected_sha256: None };
    let error = load_error(bundled::SMA_CROSSOVER_WASM, &options);
    assert!(matches!(error, LoadError::TooLarge { limit: 1000, .. }), "{error}");
}

#[test]
fn pinned_digest_mismatch_shows_both_digests() {
    let expected = "0".repeat(64);
    let options = LoadOptions { expected_sha256: Some(&expected), ..LoadOptions::default() };
    let error = load_error(bundled::SMA_CROSSOVER_WASM, &options);
    let message = error.to_string();
    assert!(matches!(error, LoadError::DigestMismatch { .. }));
    assert!(message.contains(&expected), "{message}");
    assert!(message.contains(&stratbox::sandbox::sha256_hex(bundled::SMA_CROSSOVER_WASM)), "{message}");
}

#[test]
fn skip_policy_restarts_then_quarantines() {
    let sandbox = Sandbox::new().unwrap();
    // Each fresh instance loops on its fifth event, so faults come every
    // five events until the third one quarantines the strategy.
    let outcome = beside_sma(&sandbox, &[("attack", "loop-event"), ("at", "5")], Limits::default(), OnFault::Skip);
    let result = outcome.hostile.expect("with --on-fault skip the run completes");
    assert_eq!(result.faults.len(), FaultPolicy::default().max_faults);
    assert!(result.faults.iter().all(|fault| fault.kind == FaultKind::OutOfFuel));
    assert_eq!(result.faults.iter().map(|fault| fault.candle).collect::<Vec<_>>(), vec![5, 10, 15]);
    assert!(result.quarantined_at_ms.is_some());
    assert_eq!(result.equity.len(), CANDLES, "the run goes on after the quarantine");
}

#[test]
fn skip_policy_survives_isolated_panic() {
    let sandbox = Sandbox::new().unwrap();
    let policy = FaultPolicy { max_faults: 1_000, window_events: 10 };
    let hostile = instance(&sandbox, HOSTILE_ID, &hostile_wasm(), Limits::default());
    let mut config = config(&[("attack", "panic")], OnFault::Skip);
    config.fault_policy = policy;
    let mut results = backtest::run_many(vec![(Box::new(hostile) as Box<dyn Strategy + Send>, config)], series());
    let result = results.pop().unwrap().unwrap();
    // Every fresh instance panics on its first event: one fault per event.
    assert_eq!(result.faults.len(), CANDLES);
    assert!(result.quarantined_at_ms.is_none());
}

fn stratbox() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stratbox"));
    command.env("XDG_CACHE_HOME", PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cache"));
    command
}

#[test]
fn snooping_strategy_sees_no_environment() {
    const SECRET: &str = "sk-live-4f1c9a7e2b8d6035aa91";
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("snoop");
    let _ = std::fs::remove_dir_all(&dir);

    let output = stratbox()
        .env("COINBASE_API_KEY", SECRET)
        .args(["backtest", "--param", "attack=snoop", "--strategy", env!("STRATBOX_HOSTILE_STRATEGY_WASM"), "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stdout.contains(SECRET), "the secret reached stdout");
    assert!(!stderr.contains(SECRET), "the secret reached stderr");

    let fills = std::fs::read_to_string(dir.join("fills.csv")).unwrap();
    assert!(!fills.contains(SECRET));
    let tags: Vec<&str> = fills.lines().skip(1).map(|line| line.split(',').nth(1).unwrap()).collect();
    assert!(tags.contains(&"variables-0"), "{tags:?}");
    assert!(tags.contains(&"arguments-0"), "{tags:?}");
    assert!(tags.contains(&"secret-"), "{tags:?}");
    // The clock reads the first candle's close, not the host's time.
    assert!(tags.contains(&"clock-1704067200"), "{tags:?}");
}

#[test]
fn tampered_cache_entry_is_recompiled() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tampered-cache");
    let _ = std::fs::remove_dir_all(&dir);
    let cache = CompiledCache::open(&dir).unwrap();
    let mut sandbox = Sandbox::new().unwrap();
    sandbox.set_cache(cache.clone());
    sandbox.load("sma", bundled::SMA_CROSSOVER_WASM).unwrap();

    let entry = cache.entry_path(&sandbox.engine, &stratbox::sandbox::sha256_hex(bundled::SMA_CROSSOVER_WASM));
    let original = std::fs::read(&entry).unwrap();
    let mut tampered = original.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0xff;
    std::fs::write(&entry, &tampered).unwrap();

    let component = sandbox.load("sma", bundled::SMA_CROSSOVER_WASM).expect("recompiled, not trusted");
    let mut strategy = WasmStrategy::instantiate(&component, Limits::default()).unwrap();
    let result = backtest::run(&mut strategy, series(), &config(&[], OnFault::Stop)).unwrap();
    assert_eq!(result.fills, sma_alone().fills);
    assert_eq!(std::fs::read(&entry).unwrap(), original, "the entry was rewritten");
}

#[cfg(unix)]
#[test]
fn cache_directory_open_to_others_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("open-cache");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let error = CompiledCache::open(&dir).unwrap_err();
    assert!(matches!(error, CacheError::Unsafe { .. }));
    assert!(error.to_string().contains("chmod 700"), "{error}");
}

#[cfg(unix)]
#[test]
fn cache_directory_is_created_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("new-cache");
    let _ = std::fs::remove_dir_all(&dir);
    CompiledCache::open(&dir).unwrap();
    assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
}
