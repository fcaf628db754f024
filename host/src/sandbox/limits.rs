//! Per-strategy resource limits and their defaults.

/// Fuel for instantiation and the `init` call. One unit of fuel is roughly
/// one Wasm instruction; 100 million is about a tenth of a second of guest
/// code.
pub const DEFAULT_INIT_FUEL: u64 = 100_000_000;

/// Fuel for one `on-event` call, about 10 ms of guest code. The bundled SMA
/// crossover uses about 2,300 per candle on the bundled data.
pub const DEFAULT_EVENT_FUEL: u64 = 10_000_000;

/// Wall-clock budget of one call when the engine meters time with epochs
/// instead of fuel, in milliseconds.
pub const DEFAULT_CALL_TIMEOUT_MS: u64 = 100;

/// Linear memory a strategy may grow to, in bytes (64 MiB).
pub const DEFAULT_MEMORY_BYTES: usize = 64 << 20;

/// Elements in each table of a strategy; Rust components use a few hundred.
pub const DEFAULT_TABLE_ELEMENTS: usize = 10_000;

/// Actions one `on-event` call may return.
pub const DEFAULT_MAX_ACTIONS: usize = 1_000;

/// Bytes the host copies out of a strategy in one call (1 MiB): the
/// returned action list with its strings, or one log message.
pub const DEFAULT_MAX_RESULT_BYTES: usize = 1 << 20;

/// Maximum length of one string in a returned action (a tag or a product),
/// in bytes.
pub const DEFAULT_MAX_STRING_BYTES: usize = 1 << 10;

/// Maximum length of a log line kept from a strategy, in bytes. Longer
/// lines are cut.
pub const DEFAULT_MAX_LOG_LINE_BYTES: usize = 4 << 10;

/// Log lines (log calls plus stdout and stderr lines) kept per call; the
/// rest are counted and dropped.
pub const DEFAULT_MAX_LOG_LINES_PER_CALL: usize = 100;

/// Bytes of stdout and stderr forwarded to the host's log over an
/// instance's lifetime (1 MiB); the rest are counted and dropped.
pub const DEFAULT_MAX_STDIO_BYTES: usize = 1 << 20;

/// Largest component file accepted at load, in bytes (64 MiB). Components
/// built with componentize-py are about 18 MB.
pub const DEFAULT_MAX_COMPONENT_BYTES: usize = 64 << 20;

/// Native stack a strategy's Wasm code may use, in bytes, fixed per engine.
pub const MAX_WASM_STACK_BYTES: usize = 512 << 10;

/// Limits applied to one strategy instance.
///
/// Time spent in host functions is not counted as fuel: the only host
/// function a strategy can call, logging, returns at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Fuel for instantiation and the `init` call.
    pub init_fuel: u64,
    /// Fuel for each `on-event` call, refilled before every call.
    pub event_fuel: u64,
    /// Wall-clock budget per call in milliseconds, used instead of fuel by
    /// an engine that meters with epochs (live trading).
    pub call_timeout_ms: u64,
    /// Maximum linear memory, in bytes. A grow past it fails inside the
    /// guest, which in Rust aborts with an allocation failure.
    pub memory_bytes: usize,
    /// Maximum elements per table.
    pub table_elements: usize,
    /// Maximum actions returned by one `on-event` call.
    pub max_actions: usize,
    /// Maximum bytes copied out of the guest in one call. It bounds the
    /// host memory a returned action list can take before it is counted.
    pub max_result_bytes: usize,
    /// Maximum bytes of one string in a returned action.
    pub max_string_bytes: usize,
    /// Maximum bytes kept of one log line.
    pub max_log_line_bytes: usize,
    /// Maximum log lines kept per call.
    pub max_log_lines_per_call: usize,
    /// Maximum stdout and stderr bytes forwarded over the instance's life.
    pub max_stdio_bytes: usize,
    /// Maximum size of the component file, checked before compiling.
    pub max_component_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            init_fuel: DEFAULT_INIT_FUEL,
            event_fuel: DEFAULT_EVENT_FUEL,
            call_timeout_ms: DEFAULT_CALL_TIMEOUT_MS,
            memory_bytes: DEFAULT_MEMORY_BYTES,
            table_elements: DEFAULT_TABLE_ELEMENTS,
            max_actions: DEFAULT_MAX_ACTIONS,
            max_result_bytes: DEFAULT_MAX_RESULT_BYTES,
            max_string_bytes: DEFAULT_MAX_STRING_BYTES,
            max_log_line_bytes: DEFAULT_MAX_LOG_LINE_BYTES,
            max_log_lines_per_call: DEFAULT_MAX_LOG_LINES_PER_CALL,
            max_stdio_bytes: DEFAULT_MAX_STDIO_BYTES,
            max_component_bytes: DEFAULT_MAX_COMPONENT_BYTES,
        }
    }
}
