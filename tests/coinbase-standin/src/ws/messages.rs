//! JSON bodies of WebSocket messages: channel events for candles, ticker, trades and orders.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::candles::Candle;
use crate::exchange::{Order, text};

/// Builds the `events` of a `subscriptions` message: every channel with its product ids.
pub fn subscriptions_events(subscriptions: &BTreeMap<String, BTreeSet<String>>) -> Value {
    let channels: serde_json::Map<String, Value> = subscriptions
        .iter()
        .map(|(channel, products)| (channel.clone(), json!(products)))
        .collect();
    json!([{"subscriptions": channels}])
}

pub fn candle_events(kind: &str, product_id: &str, candle: &Candle) -> Value {
    let mut candle = candle.to_json();
    candle["product_id"] = json!(product_id);
    json!([{"type": kind, "candles": [candle]}])
}

pub fn ticker_events(kind: &str, product_id: &str, candle: &Candle) -> Value {
    json!([{
        "type": kind,
        "tickers": [{
            "type": "ticker",
            "product_id": product_id,
            "price": text(candle.close),
            "volume_24_h": text(candle.volume),
            "low_24_h": text(candle.low),
            "high_24_h": text(candle.high),
            "low_52_w": text(candle.low),
            "high_52_w": text(candle.high),
            "price_percent_chg_24_h": "0",
            "best_bid": text(candle.close),
            "best_bid_quantity": "1",
            "best_ask": text(candle.close),
            "best_ask_quantity": "1",
        }],
    }])
}

/// Builds one trade per candle: the candle's volume at its close, on the side the price moved.
pub fn trade_events(kind: &str, product_id: &str, candle: &Candle) -> Value {
    let side = if candle.close >= candle.open {
        "BUY"
    } else {
        "SELL"
    };
    let time = chrono::DateTime::from_timestamp(candle.start, 0)
        .map(crate::exchange::rfc3339)
        .unwrap_or_default();
    json!([{
        "type": kind,
        "trades": [{
            "trade_id": candle.start.to_string(),
            "product_id": product_id,
            "price": text(candle.close),
            "size": text(candle.volume),
            "side": side,
            "time": time,
        }],
    }])
}

pub fn user_events(kind: &str, orders: &[&Order]) -> Value {
    let orders: Vec<Value> = orders.iter().map(|order| order.to_user_json()).collect();
    json!([{"type": kind, "orders": orders, "positions": {"perpetual_futures_positions": [], "expiring_futures_positions": []}}])
}

/// Builds an error message. Coinbase sends these outside the channel envelope.
pub fn error(message: impl Into<String>) -> Value {
    json!({"type": "error", "message": message.into()})
}
