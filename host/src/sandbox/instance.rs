//! A running strategy instance: one [`Store`] per strategy, with fuel
//! refilled before every call and faults classified for the caller.

use std::sync::Arc;

use wasmtime::{Store, Trap};

use super::component::StrategyComponent;
use super::limits::Limits;
use super::state::HostState;
use crate::strategy::bindings;
use crate::strategy::{Action, Event, Fault, FaultKind, Portfolio, Strategy, StrategyError};

/// Bytes of the strategy's stderr quoted in a fault, enough for a panic
/// message and its location.
const STDERR_TAIL_BYTES: usize = 1024;

/// Fuel used by `on-event` calls so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FuelStats {
    pub calls: u64,
    pub total: u64,
    pub max: u64,
}

/// A strategy component instantiated in its own store.
pub struct WasmStrategy {
    id: Arc<str>,
    store: Store<HostState>,
    bindings: bindings::Strategy,
    limits: Limits,
    fuel: FuelStats,
    /// Set after a fault: wasmtime refuses further calls into the instance.
    poisoned: bool,
}

impl WasmStrategy {
    /// Creates a fresh instance with its own memory and limits.
    ///
    /// # Errors
    /// [`StrategyError::Fault`] when instantiation traps or runs out of fuel.
    pub fn instantiate(component: &StrategyComponent, limits: Limits) -> Result<WasmStrategy, StrategyError> {
        let id = component.id.clone();
        let mut store = Store::new(component.pre.engine(), HostState::new(id.clone(), &limits));
        store.limiter(|state| &mut state.limiter);
        store.set_hostcall_fuel(limits.max_hostcall_bytes);
        set_fuel(&mut store, limits.init_fuel);

        let bindings = match component.pre.instantiate(&mut store) {
            Ok(bindings) => bindings,
            Err(error) => {
                let fault = classify(&error, &mut store);
                return Err(StrategyError::Fault { strategy: id.to_string(), fault });
            }
        };
        Ok(WasmStrategy { id, store, bindings, limits, fuel: FuelStats::default(), poisoned: false })
    }

    pub fn fuel_stats(&self) -> FuelStats {
        self.fuel
    }

    /// Text the strategy wrote to stdout and stderr, up to the capture cap.
    pub fn captured_output(&self) -> (Vec<u8>, Vec<u8>) {
        let state = self.store.data();
        (state.stdout.contents().to_vec(), state.stderr.contents().to_vec())
    }

    fn fault(&mut self, error: &wasmtime::Error) -> StrategyError {
        self.poisoned = true;
        let fault = classify(error, &mut self.store);
        StrategyError::Fault { strategy: self.id.to_string(), fault }
    }

    fn refuse_if_poisoned(&self) -> Result<(), StrategyError> {
        if self.poisoned {
            return Err(StrategyError::Fault {
                strategy: self.id.to_string(),
                fault: Fault {
                    kind: FaultKind::Host,
                    detail: "the instance faulted earlier and cannot be called again".to_string(),
                },
            });
        }
        Ok(())
    }
}

impl Strategy for WasmStrategy {
    fn id(&self) -> &str {
        &self.id
    }

    fn init(&mut self, params: &[(String, String)]) -> Result<(), StrategyError> {
        self.refuse_if_poisoned()?;
        set_fuel(&mut self.store, self.limits.init_fuel);
        match self.bindings.call_init(&mut self.store, params) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(StrategyError::InvalidParams { strategy: self.id.to_string(), message }),
            Err(error) => Err(self.fault(&error)),
        }
    }

    fn on_event(&mut self, event: &Event, portfolio: &Portfolio) -> Result<Vec<Action>, StrategyError> {
        self.refuse_if_poisoned()?;
        set_fuel(&mut self.store, self.limits.event_fuel);
        let actions = match self.bindings.call_on_event(&mut self.store, event, portfolio) {
            Ok(actions) => actions,
            Err(error) => return Err(self.fault(&error)),
        };

        let used = self.limits.event_fuel - self.store.get_fuel().unwrap_or(0);
        self.fuel.calls += 1;
        self.fuel.total += used;
        self.fuel.max = self.fuel.max.max(used);

        if actions.len() > self.limits.max_actions {
            return Err(StrategyError::Fault {
                strategy: self.id.to_string(),
                fault: Fault {
                    kind: FaultKind::TooManyActions,
                    detail: format!(
                        "returned {} actions; the limit is {} per event",
                        actions.len(),
                        self.limits.max_actions
                    ),
                },
            });
        }
        Ok(actions)
    }
}

fn set_fuel(store: &mut Store<HostState>, fuel: u64) {
    store.set_fuel(fuel).expect("the strategy engine is built with fuel enabled");
}

/// Turns a failed call into a fault kind and a message that quotes the
/// trap and the end of the strategy's stderr (where Rust prints panics).
fn classify(error: &wasmtime::Error, store: &mut Store<HostState>) -> Fault {
    let last_refusal = store.data_mut().limiter.last_refusal.take();
    let trap = error.downcast_ref::<Trap>().copied();

    let kind = match (trap, &last_refusal) {
        (Some(Trap::OutOfFuel), _) => FaultKind::OutOfFuel,
        (Some(Trap::StackOverflow), _) => FaultKind::StackOverflow,
        (_, Some(_)) => FaultKind::MemoryLimit,
        (Some(_), None) => FaultKind::Trap,
        (None, None) if format!("{error:#}").contains("hostcall fuel") => FaultKind::ResultTooLarge,
        (None, None) => FaultKind::Host,
    };

    let mut detail = format!("{error:#}");
    if let Some(last_refusal) = last_refusal {
        detail.push_str("; ");
        detail.push_str(&last_refusal);
    }
    let stderr = store.data().stderr.contents();
    let tail_start = stderr.len().saturating_sub(STDERR_TAIL_BYTES);
    let tail = String::from_utf8_lossy(&stderr[tail_start..]);
    let tail = tail.trim();
    if !tail.is_empty() {
        detail.push_str("; stderr: ");
        detail.push_str(tail);
    }
    Fault { kind, detail }
}
