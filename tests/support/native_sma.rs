//! The SMA crossover's Rust source compiled natively and driven through the
//! same [`Strategy`] trait as the Wasm component, mirroring its component
//! adapter line for line, so sandboxed and native runs can be compared.

use sma_crossover::crossover::{Crossover, Decision, Holdings, Params};
use stratbox::strategy::{Action, Event, OrderIntent, OrderKind, Portfolio, Side, Size, Strategy, StrategyError};

#[derive(Default)]
pub struct NativeSma {
    crossover: Option<Crossover>,
    orders_placed: u64,
}

impl Strategy for NativeSma {
    fn id(&self) -> &str {
        "sma-crossover-native"
    }

    fn init(&mut self, params: &[(String, String)]) -> Result<(), StrategyError> {
        let params = Params::parse(params)
            .map_err(|message| StrategyError::InvalidParams { strategy: self.id().to_string(), message })?;
        self.crossover = Some(Crossover::new(params));
        Ok(())
    }

    fn on_event(&mut self, event: &Event, portfolio: &Portfolio) -> Result<Vec<Action>, StrategyError> {
        let Event::Candle(candle) = event else {
            return Ok(Vec::new());
        };
        let crossover = self.crossover.as_mut().expect("init runs first");
        let position = portfolio
            .positions
            .iter()
            .find(|position| position.product == candle.product)
            .map_or(0.0, |position| position.size);
        let holdings = Holdings {
            available_cash: portfolio.available_cash,
            position,
            order_open: portfolio.open_orders.iter().any(|order| order.product == candle.product),
        };

        let Some(decision) = crossover.decide(candle.close, holdings) else {
            return Ok(Vec::new());
        };
        self.orders_placed += 1;
        let (side, size) = match decision {
            Decision::BuyQuote(quote) => (Side::Buy, Size::Quote(quote)),
            Decision::SellBase(base) => (Side::Sell, Size::Base(base)),
        };
        Ok(vec![Action::Place(OrderIntent {
            tag: format!("sma-{}", self.orders_placed),
            product: candle.product.clone(),
            side,
            size,
            kind: OrderKind::Market,
        })])
    }
}
