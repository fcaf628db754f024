//! The simulated venue: open orders matched against each candle.
//!
//! Fill rules, in the order they are applied to each open order:
//! - An order placed after candle t closed first meets the market at the
//!   open of candle t+1.
//! - A market order fills at that open, moved against the order by the
//!   slippage, and pays the taker fee.
//! - A limit order whose price is marketable at that open (a buy at or above
//!   it, a sell at or below it) fills at the open and pays the taker fee. A
//!   post-only one is rejected instead. An immediate-or-cancel one that is
//!   not marketable is cancelled.
//! - A resting limit order fills at its own price, paying the maker fee, on
//!   the first candle whose range reaches the price (low at or below a buy,
//!   high at or above a sell).
//! - A good-til-date order expires on the first candle that starts at or
//!   after its expiry.
//!
//! Orders fill completely or not at all: candle volume does not limit fills.

use crate::data::Candle;
use crate::risk::{Rejection, Reservation};
use crate::strategy::{Liquidity, OrderIntent, OrderKind, Side, Size, TimeInForce};

use super::account::Account;

/// Coinbase Advanced's published spot fees for the lowest volume tier
/// (under 10,000 USD traded in 30 days): 0.40% maker, 0.60% taker.
pub const DEFAULT_MAKER_FEE_BPS: f64 = 40.0;
pub const DEFAULT_TAKER_FEE_BPS: f64 = 60.0;
pub const DEFAULT_SLIPPAGE_BPS: f64 = 0.0;

/// Fees and slippage, in basis points (1 bp = 0.01%).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Costs {
    pub maker_fee_bps: f64,
    pub taker_fee_bps: f64,
    /// Price move against a market order, from the open it fills at.
    pub slippage_bps: f64,
}

impl Default for Costs {
    fn default() -> Self {
        Costs {
            maker_fee_bps: DEFAULT_MAKER_FEE_BPS,
            taker_fee_bps: DEFAULT_TAKER_FEE_BPS,
            slippage_bps: DEFAULT_SLIPPAGE_BPS,
        }
    }
}

impl Costs {
    fn rate(bps: f64) -> f64 {
        bps / 10_000.0
    }

    pub fn maker_rate(&self) -> f64 {
        Costs::rate(self.maker_fee_bps)
    }

    pub fn taker_rate(&self) -> f64 {
        Costs::rate(self.taker_fee_bps)
    }

    pub fn slippage(&self) -> f64 {
        Costs::rate(self.slippage_bps)
    }
}

/// An accepted order waiting at the venue.
#[derive(Debug, Clone, PartialEq)]
pub struct RestingOrder {
    pub intent: OrderIntent,
    pub reservation: Reservation,
    /// True once the order has met an open: it then rests on the book.
    arrived: bool,
}

impl RestingOrder {
    pub fn new(intent: OrderIntent, reservation: Reservation) -> RestingOrder {
        RestingOrder { intent, reservation, arrived: false }
    }
}

/// One execution, in base units and quote prices.
#[derive(Debug, Clone, PartialEq)]
pub struct FillRecord {
    pub tag: String,
    pub product: String,
    pub side: Side,
    pub size: f64,
    pub price: f64,
    pub fee: f64,
    pub liquidity: Liquidity,
    pub time_ms: i64,
    /// PnL realised by a sell against the average entry price, fees
    /// excluded; 0 for a buy.
    pub realised_pnl: f64,
}

/// The way an order left the book.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Filled(FillRecord),
    Expired,
    /// Cancelled by the venue, with the reason.
    Cancelled(String),
    Rejected(Rejection),
}

/// Matches every open order against `candle` in the order they were
/// placed, books fills on `account`, and returns the orders that left the
/// book with their outcome.
pub fn match_candle(
    orders: &mut Vec<RestingOrder>,
    candle: &Candle,
    costs: &Costs,
    account: &mut Account,
) -> Vec<(RestingOrder, Outcome)> {
    let mut finished = Vec::new();
    let mut index = 0;
    while index < orders.len() {
        let outcome = match_order(&orders[index], candle, costs, account, orders);
        match outcome {
            Some(outcome) => finished.push((orders.remove(index), outcome)),
            None => {
                orders[index].arrived = true;
                index += 1;
            }
        }
    }
    finished
}

