//! WebSocket endpoints `/ws` (market data) and `/ws/user` (user data): subscriptions, the
//! channel envelope with per-connection sequence numbers, heartbeats, and WebSocket faults.

mod messages;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::SharedState;
use crate::auth::{unix_now, verify_jwt};
use crate::exchange::{Published, rfc3339};

/// Time a client has after connecting to send its first subscribe.
pub const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(5);
/// Period of `heartbeats` messages.
pub const HEARTBEAT_PERIOD: Duration = Duration::from_secs(1);

const MARKET_CHANNELS: [&str; 6] = [
    "heartbeats",
    "candles",
    "ticker",
    "ticker_batch",
    "market_trades",
    "user",
];
const USER_CHANNELS: [&str; 2] = ["heartbeats", "user"];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Endpoint {
    Market,
    User,
}

impl Endpoint {
    fn path(self) -> &'static str {
        match self {
            Endpoint::Market => "/ws",
            Endpoint::User => "/ws/user",
        }
    }

    fn channels(self) -> &'static [&'static str] {
        match self {
            Endpoint::Market => &MARKET_CHANNELS,
            Endpoint::User => &USER_CHANNELS,
        }
    }
}

pub async fn market(upgrade: WebSocketUpgrade, State(state): State<SharedState>) -> Response {
    upgrade.on_upgrade(move |socket| run(socket, state, Endpoint::Market))
}

pub async fn user(upgrade: WebSocketUpgrade, State(state): State<SharedState>) -> Response {
    upgrade.on_upgrade(move |socket| run(socket, state, Endpoint::User))
}

#[derive(Deserialize)]
struct SubscribeMessage {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    product_ids: Vec<String>,
    channel: String,
    jwt: Option<String>,
}

type Sink = SplitSink<WebSocket, Message>;

/// One client connection.
struct Connection {
    state: SharedState,
    endpoint: Endpoint,
    sink: Sink,
    next_sequence: u64,
    heartbeat_counter: u64,
    /// Channel name to subscribed product ids. An empty set means every product.
    subscriptions: BTreeMap<String, BTreeSet<String>>,
}

async fn run(socket: WebSocket, state: SharedState, endpoint: Endpoint) {
    let (sink, mut stream) = socket.split();
    let mut events = state.events.subscribe();
    let mut close = state.close_websockets.subscribe();
    close.borrow_and_update();
    let mut shutdown = state.shutdown.subscribe();
    let mut connection = Connection {
        state,
        endpoint,
        sink,
        next_sequence: 0,
        heartbeat_counter: 0,
        subscriptions: BTreeMap::new(),
    };
    let mut subscribed_once = false;
    let subscribe_deadline = tokio::time::sleep(SUBSCRIBE_TIMEOUT);
    tokio::pin!(subscribe_deadline);
    let mut heartbeat = tokio::time::interval_at(
        tokio::time::Instant::now() + HEARTBEAT_PERIOD,
        HEARTBEAT_PERIOD,
    );
    // Ticks missed before a heartbeats subscription are skipped rather than sent in a burst.
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    tracing::info!(path = endpoint.path(), "websocket connected");

    let outcome: Result<(), axum::Error> = loop {
        let step = tokio::select! {
            _ = &mut subscribe_deadline, if !subscribed_once => {
                tracing::info!(path = endpoint.path(), "no subscribe within the timeout; closing websocket");
                break Ok(());
            }
            message = stream.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let subscribed = connection.handle_client_message(text.as_str()).await;
                    subscribed_once |= matches!(subscribed, Ok(true));
                    subscribed.map(|_| ())
                }
                Some(Ok(Message::Close(_))) | None => break Ok(()),
                Some(Ok(_)) => Ok(()),
                Some(Err(error)) => break Err(error),
            },
            event = events.recv() => match event {
                Ok(event) => connection.publish(&event).await,
                Err(RecvError::Lagged(skipped)) => {
                    tracing::warn!(path = endpoint.path(), skipped, "websocket fell behind; changes skipped");
                    Ok(())
                }
                Err(RecvError::Closed) => break Ok(()),
            },
            _ = heartbeat.tick(), if connection.subscriptions.contains_key("heartbeats") => {
                connection.send_heartbeat().await
            }
            _ = close.changed() => {
                tracing::info!(path = endpoint.path(), "fault: closing websocket without a close frame");
                break Ok(());
            }
            _ = shutdown.changed() => break Ok(()),
        };
        if let Err(error) = step {
            break Err(error);
        }
    };
    match outcome {
        Ok(()) => tracing::info!(path = endpoint.path(), "websocket closed"),
        Err(error) => {
            tracing::info!(path = endpoint.path(), %error, "websocket ended with an error")
        }
    }
}

impl Connection {
    /// Sends one channel message in the envelope, applying armed WebSocket faults.
    async fn send(&mut self, channel: &str, events: Value) -> Result<(), axum::Error> {
        let faults = self
            .state
            .lock_faults()
            .take_ws_message(self.endpoint.path());
        if faults.silent {
            return Ok(());
        }
        if faults.skip_sequence {
            self.next_sequence += 1;
        }
        let message = json!({
            "channel": channel,
            "client_id": "",
            "timestamp": rfc3339(chrono::Utc::now()),
            "sequence_num": self.next_sequence,
            "events": events,
        })
        .to_string();
        self.next_sequence += 1;

        self.sink
            .send(Message::Text(message.clone().into()))
            .await?;
        if faults.duplicate {
            self.sink.send(Message::Text(message.into())).await?;
        }
        Ok(())
    }

