//! The strategy interface the engine drives, sandboxed or native, and the
//! event and action types of the strategy world.

use std::fmt;

/// Host-side Rust types of the `stratbox:strategy` WIT world.
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "strategy",
        additional_derives: [PartialEq],
    });
}

pub use bindings::stratbox::strategy::types::{
    Action, Candle, Event, Fill, LimitOrder, Liquidity, OpenOrder, OrderIntent, OrderKind,
    OrderStatus, OrderUpdate, Portfolio, Position, Side, Size, TimeInForce,
};

/// A strategy as the engine drives it: initialised once, then called once per
/// event with a snapshot of its portfolio.
pub trait Strategy {
    /// Short name used in logs and errors, for example the file name.
    fn id(&self) -> &str;

    /// Passes the parameters to the strategy.
    ///
    /// # Errors
    /// [`StrategyError::InvalidParams`] when the strategy refuses them, or
    /// [`StrategyError::Fault`] when it crashed or exceeded a limit.
    fn init(&mut self, params: &[(String, String)]) -> Result<(), StrategyError>;

    /// Delivers one event and returns the strategy's actions.
    ///
    /// # Errors
    /// [`StrategyError::Fault`] when the strategy crashed or exceeded a limit.
    fn on_event(&mut self, event: &Event, portfolio: &Portfolio) -> Result<Vec<Action>, StrategyError>;

    /// Fuel used so far, for strategies that run under fuel metering.
    fn fuel_stats(&self) -> Option<crate::sandbox::FuelStats> {
        None
    }

    /// Replaces a faulted strategy with a fresh one, initialised with the
    /// parameters of the last `init`. Strategies that cannot do this return
    /// the fault that stopped them.
    ///
    /// # Errors
    /// [`StrategyError::Fault`] when the fresh instance faults too, or the
    /// strategy cannot be restarted.
    fn restart(&mut self) -> Result<(), StrategyError> {
        Err(StrategyError::Fault {
            strategy: self.id().to_string(),
            fault: Fault { kind: FaultKind::Host, detail: "this strategy cannot be restarted".to_string() },
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StrategyError {
    #[error("strategy {strategy} rejected its parameters: {message}")]
    InvalidParams { strategy: String, message: String },
    #[error("strategy {strategy} faulted: {fault}")]
    Fault { strategy: String, fault: Fault },
}

/// The cause of a failed strategy call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind}: {detail}{}", kind.remedy().map(|remedy| format!("; {remedy}")).unwrap_or_default())]
pub struct Fault {
    pub kind: FaultKind,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// The call used up its fuel budget.
    OutOfFuel,
    /// The call ran past its wall-clock budget.
    Timeout,
    /// The guest trapped on a stack overflow.
    StackOverflow,
    /// A memory or table grow beyond the cap.
    MemoryLimit,
    /// The guest returned more actions than allowed.
    TooManyActions,
    /// The guest passed more data to the host in one call, or a longer
    /// string, than the limits allow.
    ResultTooLarge,
    /// Any other trap: a panic, `unreachable`, an out-of-bounds access.
    Trap,
    /// The engine could not run the call at all.
    Host,
}

impl FaultKind {
    /// Returns the option to raise when the strategy is trusted and the
    /// limit is too low.
    pub fn remedy(self) -> Option<&'static str> {
        match self {
            FaultKind::OutOfFuel => Some("raise --event-fuel or --init-fuel if the strategy needs more per call"),
            FaultKind::Timeout => Some("raise --call-timeout-ms if the strategy needs more time per call"),
            FaultKind::MemoryLimit => Some("raise --memory-limit if the strategy needs more memory"),
            FaultKind::TooManyActions => Some("raise --max-actions if the strategy needs more actions per event"),
            FaultKind::ResultTooLarge => {
                Some("raise --max-result-bytes or --max-string-bytes if the strategy needs larger results")
            }
            FaultKind::StackOverflow | FaultKind::Trap | FaultKind::Host => None,
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FaultKind::OutOfFuel => "out of fuel",
            FaultKind::Timeout => "timeout",
            FaultKind::StackOverflow => "stack overflow",
            FaultKind::MemoryLimit => "memory limit",
            FaultKind::TooManyActions => "too many actions",
            FaultKind::ResultTooLarge => "result too large",
            FaultKind::Trap => "trap",
            FaultKind::Host => "host error",
        })
    }
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
}
