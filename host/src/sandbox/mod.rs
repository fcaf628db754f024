//! Runs strategy components under wasmtime with no capabilities beyond the
//! strategy world, fixed resource limits and an import allow-list.

pub mod cache;
pub mod component;
pub mod engine;
pub mod instance;
pub mod limits;
pub mod log;
pub mod policy;
pub mod state;
pub mod supervisor;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub use cache::{CacheError, CompiledCache};
pub use component::{Inspection, LoadError, LoadOptions, StrategyComponent, inspect, sha256_hex};
pub use engine::{EPOCH_TICK_MS, Metering, new_engine};
pub use instance::{FuelStats, WasmStrategy};
pub use limits::Limits;
pub use state::new_linker;
pub use supervisor::{FaultPolicy, FaultTracker, Verdict};

/// The engine and linker shared by all strategies of one host, with the
/// optional compiled-code cache and, for epoch metering, the ticker thread.
pub struct Sandbox {
    pub engine: wasmtime::Engine,
    pub linker: wasmtime::component::Linker<state::HostState>,
    metering: Metering,
    cache: Option<CompiledCache>,
    ticker_stop: Option<Arc<AtomicBool>>,
}

impl Sandbox {
    /// Creates a fuel-metered sandbox, as backtests use.
    ///
    /// # Errors
    /// When wasmtime rejects the configuration.
    pub fn new() -> anyhow::Result<Sandbox> {
        Sandbox::with_metering(Metering::Fuel)
    }

    /// Creates a sandbox with the given CPU metering. Epoch metering starts
    /// a thread that advances the engine's epoch every [`EPOCH_TICK_MS`]
    /// until the sandbox is dropped.
    ///
    /// # Errors
    /// When wasmtime rejects the configuration.
    pub fn with_metering(metering: Metering) -> anyhow::Result<Sandbox> {
        let engine = new_engine(metering)?;
        let linker = new_linker(&engine)?;
        let ticker_stop = (metering == Metering::Epoch).then(|| {
            let stop = Arc::new(AtomicBool::new(false));
            let (engine, stop_flag) = (engine.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop_flag.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(EPOCH_TICK_MS));
                    engine.increment_epoch();
                }
            });
            stop
        });
        Ok(Sandbox { engine, linker, metering, cache: None, ticker_stop })
    }

    /// Uses `cache` for compiled components from now on.
    pub fn set_cache(&mut self, cache: CompiledCache) {
        self.cache = Some(cache);
    }

    pub fn metering(&self) -> Metering {
        self.metering
    }

    /// Compiles and checks a component with the default load options; see
    /// [`StrategyComponent::load`].
    ///
    /// # Errors
    /// A [`LoadError`] naming the strategy and what to change.
    pub fn load(&self, id: &str, bytes: &[u8]) -> Result<StrategyComponent, LoadError> {
        self.load_with(id, bytes, &LoadOptions::default())
    }

    /// Compiles and checks a component; see [`StrategyComponent::load`].
    ///
    /// # Errors
    /// A [`LoadError`] naming the strategy and what to change.
    pub fn load_with(&self, id: &str, bytes: &[u8], options: &LoadOptions<'_>) -> Result<StrategyComponent, LoadError> {
        StrategyComponent::load(&self.engine, &self.linker, self.metering, id, bytes, options, self.cache.as_ref())
    }

    /// Compiles a component and lists what it declares; see [`inspect`].
    ///
    /// # Errors
    /// A [`LoadError`] when the bytes are not a valid component.
    pub fn inspect(&self, id: &str, bytes: &[u8], options: &LoadOptions<'_>) -> Result<Inspection, LoadError> {
        inspect(&self.engine, id, bytes, options, self.cache.as_ref())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = &self.ticker_stop {
            stop.store(true, Ordering::Relaxed);
        }
    }
}
