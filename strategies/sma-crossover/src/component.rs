//! The crossover as a stratbox strategy component.

use std::cell::RefCell;

use crate::crossover::{Crossover, Decision, Holdings, Params};

wit_bindgen::generate!({
    world: "strategy",
    path: "../../wit",
});

use stratbox::strategy::logging::{self, Level};
use stratbox::strategy::types::{OrderIntent, OrderKind, OrderStatus, Side, Size};

struct State {
    crossover: Crossover,
    orders_placed: u64,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

struct SmaCrossover;

impl Guest for SmaCrossover {
    fn init(params: Vec<(String, String)>) -> Result<(), String> {
        let params = Params::parse(&params)?;
        logging::log(
            Level::Info,
            &format!(
                "sma crossover: fast {} slow {} fraction {}",
                params.fast, params.slow, params.fraction
            ),
        );
        STATE.with_borrow_mut(|state| {
            *state = Some(State { crossover: Crossover::new(params), orders_placed: 0 })
        });
        Ok(())
    }

    fn on_event(event: Event, portfolio: Portfolio) -> Vec<Action> {
        match event {
            Event::Candle(candle) => STATE.with_borrow_mut(|state| {
                let state = state.as_mut().expect("the host calls init before on-event");
                on_close(state, &candle.product, candle.close, &portfolio)
            }),
            Event::OrderUpdate(update) if update.status == OrderStatus::Rejected => {
                let reason = update.reason.unwrap_or_default();
                logging::log(Level::Warn, &format!("order {} rejected: {reason}", update.tag));
                Vec::new()
            }
            Event::OrderUpdate(_) | Event::Fill(_) => Vec::new(),
        }
    }
}

fn on_close(state: &mut State, product: &str, close: f64, portfolio: &Portfolio) -> Vec<Action> {
    let position = portfolio
        .positions
        .iter()
        .find(|position| position.product == product)
        .map_or(0.0, |position| position.size);
    let holdings = Holdings {
        available_cash: portfolio.available_cash,
        position,
        order_open: portfolio.open_orders.iter().any(|order| order.product == product),
    };

    let Some(decision) = state.crossover.decide(close, holdings) else {
        return Vec::new();
    };
    state.orders_placed += 1;
    let (side, size) = match decision {
        Decision::BuyQuote(quote) => (Side::Buy, Size::Quote(quote)),
        Decision::SellBase(base) => (Side::Sell, Size::Base(base)),
    };
    vec![Action::Place(OrderIntent {
        tag: format!("sma-{}", state.orders_placed),
        product: product.to_string(),
        side,
        size,
        kind: OrderKind::Market,
    })]
}

export!(SmaCrossover);
