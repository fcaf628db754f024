//! The Coinbase client against the stand-in, over real HTTP and WebSocket
//! on 127.0.0.1: every endpoint, every injected fault, a slow clock, a long
//! run of orders under random faults, and the user channel's fills.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use coinbase_standin::{Candle, FaultRequest, Standin, StandinConfig, parse_public_key_pem};
use rust_decimal::Decimal;
use stratbox::bundled;
use stratbox::coinbase::download::{DownloadRequest, download};
use stratbox::coinbase::http::{
    FillFilter, OrderFilter, OrderSubmitter, RestClient, RestConfig, RestError, RetryPolicy, Submission,
    client_order_id, order_body,
};
use stratbox::coinbase::ws::{StreamConfig, StreamEvent};
use stratbox::coinbase::{ApiKey, ExchangeClock};
use stratbox::data::parse_candles;
use stratbox::strategy::{OrderIntent, OrderKind, Side, Size};
use tokio::sync::{mpsc, watch};

const KEY_NAME: &str = "organizations/org-1/apiKeys/key-1";
/// Bound on any wait for the stand-in, so no test can hang.
const WAIT: Duration = Duration::from_secs(20);

fn new_key() -> Arc<ApiKey> {
    let seed: [u8; 32] = rand::random();
    Arc::new(ApiKey::parse(KEY_NAME, &base64::engine::general_purpose::STANDARD.encode(seed)).unwrap())
}

/// Returns the first 400 bundled BTC-USD candles, for the stand-in to replay.
fn replay_candles() -> Vec<Candle> {
    let series = parse_candles(bundled::BTC_USD_1H_2024_CSV).unwrap();
    let decimal = |value: f64| Decimal::from_str(&value.to_string()).unwrap();
    series
        .candles
        .iter()
        .take(400)
        .map(|candle| Candle {
            start: candle.start_ms / 1000,
            open: decimal(candle.open),
            high: decimal(candle.high),
            low: decimal(candle.low),
            close: decimal(candle.close),
            volume: decimal(candle.volume),
        })
        .collect()
}

async fn standin(key: &ApiKey) -> Standin {
    let public = parse_public_key_pem(&key.public_key_pem()).unwrap();
    coinbase_standin::start(StandinConfig::with_defaults(KEY_NAME, vec![public], replay_candles())).await.unwrap()
}

fn fast_retries() -> RestConfig {
    RestConfig {
        timeout: Duration::from_millis(1500),
        private_per_second: 500.0,
        public_per_second: 500.0,
        retry: RetryPolicy { attempts: 5, base_delay: Duration::from_millis(20), max_delay: Duration::from_millis(200) },
        ..RestConfig::default()
    }
}

fn client(standin: &Standin, key: &Arc<ApiKey>, clock: ExchangeClock) -> RestClient {
    let config = RestConfig { base_url: standin.base_url(), ..fast_retries() };
    RestClient::new(&config, Some(key.clone()), Arc::new(clock)).unwrap()
}

fn market_buy(tag: &str, quote: f64) -> OrderIntent {
    OrderIntent {
        tag: tag.to_string(),
        product: "BTC-USD".to_string(),
        side: Side::Buy,
        size: Size::Quote(quote),
        kind: OrderKind::Market,
    }
}

