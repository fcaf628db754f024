//! Per-strategy resource limits and their defaults.

/// Fuel for one `init` call. One unit of fuel is roughly one Wasm
/// instruction; 100 million is about a tenth of a second of guest code.
pub const DEFAULT_INIT_FUEL: u64 = 100_000_000;

/// Fuel for one `on-event` call; about 10 ms of guest code. The bundled SMA
/// crossover uses about 2,300 per candle on the bundled data.
pub const DEFAULT_EVENT_FUEL: u64 = 10_000_000;

/// Linear memory a strategy may grow to, in bytes (64 MiB).
pub const DEFAULT_MEMORY_BYTES: usize = 64 << 20;

/// Elements in each table of a strategy; Rust components use a few hundred.
pub const DEFAULT_TABLE_ELEMENTS: usize = 10_000;

/// Actions one `on-event` call may return.
pub const DEFAULT_MAX_ACTIONS: usize = 1_000;

/// Bytes a strategy may pass to one host call, in practice one log message
/// (1 MiB). A larger message faults the strategy.
pub const DEFAULT_MAX_HOSTCALL_BYTES: usize = 1 << 20;

/// Maximum length of a log message kept from a strategy, in bytes. Longer
/// messages are cut.
pub const DEFAULT_MAX_LOG_MESSAGE_BYTES: usize = 4 << 10;

/// Bytes of stdout and of stderr kept from a strategy over its lifetime.
pub const DEFAULT_STDIO_CAPACITY_BYTES: usize = 64 << 10;

/// Native stack a strategy's Wasm code may use, in bytes, fixed per engine.
pub const MAX_WASM_STACK_BYTES: usize = 512 << 10;

/// Limits applied to one strategy instance.
///
/// The host's own copy of a returned action list is bounded only by the
/// memory cap, since the list is copied out of the strategy's memory before
/// `max_actions` is checked. Time spent in host functions is not counted as
/// fuel: the only host function a strategy can call, logging, returns at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Limits {
    /// Fuel for the `init` call.
    pub init_fuel: u64,
    /// Fuel for each `on-event` call, refilled before every call.
    pub event_fuel: u64,
    /// Maximum linear memory, in bytes. A grow past it fails inside the
    /// guest, which in Rust aborts with an allocation failure.
    pub memory_bytes: usize,
    /// Maximum elements per table.
    pub table_elements: usize,
    /// Maximum actions returned by one `on-event` call.
    pub max_actions: usize,
    /// Maximum bytes passed from the guest to one host call.
    pub max_hostcall_bytes: usize,
    /// Maximum bytes kept from one log message.
    pub max_log_message_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            init_fuel: DEFAULT_INIT_FUEL,
            event_fuel: DEFAULT_EVENT_FUEL,
            memory_bytes: DEFAULT_MEMORY_BYTES,
            table_elements: DEFAULT_TABLE_ELEMENTS,
            max_actions: DEFAULT_MAX_ACTIONS,
            max_hostcall_bytes: DEFAULT_MAX_HOSTCALL_BYTES,
            max_log_message_bytes: DEFAULT_MAX_LOG_MESSAGE_BYTES,
        }
    }
}