    /// Sends a message outside the envelope, such as an error.
    async fn send_bare(&mut self, message: Value) -> Result<(), axum::Error> {
        if self.state.lock_faults().is_silent(self.endpoint.path()) {
            return Ok(());
        }
        self.sink
            .send(Message::Text(message.to_string().into()))
            .await
    }

    async fn send_heartbeat(&mut self) -> Result<(), axum::Error> {
        let events = json!([{
            "current_time": rfc3339(chrono::Utc::now()),
            "heartbeat_counter": self.heartbeat_counter,
        }]);
        self.heartbeat_counter += 1;
        self.send("heartbeats", events).await
    }

    fn wants(&self, channel: &str, product_id: &str) -> bool {
        self.subscriptions
            .get(channel)
            .is_some_and(|products| products.is_empty() || products.contains(product_id))
    }

    /// Handles a subscribe or unsubscribe. Returns `Ok(true)` when a subscription was accepted.
    async fn handle_client_message(&mut self, text: &str) -> Result<bool, axum::Error> {
        let request: SubscribeMessage = match serde_json::from_str(text) {
            Ok(request) => request,
            Err(error) => {
                self.send_bare(messages::error(format!("invalid message: {error}")))
                    .await?;
                return Ok(false);
            }
        };
        let channel = request.channel.as_str();
        if !self.endpoint.channels().contains(&channel) {
            let allowed = self.endpoint.channels().join(", ");
            let message = format!(
                "channel {channel:?} is not served on {}; use one of {allowed}",
                self.endpoint.path()
            );
            self.send_bare(messages::error(message)).await?;
            return Ok(false);
        }

        if request.jwt.is_some() || channel == "user" {
            let (key_name, keys) = self.state.accepted_keys();
            let token = request.jwt.as_deref().unwrap_or("");
            if let Err(reason) = verify_jwt(token, &key_name, &keys, None, unix_now()) {
                tracing::info!(channel, %reason, "rejected websocket subscribe: invalid JWT");
                self.send_bare(messages::error("authentication failure"))
                    .await?;
                return Ok(false);
            }
        }

        match request.kind.as_str() {
            "subscribe" => {
                self.state.lock_received().record_subscribe(channel);
                let products = self.subscriptions.entry(channel.to_string()).or_default();
                products.extend(request.product_ids.iter().cloned());
                let events = messages::subscriptions_events(&self.subscriptions);
                self.send("subscriptions", events).await?;
                self.send_snapshot(channel).await?;
                Ok(true)
            }
            "unsubscribe" => {
                if let Some(products) = self.subscriptions.get_mut(channel) {
                    for product_id in &request.product_ids {
                        products.remove(product_id);
                    }
                    if request.product_ids.is_empty() || products.is_empty() {
                        self.subscriptions.remove(channel);
                    }
                }
                let events = messages::subscriptions_events(&self.subscriptions);
                self.send("subscriptions", events).await?;
                Ok(false)
            }
            other => {
                let message = format!("message type {other:?} is not subscribe or unsubscribe");
                self.send_bare(messages::error(message)).await?;
                Ok(false)
            }
        }
    }

    /// Sends the state a new subscriber starts from: the current candle for market channels,
    /// the open orders for `user`.
    async fn send_snapshot(&mut self, channel: &str) -> Result<(), axum::Error> {
        let (product_id, candle, open_orders) = {
            let exchange = self.state.lock_exchange();
            let open_orders: Vec<_> = exchange
                .orders
                .iter()
                .filter(|order| order.is_open() && self.wants("user", &order.product_id))
                .cloned()
                .collect();
            (
                exchange.candle_product.clone(),
                exchange.current_candle().cloned(),
                open_orders,
            )
        };

        // NOTE: the user snapshot lists open orders only, so orders that ended before the
        // subscribe are found through the REST order endpoints.
        if channel == "user" {
            let orders: Vec<_> = open_orders.iter().collect();
            return self
                .send("user", messages::user_events("snapshot", &orders))
                .await;
        }
        let Some(candle) = candle else { return Ok(()) };
        if !self.wants(channel, &product_id) {
            return Ok(());
        }
        let events = match channel {
            "candles" => messages::candle_events("snapshot", &product_id, &candle),
            "ticker" | "ticker_batch" => messages::ticker_events("snapshot", &product_id, &candle),
            "market_trades" => messages::trade_events("snapshot", &product_id, &candle),
            _ => return Ok(()),
        };
        self.send(channel, events).await
    }

    /// Forwards a change to the channels this connection subscribed to.
    async fn publish(&mut self, event: &Published) -> Result<(), axum::Error> {
        match event {
            Published::OrderChanged(order) => {
                if self.wants("user", &order.product_id) {
                    self.send("user", messages::user_events("update", &[order]))
                        .await?;
                }
            }
            Published::CandleAdvanced { product_id, candle } => {
                if self.wants("candles", product_id) {
                    self.send(
                        "candles",
                        messages::candle_events("update", product_id, candle),
                    )
                    .await?;
                }
                for channel in ["ticker", "ticker_batch"] {
                    if self.wants(channel, product_id) {
                        self.send(
                            channel,
                            messages::ticker_events("update", product_id, candle),
                        )
                        .await?;
                    }
                }
                if self.wants("market_trades", product_id) {
                    self.send(
                        "market_trades",
                        messages::trade_events("update", product_id, candle),
                    )
                    .await?;
                }
            }
        }
        Ok(())
    }
}
