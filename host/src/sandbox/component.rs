//! Loading a strategy component: size and digest checks, compilation, the
//! import policy and pre-instantiation against the strategy world.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use super::cache::CompiledCache;
use super::engine::Metering;
use super::limits::DEFAULT_MAX_COMPONENT_BYTES;
use super::policy::{self, ForbiddenImport};
use super::state::HostState;
use crate::strategy::bindings::StrategyPre;

/// A compiled, policy-checked strategy, ready to instantiate.
pub struct StrategyComponent {
    pub(crate) id: Arc<str>,
    pub(crate) sha256: String,
    pub(crate) pre: StrategyPre<HostState>,
    pub(crate) metering: Metering,
    imports: Vec<String>,
    exports: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "strategy {id} is {size} bytes, above the limit of {limit} bytes; raise \
         --max-component-bytes if the file is trusted"
    )]
    TooLarge { id: String, size: usize, limit: usize },
    #[error(
        "strategy {id} does not match its pinned digest: expected sha256 {expected}, got {actual}; \
         check that the file is the one you reviewed, then update the pin"
    )]
    DigestMismatch { id: String, expected: String, actual: String },
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

/// Checks made before a component is compiled.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions<'a> {
    pub max_component_bytes: usize,
    /// The sha256 the file must have, as lower- or upper-case hex.
    pub expected_sha256: Option<&'a str>,
}

impl Default for LoadOptions<'_> {
    fn default() -> Self {
        LoadOptions { max_component_bytes: DEFAULT_MAX_COMPONENT_BYTES, expected_sha256: None }
    }
}

const WASM_MAGIC: &[u8; 4] = b"\0asm";
/// Version and layer bytes after the magic: core modules are version 1,
/// layer 0; components carry layer 1.
const CORE_MODULE_VERSION: [u8; 4] = [1, 0, 0, 0];

/// Returns the lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A component's declared imports, exports and digest, read without
/// instantiating it.
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

/// Checks size and digest, compiles `bytes` (through `cache` when given)
/// and lists the component's imports and exports.
///
/// # Errors
/// [`LoadError`] when the file is too large, does not match its pin, or is
/// not a valid component.
pub fn inspect(
    engine: &Engine,
    id: &str,
    bytes: &[u8],
    options: &LoadOptions<'_>,
    cache: Option<&CompiledCache>,
) -> Result<Inspection, LoadError> {
    if bytes.len() > options.max_component_bytes {
        return Err(LoadError::TooLarge { id: id.to_string(), size: bytes.len(), limit: options.max_component_bytes });
    }
    let sha256 = sha256_hex(bytes);
    if let Some(expected) = options.expected_sha256
        && !expected.eq_ignore_ascii_case(&sha256)
    {
        return Err(LoadError::DigestMismatch { id: id.to_string(), expected: expected.to_string(), actual: sha256 });
    }
    if bytes.len() < 4 || &bytes[..4] != WASM_MAGIC {
        return Err(LoadError::NotWasm { id: id.to_string() });
    }
    if bytes.len() < 8 {
        return Err(LoadError::Invalid {
            id: id.to_string(),
            reason: format!("the file ends after {} bytes, inside the Wasm header", bytes.len()),
        });
    }
    if bytes[4..8] == CORE_MODULE_VERSION {
        return Err(LoadError::CoreModule { id: id.to_string() });
    }

    let compiled = match cache {
        Some(cache) => cache.load_or_compile(engine, &sha256, bytes),
        None => Component::new(engine, bytes),
    };
    let component = compiled.map_err(|error| LoadError::Invalid { id: id.to_string(), reason: format!("{error:#}") })?;

    let component_type = component.component_type();
    let imports: Vec<String> = component_type.imports(engine).map(|(name, _)| name.to_string()).collect();
    let exports: Vec<String> = component_type.exports(engine).map(|(name, _)| name.to_string()).collect();
    let policy = policy::check_imports(imports.iter().map(String::as_str));

    Ok(Inspection { sha256, imports, exports, policy, component })
}

impl StrategyComponent {
    /// Inspects `bytes`, rejects any import outside the allow-list and
    /// pre-instantiates the component against the strategy world.
    ///
    /// # Errors
    /// A [`LoadError`] naming the strategy and what to change.
    pub fn load(
        engine: &Engine,
        linker: &Linker<HostState>,
        metering: Metering,
        id: &str,
        bytes: &[u8],
        options: &LoadOptions<'_>,
        cache: Option<&CompiledCache>,
    ) -> Result<StrategyComponent, LoadError> {
        let Inspection { sha256, imports, exports, policy, component } = inspect(engine, id, bytes, options, cache)?;
        policy.map_err(|forbidden| LoadError::Forbidden { id: id.to_string(), forbidden })?;

        let wrong_world = |error: wasmtime::Error| LoadError::WrongWorld {
            id: id.to_string(),
            exports: exports.clone(),
            reason: format!("{error:#}"),
        };
        let instance_pre = linker.instantiate_pre(&component).map_err(wrong_world)?;
        let pre = StrategyPre::new(instance_pre).map_err(wrong_world)?;

        Ok(StrategyComponent { id: Arc::from(id), sha256, pre, metering, imports, exports })
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
