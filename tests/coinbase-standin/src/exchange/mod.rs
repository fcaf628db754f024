//! The simulated venue: accounts with holds, orders, fills, and the replayed price series that
//! drives matching.

mod order;
pub mod place;

pub use order::{Fill, Liquidity, Order, OrderKind, OrderStatus, Side, rfc3339, text};
pub use place::{CreateOrderRequest, Rejection};

use std::collections::BTreeMap;

use chrono::Utc;
use rust_decimal::Decimal;
use tokio::sync::broadcast;

use crate::candles::Candle;
use crate::config::{Product, StandinConfig};

/// Fee rate for an order that takes liquidity, on the quote amount.
pub const TAKER_FEE_RATE: Decimal = Decimal::from_parts(6, 0, 0, false, 3);
/// Fee rate for a resting order that is filled, on the quote amount.
pub const MAKER_FEE_RATE: Decimal = Decimal::from_parts(4, 0, 0, false, 3);

/// A change sent to WebSocket subscribers.
#[derive(Clone, Debug)]
pub enum Published {
    /// The order's new cumulative state.
    OrderChanged(Order),
    /// The replay moved to a new current candle of `product_id`.
    CandleAdvanced { product_id: String, candle: Candle },
}

#[derive(Clone, Debug, Default)]
pub struct Account {
    pub uuid: String,
    pub available: Decimal,
    pub hold: Decimal,
}

pub struct Exchange {
    pub products: Vec<Product>,
    pub accounts: BTreeMap<String, Account>,
    /// Orders in creation order.
    pub orders: Vec<Order>,
    pub fills: Vec<Fill>,
    pub candles: Vec<Candle>,
    pub candle_product: String,
    /// Index of the current candle in `candles`.
    pub candle_index: usize,
    id_prefix: u32,
    next_id: u64,
    events: broadcast::Sender<Published>,
}

impl Exchange {
    pub fn new(config: &StandinConfig, events: broadcast::Sender<Published>) -> Exchange {
        let id_prefix = Utc::now().timestamp_subsec_nanos();
        let mut exchange = Exchange {
            products: config.products.clone(),
            accounts: BTreeMap::new(),
            orders: Vec::new(),
            fills: Vec::new(),
            candles: config.candles.clone(),
            candle_product: config.product_for_candles.clone(),
            candle_index: 0,
            id_prefix,
            next_id: 1,
            events,
        };
        for (currency, available) in &config.balances {
            let uuid = exchange.new_id();
            exchange.accounts.insert(
                currency.clone(),
                Account {
                    uuid,
                    available: *available,
                    hold: Decimal::ZERO,
                },
            );
        }
        exchange
    }

    /// Returns a fresh id in UUID form, unique within this stand-in.
    pub fn new_id(&mut self) -> String {
        let id = format!(
            "{:08x}-0000-4000-8000-{:012x}",
            self.id_prefix, self.next_id
        );
        self.next_id += 1;
        id
    }

    pub fn product(&self, product_id: &str) -> Option<&Product> {
        self.products
            .iter()
            .find(|product| product.product_id == product_id)
    }

    pub fn current_candle(&self) -> Option<&Candle> {
        self.candles.get(self.candle_index)
    }

    /// Returns the current price: the close of the current candle for the replayed product,
    /// the product's static price otherwise.
    pub fn price(&self, product: &Product) -> Decimal {
        match self.current_candle() {
            Some(candle) if product.product_id == self.candle_product => candle.close,
            _ => product.static_price,
        }
    }

    /// Returns the candles up to and including the current one: the series a client can see.
    pub fn visible_candles(&self, product_id: &str) -> &[Candle] {
        if product_id != self.candle_product || self.candles.is_empty() {
            return &[];
        }
        &self.candles[..=self.candle_index]
    }

    fn account(&mut self, currency: &str) -> &mut Account {
        if !self.accounts.contains_key(currency) {
            let uuid = self.new_id();
            self.accounts.insert(
                currency.to_string(),
                Account {
                    uuid,
                    ..Account::default()
                },
            );
        }
        self.accounts
            .get_mut(currency)
            .expect("account inserted above")
    }

    fn publish(&self, order: &Order) {
        // A send error only means no WebSocket is subscribed.
        let _ = self.events.send(Published::OrderChanged(order.clone()));
    }

