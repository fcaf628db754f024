//! A WebSocket subscription that keeps itself alive. It subscribes within
//! the venue's five-second window, with a fresh JWT per message. It drops
//! duplicate messages and resubscribes on a gap in `sequence_num`. After
//! silence longer than the staleness limit, or a closed connection, it
//! reconnects, backing off from 250 ms to 30 s. It turns the user channel's
//! cumulative order state into individual fills.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use super::fills::{CumulativeOrder, DerivedFill, FillTracker};
use crate::coinbase::auth::{ApiKey, ExchangeClock};

pub const MIN_BACKOFF: Duration = Duration::from_millis(250);
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// `wss://advanced-trade-ws.coinbase.com` or the user endpoint.
    pub url: String,
    /// Channels besides `heartbeats`, which is always subscribed so that
    /// quiet channels stay open.
    pub channels: Vec<String>,
    pub product_ids: Vec<String>,
    /// Silence after which the connection is dropped and made again.
    pub staleness: Duration,
}

/// An event the stream sends to its consumer.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// Subscribed on a new connection.
    Connected,
    Heartbeat { counter: i64 },
    /// A market-data message (candles, ticker, market_trades, ...), as sent.
    MarketData { channel: String, events: Vec<Value> },
    /// An order's cumulative state from the user channel.
    Order(CumulativeOrder),
    /// A fill computed from the user channel.
    Fill(DerivedFill),
    /// A gap in sequence numbers was seen; the channels were subscribed again.
    Resubscribed { expected: u64, received: u64 },
    /// The connection ended; a new one is attempted after `delay`.
    Reconnecting { reason: String, delay: Duration },
}

#[derive(Debug, Deserialize)]
struct Envelope {
    channel: String,
    #[serde(default)]
    sequence_num: Option<u64>,
    #[serde(default)]
    events: Vec<Value>,
}

/// The reason a connection ended.
enum Ended {
    Stale,
    Closed(String),
    Shutdown,
}

