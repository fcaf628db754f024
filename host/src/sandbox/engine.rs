//! The one wasmtime [`Engine`] shared by every strategy, configured for
//! untrusted code.

use wasmtime::{Config, Engine};

use super::limits::MAX_WASM_STACK_BYTES;

/// The bound on the CPU time of each call into a strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Metering {
    /// Counts Wasm instructions. A runaway strategy stops at exactly the same
    /// point on every machine, so backtests stay reproducible.
    Fuel,
    /// Interrupts a call after a wall-clock budget, measured in ticks of a
    /// background thread. Cheaper than fuel; meant for live trading.
    Epoch,
    /// No CPU bound at all. Only for measuring the cost of the other two.
    Unmetered,
}

/// Creates the engine for strategy components.
///
/// Threads, GC (and with it exceptions and typed function references),
/// component-model async and stack switching are compiled out of this build
/// of wasmtime through its Cargo features, so no component can use them.
/// The proposals that are compiled in but not needed by a strategy are
/// switched off here, because each has had security advisories and a
/// strategy gains nothing from them.
///
/// # Errors
/// When wasmtime rejects the configuration, which points to a build problem.
pub fn new_engine(metering: Metering) -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);

    // Stack switching is compiled in for the component model's own use.
    config.wasm_stack_switching(false);
    config.wasm_relaxed_simd(false);
    // Rust's wasm32-wasip2 standard library is built without SIMD, and
    // scalar code is easier to keep deterministic.
    config.wasm_simd(false);
    config.wasm_tail_call(false);
    config.wasm_memory64(false);
    config.wasm_multi_memory(false);
    config.wasm_wide_arithmetic(false);
    config.wasm_custom_page_sizes(false);
    config.wasm_shared_everything_threads(false);

    config.consume_fuel(metering == Metering::Fuel);
    config.epoch_interruption(metering == Metering::Epoch);
    // NaN bit patterns differ between CPUs; canonical NaNs keep float
    // results identical across machines.
    config.cranelift_nan_canonicalization(true);
    // Guest recursion traps at this depth instead of growing into the host's
    // stack.
    config.max_wasm_stack(MAX_WASM_STACK_BYTES);

    Ok(Engine::new(&config)?)
}

/// Interval between epoch ticks, in milliseconds, when the engine meters
/// time with epochs.
pub const EPOCH_TICK_MS: u64 = 10;
