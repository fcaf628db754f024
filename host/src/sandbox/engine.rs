//! The one wasmtime [`Engine`] shared by every strategy, configured for
//! untrusted code.

use wasmtime::{Config, Engine};

use super::limits::MAX_WASM_STACK_BYTES;

/// Creates the engine for strategy components.
///
/// Threads, GC (and with it exceptions and typed function references) and
/// component-model async are compiled out of this build of wasmtime through
/// its Cargo features, so no component can use them. The proposals that are
/// compiled in but not needed by a strategy are switched off here, because
/// each has had security advisories and a strategy gains nothing from them.
///
/// # Errors
/// When wasmtime rejects the configuration, which points to a build problem.
pub fn new_engine() -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);

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

    // Fuel counts Wasm instructions, so a backtest stops a runaway strategy
    // at exactly the same point on every machine.
    config.consume_fuel(true);
    // NaN bit patterns differ between CPUs; canonical NaNs keep float
    // results identical across machines.
    config.cranelift_nan_canonicalization(true);
    // Guest recursion traps at this depth instead of growing into the host's
    // stack.
    config.max_wasm_stack(MAX_WASM_STACK_BYTES);

    Ok(Engine::new(&config)?)
}
