//! `stratbox check`: what a component declares and whether it may run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use stratbox::sandbox::{LoadOptions, Limits, Sandbox, policy};

use super::sandbox_args::CacheArgs;

#[derive(Args)]
pub struct CheckArgs {
    /// The component file (.wasm).
    pub file: PathBuf,

    /// Fail unless the file has this sha256 (hex).
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,

    /// Largest component file accepted, in bytes [default: 67108864].
    #[arg(long, value_name = "BYTES")]
    pub max_component_bytes: Option<usize>,

    #[command(flatten)]
    pub cache: CacheArgs,
}

/// Names a strategy after its file, without the extension.
pub fn strategy_id_of(path: &Path) -> String {
    path.file_stem().map_or_else(|| path.display().to_string(), |stem| stem.to_string_lossy().into_owned())
}

pub fn run(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.file).with_context(|| format!("failed to read {}", args.file.display()))?;
    let id = strategy_id_of(&args.file);
    let mut sandbox = Sandbox::new()?;
    args.cache.attach(&mut sandbox, None);
    let options = LoadOptions {
        max_component_bytes: args.max_component_bytes.unwrap_or(Limits::default().max_component_bytes),
        expected_sha256: args.sha256.as_deref(),
    };
    let inspection =
        sandbox.inspect(&id, &bytes, &options).with_context(|| format!("cannot check {}", args.file.display()))?;

    println!("file      {}", args.file.display());
    println!("sha256    {}", inspection.sha256);
    let world = inspection.world().unwrap_or_else(|| "unknown (imports no stratbox:strategy interface)".to_string());
    println!("world     {world}");
    println!("imports");
    for import in &inspection.imports {
        println!("          {import}");
    }
    println!("exports");
    for export in &inspection.exports {
        println!("          {export}");
    }

    if let Err(forbidden) = &inspection.policy {
        println!("policy    FAIL: {forbidden}");
        return Ok(ExitCode::FAILURE);
    }
    match sandbox.load_with(&id, &bytes, &options) {
        Ok(_) => {
            println!(
                "policy    pass: every import is allowed and the exports match {}@{}",
                policy::WORLD_PACKAGE,
                policy::WORLD_VERSION
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            println!("policy    FAIL: {error}");
            Ok(ExitCode::FAILURE)
        }
    }
}
