//! Runs strategy components under wasmtime with no capabilities beyond the
//! strategy world, fixed resource limits and an import allow-list.

pub mod component;
pub mod engine;
pub mod instance;
pub mod limits;
pub mod policy;
pub mod state;

pub use component::{Inspection, LoadError, StrategyComponent, inspect, sha256_hex};
pub use engine::new_engine;
pub use instance::{FuelStats, WasmStrategy};
pub use limits::Limits;
pub use state::new_linker;

/// The engine and linker shared by all strategies of one host.
pub struct Sandbox {
    pub engine: wasmtime::Engine,
    pub linker: wasmtime::component::Linker<state::HostState>,
}

impl Sandbox {
    /// Creates the engine and the linker of allowed imports.
    ///
    /// # Errors
    /// When wasmtime rejects the configuration.
    pub fn new() -> anyhow::Result<Sandbox> {
        let engine = new_engine()?;
        let linker = new_linker(&engine)?;
        Ok(Sandbox { engine, linker })
    }

    /// Compiles and checks a component; see [`StrategyComponent::load`].
    ///
    /// # Errors
    /// A [`LoadError`] naming the strategy and what to change.
    pub fn load(&self, id: &str, bytes: &[u8]) -> Result<StrategyComponent, LoadError> {
        StrategyComponent::load(&self.engine, &self.linker, id, bytes)
    }
}