/// Runs the subscription until `shutdown` turns true, sending events to
/// `events`. Returns when shut down or when the consumer is gone.
pub async fn run(
    config: StreamConfig,
    key: Option<Arc<ApiKey>>,
    clock: Arc<ExchangeClock>,
    events: mpsc::Sender<StreamEvent>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tracker = FillTracker::new();
    let mut failures: u32 = 0;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let ended = match tokio_tungstenite::connect_async(config.url.as_str()).await {
            Ok((socket, _)) => {
                let (ended, subscribed) = connection(&config, key.as_deref(), &clock, socket, &events, &mut tracker, &mut shutdown).await;
                if subscribed {
                    failures = 0;
                }
                ended
            }
            Err(error) => Ended::Closed(format!("connect failed: {error}")),
        };

        let reason = match ended {
            Ended::Shutdown => return,
            Ended::Stale => format!("no message for {} ms", config.staleness.as_millis()),
            Ended::Closed(reason) => reason,
        };
        let delay = backoff(failures);
        failures = failures.saturating_add(1);
        tracing::warn!(url = config.url, reason, delay_ms = delay.as_millis() as u64, "websocket reconnecting");
        if events.send(StreamEvent::Reconnecting { reason, delay }).await.is_err() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Delay before reconnect attempt `failures` (0-based): 250 ms doubling to
/// 30 s, each drawn between half and all of that, so that many clients do
/// not reconnect in step.
pub fn backoff(failures: u32) -> Duration {
    let nominal = MIN_BACKOFF.saturating_mul(1u32 << failures.min(10)).min(MAX_BACKOFF);
    nominal.mul_f64(0.5 + rand::random::<f64>() * 0.5).max(MIN_BACKOFF)
}

fn subscribe_messages(config: &StreamConfig, key: Option<&ApiKey>, clock: &ExchangeClock, kind: &str) -> Vec<String> {
    std::iter::once("heartbeats".to_string())
        .chain(config.channels.iter().cloned())
        .map(|channel| {
            let mut message = json!({ "type": kind, "product_ids": config.product_ids, "channel": channel });
            if let Some(key) = key {
                message["jwt"] = Value::String(key.websocket_token(clock.now_seconds()));
            }
            message.to_string()
        })
        .collect()
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Serves one connection. The returned flag is true when the subscribe
/// messages were sent.
async fn connection(
    config: &StreamConfig,
    key: Option<&ApiKey>,
    clock: &ExchangeClock,
    mut socket: Socket,
    events: &mpsc::Sender<StreamEvent>,
    tracker: &mut FillTracker,
    shutdown: &mut watch::Receiver<bool>,
) -> (Ended, bool) {
    for message in subscribe_messages(config, key, clock, "subscribe") {
        if let Err(error) = socket.send(Message::text(message)).await {
            return (Ended::Closed(format!("subscribe failed: {error}")), false);
        }
    }
    if events.send(StreamEvent::Connected).await.is_err() {
        return (Ended::Shutdown, true);
    }

    let mut last_sequence: Option<u64> = None;
    loop {
        let next = tokio::select! {
            next = tokio::time::timeout(config.staleness, socket.next()) => next,
            _ = shutdown.changed() => return (Ended::Shutdown, true),
        };
        let text = match next {
            Err(_) => return (Ended::Stale, true),
            Ok(None) => return (Ended::Closed("closed by the server".to_string()), true),
            Ok(Some(Err(error))) => return (Ended::Closed(error.to_string()), true),
            Ok(Some(Ok(Message::Text(text)))) => text,
            Ok(Some(Ok(Message::Close(_)))) => return (Ended::Closed("close frame".to_string()), true),
            Ok(Some(Ok(_))) => continue,
        };
        let Ok(envelope) = serde_json::from_str::<Envelope>(&text) else {
            tracing::debug!(message = %text.chars().take(200).collect::<String>(), "ignoring unreadable websocket message");
            continue;
        };

        if let Some(sequence) = envelope.sequence_num {
            match last_sequence {
                Some(last) if sequence <= last => continue,
                Some(last) if sequence > last + 1 => {
                    last_sequence = Some(sequence);
                    tracing::warn!(expected = last + 1, received = sequence, "websocket sequence gap; resubscribing");
                    for message in subscribe_messages(config, key, clock, "unsubscribe")
                        .into_iter()
                        .chain(subscribe_messages(config, key, clock, "subscribe"))
                    {
                        if let Err(error) = socket.send(Message::text(message)).await {
                            return (Ended::Closed(format!("resubscribe failed: {error}")), true);
                        }
                    }
                    let event = StreamEvent::Resubscribed { expected: last + 1, received: sequence };
                    if events.send(event).await.is_err() {
                        return (Ended::Shutdown, true);
                    }
                }
                _ => last_sequence = Some(sequence),
            }
        }

        for event in interpret(envelope, tracker) {
            if events.send(event).await.is_err() {
                return (Ended::Shutdown, true);
            }
        }
    }
}

/// Turns one message into events; unknown channels and types are ignored.
fn interpret(envelope: Envelope, tracker: &mut FillTracker) -> Vec<StreamEvent> {
    match envelope.channel.as_str() {
        "heartbeats" => envelope
            .events
            .iter()
            .filter_map(|event| event.get("heartbeat_counter").and_then(number))
            .map(|counter| StreamEvent::Heartbeat { counter })
            .collect(),
        "user" => {
            let mut out = Vec::new();
            for event in &envelope.events {
                for order in event.get("orders").and_then(Value::as_array).into_iter().flatten() {
                    let Some(report) = cumulative_order(order) else {
                        continue;
                    };
                    if let Some(fill) = tracker.update(&report) {
                        out.push(StreamEvent::Fill(fill));
                    }
                    out.push(StreamEvent::Order(report));
                }
            }
            out
        }
        "candles" | "ticker" | "ticker_batch" | "market_trades" | "l2_data" | "status" => {
            vec![StreamEvent::MarketData { channel: envelope.channel, events: envelope.events }]
        }
        _ => Vec::new(),
    }
}

fn number(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| value.as_str().and_then(|text| text.parse().ok()))
}

fn decimal_field(order: &Value, field: &str) -> Decimal {
    order.get(field).and_then(Value::as_str).and_then(|text| Decimal::from_str(text).ok()).unwrap_or_default()
}

fn text_field(order: &Value, field: &str) -> String {
    order.get(field).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn cumulative_order(order: &Value) -> Option<CumulativeOrder> {
    let order_id = text_field(order, "order_id");
    if order_id.is_empty() {
        return None;
    }
    Some(CumulativeOrder {
        order_id,
        client_order_id: text_field(order, "client_order_id"),
        product_id: text_field(order, "product_id"),
        side: text_field(order, "order_side"),
        status: text_field(order, "status"),
        cumulative_quantity: decimal_field(order, "cumulative_quantity"),
        average_price: decimal_field(order, "avg_price"),
        total_fees: decimal_field(order, "total_fees"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_between_250_ms_and_30_s() {
        for failures in 0..40 {
            let delay = backoff(failures);
            assert!(delay >= MIN_BACKOFF, "{delay:?}");
            assert!(delay <= MAX_BACKOFF, "{delay:?}");
        }
        assert!(backoff(20) >= MAX_BACKOFF / 2);
    }

    #[test]
    fn unknown_channel_is_ignored() {
        let envelope = Envelope { channel: "futures_balance_summary".into(), sequence_num: Some(1), events: vec![json!({})] };
        assert!(interpret(envelope, &mut FillTracker::new()).is_empty());
    }

    #[test]
    fn user_update_becomes_order_and_fill() {
        let envelope = Envelope {
            channel: "user".into(),
            sequence_num: Some(3),
            events: vec![json!({"type": "update", "orders": [{
                "order_id": "o-1", "client_order_id": "c-1", "product_id": "BTC-USD", "order_side": "BUY",
                "status": "FILLED", "cumulative_quantity": "0.25", "avg_price": "40000", "total_fees": "60"
            }]})],
        };
        let events = interpret(envelope, &mut FillTracker::new());
        assert_eq!(events.len(), 2);
        let StreamEvent::Fill(fill) = &events[0] else { panic!("expected a fill first: {events:?}") };
        assert_eq!(fill.size, Decimal::from_str("0.25").unwrap());
        assert_eq!(fill.price, Decimal::from_str("40000").unwrap());
    }
}
