//! WebSocket channels over a real connection: subscriptions, sequence numbers, the user
//! channel's cumulative order state, market data on replay, and WebSocket faults.

mod common;

use std::time::{Duration, Instant};

use common::{Harness, Socket, WAIT, connect, next_json, next_on_channel, send_json, start};
use serde_json::{Value, json};

async fn subscribe(socket: &mut Socket, channel: &str, jwt: Option<String>) -> Value {
    let mut message = json!({"type": "subscribe", "product_ids": ["BTC-USD"], "channel": channel});
    if let Some(jwt) = jwt {
        message["jwt"] = json!(jwt);
    }
    send_json(socket, &message).await;
    next_on_channel(socket, "subscriptions", WAIT)
        .await
        .expect("subscriptions message")
}

async fn user_socket(harness: &Harness) -> Socket {
    let mut socket = connect(&harness.standin.user_ws_url()).await;
    let subscriptions = subscribe(&mut socket, "user", Some(harness.ws_jwt())).await;
    assert_eq!(
        subscriptions["events"][0]["subscriptions"]["user"],
        json!(["BTC-USD"])
    );
    socket
}

fn sequence(message: &Value) -> u64 {
    message["sequence_num"]
        .as_u64()
        .expect("sequence_num integer")
}

#[tokio::test]
async fn user_channel_sends_cumulative_updates() {
    let harness = start().await;
    let mut socket = user_socket(&harness).await;
    let snapshot = next_on_channel(&mut socket, "user", WAIT)
        .await
        .expect("snapshot");
    assert_eq!(snapshot["events"][0]["type"], "snapshot");

    let response = harness
        .create_order("c-ws", "BUY", json!({"limit_limit_gtc": {"base_size": "0.1", "limit_price": "49600.00", "post_only": false}}))
        .await;
    let order_id = response["success_response"]["order_id"]
        .as_str()
        .expect("order id")
        .to_string();
    let opened = next_on_channel(&mut socket, "user", WAIT)
        .await
        .expect("open update");
    let order = &opened["events"][0]["orders"][0];
    assert_eq!(opened["events"][0]["type"], "update");
    assert_eq!(order["order_id"], order_id.as_str());
    assert_eq!(order["client_order_id"], "c-ws");
    assert_eq!(order["status"], "OPEN");
    assert_eq!(order["cumulative_quantity"], "0");
    assert_eq!(order["leaves_quantity"], "0.1");

    harness
        .admin_post("/admin/advance", &json!({"candles": 3}))
        .await;
    let filled = next_on_channel(&mut socket, "user", WAIT)
        .await
        .expect("fill update");
    let order = &filled["events"][0]["orders"][0];
    assert_eq!(order["status"], "FILLED");
    assert_eq!(order["cumulative_quantity"], "0.1");
    assert_eq!(order["leaves_quantity"], "0");
    assert_eq!(order["avg_price"], "49600");
    assert_eq!(order["total_fees"], "19.84");

    assert_eq!(sequence(&snapshot) + 1, sequence(&opened));
    assert_eq!(sequence(&opened) + 1, sequence(&filled));
}

#[tokio::test]
async fn user_snapshot_lists_open_orders() {
    let harness = start().await;
    harness
        .create_order("c-resting", "SELL", json!({"limit_limit_gtc": {"base_size": "0.1", "limit_price": "60000.00", "post_only": true}}))
        .await;
    let mut socket = user_socket(&harness).await;
    let snapshot = next_on_channel(&mut socket, "user", WAIT)
        .await
        .expect("snapshot");
    assert_eq!(
        snapshot["events"][0]["orders"][0]["client_order_id"],
        "c-resting"
    );
}

#[tokio::test]
async fn user_subscribe_without_jwt_rejected() {
    let harness = start().await;
    let mut socket = connect(&harness.standin.user_ws_url()).await;
    send_json(
        &mut socket,
        &json!({"type": "subscribe", "product_ids": [], "channel": "user"}),
    )
    .await;
    let answer = next_json(&mut socket, WAIT).await.expect("error message");
    assert_eq!(answer["type"], "error");

    let mut bad = json!({"type": "subscribe", "product_ids": [], "channel": "user"});
    bad["jwt"] = json!(common::TestKey::es256(42).sign(&json!({"alg": "ES256"}), &json!({})));
    send_json(&mut socket, &bad).await;
    let answer = next_json(&mut socket, WAIT).await.expect("error message");
    assert_eq!(answer["type"], "error");
}

#[tokio::test]
async fn market_channels_publish_on_advance() {
    let harness = start().await;
    let mut socket = connect(&harness.standin.ws_url()).await;
    subscribe(&mut socket, "candles", None).await;
    let snapshot = next_on_channel(&mut socket, "candles", WAIT)
        .await
        .expect("candles snapshot");
    assert_eq!(snapshot["events"][0]["candles"][0]["close"], "50000");
    subscribe(&mut socket, "ticker", None).await;
    next_on_channel(&mut socket, "ticker", WAIT)
        .await
        .expect("ticker snapshot");
    subscribe(&mut socket, "market_trades", Some(harness.ws_jwt())).await;
    next_on_channel(&mut socket, "market_trades", WAIT)
        .await
        .expect("trades snapshot");

    harness
        .admin_post("/admin/advance", &json!({"candles": 1}))
        .await;
    let candle = next_on_channel(&mut socket, "candles", WAIT)
        .await
        .expect("candle update");
    assert_eq!(candle["events"][0]["candles"][0]["close"], "50100");
    assert_eq!(candle["events"][0]["candles"][0]["product_id"], "BTC-USD");
    let ticker = next_on_channel(&mut socket, "ticker", WAIT)
        .await
        .expect("ticker update");
    assert_eq!(ticker["events"][0]["tickers"][0]["price"], "50100");
    let trade = next_on_channel(&mut socket, "market_trades", WAIT)
        .await
        .expect("trade update");
    assert_eq!(trade["events"][0]["trades"][0]["price"], "50100");
    assert_eq!(sequence(&candle) + 1, sequence(&ticker));
    assert_eq!(sequence(&ticker) + 1, sequence(&trade));

    let received = harness.admin_get("/admin/received").await;
    assert_eq!(received["ws_subscribes"], 3);
}

