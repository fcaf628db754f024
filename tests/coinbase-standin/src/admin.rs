//! Admin routes, outside the Coinbase prefix and never hit by faults: arm faults, advance the
//! replay, rotate keys, and read back what the stand-in received and holds.

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::parse_public_key_pem;
use crate::exchange::text;
use crate::faults::FaultRequest;
use crate::rest::{ApiError, error_json, full_path};
use crate::{Shared, SharedState};

/// Counts of what clients sent, for tests that prove what reached the venue.
#[derive(Debug, Default)]
pub struct Received {
    requests_by_path: BTreeMap<String, u64>,
    orders_by_client_order_id: BTreeMap<String, u64>,
    ws_subscribes: u64,
    ws_subscribes_by_channel: BTreeMap<String, u64>,
}

impl Received {
    /// Counts an accepted order under its client order id.
    pub fn record_order(&mut self, client_order_id: &str) {
        *self
            .orders_by_client_order_id
            .entry(client_order_id.to_string())
            .or_default() += 1;
    }

    /// Counts an accepted WebSocket subscribe message.
    pub fn record_subscribe(&mut self, channel: &str) {
        self.ws_subscribes += 1;
        *self
            .ws_subscribes_by_channel
            .entry(channel.to_string())
            .or_default() += 1;
    }
}

/// Middleware that counts every request per path, faulted and rejected ones included.
pub async fn count_request(
    State(state): State<SharedState>,
    request: Request,
    next: Next,
) -> Response {
    let path = full_path(&request);
    *state
        .lock_received()
        .requests_by_path
        .entry(path)
        .or_default() += 1;
    next.run(request).await
}

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/admin/faults", post(faults))
        .route("/admin/advance", post(advance))
        .route("/admin/keys", post(keys))
        .route("/admin/received", get(received))
        .route("/admin/state", get(state))
}

fn parse_body<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|error| ApiError::invalid_argument(format!("invalid admin request body: {error}")))
}

/// Arms the faults of `request`, and closes every WebSocket at once when `close_websockets` is set.
pub fn arm_faults(shared: &Shared, request: &FaultRequest) {
    tracing::info!(?request, "arming faults");
    shared.lock_faults().arm(request);
    if request.close_websockets {
        shared
            .close_websockets
            .send_modify(|generation| *generation += 1);
    }
}

async fn faults(State(state): State<SharedState>, body: Bytes) -> Response {
    match parse_body::<FaultRequest>(&body) {
        Ok(request) => {
            arm_faults(&state, &request);
            Json(json!({"armed": true})).into_response()
        }
        Err(error) => error.into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceRequest {
    candles: usize,
}

async fn advance(State(state): State<SharedState>, body: Bytes) -> Response {
    let request: AdvanceRequest = match parse_body(&body) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    let mut exchange = state.lock_exchange();
    let advanced = exchange.advance(request.candles);
    let price = exchange.current_candle().map(|candle| text(candle.close));
    Json(json!({
        "advanced": advanced,
        "candle_index": exchange.candle_index,
        "candle_count": exchange.candles.len(),
        "price": price,
    }))
    .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysRequest {
    key_name: String,
    public_keys_pem: Vec<String>,
}

async fn keys(State(state): State<SharedState>, body: Bytes) -> Response {
    let request: KeysRequest = match parse_body(&body) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    let mut keys = Vec::new();
    for (index, pem) in request.public_keys_pem.iter().enumerate() {
        match parse_public_key_pem(pem) {
            Ok(key) => keys.push(key),
            Err(error) => {
                return error_json(
                    StatusCode::BAD_REQUEST,
                    "INVALID_ARGUMENT",
                    format!("public_keys_pem[{index}]: {error}"),
                );
            }
        }
    }
    tracing::info!(key_name = %request.key_name, keys = keys.len(), "replaced accepted keys");
    state.replace_keys(request.key_name, keys);
    Json(json!({"replaced": true})).into_response()
}

async fn received(State(state): State<SharedState>) -> Json<Value> {
    let received = state.lock_received();
    Json(json!({
        "requests_by_path": received.requests_by_path,
        "orders_by_client_order_id": received.orders_by_client_order_id,
        "ws_subscribes": received.ws_subscribes,
        "ws_subscribes_by_channel": received.ws_subscribes_by_channel,
    }))
}

async fn state(State(state): State<SharedState>) -> Json<Value> {
    let exchange = state.lock_exchange();
    let balances: Vec<Value> = exchange
        .accounts
        .iter()
        .map(|(currency, account)| {
            json!({"currency": currency, "available": text(account.available), "hold": text(account.hold)})
        })
        .collect();
    let open_orders: Vec<Value> = exchange
        .orders
        .iter()
        .filter(|order| order.is_open())
        .map(|order| order.to_json())
        .collect();
    Json(json!({
        "balances": balances,
        "open_orders": open_orders,
        "candle_index": exchange.candle_index,
        "candle_count": exchange.candles.len(),
        "price": exchange.current_candle().map(|candle| text(candle.close)),
    }))
}
