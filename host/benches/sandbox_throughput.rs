//! Measures candles per second through the sandboxed SMA crossover
//! component against the same Rust source compiled natively. Both are
//! driven by the same backtest engine over the same series of more than a
//! million candles. It also measures the per-event cost of each way of
//! bounding CPU time: none, fuel and epochs.
//!
//! Run with `cargo bench --bench sandbox_throughput`. The series is the
//! bundled Coinbase BTC-USD hourly file laid end to end, every other copy
//! reversed in time so that the price path stays continuous and bounded.

#[path = "../../tests/support/native_sma.rs"]
mod native_sma;

use std::time::{Duration, Instant};

use stratbox::backtest::{self, BacktestConfig, Costs};
use stratbox::bundled;
use stratbox::data::{Candle, CandleSeries, parse_candles};
use stratbox::sandbox::{Limits, Metering, Sandbox, WasmStrategy};
use stratbox::strategy::Strategy;

const TARGET_CANDLES: usize = 1_000_000;
const ROUNDS: usize = 3;

fn long_series() -> CandleSeries {
    let base = parse_candles(bundled::BTC_USD_1H_2024_CSV).expect("bundled data parses");
    let mut candles = Vec::with_capacity(TARGET_CANDLES + base.candles.len());
    let mut copy = 0;
    while candles.len() < TARGET_CANDLES {
        let forward = copy % 2 == 0;
        let source: Box<dyn Iterator<Item = &Candle>> =
            if forward { Box::new(base.candles.iter()) } else { Box::new(base.candles.iter().rev()) };
        for candle in source {
            let start_ms = base.candles[0].start_ms + candles.len() as i64 * base.interval_ms;
            let (open, close) = if forward { (candle.open, candle.close) } else { (candle.close, candle.open) };
            candles.push(Candle { start_ms, open, close, ..*candle });
        }
        copy += 1;
    }
    CandleSeries { candles, ..base }
}

fn config() -> BacktestConfig {
    BacktestConfig {
        product: bundled::BTC_USD_PRODUCT.to_string(),
        initial_cash: 10_000.0,
        costs: Costs::default(),
        ..BacktestConfig::default()
    }
}

/// Runs a fresh strategy over the series `ROUNDS` times and returns the
/// fastest run and the number of fills, which must agree across strategies.
fn measure(series: &CandleSeries, mut fresh: impl FnMut() -> Box<dyn Strategy>) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut fills = 0;
    for _ in 0..ROUNDS {
        let mut strategy = fresh();
        let start = Instant::now();
        let result = backtest::run(strategy.as_mut(), series, &config()).expect("backtest runs");
        best = best.min(start.elapsed());
        fills = result.fills.len();
    }
    (best, fills)
}

fn main() {
    let series = long_series();
    let count = series.candles.len();
    println!("series: {count} candles");
    let rate = |time: Duration| count as f64 / time.as_secs_f64();
    let per_candle_ns = |time: Duration| time.as_secs_f64() / count as f64 * 1e9;

    let (native_time, native_fills) = measure(&series, || Box::new(native_sma::NativeSma::default()));
    println!(
        "native:              {:>10.0} candles/s  {:>6.0} ns/candle  ({native_fills} fills)",
        rate(native_time),
        per_candle_ns(native_time)
    );

    let mut unmetered_time = None;
    for (name, metering) in [
        ("sandbox, unmetered", Metering::Unmetered),
        ("sandbox, fuel", Metering::Fuel),
        ("sandbox, epochs", Metering::Epoch),
    ] {
        let sandbox = Sandbox::with_metering(metering).expect("engine");
        let component = sandbox.load(bundled::SMA_CROSSOVER_ID, bundled::SMA_CROSSOVER_WASM).expect("component loads");
        let (time, fills) = measure(&series, || {
            Box::new(WasmStrategy::instantiate(&component, Limits::default()).expect("instance"))
        });
        assert_eq!(native_fills, fills, "sandboxed and native runs must trade the same");
        let baseline = *unmetered_time.get_or_insert(time);
        println!(
            "{name:<20} {:>10.0} candles/s  {:>6.0} ns/candle  {:.3} of native  {:+.0} ns/candle against unmetered",
            rate(time),
            per_candle_ns(time),
            rate(time) / rate(native_time),
            per_candle_ns(time) - per_candle_ns(baseline)
        );
    }
}
