//! An on-disk cache of compiled components, so that a large component (a
//! Python one takes seconds to compile) is compiled once per host.
//!
//! Entries are keyed by the component's sha256 and the engine's
//! compatibility hash. `Component::deserialize` trusts its input, so an
//! entry is loaded only when it passes four checks. The directory belongs
//! to this user and is closed to everyone else. The file belongs to this
//! user with mode 0600. Its header names the expected component digest and
//! engine hash. The compiled bytes match the sha256 recorded in the header.
//! Anything else is deleted and compiled afresh. These checks catch
//! corruption, truncation, stale entries and files planted by other users,
//! but not someone who can already write as this user.

use std::fs::{self, DirBuilder, OpenOptions};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use super::component::sha256_hex;

const MAGIC: &[u8] = b"stratbox compiled component v1\n";
const SHA256_HEX_LEN: usize = 64;
const ENGINE_HASH_HEX_LEN: usize = 16;
const HEADER_LEN: usize = MAGIC.len() + SHA256_HEX_LEN + 1 + ENGINE_HASH_HEX_LEN + 1 + SHA256_HEX_LEN + 1;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("failed to create cache directory {path}: {source}")]
    Create { path: PathBuf, source: std::io::Error },
    #[error(
        "cache directory {path} is not safe to load compiled code from: {reason}; \
         fix it with `chmod 700 {path}` as its owner, or pass another --cache-dir"
    )]
    Unsafe { path: PathBuf, reason: String },
}

/// A directory of compiled components.
#[derive(Debug, Clone)]
pub struct CompiledCache {
    dir: PathBuf,
}

fn effective_uid() -> u32 {
    // SAFETY: geteuid takes no arguments and POSIX defines no error for it.
    unsafe { libc::geteuid() }
}

impl CompiledCache {
    /// Returns the default location: `$XDG_CACHE_HOME/stratbox/components`,
    /// else `$HOME/.cache/stratbox/components`.
    pub fn default_dir() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
        Some(base.join("stratbox").join("components"))
    }

    /// Opens the cache in `dir`, creating it with mode 0700 if needed.
    ///
    /// # Errors
    /// [`CacheError`] when the directory cannot be created, or is not a
    /// directory owned by this user and closed to group and others.
    pub fn open(dir: &Path) -> Result<CompiledCache, CacheError> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|source| CacheError::Create { path: dir.to_path_buf(), source })?;

        let unsafe_dir = |reason: String| CacheError::Unsafe { path: dir.to_path_buf(), reason };
        let metadata = fs::symlink_metadata(dir).map_err(|error| unsafe_dir(error.to_string()))?;
        if !metadata.is_dir() {
            return Err(unsafe_dir("it is not a directory".to_string()));
        }
        if metadata.uid() != effective_uid() {
            return Err(unsafe_dir(format!("it belongs to uid {}, not to this user", metadata.uid())));
        }
        if metadata.mode() & 0o077 != 0 {
            return Err(unsafe_dir(format!("its mode is {:o}, open to group or others", metadata.mode() & 0o777)));
        }
        Ok(CompiledCache { dir: dir.to_path_buf() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Returns the path of the file that stores a component's compiled code.
    pub fn entry_path(&self, engine: &Engine, component_sha256: &str) -> PathBuf {
        self.dir.join(format!("{component_sha256}-{}.cwasm", engine_hash(engine)))
    }

    /// Returns the compiled component from the cache, or compiles `bytes`
    /// and stores the result.
    ///
    /// # Errors
    /// When compilation fails. Cache read and write failures are logged and
    /// fall back to compiling.
    pub fn load_or_compile(&self, engine: &Engine, component_sha256: &str, bytes: &[u8]) -> wasmtime::Result<Component> {
        let path = self.entry_path(engine, component_sha256);
        match self.read_entry(&path, engine, component_sha256) {
            Ok(Some(component)) => return Ok(component),
            Ok(None) => {}
            Err(reason) => {
                tracing::warn!(path = %path.display(), reason, "discarding compiled-code cache entry");
                let _ = fs::remove_file(&path);
            }
        }

        let compiled = engine.precompile_component(bytes)?;
        if let Err(error) = self.write_entry(&path, engine, component_sha256, &compiled) {
            tracing::warn!(path = %path.display(), %error, "failed to store compiled component in the cache");
        }
        // SAFETY: these bytes were produced by `precompile_component` on this
        // engine a moment ago, in memory.
        unsafe { Component::deserialize(engine, &compiled) }
    }

    /// Reads and checks an entry: Ok(None) when there is none, Err with the
    /// reason when one exists but must not be trusted.
    fn read_entry(&self, path: &Path, engine: &Engine, component_sha256: &str) -> Result<Option<Component>, String> {
        let metadata = match fs::symlink_metadata(path) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error.to_string()),
        };
        if !metadata.is_file() {
            return Err("not a regular file".to_string());
        }
        if metadata.uid() != effective_uid() || metadata.mode() & 0o077 != 0 {
            return Err(format!("owner uid {} and mode {:o} are not this host's", metadata.uid(), metadata.mode() & 0o777));
        }

        let contents = fs::read(path).map_err(|error| error.to_string())?;
        if contents.len() < HEADER_LEN || !contents.starts_with(MAGIC) {
            return Err("missing or truncated header".to_string());
        }
        let header = &contents[MAGIC.len()..HEADER_LEN];
        let expected = format!("{component_sha256}\n{}\n", engine_hash(engine));
        if !header.starts_with(expected.as_bytes()) {
            return Err("header names another component or engine".to_string());
        }
        let recorded = &header[expected.len()..expected.len() + SHA256_HEX_LEN];
        let artifact = &contents[HEADER_LEN..];
        if sha256_hex(artifact).as_bytes() != recorded {
            return Err("compiled bytes do not match their recorded sha256".to_string());
        }

        // SAFETY: the file is owned by this user with mode 0600, in a
        // directory only this user can write. It carries the key it was
        // stored under, and its bytes hash to the digest this host wrote
        // beside them when it compiled them.
        unsafe { Component::deserialize(engine, artifact) }.map(Some).map_err(|error| format!("{error:#}"))
    }

    fn write_entry(&self, path: &Path, engine: &Engine, component_sha256: &str, compiled: &[u8]) -> std::io::Result<()> {
        let temporary = path.with_extension(format!("tmp{}", std::process::id()));
        let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temporary)?;
        let written = (|| {
            file.write_all(MAGIC)?;
            write!(file, "{component_sha256}\n{}\n{}\n", engine_hash(engine), sha256_hex(compiled))?;
            file.write_all(compiled)?;
            file.sync_all()
        })();
        if let Err(error) = written {
            let _ = fs::remove_file(&temporary);
            return Err(error);
        }
        fs::rename(&temporary, path)
    }
}

/// Returns the engine's compatibility hash as 16 hex digits.
/// `DefaultHasher::new` uses fixed keys, so the value is stable across runs
/// of one build.
fn engine_hash(engine: &Engine) -> String {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}
