//! A running strategy: one [`Store`] per instance, a CPU budget set before
//! every call, limits checked on every result, and a fresh instance from
//! the pre-instance after a fault.

use std::sync::Arc;

use wasmtime::{Store, Trap};

use super::component::StrategyComponent;
use super::engine::{EPOCH_TICK_MS, Metering};
use super::limits::Limits;
use super::state::HostState;
use crate::strategy::bindings::{self, StrategyPre};
use crate::strategy::{Action, Event, Fault, FaultKind, Portfolio, Strategy, StrategyError};

/// Fuel used by `on-event` calls so far; all zero unless the engine meters
/// fuel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FuelStats {
    pub calls: u64,
    pub total: u64,
    pub max: u64,
}

struct Live {
    store: Store<HostState>,
    bindings: bindings::Strategy,
}

/// A strategy component instantiated in its own store.
pub struct WasmStrategy {
    id: Arc<str>,
    pre: StrategyPre<HostState>,
    metering: Metering,
    limits: Limits,
    random_seed: u64,
    /// None after a fault, until [`Strategy::restart`].
    live: Option<Live>,
    params: Vec<(String, String)>,
    fuel: FuelStats,
}

enum Call {
    Init,
    Event,
}

impl WasmStrategy {
    /// Creates a fresh instance with its own memory and limits, and random
    /// numbers from seed 0.
    ///
    /// # Errors
    /// [`StrategyError::Fault`] when instantiation traps or exceeds a limit.
    pub fn instantiate(component: &StrategyComponent, limits: Limits) -> Result<WasmStrategy, StrategyError> {
        WasmStrategy::instantiate_seeded(component, limits, 0)
    }

    /// As [`WasmStrategy::instantiate`], with the seed of the strategy's
    /// random-number imports.
    ///
    /// # Errors
    /// [`StrategyError::Fault`] when instantiation traps or exceeds a limit.
    pub fn instantiate_seeded(
        component: &StrategyComponent,
        limits: Limits,
        random_seed: u64,
    ) -> Result<WasmStrategy, StrategyError> {
        let mut strategy = WasmStrategy {
            id: component.id.clone(),
            pre: component.pre.clone(),
            metering: component.metering,
            limits,
            random_seed,
            live: None,
            params: Vec::new(),
            fuel: FuelStats::default(),
        };
        strategy.live = Some(strategy.new_live()?);
        Ok(strategy)
    }

    fn new_live(&self) -> Result<Live, StrategyError> {
        let state = HostState::new(self.id.clone(), &self.limits, self.random_seed);
        let mut store = Store::new(self.pre.engine(), state);
        store.limiter(|state| &mut state.limiter);
        store.set_hostcall_fuel(self.limits.max_result_bytes);
        set_budget(&mut store, self.metering, &self.limits, Call::Init);

        match self.pre.instantiate(&mut store) {
            Ok(bindings) => Ok(Live { store, bindings }),
            Err(error) => Err(self.fault_error(classify(&error, &mut store))),
        }
    }

    /// Log lines the strategy produced beyond the per-call limit.
    pub fn dropped_log_lines(&self) -> u64 {
        self.live.as_ref().map_or(0, |live| live.store.data().log.dropped_total())
    }

    fn fault_error(&self, fault: Fault) -> StrategyError {
        StrategyError::Fault { strategy: self.id.to_string(), fault }
    }

    fn gone(&self) -> StrategyError {
        self.fault_error(Fault {
            kind: FaultKind::Host,
            detail: "the instance was discarded after a fault; restart it first".to_string(),
        })
    }

    /// Records a fault: the instance is dropped, because wasmtime refuses
    /// further calls into a store that trapped, and a fresh one is made by
    /// [`Strategy::restart`].
    fn discard(&mut self, fault: Fault) -> StrategyError {
        tracing::warn!(strategy = &*self.id, kind = %fault.kind, detail = fault.detail, "strategy faulted; instance discarded");
        self.live = None;
        self.fault_error(fault)
    }

    /// Checks a returned action list against the count and string limits.
    fn check_actions(&self, actions: &[Action]) -> Result<(), Fault> {
        if actions.len() > self.limits.max_actions {
            return Err(Fault {
                kind: FaultKind::TooManyActions,
                detail: format!("returned {} actions; the limit is {} per event", actions.len(), self.limits.max_actions),
            });
        }
        let too_long = |field: &str, value: &str| Fault {
            kind: FaultKind::ResultTooLarge,
            detail: format!("an action's {field} is {} bytes; the limit is {}", value.len(), self.limits.max_string_bytes),
        };
        for action in actions {
            match action {
                Action::Place(intent) => {
                    if intent.tag.len() > self.limits.max_string_bytes {
                        return Err(too_long("tag", &intent.tag));
                    }
                    if intent.product.len() > self.limits.max_string_bytes {
                        return Err(too_long("product", &intent.product));
                    }
                }
                Action::Cancel(tag) if tag.len() > self.limits.max_string_bytes => {
                    return Err(too_long("tag", tag));
                }
                Action::Cancel(_) | Action::CancelAll => {}
            }
        }
        Ok(())
    }
}