async fn received_orders(standin: &Standin) -> BTreeMap<String, u64> {
    let url = format!("{}/admin/received", standin.base_url());
    let body: serde_json::Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    serde_json::from_value(body["orders_by_client_order_id"].clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rest_endpoint_answers() {
    let key = new_key();
    let standin = standin(&key).await;
    let client = client(&standin, &key, ExchangeClock::new());

    client.sync_clock().await.unwrap();
    assert!(client.clock().offset_ms().abs() < 5_000);
    let products = client.products().await.unwrap();
    assert!(products.iter().any(|product| product.product_id == "BTC-USD"));
    let product = client.product("BTC-USD").await.unwrap();
    let increments = product.increments().unwrap();
    assert_eq!(increments.base_increment, Decimal::from_str("0.00000001").unwrap());
    assert!(product.is_tradable());
    assert_eq!(client.public_product("XRP-BTC").await.unwrap().product_id, "XRP-BTC");
    let accounts = client.accounts().await.unwrap();
    assert!(accounts.iter().any(|account| account.currency == "USD"));
    let books = client.best_bid_ask(&["BTC-USD".to_string()]).await.unwrap();
    assert_eq!(books[0].product_id, "BTC-USD");
    let permissions = client.key_permissions().await.unwrap();
    assert!(permissions.can_trade);
    assert!(!permissions.can_transfer);

    let id = client_order_id("test", "buy-1", 1);
    let body = order_body(&market_buy("buy-1", 150.4926), &id, &increments, None).unwrap();
    assert_eq!(body["order_configuration"]["market_market_ioc"]["quote_size"], "150.49");
    let submission = OrderSubmitter::new(&client).submit(&body).await.unwrap();
    let Submission::Accepted { order_id } = submission else { panic!("rejected: {submission:?}") };
    let order = client.order(&order_id).await.unwrap();
    assert_eq!(order.client_order_id, id);
    let listed = client.list_orders(&OrderFilter { client_order_id: Some(id.clone()), ..OrderFilter::default() }).await.unwrap();
    assert_eq!(listed.len(), 1);
    let fills = client.list_fills(&FillFilter { order_ids: vec![order_id.clone()], ..FillFilter::default() }).await.unwrap();
    assert!(!fills.is_empty(), "a market order fills at once");
    let cancelled = client.cancel_orders(&[order_id]).await.unwrap();
    assert_eq!(cancelled.len(), 1);

    let candles = client.public_candles("BTC-USD", 1_704_063_600, 1_704_063_600 + 10 * 3600, "ONE_HOUR").await.unwrap();
    assert!(!candles.is_empty());
    standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn venue_rejection_carries_its_reason() {
    let key = new_key();
    let standin = standin(&key).await;
    let client = client(&standin, &key, ExchangeClock::new());
    let increments = client.product("BTC-USD").await.unwrap().increments().unwrap();

    let body = order_body(&market_buy("too-big", 1_000_000.0), &client_order_id("test", "too-big", 1), &increments, None).unwrap();
    let submission = OrderSubmitter::new(&client).submit(&body).await.unwrap();
    assert!(matches!(&submission, Submission::Rejected { reason, .. } if reason == "INSUFFICIENT_FUND"), "{submission:?}");
    standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_minute_slow_clock_authenticates_after_sync() {
    let key = new_key();
    let standin = standin(&key).await;
    let slow = client(&standin, &key, ExchangeClock::with_local_skew(-600_000));

    let before = slow.key_permissions().await.unwrap_err();
    assert!(matches!(before, RestError::Unauthorized { .. }), "{before}");
    let offset = slow.sync_clock().await.unwrap();
    assert!((offset - 600_000).abs() < 5_000, "offset {offset}");
    slow.key_permissions().await.unwrap();
    standin.shutdown().await;
}

async fn with_fault(fault: FaultRequest) -> (Standin, RestClient) {
    let key = new_key();
    let standin = standin(&key).await;
    let client = client(&standin, &key, ExchangeClock::new());
    standin.arm_faults(&fault);
    (standin, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_with_html_body_is_retried() {
    let (standin, client) = with_fault(FaultRequest { rate_limit_count: 2, ..FaultRequest::default() }).await;
    client.accounts().await.expect("succeeds after two 429 answers");
    standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_error_with_html_is_retried() {
    let (standin, client) = with_fault(FaultRequest { server_error_count: 2, ..FaultRequest::default() }).await;
    client.products().await.expect("succeeds after two 500 answers");
    standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_server_error_names_path_and_attempts() {
    let (standin, client) = with_fault(FaultRequest { server_error_count: 50, ..FaultRequest::default() }).await;
    let error = client.products().await.unwrap_err();
    let message = error.to_string();
    assert!(message.contains("/api/v3/brokerage/products"), "{message}");
    assert!(message.contains("after 5 attempt(s)"), "{message}");
    assert!(message.len() < 600, "the HTML body is cut: {message}");
    standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_past_timeout_is_retried() {
    let (standin, client) =
        with_fault(FaultRequest { delay_count: 1, delay_ms: 3_000, ..FaultRequest::default() }).await;
    client.key_permissions().await.expect("the second attempt is not delayed");
    standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_answer_on_read_is_retried() {
    let (standin, client) = with_fault(FaultRequest { unauthorized_count: 1, ..FaultRequest::default() }).await;
    client.accounts().await.expect("a fresh token is accepted");
    standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_order_response_makes_one_order() {
    let (standin, client) = with_fault(FaultRequest {
        path_prefix: "/api/v3/brokerage/orders".to_string(),
        drop_order_response_count: 1,
        ..FaultRequest::default()
    })
    .await;
    let increments = client.product("BTC-USD").await.unwrap().increments().unwrap();
    let id = client_order_id("test", "dropped", 1);
    let body = order_body(&market_buy("dropped", 50.0), &id, &increments, None).unwrap();

    let submission = OrderSubmitter::new(&client).submit(&body).await.unwrap();
    assert!(matches!(submission, Submission::Accepted { .. }), "{submission:?}");
    assert_eq!(received_orders(&standin).await.get(&id), Some(&1));
    standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulty_long_run_makes_one_order_each() {
    let key = new_key();
    let standin = standin(&key).await;
    let client = client(&standin, &key, ExchangeClock::new());
    let increments = client.product("BTC-USD").await.unwrap().increments().unwrap();
    let submitter = OrderSubmitter::new(&client);

    let mut state = 0x9e37_79b9_u64;
    let mut ids = Vec::new();
    for sequence in 0..200u64 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let fault = match state % 6 {
            0 => FaultRequest { drop_order_response_count: 1, ..FaultRequest::default() },
            1 => FaultRequest { server_error_count: 1, ..FaultRequest::default() },
            2 => FaultRequest { rate_limit_count: 1, ..FaultRequest::default() },
            _ => FaultRequest::default(),
        };
        standin.arm_faults(&FaultRequest { path_prefix: "/api/v3/brokerage/orders".to_string(), ..fault });

        let id = client_order_id("long-run", "buy", sequence);
        let body = order_body(&market_buy("buy", 10.0), &id, &increments, None).unwrap();
        let outcome = tokio::time::timeout(WAIT, submitter.submit(&body)).await.expect("bounded");
        let submission = outcome.unwrap_or_else(|error| panic!("order {sequence}: {error}"));
        assert!(matches!(submission, Submission::Accepted { .. }), "order {sequence}: {submission:?}");
        ids.push(id);
    }

    let received = received_orders(&standin).await;
    for id in &ids {
        assert_eq!(received.get(id), Some(&1), "order {id} was created {:?} times", received.get(id));
    }
    standin.shutdown().await;
}

async fn next_event(events: &mut mpsc::Receiver<StreamEvent>, want: impl Fn(&StreamEvent) -> bool) -> StreamEvent {
    tokio::time::timeout(WAIT, async {
        loop {
            let event = events.recv().await.expect("stream running");
            if want(&event) {
                return event;
            }
        }
    })
    .await
    .expect("the expected event arrives within the bound")
}

fn stream(url: String, channels: &[&str], key: &Arc<ApiKey>, staleness: Duration) -> (mpsc::Receiver<StreamEvent>, watch::Sender<bool>) {
    let config = StreamConfig {
        url,
        channels: channels.iter().map(ToString::to_string).collect(),
        product_ids: vec!["BTC-USD".to_string()],
        staleness,
    };
    let (sender, receiver) = mpsc::channel(1024);
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(stratbox::coinbase::ws::run(config, Some(key.clone()), Arc::new(ExchangeClock::new()), sender, stopped));
    (receiver, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_heartbeats_and_market_data_arrive() {
    let key = new_key();
    let standin = standin(&key).await;
    let (mut events, stop) = stream(standin.ws_url(), &["ticker", "candles"], &key, Duration::from_secs(5));
    next_event(&mut events, |event| matches!(event, StreamEvent::Connected)).await;
    next_event(&mut events, |event| matches!(event, StreamEvent::Heartbeat { .. })).await;
    standin.advance(1);
    next_event(&mut events, |event| matches!(event, StreamEvent::MarketData { .. })).await;
    stop.send_replace(true);
    standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_sequence_gap_resubscribes() {
    let key = new_key();
    let standin = standin(&key).await;
    let (mut events, stop) = stream(standin.ws_url(), &[], &key, Duration::from_secs(5));
    next_event(&mut events, |event| matches!(event, StreamEvent::Heartbeat { .. })).await;
    standin.arm_faults(&FaultRequest { ws_skip_sequence_count: 1, ..FaultRequest::default() });
    next_event(&mut events, |event| matches!(event, StreamEvent::Resubscribed { .. })).await;
    stop.send_replace(true);
    standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_silence_reconnects() {
    let key = new_key();
    let standin = standin(&key).await;
    let (mut events, stop) = stream(standin.ws_url(), &[], &key, Duration::from_millis(2_500));
    next_event(&mut events, |event| matches!(event, StreamEvent::Heartbeat { .. })).await;
    standin.arm_faults(&FaultRequest { ws_silence_ms: 4_000, ..FaultRequest::default() });
    let reconnect = next_event(&mut events, |event| matches!(event, StreamEvent::Reconnecting { .. })).await;
    assert!(matches!(&reconnect, StreamEvent::Reconnecting { reason, .. } if reason.contains("no message")), "{reconnect:?}");
    next_event(&mut events, |event| matches!(event, StreamEvent::Connected)).await;
    stop.send_replace(true);
    standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_closed_connection_reconnects() {
    let key = new_key();
    let standin = standin(&key).await;
    let (mut events, stop) = stream(standin.ws_url(), &[], &key, Duration::from_secs(5));
    next_event(&mut events, |event| matches!(event, StreamEvent::Heartbeat { .. })).await;
    standin.arm_faults(&FaultRequest { close_websockets: true, ..FaultRequest::default() });
    next_event(&mut events, |event| matches!(event, StreamEvent::Reconnecting { .. })).await;
    next_event(&mut events, |event| matches!(event, StreamEvent::Connected)).await;
    next_event(&mut events, |event| matches!(event, StreamEvent::Heartbeat { .. })).await;
    stop.send_replace(true);
    standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_channel_updates_become_fills_once() {
    let key = new_key();
    let standin = standin(&key).await;
    let client = client(&standin, &key, ExchangeClock::new());
    let (mut events, stop) = stream(standin.user_ws_url(), &["user"], &key, Duration::from_secs(5));
    next_event(&mut events, |event| matches!(event, StreamEvent::Connected)).await;
    standin.arm_faults(&FaultRequest { ws_duplicate_count: 5, ..FaultRequest::default() });

    let increments = client.product("BTC-USD").await.unwrap().increments().unwrap();
    let id = client_order_id("ws", "buy", 1);
    let body = order_body(&market_buy("buy", 100.0), &id, &increments, None).unwrap();
    OrderSubmitter::new(&client).submit(&body).await.unwrap();

    let fill = next_event(&mut events, |event| matches!(event, StreamEvent::Fill(fill) if fill.client_order_id == id)).await;
    let StreamEvent::Fill(fill) = fill else { unreachable!() };
    assert!(fill.size > Decimal::ZERO);
    let venue_fills = client.list_fills(&FillFilter::default()).await.unwrap();
    let venue_size: Decimal = venue_fills.iter().filter_map(|venue| venue.size).sum();
    assert_eq!(fill.size, venue_size, "the derived fill matches the venue's");

    // Duplicated messages must not produce a second fill for the same order.
    let second = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            if let Some(StreamEvent::Fill(again)) = events.recv().await
                && again.client_order_id == id
            {
                return again;
            }
        }
    })
    .await;
    assert!(second.is_err(), "a duplicate produced a second fill: {second:?}");
    stop.send_replace(true);
    standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn candle_download_resumes_without_duplicates() {
    let key = new_key();
    let standin = standin(&key).await;
    // The stand-in serves only candles up to its replay point, as the venue
    // serves only the past.
    standin.advance(399);
    let config = RestConfig { base_url: standin.base_url(), ..fast_retries() };
    let client = RestClient::new(&config, None, Arc::new(ExchangeClock::new())).unwrap();
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("download");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("btc.csv");
    let first = 1_704_063_600;

    let mut request = DownloadRequest {
        product: "BTC-USD".to_string(),
        granularity: "ONE_HOUR".to_string(),
        start: first,
        end: first + 100 * 3600,
        out: out.clone(),
    };
    let summary = download(&client, &request, |_, _| {}).await.unwrap();
    assert_eq!(summary.written, 100);

    request.end = first + 380 * 3600;
    let summary = download(&client, &request, |_, _| {}).await.unwrap();
    assert_eq!(summary.existing, 100);
    assert_eq!(summary.written, 280, "more than one page of 350 was fetched across the two runs");

    let series = stratbox::data::read_candles(&out).unwrap();
    assert_eq!(series.candles.len(), 380);
    assert_eq!(series.candles[0].start_ms, first * 1000);
    standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periodic_clock_sync_corrects_a_slow_clock() {
    let key = new_key();
    let standin = standin(&key).await;
    let slow = client(&standin, &key, ExchangeClock::with_local_skew(-600_000));
    let task = stratbox::coinbase::http::spawn_clock_sync(slow.clone(), Duration::from_millis(200));

    let synced = tokio::time::timeout(WAIT, async {
        while (slow.clock().offset_ms() - 600_000).abs() > 5_000 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    task.abort();
    assert!(synced.is_ok(), "offset stayed at {}", slow.clock().offset_ms());
    slow.accounts().await.unwrap();
    standin.shutdown().await;
}

fn limit_buy(tag: &str, base: f64, price: f64, time_in_force: stratbox::strategy::TimeInForce, post_only: bool) -> OrderIntent {
    OrderIntent {
        tag: tag.to_string(),
        product: "BTC-USD".to_string(),
        side: Side::Buy,
        size: Size::Base(base),
        kind: OrderKind::Limit(stratbox::strategy::LimitOrder { price, time_in_force, post_only }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_orders_of_each_time_in_force() {
    use stratbox::strategy::TimeInForce;
    let key = new_key();
    let standin = standin(&key).await;
    let client = client(&standin, &key, ExchangeClock::new());
    let increments = client.product("BTC-USD").await.unwrap().increments().unwrap();
    let submitter = OrderSubmitter::new(&client);
    let price = client.product("BTC-USD").await.unwrap().price.unwrap();
    let below: f64 = (price * Decimal::from_str("0.9").unwrap()).to_string().parse().unwrap();
    let above: f64 = (price * Decimal::from_str("1.1").unwrap()).to_string().parse().unwrap();

    let submit = async |tag: &str, intent: OrderIntent| {
        let body = order_body(&intent, &client_order_id("limits", tag, 1), &increments, None).unwrap();
        submitter.submit(&body).await.unwrap()
    };
    let resting = submit("gtc", limit_buy("gtc", 0.001, below, TimeInForce::GoodTilCancelled, true)).await;
    let Submission::Accepted { order_id } = resting else { panic!("{resting:?}") };
    assert_eq!(client.order(&order_id).await.unwrap().status, "OPEN");

    let expiry = chrono::Utc::now().timestamp_millis() + 3_600_000;
    let gtd = submit("gtd", limit_buy("gtd", 0.001, below, TimeInForce::GoodTilDate(expiry), false)).await;
    assert!(matches!(gtd, Submission::Accepted { .. }), "{gtd:?}");

    let crossing = submit("post-only", limit_buy("post-only", 0.001, above, TimeInForce::GoodTilCancelled, true)).await;
    assert!(
        matches!(&crossing, Submission::Rejected { reason, .. } if reason == "INVALID_LIMIT_PRICE_POST_ONLY"),
        "{crossing:?}"
    );

    let ioc = submit("ioc", limit_buy("ioc", 0.001, above, TimeInForce::ImmediateOrCancel, false)).await;
    let Submission::Accepted { order_id } = ioc else { panic!("{ioc:?}") };
    assert_eq!(client.order(&order_id).await.unwrap().status, "FILLED");
    standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_download_points_at_base_url() {
    let key = new_key();
    let standin = standin(&key).await;
    standin.advance(399);
    let out = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-download.csv");
    let _ = std::fs::remove_file(&out);

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_stratbox"))
        .args(["data", "download", "--product", "BTC-USD", "--granularity", "ONE_HOUR"])
        .args(["--start", "2024-01-01", "--end", "2024-01-05", "--base-url", &standin.base_url(), "--out"])
        .arg(&out)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("wrote 96 candles"), "{stdout}");
    assert!(stdout.contains("0 gaps"), "{stdout}");
    assert_eq!(stratbox::data::read_candles(&out).unwrap().candles.len(), 96);
    standin.shutdown().await;
}
