//! Sandbox options shared by the commands: limits, cache and digest pin.

use std::path::PathBuf;

use clap::Args;
use stratbox::sandbox::{CompiledCache, Limits, Sandbox};

/// Limits of each strategy instance. Unset options keep the config file's
/// value, then the default shown.
#[derive(Args, Debug, Default)]
pub struct LimitArgs {
    /// Fuel (about one unit per Wasm instruction) for each event call; a
    /// call that uses it all faults [default: 10000000].
    #[arg(long, value_name = "UNITS")]
    pub event_fuel: Option<u64>,

    /// Fuel for instantiation and the init call [default: 100000000].
    #[arg(long, value_name = "UNITS")]
    pub init_fuel: Option<u64>,

    /// Maximum linear memory of a strategy, in bytes [default: 67108864,
    /// which is 64 MiB].
    #[arg(long, value_name = "BYTES")]
    pub memory_limit: Option<usize>,

    /// Maximum elements in each of a strategy's tables [default: 10000].
    #[arg(long, value_name = "COUNT")]
    pub max_table_elements: Option<usize>,

    /// Maximum actions one event call may return [default: 1000].
    #[arg(long, value_name = "COUNT")]
    pub max_actions: Option<usize>,

    /// Maximum bytes copied out of a strategy in one call: its action list
    /// or one log message [default: 1048576, which is 1 MiB].
    #[arg(long, value_name = "BYTES")]
    pub max_result_bytes: Option<usize>,

    /// Maximum bytes of one string (tag or product) in a returned action
    /// [default: 1024].
    #[arg(long, value_name = "BYTES")]
    pub max_string_bytes: Option<usize>,

    /// Maximum bytes kept of one log line; longer lines are cut
    /// [default: 4096].
    #[arg(long, value_name = "BYTES")]
    pub max_log_line_bytes: Option<usize>,

    /// Maximum log lines kept per call, from the log import, stdout and
    /// stderr together; the rest are counted and dropped [default: 100].
    #[arg(long, value_name = "COUNT")]
    pub max_log_lines: Option<usize>,

    /// Maximum bytes of stdout and stderr forwarded to the log over an
    /// instance's life [default: 1048576].
    #[arg(long, value_name = "BYTES")]
    pub max_stdio_bytes: Option<usize>,

    /// Largest component file accepted, in bytes [default: 67108864].
    #[arg(long, value_name = "BYTES")]
    pub max_component_bytes: Option<usize>,

    /// Wall-clock budget of each call under --metering epoch, in
    /// milliseconds [default: 100].
    #[arg(long, value_name = "MS")]
    pub call_timeout_ms: Option<u64>,
}

impl LimitArgs {
    /// Applies the options that are set on top of `base`.
    pub fn apply(&self, base: Limits) -> Limits {
        Limits {
            event_fuel: self.event_fuel.unwrap_or(base.event_fuel),
            init_fuel: self.init_fuel.unwrap_or(base.init_fuel),
            memory_bytes: self.memory_limit.unwrap_or(base.memory_bytes),
            table_elements: self.max_table_elements.unwrap_or(base.table_elements),
            max_actions: self.max_actions.unwrap_or(base.max_actions),
            max_result_bytes: self.max_result_bytes.unwrap_or(base.max_result_bytes),
            max_string_bytes: self.max_string_bytes.unwrap_or(base.max_string_bytes),
            max_log_line_bytes: self.max_log_line_bytes.unwrap_or(base.max_log_line_bytes),
            max_log_lines_per_call: self.max_log_lines.unwrap_or(base.max_log_lines_per_call),
            max_stdio_bytes: self.max_stdio_bytes.unwrap_or(base.max_stdio_bytes),
            max_component_bytes: self.max_component_bytes.unwrap_or(base.max_component_bytes),
            call_timeout_ms: self.call_timeout_ms.unwrap_or(base.call_timeout_ms),
        }
    }
}

/// Rejects limits of zero, which would fault every strategy on its first
/// call.
pub fn check_limits(limits: &Limits) -> anyhow::Result<()> {
    let counts = [
        ("--event-fuel", limits.event_fuel),
        ("--init-fuel", limits.init_fuel),
        ("--call-timeout-ms", limits.call_timeout_ms),
        ("--memory-limit", limits.memory_bytes as u64),
        ("--max-table-elements", limits.table_elements as u64),
        ("--max-actions", limits.max_actions as u64),
        ("--max-result-bytes", limits.max_result_bytes as u64),
        ("--max-string-bytes", limits.max_string_bytes as u64),
        ("--max-log-line-bytes", limits.max_log_line_bytes as u64),
        ("--max-log-lines", limits.max_log_lines_per_call as u64),
        ("--max-component-bytes", limits.max_component_bytes as u64),
    ];
    for (name, value) in counts {
        if value == 0 {
            anyhow::bail!("{name} 0 is invalid: every call would fail; give a positive value");
        }
    }
    Ok(())
}

/// Location of the compiled-component cache.
#[derive(Args, Debug, Default)]
pub struct CacheArgs {
    /// Directory for compiled components, created with mode 0700
    /// [default: $XDG_CACHE_HOME/stratbox/components, else
    /// ~/.cache/stratbox/components].
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    pub cache_dir: Option<PathBuf>,

    /// Compile every component afresh and write no cache.
    #[arg(long)]
    pub no_cache: bool,
}

impl CacheArgs {
    /// Attaches the cache to `sandbox` unless disabled. A cache directory
    /// that cannot be used is reported and skipped: compiling without it is
    /// slower but just as safe.
    pub fn attach(&self, sandbox: &mut Sandbox, from_config: Option<PathBuf>) {
        if self.no_cache {
            return;
        }
        let Some(dir) = self.cache_dir.clone().or(from_config).or_else(CompiledCache::default_dir) else {
            tracing::warn!("no cache directory: set --cache-dir or HOME; compiling without a cache");
            return;
        };
        match CompiledCache::open(&dir) {
            Ok(cache) => sandbox.set_cache(cache),
            Err(error) => tracing::warn!(%error, "compiling without a cache"),
        }
    }
}