#[tokio::test]
async fn heartbeats_count_up_every_second() {
    let harness = start().await;
    let mut socket = connect(&harness.standin.ws_url()).await;
    subscribe(&mut socket, "heartbeats", None).await;
    let first = next_on_channel(&mut socket, "heartbeats", WAIT)
        .await
        .expect("first heartbeat");
    let second = next_on_channel(&mut socket, "heartbeats", WAIT)
        .await
        .expect("second heartbeat");
    let counter = |message: &Value| {
        message["events"][0]["heartbeat_counter"]
            .as_u64()
            .expect("integer counter")
    };
    assert_eq!(counter(&first) + 1, counter(&second));
    assert_eq!(sequence(&first) + 1, sequence(&second));
}

#[tokio::test]
async fn connection_without_subscribe_closed_after_timeout() {
    let harness = start().await;
    let mut socket = connect(&harness.standin.ws_url()).await;
    let started = Instant::now();
    let message = next_json(&mut socket, Duration::from_secs(8)).await;
    assert!(
        message.is_none(),
        "no message before the close: {message:?}"
    );
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(4500) && elapsed < Duration::from_secs(7),
        "closed after {elapsed:?}"
    );
}

#[tokio::test]
async fn unknown_channel_answers_error() {
    let harness = start().await;
    let mut socket = connect(&harness.standin.user_ws_url()).await;
    send_json(
        &mut socket,
        &json!({"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "candles"}),
    )
    .await;
    let answer = next_json(&mut socket, WAIT).await.expect("error message");
    assert_eq!(answer["type"], "error");
    send_json(&mut socket, &json!({"not": "a subscribe"})).await;
    let answer = next_json(&mut socket, WAIT).await.expect("error message");
    assert_eq!(answer["type"], "error");
}

#[tokio::test]
async fn close_fault_drops_connections() {
    let harness = start().await;
    let mut socket = user_socket(&harness).await;
    next_on_channel(&mut socket, "user", WAIT)
        .await
        .expect("snapshot");
    harness
        .admin_post("/admin/faults", &json!({"close_websockets": true}))
        .await;
    let message = next_json(&mut socket, WAIT).await;
    assert!(message.is_none(), "connection closed: {message:?}");
}

#[tokio::test]
async fn skip_sequence_fault_leaves_gap() {
    let harness = start().await;
    let mut socket = connect(&harness.standin.ws_url()).await;
    subscribe(&mut socket, "candles", None).await;
    let snapshot = next_on_channel(&mut socket, "candles", WAIT)
        .await
        .expect("snapshot");
    harness
        .admin_post(
            "/admin/faults",
            &json!({"ws_skip_sequence_count": 1, "path_prefix": "/ws"}),
        )
        .await;
    harness
        .admin_post("/admin/advance", &json!({"candles": 2}))
        .await;
    let skipped = next_on_channel(&mut socket, "candles", WAIT)
        .await
        .expect("update after a gap");
    let following = next_on_channel(&mut socket, "candles", WAIT)
        .await
        .expect("next update");
    assert_eq!(
        sequence(&snapshot) + 2,
        sequence(&skipped),
        "one number skipped"
    );
    assert_eq!(
        sequence(&skipped) + 1,
        sequence(&following),
        "later messages continue by one"
    );
}

#[tokio::test]
async fn duplicate_fault_repeats_message() {
    let harness = start().await;
    let mut socket = connect(&harness.standin.ws_url()).await;
    subscribe(&mut socket, "candles", None).await;
    next_on_channel(&mut socket, "candles", WAIT)
        .await
        .expect("snapshot");
    harness
        .admin_post("/admin/faults", &json!({"ws_duplicate_count": 1}))
        .await;
    harness
        .admin_post("/admin/advance", &json!({"candles": 2}))
        .await;
    let first = next_on_channel(&mut socket, "candles", WAIT)
        .await
        .expect("update");
    let duplicate = next_on_channel(&mut socket, "candles", WAIT)
        .await
        .expect("duplicate");
    let next = next_on_channel(&mut socket, "candles", WAIT)
        .await
        .expect("next update");
    assert_eq!(first, duplicate);
    assert_eq!(sequence(&first) + 1, sequence(&next));
}

#[tokio::test]
async fn silence_fault_stops_heartbeats() {
    let harness = start().await;
    let mut socket = connect(&harness.standin.ws_url()).await;
    subscribe(&mut socket, "heartbeats", None).await;
    let before = next_on_channel(&mut socket, "heartbeats", WAIT)
        .await
        .expect("heartbeat before");
    harness
        .admin_post("/admin/faults", &json!({"ws_silence_ms": 2500}))
        .await;
    let silent = next_json(&mut socket, Duration::from_millis(2000)).await;
    assert!(silent.is_none(), "no message while silent: {silent:?}");
    let after = next_on_channel(&mut socket, "heartbeats", WAIT)
        .await
        .expect("heartbeat after");
    assert_eq!(
        sequence(&before) + 1,
        sequence(&after),
        "silenced messages take no sequence numbers"
    );
}
