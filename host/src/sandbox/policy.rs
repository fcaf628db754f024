//! The import allow-list every component is checked against before it is
//! instantiated.
//!
//! A strategy may import the logging interface of its world and the WASI
//! interfaces that Rust's standard library pulls in. Those WASI interfaces
//! are backed by an empty context: no environment variables, no arguments,
//! closed stdin, stdout and stderr sent to the host's log, clocks at the
//! event's time and seeded random numbers. The file system, sockets, HTTP
//! and anything unknown are rejected.

use std::fmt;

/// The strategy world this host implements.
pub const WORLD_PACKAGE: &str = "stratbox:strategy";
pub const WORLD_VERSION: &str = "0.1.0";

/// WASI 0.2 interfaces a strategy may import, each served by an empty or
/// deterministic implementation.
const ALLOWED_WASI: &[&str] = &[
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:clocks/monotonic-clock",
    "wasi:clocks/wall-clock",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:random/random",
];

const ALLOWED_WORLD_INTERFACES: &[&str] = &["types", "logging"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("import {import} is not allowed: {reason}")]
pub struct ForbiddenImport {
    pub import: String,
    pub reason: ImportRejection,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportRejection {
    Filesystem,
    Network,
    Http,
    UnsupportedWasiVersion,
    UnsupportedWorldVersion,
    Unknown,
}

impl fmt::Display for ImportRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportRejection::Filesystem => f.write_str("strategies have no file system access"),
            ImportRejection::Network => f.write_str("strategies have no network access"),
            ImportRejection::Http => f.write_str("strategies cannot make HTTP requests"),
            ImportRejection::UnsupportedWasiVersion => {
                f.write_str("this host provides WASI 0.2.x only; rebuild for wasm32-wasip2")
            }
            ImportRejection::UnsupportedWorldVersion => write!(
                f,
                "this host implements {WORLD_PACKAGE}@{WORLD_VERSION}; rebuild the strategy \
                 against that version of the WIT package"
            ),
            ImportRejection::Unknown => f.write_str(
                "not an interface a strategy may use; strategies may import only \
                 stratbox:strategy/logging and the WASI interfaces of Rust's standard library",
            ),
        }
    }
}

/// Checks one import name, for example `wasi:cli/stdout@0.2.3`.
///
/// # Errors
/// [`ForbiddenImport`] naming the import and the reason it is not allowed.
pub fn check_import(import: &str) -> Result<(), ForbiddenImport> {
    let (interface, version) = import.split_once('@').unwrap_or((import, ""));
    let reject = |reason| Err(ForbiddenImport { import: import.to_string(), reason });

    if interface.starts_with("wasi:filesystem/") {
        return reject(ImportRejection::Filesystem);
    }
    if interface.starts_with("wasi:sockets/") {
        return reject(ImportRejection::Network);
    }
    if interface.starts_with("wasi:http/") {
        return reject(ImportRejection::Http);
    }
    if ALLOWED_WASI.contains(&interface) {
        if !version.starts_with("0.2.") {
            return reject(ImportRejection::UnsupportedWasiVersion);
        }
        return Ok(());
    }
    if let Some(name) = interface.strip_prefix(WORLD_PACKAGE).and_then(|rest| rest.strip_prefix('/'))
        && ALLOWED_WORLD_INTERFACES.contains(&name)
    {
        if !is_compatible_world_version(version) {
            return reject(ImportRejection::UnsupportedWorldVersion);
        }
        return Ok(());
    }
    reject(ImportRejection::Unknown)
}

/// Versions this host can run: with a 0.x version, a change of the minor
/// number is breaking, as in Cargo's reading of semver.
fn is_compatible_world_version(version: &str) -> bool {
    let mut ours = WORLD_VERSION.split('.');
    let mut theirs = version.split('.');
    ours.next() == theirs.next() && ours.next() == theirs.next() && theirs.next().is_some()
}

/// Checks every import and returns the first that is not allowed.
///
/// # Errors
/// [`ForbiddenImport`] for the first import outside the allow-list.
pub fn check_imports<'a>(imports: impl IntoIterator<Item = &'a str>) -> Result<(), ForbiddenImport> {
    imports.into_iter().try_for_each(check_import)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_wasi_stdout_0_2() {
        assert_eq!(check_import("wasi:cli/stdout@0.2.3"), Ok(()));
    }

    #[test]
    fn allows_world_logging_same_minor() {
        assert_eq!(check_import("stratbox:strategy/logging@0.1.4"), Ok(()));
    }

    #[test]
    fn rejects_sockets() {
        let error = check_import("wasi:sockets/tcp@0.2.3").unwrap_err();
        assert_eq!(error.reason, ImportRejection::Network);
        assert!(error.to_string().contains("wasi:sockets/tcp@0.2.3"), "{error}");
    }

    #[test]
    fn rejects_filesystem_preopens() {
        let error = check_import("wasi:filesystem/preopens@0.2.6").unwrap_err();
        assert_eq!(error.reason, ImportRejection::Filesystem);
    }

    #[test]
    fn rejects_http() {
        let error = check_import("wasi:http/outgoing-handler@0.2.3").unwrap_err();
        assert_eq!(error.reason, ImportRejection::Http);
    }

    #[test]
    fn rejects_next_world_version() {
        let error = check_import("stratbox:strategy/logging@0.2.0").unwrap_err();
        assert_eq!(error.reason, ImportRejection::UnsupportedWorldVersion);
    }

    #[test]
    fn rejects_wasi_0_3() {
        let error = check_import("wasi:cli/stdout@0.3.0").unwrap_err();
        assert_eq!(error.reason, ImportRejection::UnsupportedWasiVersion);
    }

    #[test]
    fn rejects_unknown_interface() {
        let error = check_import("acme:wallet/keys@1.0.0").unwrap_err();
        assert_eq!(error.reason, ImportRejection::Unknown);
    }
}