    /// Fills the whole order at `price`, settles its hold and publishes the change.
    fn fill(&mut self, order_index: usize, price: Decimal, liquidity: Liquidity) {
        let fee_rate = match liquidity {
            Liquidity::Maker => MAKER_FEE_RATE,
            Liquidity::Taker => TAKER_FEE_RATE,
        };
        let order = self.orders[order_index].clone();
        let product = self
            .product(&order.product_id)
            .expect("orders refer to known products")
            .clone();
        let size = order.base_size;
        let value = price * size;
        let fee = value * fee_rate;

        match order.side {
            Side::Buy => {
                let quote = self.account(&product.quote_currency);
                quote.hold -= order.hold;
                quote.available += order.hold - (value + fee);
                self.account(&product.base_currency).available += size;
            }
            Side::Sell => {
                self.account(&product.base_currency).hold -= order.hold;
                self.account(&product.quote_currency).available += value - fee;
            }
        }

        let now = Utc::now();
        let entry_id = self.new_id();
        let trade_id = self.new_id();
        self.fills.push(Fill {
            entry_id,
            trade_id,
            order_id: order.order_id.clone(),
            product_id: order.product_id.clone(),
            side: order.side,
            trade_time: now,
            price,
            size,
            commission: fee,
            liquidity,
        });

        let order = &mut self.orders[order_index];
        order.hold = Decimal::ZERO;
        order.status = OrderStatus::Filled;
        order.filled_size = size;
        order.filled_value = value;
        order.total_fees = fee;
        order.number_of_fills += 1;
        order.last_fill_time = Some(now);
        tracing::info!(order_id = %order.order_id, price = %price, size = %size, ?liquidity, "order filled");
        self.publish(&self.orders[order_index]);
    }

    /// Ends an open order with `status`, releases its hold and publishes the change.
    fn close(&mut self, order_index: usize, status: OrderStatus) {
        let order = self.orders[order_index].clone();
        let product = self
            .product(&order.product_id)
            .expect("orders refer to known products")
            .clone();
        let currency = match order.side {
            Side::Buy => &product.quote_currency,
            Side::Sell => &product.base_currency,
        };
        let account = self.account(currency);
        account.hold -= order.hold;
        account.available += order.hold;

        let order = &mut self.orders[order_index];
        order.hold = Decimal::ZERO;
        order.status = status;
        self.publish(&self.orders[order_index]);
    }

    /// Cancels an open order.
    ///
    /// # Errors
    /// Returns Coinbase's cancel failure reason when the order is unknown or no longer open.
    pub fn cancel(&mut self, order_id: &str) -> Result<(), &'static str> {
        let index = self
            .orders
            .iter()
            .position(|order| order.order_id == order_id)
            .ok_or("UNKNOWN_CANCEL_ORDER")?;
        if !self.orders[index].is_open() {
            return Err("INVALID_CANCEL_REQUEST");
        }
        self.close(index, OrderStatus::Cancelled);
        Ok(())
    }

    /// Advances the replay by up to `count` candles, filling resting limit orders whose price
    /// each new candle trades through and expiring GTD orders past their end time. Returns the
    /// number of candles advanced, which is lower than `count` at the end of the series.
    pub fn advance(&mut self, count: usize) -> usize {
        let mut advanced = 0;
        while advanced < count && self.candle_index + 1 < self.candles.len() {
            self.candle_index += 1;
            advanced += 1;
            let candle = self.candles[self.candle_index].clone();
            let _ = self.events.send(Published::CandleAdvanced {
                product_id: self.candle_product.clone(),
                candle: candle.clone(),
            });
            self.match_resting(&candle);
        }
        self.expire_gtd();
        advanced
    }

    fn match_resting(&mut self, candle: &Candle) {
        for index in 0..self.orders.len() {
            let order = &self.orders[index];
            if !order.is_open() || order.product_id != self.candle_product {
                continue;
            }
            let Some(limit) = order.limit_price else {
                continue;
            };
            let crossed = match order.side {
                Side::Buy => candle.low <= limit,
                Side::Sell => candle.high >= limit,
            };
            if crossed {
                self.fill(index, limit, Liquidity::Maker);
            }
        }
    }

    // NOTE: GTD orders expire only when the replay advances, not on a wall-clock timer.
    fn expire_gtd(&mut self) {
        let now = Utc::now();
        for index in 0..self.orders.len() {
            let order = &self.orders[index];
            if let OrderKind::LimitGtd(end_time) = order.kind
                && order.is_open()
                && end_time <= now
            {
                self.close(index, OrderStatus::Expired);
            }
        }
    }
}