/// Init may take this many times the per-call time budget.
const INIT_TIME_FACTOR: u64 = 10;

/// Sets the CPU budget of the next call.
fn set_budget(store: &mut Store<HostState>, metering: Metering, limits: &Limits, call: Call) {
    match metering {
        Metering::Fuel => {
            let fuel = match call {
                Call::Init => limits.init_fuel,
                Call::Event => limits.event_fuel,
            };
            store.set_fuel(fuel).expect("a fuel-metered engine accepts fuel");
        }
        Metering::Epoch => {
            // One extra tick, because the first may come at once.
            let ticks = limits.call_timeout_ms.div_ceil(EPOCH_TICK_MS) + 1;
            let ticks = match call {
                Call::Init => ticks.saturating_mul(INIT_TIME_FACTOR),
                Call::Event => ticks,
            };
            store.set_epoch_deadline(ticks);
            store.epoch_deadline_trap();
        }
        Metering::Unmetered => {}
    }
}

/// Returns the time an event describes, in unix milliseconds.
fn event_time_ms(event: &Event) -> i64 {
    match event {
        Event::Candle(candle) => candle.start_ms + candle.interval_ms,
        Event::OrderUpdate(update) => update.time_ms,
        Event::Fill(fill) => fill.time_ms,
    }
}

impl Strategy for WasmStrategy {
    fn id(&self) -> &str {
        &self.id
    }

    fn init(&mut self, params: &[(String, String)]) -> Result<(), StrategyError> {
        self.params = params.to_vec();
        let Some(mut live) = self.live.take() else {
            return Err(self.gone());
        };
        set_budget(&mut live.store, self.metering, &self.limits, Call::Init);
        live.store.data().log.begin_call();
        let result = live.bindings.call_init(&mut live.store, params);
        live.store.data().log.end_call();

        match result {
            Ok(Ok(())) => {
                self.live = Some(live);
                Ok(())
            }
            Ok(Err(message)) => {
                self.live = Some(live);
                Err(StrategyError::InvalidParams { strategy: self.id.to_string(), message })
            }
            Err(error) => {
                let fault = classify(&error, &mut live.store);
                Err(self.discard(fault))
            }
        }
    }

    fn on_event(&mut self, event: &Event, portfolio: &Portfolio) -> Result<Vec<Action>, StrategyError> {
        let Some(live) = self.live.as_mut() else {
            return Err(self.gone());
        };
        live.store.data().clock.set(event_time_ms(event));
        live.store.data().log.begin_call();
        // A grow the strategy survived earlier must not be blamed for a
        // later fault.
        live.store.data_mut().limiter.last_refusal = None;
        set_budget(&mut live.store, self.metering, &self.limits, Call::Event);

        let result = live.bindings.call_on_event(&mut live.store, event, portfolio);
        live.store.data().log.end_call();
        let actions = match result {
            Ok(actions) => actions,
            Err(error) => {
                let fault = classify(&error, &mut live.store);
                return Err(self.discard(fault));
            }
        };

        if self.metering == Metering::Fuel {
            let used = self.limits.event_fuel - live.store.get_fuel().unwrap_or(0);
            self.fuel.calls += 1;
            self.fuel.total += used;
            self.fuel.max = self.fuel.max.max(used);
        }
        if let Err(fault) = self.check_actions(&actions) {
            return Err(self.discard(fault));
        }
        Ok(actions)
    }

    fn fuel_stats(&self) -> Option<FuelStats> {
        (self.metering == Metering::Fuel).then_some(self.fuel)
    }

    fn restart(&mut self) -> Result<(), StrategyError> {
        self.live = Some(self.new_live()?);
        let params = std::mem::take(&mut self.params);
        self.init(&params)
    }
}

/// Turns a failed call into a fault kind and a message that quotes the
/// trap and the end of the strategy's stderr, where Rust prints panics.
fn classify(error: &wasmtime::Error, store: &mut Store<HostState>) -> Fault {
    let last_refusal = store.data_mut().limiter.last_refusal.take();
    let trap = error.downcast_ref::<Trap>().copied();
    // The trap or the innermost error describes what happened. The wasm
    // backtrace around it names only anonymous functions.
    let message = match trap {
        Some(trap) => trap.to_string(),
        None => error.root_cause().to_string(),
    };

    let kind = match (trap, &last_refusal) {
        (Some(Trap::OutOfFuel), _) => FaultKind::OutOfFuel,
        (Some(Trap::Interrupt), _) => FaultKind::Timeout,
        (Some(Trap::StackOverflow), _) => FaultKind::StackOverflow,
        (_, Some(_)) => FaultKind::MemoryLimit,
        (None, None) if message.contains("fuel allocated for hostcalls") => FaultKind::ResultTooLarge,
        (Some(_), None) => FaultKind::Trap,
        (None, None) => FaultKind::Host,
    };

    let mut detail = message;
    if let Some(last_refusal) = last_refusal {
        detail.push_str("; ");
        detail.push_str(&last_refusal);
    }
    let stderr = store.data().log.stderr_tail();
    if !stderr.is_empty() {
        detail.push_str("; stderr: ");
        detail.push_str(&stderr);
    }
    Fault { kind, detail }
}
