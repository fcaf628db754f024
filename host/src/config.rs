//! The configuration file (TOML) that `--config FILE` reads. Every field is
//! optional; a command-line option overrides the file, which overrides the
//! built-in default. Relative paths are read from the file's directory.
//!
//! ```toml
//! data = "data/coinbase-btc-usd-1h-2024.csv"
//! product = "BTC-USD"
//! cash = 10000
//! seed = 0
//! on_fault = "skip"            # or "stop"
//! cache_dir = "/var/cache/stratbox"
//!
//! [fees]
//! maker_fee_bps = 40
//! taker_fee_bps = 60
//! slippage_bps = 0
//!
//! [limits]                     # any field of sandbox::Limits
//! event_fuel = 10000000
//! memory_bytes = 67108864
//!
//! [fault_policy]
//! max_faults = 3
//! window_events = 1000
//!
//! [[strategies]]
//! id = "sma-fast"
//! path = "strategies/my_strategy.wasm"   # omit for the bundled SMA crossover
//! sha256 = "16634e7b..."                 # optional pin
//! params = { fast = "5", slow = "20" }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Deserialize;

use crate::backtest::OnFault;
use crate::sandbox::{FaultPolicy, Limits};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub data: Option<PathBuf>,
    pub product: Option<String>,
    pub cash: Option<f64>,
    pub seed: Option<u64>,
    pub on_fault: Option<OnFault>,
    pub cache_dir: Option<PathBuf>,
    #[serde(default)]
    pub fees: Fees,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub fault_policy: FaultPolicy,
    #[serde(default)]
    pub strategies: Vec<StrategyEntry>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fees {
    pub maker_fee_bps: Option<f64>,
    pub taker_fee_bps: Option<f64>,
    pub slippage_bps: Option<f64>,
}

/// One strategy to run.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyEntry {
    /// Name in logs and reports; defaults to the file name.
    pub id: Option<String>,
    /// Component file; None for the bundled SMA crossover.
    pub path: Option<PathBuf>,
    /// The sha256 the file must have.
    pub sha256: Option<String>,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

impl ConfigFile {
    /// Reads and parses `path`, resolving relative paths against its
    /// directory.
    ///
    /// # Errors
    /// When the file cannot be read, is not valid TOML, or has an unknown
    /// field; the message names the file and the line.
    pub fn load(path: &Path) -> anyhow::Result<ConfigFile> {
        let text = std::fs::read_to_string(path).with_context(|| format!("failed to read config file {}", path.display()))?;
        let mut config: ConfigFile =
            toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))?;

        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |file: &mut PathBuf| {
            if file.is_relative() {
                *file = base.join(&*file);
            }
        };
        if let Some(data) = config.data.as_mut() {
            resolve(data);
        }
        if let Some(cache_dir) = config.cache_dir.as_mut() {
            resolve(cache_dir);
        }
        for strategy in &mut config.strategies {
            if let Some(file) = strategy.path.as_mut() {
                resolve(file);
            }
        }
        Ok(config)
    }
}
