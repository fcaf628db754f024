//! Builds the bundled strategies for `wasm32-wasip2` so that `cargo build`,
//! `cargo run` and `cargo test` always have current components to embed.
//!
//! The nested cargo uses its own target directory: the outer cargo holds the
//! lock on the main one for the whole build.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const WASM_TARGET: &str = "wasm32-wasip2";
const STRATEGY_PROFILE: &str = "strategy";

/// (package name, environment variable that receives the component's path).
/// The SMA crossover is embedded in the binary; the hostile strategy is only
/// read by the sandbox tests, from the path in its variable.
const BUNDLED: &[(&str, &str)] = &[
    ("sma-crossover", "STRATBOX_SMA_CROSSOVER_WASM"),
    ("hostile-strategy", "STRATBOX_HOSTILE_STRATEGY_WASM"),
    ("directory-lister", "STRATBOX_DIRECTORY_LISTER_WASM"),
];

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir.parent().expect("host/ sits inside the workspace").to_path_buf();

    println!("cargo:rerun-if-changed={}", root.join("wit").display());
    println!("cargo:rerun-if-changed={}", root.join("strategies").display());
    println!("cargo:rerun-if-changed={}", root.join("tests/hostile-strategy").display());
    println!("cargo:rerun-if-changed={}", root.join("tests/directory-lister").display());
    println!("cargo:rerun-if-changed={}", root.join("Cargo.lock").display());
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");

    require_wasm_target();

    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("strategies");

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut command = Command::new(cargo);
    command
        .current_dir(&root)
        .args(["build", "--target", WASM_TARGET, "--profile", STRATEGY_PROFILE])
        .arg("--target-dir")
        .arg(&target_dir);
    for (package, _) in BUNDLED {
        command.args(["--package", package]);
    }
    // Flags meant for the host (coverage, sanitizers, the clippy wrapper)
    // would break or bloat a Wasm build.
    for variable in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
    ] {
        command.env_remove(variable);
    }

    let status = command.status().expect("failed to start cargo for the bundled strategies");
    if !status.success() {
        panic!("building the bundled strategies for {WASM_TARGET} failed: see the cargo output above");
    }

    for (package, variable) in BUNDLED {
        let file = target_dir
            .join(WASM_TARGET)
            .join(STRATEGY_PROFILE)
            .join(format!("{}.wasm", package.replace('-', "_")));
        assert!(file.is_file(), "expected component {} after the build", file.display());
        println!("cargo:rustc-env={variable}={}", file.display());
    }
}

/// Stops the build with the fix when the toolchain lacks the Wasm target.
fn require_wasm_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let output = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .expect("failed to run rustc --print sysroot");
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let target_lib = Path::new(&sysroot).join("lib/rustlib").join(WASM_TARGET);
    if !target_lib.is_dir() {
        panic!(
            "\n\nthe Rust target {WASM_TARGET} is not installed in {sysroot}.\n\
             stratbox builds its bundled strategies for it. Install it with:\n\n    \
             rustup target add {WASM_TARGET}\n\n"
        );
    }
}
