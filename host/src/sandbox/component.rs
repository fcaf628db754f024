//! Loading a strategy component: digest, compilation, import policy and
//! pre-instantiation against the strategy world.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use super::policy::{self, ForbiddenImport};
use super::state::HostState;
use crate::strategy::bindings::StrategyPre;

/// A compiled, policy-checked strategy, ready to instantiate.
pub struct StrategyComponent {
    pub(crate) id: Arc<str>,
    pub(crate) sha256: String,
    pub(crate) pre: StrategyPre<HostState>,
    imports: Vec<String>,
    exports: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "strategy {id} is a core Wasm module, not a component; build it for wasm32-wasip2 \
         (cargo build --target wasm32-wasip2) or wrap it with wasm-tools component new"
    )]
    CoreModule { id: String },
    #[error("strategy {id} is not a Wasm component (no \\0asm header); pass a .wasm component file")]
    NotWasm { id: String },
    #[error("strategy {id} is not a valid component: {reason}")]
    Invalid { id: String, reason: String },
    #[error("strategy {id} rejected: {forbidden}")]
    Forbidden { id: String, forbidden: ForbiddenImport },
    #[error(
        "strategy {id} does not implement the stratbox:strategy world (exports {exports:?}): \
         {reason}"
    )]
    WrongWorld { id: String, exports: Vec<String>, reason: String },
}

const WASM_MAGIC: &[u8; 4] = b"\0asm";
/// Version and layer bytes after the magic: core modules are version 1,
/// layer 0; components carry layer 1.
const CORE_MODULE_VERSION: [u8; 4] = [1, 0, 0, 0];

/// Returns the lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What a component declares, read without instantiating it.
pub struct Inspection {
    pub sha256: String,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
    /// The first import outside the allow-list, if any.
    pub policy: Result<(), ForbiddenImport>,
    component: Component,
}

impl Inspection {
    /// The strategy world and version the component was built against,
    /// read from the versions of its `stratbox:strategy` imports.
    pub fn world(&self) -> Option<String> {
        self.imports.iter().find_map(|import| {
            let rest = import.strip_prefix(policy::WORLD_PACKAGE)?.strip_prefix('/')?;
            let (_, version) = rest.split_once('@')?;
            Some(format!("{}@{version}", policy::WORLD_PACKAGE))
        })
    }
}

/// Compiles `bytes` and lists the component's imports, exports and digest.
///
/// # Errors
/// [`LoadError::NotWasm`], [`LoadError::CoreModule`] or
/// [`LoadError::Invalid`] when the bytes are not a valid component.
pub fn inspect(engine: &Engine, id: &str, bytes: &[u8]) -> Result<Inspection, LoadError> {
    if bytes.len() < 8 || &bytes[..4] != WASM_MAGIC {
        return Err(LoadError::NotWasm { id: id.to_string() });
    }
    if bytes[4..8] == CORE_MODULE_VERSION {
        return Err(LoadError::CoreModule { id: id.to_string() });
    }

    let component = Component::new(engine, bytes)
        .map_err(|error| LoadError::Invalid { id: id.to_string(), reason: format!("{error:#}") })?;

    let component_type = component.component_type();
    let imports: Vec<String> = component_type.imports(engine).map(|(name, _)| name.to_string()).collect();
    let exports: Vec<String> = component_type.exports(engine).map(|(name, _)| name.to_string()).collect();
    let policy = policy::check_imports(imports.iter().map(String::as_str));

    Ok(Inspection { sha256: sha256_hex(bytes), imports, exports, policy, component })
}

impl StrategyComponent {
    /// Compiles `bytes`, checks every import against the allow-list and
    /// pre-instantiates the component against the strategy world.
    ///
    /// # Errors
    /// A [`LoadError`] naming the strategy and what to change.
    pub fn load(
        engine: &Engine,
        linker: &Linker<HostState>,
        id: &str,
        bytes: &[u8],
    ) -> Result<StrategyComponent, LoadError> {
        let Inspection { sha256, imports, exports, policy, component } = inspect(engine, id, bytes)?;
        policy.map_err(|forbidden| LoadError::Forbidden { id: id.to_string(), forbidden })?;

        let wrong_world = |error: wasmtime::Error| LoadError::WrongWorld {
            id: id.to_string(),
            exports: exports.clone(),
            reason: format!("{error:#}"),
        };
        let instance_pre = linker.instantiate_pre(&component).map_err(wrong_world)?;
        let pre = StrategyPre::new(instance_pre).map_err(wrong_world)?;

        Ok(StrategyComponent { id: Arc::from(id), sha256, pre, imports, exports })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    pub fn imports(&self) -> &[String] {
        &self.imports
    }

    pub fn exports(&self) -> &[String] {
        &self.exports
    }
}