fn match_order(
    order: &RestingOrder,
    candle: &Candle,
    costs: &Costs,
    account: &mut Account,
    all_orders: &[RestingOrder],
) -> Option<Outcome> {
    let intent = &order.intent;
    match &intent.kind {
        OrderKind::Market => {
            let price = match intent.side {
                Side::Buy => candle.open * (1.0 + costs.slippage()),
                Side::Sell => candle.open * (1.0 - costs.slippage()),
            };
            Some(execute(order, price, Liquidity::Taker, candle, costs, account, all_orders))
        }
        OrderKind::Limit(limit) => {
            if let TimeInForce::GoodTilDate(expiry_ms) = limit.time_in_force
                && expiry_ms <= candle.start_ms
            {
                return Some(Outcome::Expired);
            }

            let marketable_at_open = match intent.side {
                Side::Buy => limit.price >= candle.open,
                Side::Sell => limit.price <= candle.open,
            };
            if !order.arrived && marketable_at_open {
                if limit.post_only {
                    return Some(Outcome::Rejected(Rejection::PostOnlyWouldCross {
                        side: intent.side.as_str(),
                        price: limit.price,
                        open: candle.open,
                    }));
                }
                return Some(execute(order, candle.open, Liquidity::Taker, candle, costs, account, all_orders));
            }
            if !order.arrived && limit.time_in_force == TimeInForce::ImmediateOrCancel {
                return Some(Outcome::Cancelled(format!(
                    "immediate-or-cancel limit {} at {} was not marketable at the open {}",
                    intent.side.as_str(),
                    limit.price,
                    candle.open
                )));
            }

            let reached = match intent.side {
                Side::Buy => candle.low <= limit.price,
                Side::Sell => candle.high >= limit.price,
            };
            if reached {
                return Some(execute(order, limit.price, Liquidity::Maker, candle, costs, account, all_orders));
            }
            None
        }
    }
}

/// Fills `order` at `price` if the account can pay for it now.
fn execute(
    order: &RestingOrder,
    price: f64,
    liquidity: Liquidity,
    candle: &Candle,
    costs: &Costs,
    account: &mut Account,
    all_orders: &[RestingOrder],
) -> Outcome {
    let intent = &order.intent;
    let fee_rate = match liquidity {
        Liquidity::Maker => costs.maker_rate(),
        Liquidity::Taker => costs.taker_rate(),
    };

    // Funds held by the other open orders stay out of reach of this one.
    let held_by_others = |pick: fn(&Reservation) -> f64| {
        all_orders
            .iter()
            .filter(|other| other.intent.tag != intent.tag)
            .map(|other| pick(&other.reservation))
            .sum::<f64>()
    };

    let (size, fee) = match (intent.side, intent.size) {
        // A quote size is the total spent, fee included, as on Coinbase.
        (Side::Buy, Size::Quote(quote)) => {
            let notional = quote / (1.0 + fee_rate);
            (notional / price, notional * fee_rate)
        }
        (Side::Buy, Size::Base(base)) | (Side::Sell, Size::Base(base)) => (base, base * price * fee_rate),
        (Side::Sell, Size::Quote(quote)) => (quote / price, quote * fee_rate),
    };

    match intent.side {
        Side::Buy => {
            let required = size * price + fee;
            let available = account.cash - held_by_others(|reservation| reservation.cash);
            // A quote-sized buy spends exactly its reservation; the
            // tolerance absorbs the rounding of notional / price * price.
            if required > available * (1.0 + 1e-12) {
                return Outcome::Rejected(Rejection::InsufficientCash { required, available });
            }
            account.buy(&intent.product, size, price, fee);
            Outcome::Filled(fill_record(order, size, price, fee, liquidity, candle, 0.0))
        }
        Side::Sell => {
            let available = account.position(&intent.product) - held_by_others(|reservation| reservation.base);
            if size > available {
                return Outcome::Rejected(Rejection::InsufficientPosition { requested: size, available });
            }
            let realised = account.sell(&intent.product, size, price, fee);
            Outcome::Filled(fill_record(order, size, price, fee, liquidity, candle, realised))
        }
    }
}

fn fill_record(
    order: &RestingOrder,
    size: f64,
    price: f64,
    fee: f64,
    liquidity: Liquidity,
    candle: &Candle,
    realised_pnl: f64,
) -> FillRecord {
    FillRecord {
        tag: order.intent.tag.clone(),
        product: order.intent.product.clone(),
        side: order.intent.side,
        size,
        price,
        fee,
        liquidity,
        time_ms: candle.start_ms,
        realised_pnl,
    }
}
