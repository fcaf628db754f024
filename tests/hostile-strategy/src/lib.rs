//! A strategy component that attacks its host in the way its `attack`
//! parameter names. The sandbox tests run it to check that each attack is
//! contained. Built for `wasm32-wasip2` only.
//!
//! Attacks (parameter `attack`):
//! - `none`: behaves, placing nothing;
//! - `loop-init`: loops forever in `init`;
//! - `loop-event`: loops forever on event number `at` (1-based, default 1);
//! - `grow-memory`: on the first event grows linear memory to `total-bytes`
//!   and places an order tagged `grown` or `refused` with the outcome;
//! - `recurse`: recurses without bound on the first event;
//! - `panic`: panics on the first event;
//! - `many-actions`: returns `count` cancel-all actions on the first event;
//! - `huge-tag`: returns an order whose tag is `bytes` long;
//! - `huge-log`: logs one message `bytes` long;
//! - `log-flood`: logs `count` short messages on every event;
//! - `bad-intents`: places orders with NaN, infinite, zero and negative
//!   sizes and prices, and for an unconfigured product;
//! - `snoop`: reads environment variables, arguments and the clock, and
//!   reports what it found in the tags of orders. Listing directories needs
//!   the `wasi:filesystem/preopens` import, which the host refuses at load,
//!   so that attempt lives in the separate `directory-lister` component.

#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;

wit_bindgen::generate!({
    world: "strategy",
    path: "../../wit",
});

use stratbox::strategy::logging::{self, Level};
use stratbox::strategy::types::{LimitOrder, OrderIntent, OrderKind, Side, Size, TimeInForce};

#[derive(Default)]
struct Config {
    attack: String,
    at: u64,
    count: u64,
    bytes: u64,
    total_bytes: u64,
}

struct State {
    config: Config,
    events: u64,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

fn number(name: &str, value: &str) -> Result<u64, String> {
    value.parse().map_err(|_| format!("parameter {name}: expected a whole number, got {value:?}"))
}

struct Hostile;

impl Guest for Hostile {
    fn init(params: Vec<(String, String)>) -> Result<(), String> {
        let mut config = Config { attack: "none".to_string(), at: 1, count: 1, bytes: 0, total_bytes: 0 };
        for (name, value) in &params {
            match name.as_str() {
                "attack" => config.attack = value.clone(),
                "at" => config.at = number(name, value)?,
                "count" => config.count = number(name, value)?,
                "bytes" => config.bytes = number(name, value)?,
                "total-bytes" => config.total_bytes = number(name, value)?,
                _ => return Err(format!("unknown parameter {name:?}")),
            }
        }
        if config.attack == "loop-init" {
            spin();
        }
        STATE.with_borrow_mut(|state| *state = Some(State { config, events: 0 }));
        Ok(())
    }

    fn on_event(event: Event, _portfolio: Portfolio) -> Vec<Action> {
        STATE.with_borrow_mut(|state| {
            let state = state.as_mut().expect("init runs first");
            state.events += 1;
            attack(&state.config, state.events, &event)
        })
    }
}

/// Loops until the host stops it; the volatile read keeps the loop from
/// being optimised away.
fn spin() -> ! {
    let mut counter = 0u64;
    loop {
        counter = unsafe { std::ptr::read_volatile(&counter) }.wrapping_add(1);
    }
}

/// Recurses on the Wasm call stack itself: the frame holds only scalars, so
/// it is the engine's stack limit, not Rust's in-memory stack, that stops it.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let below = recurse(depth + 1);
    std::hint::black_box(below) ^ depth
}

fn place(tag: String, product: &str, side: Side, size: Size, kind: OrderKind) -> Action {
    Action::Place(OrderIntent { tag, product: product.to_string(), side, size, kind })
}

fn market_buy(tag: String) -> Action {
    place(tag, "BTC-USD", Side::Buy, Size::Base(0.001), OrderKind::Market)
}

fn attack(config: &Config, event_number: u64, event: &Event) -> Vec<Action> {
    let first = event_number == 1;
    match config.attack.as_str() {
        "loop-event" if event_number == config.at => spin(),
        "grow-memory" if first => {
            let current = core::arch::wasm32::memory_size(0) as u64 * 65536;
            let pages = config.total_bytes.saturating_sub(current) / 65536;
            let outcome = core::arch::wasm32::memory_grow(0, pages as usize);
            let tag = if outcome == usize::MAX { "refused" } else { "grown" };
            vec![market_buy(tag.to_string())]
        }
        "recurse" if first => {
            let depth = recurse(0);
            vec![market_buy(format!("depth-{depth}"))]
        }
        "panic" if first => panic!("hostile strategy panics on purpose"),
        "many-actions" if first => (0..config.count).map(|_| Action::CancelAll).collect(),
        "huge-tag" if first => vec![market_buy("x".repeat(config.bytes as usize))],
        "huge-log" if first => {
            logging::log(Level::Info, &"x".repeat(config.bytes as usize));
            Vec::new()
        }
        "log-flood" => {
            for index in 0..config.count {
                logging::log(Level::Info, &format!("flood {index}"));
            }
            Vec::new()
        }
        "bad-intents" if first => bad_intents(),
        "snoop" if matches!(event, Event::Candle(_)) && first => snoop(),
        _ => Vec::new(),
    }
}

fn bad_intents() -> Vec<Action> {
    let limit = |price: f64| OrderKind::Limit(LimitOrder { price, time_in_force: TimeInForce::GoodTilCancelled, post_only: false });
    vec![
        place("nan-size".into(), "BTC-USD", Side::Buy, Size::Base(f64::NAN), OrderKind::Market),
        place("inf-size".into(), "BTC-USD", Side::Buy, Size::Quote(f64::INFINITY), OrderKind::Market),
        place("zero-size".into(), "BTC-USD", Side::Buy, Size::Base(0.0), OrderKind::Market),
        place("negative-size".into(), "BTC-USD", Side::Sell, Size::Base(-1.0), OrderKind::Market),
        place("nan-price".into(), "BTC-USD", Side::Buy, Size::Base(0.001), limit(f64::NAN)),
        place("inf-price".into(), "BTC-USD", Side::Buy, Size::Base(0.001), limit(f64::INFINITY)),
        place("zero-price".into(), "BTC-USD", Side::Buy, Size::Base(0.001), limit(0.0)),
        place("negative-price".into(), "BTC-USD", Side::Buy, Size::Base(0.001), limit(-100.0)),
        place("other-product".into(), "ETH-USD", Side::Buy, Size::Base(0.001), OrderKind::Market),
    ]
}

/// Looks for anything the host might have leaked and reports the counts in
/// order tags, which the test reads back from the backtest's fills.
fn snoop() -> Vec<Action> {
    let variables = std::env::vars_os().count();
    let arguments = std::env::args_os().count();
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0);
    let secret = std::env::var("COINBASE_API_KEY").unwrap_or_default();
    logging::log(Level::Info, &format!("snooped: {variables} variables, {arguments} arguments, secret {secret:?}"));
    vec![
        market_buy(format!("variables-{variables}")),
        market_buy(format!("arguments-{arguments}")),
        market_buy(format!("clock-{clock}")),
        market_buy(format!("secret-{secret}")),
    ]
}

export!(Hostile);
