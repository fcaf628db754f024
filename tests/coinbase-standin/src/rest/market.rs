//! Read-only REST handlers: time, products, candles, accounts, best bid and ask, key scopes.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::{ApiError, error_json, query_value, query_values};
use crate::SharedState;
use crate::candles::{GRANULARITIES, aggregate, granularity_seconds};
use crate::config::Product;
use crate::exchange::{Exchange, text};

/// Most candles one candles request may cover.
pub const MAX_CANDLES_PER_REQUEST: i64 = 350;

pub async fn time() -> Json<Value> {
    let now = Utc::now();
    Json(json!({
        "iso": now.to_rfc3339_opts(SecondsFormat::Millis, true),
        "epochSeconds": now.timestamp().to_string(),
        "epochMillis": now.timestamp_millis().to_string(),
    }))
}

fn product_json(exchange: &Exchange, product: &Product) -> Value {
    json!({
        "product_id": product.product_id,
        "price": text(exchange.price(product)),
        "price_percentage_change_24h": "0",
        "volume_24h": "0",
        "volume_percentage_change_24h": "0",
        "base_increment": text(product.base_increment),
        "quote_increment": text(product.quote_increment),
        "price_increment": text(product.price_increment),
        "base_min_size": text(product.base_min_size),
        "base_max_size": text(product.base_max_size),
        "quote_min_size": text(product.quote_min_size),
        "quote_max_size": text(product.quote_max_size),
        "base_name": product.base_currency,
        "quote_name": product.quote_currency,
        "base_currency_id": product.base_currency,
        "quote_currency_id": product.quote_currency,
        "base_display_symbol": product.base_currency,
        "quote_display_symbol": product.quote_currency,
        "display_name": product.product_id,
        "watched": false,
        "is_disabled": false,
        "new": false,
        "status": "online",
        "cancel_only": product.cancel_only,
        "limit_only": product.limit_only,
        "post_only": product.post_only,
        "trading_disabled": product.trading_disabled,
        "auction_mode": false,
        "view_only": false,
        "product_type": "SPOT",
        "product_venue": "CBE",
        "mid_market_price": "",
        "alias": "",
        "alias_to": [],
        "fcm_trading_session_details": null,
    })
}

fn unknown_product(product_id: &str) -> Response {
    error_json(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!("product {product_id} not found"),
    )
}

pub async fn products(State(state): State<SharedState>) -> Json<Value> {
    let exchange = state.lock_exchange();
    let products: Vec<Value> = exchange
        .products
        .iter()
        .map(|product| product_json(&exchange, product))
        .collect();
    Json(json!({"num_products": products.len(), "products": products}))
}

pub async fn product(State(state): State<SharedState>, Path(product_id): Path<String>) -> Response {
    let exchange = state.lock_exchange();
    match exchange.product(&product_id) {
        Some(product) => Json(product_json(&exchange, product)).into_response(),
        None => unknown_product(&product_id),
    }
}

fn parse_seconds(pairs: &[(String, String)], key: &str) -> Result<Option<i64>, ApiError> {
    match query_value(pairs, key) {
        None | Some("") => Ok(None),
        Some(text) => text
            .parse()
            .map(Some)
            .map_err(|_| ApiError::invalid_argument(format!("{key} {text:?} is not unix seconds"))),
    }
}

/// Serves candles of the replayed series up to the current candle, aggregated to the requested
/// granularity, newest first.
pub async fn candles(
    State(state): State<SharedState>,
    Path(product_id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let granularity = query_value(&pairs, "granularity").unwrap_or("");
    let Some(width) = granularity_seconds(granularity) else {
        let names: Vec<&str> = GRANULARITIES.iter().map(|(name, _)| *name).collect();
        return error_json(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            format!(
                "granularity {granularity:?} is not one of {}",
                names.join(", ")
            ),
        );
    };
    let (start, end) = match (parse_seconds(&pairs, "start"), parse_seconds(&pairs, "end")) {
        (Ok(start), Ok(end)) => (start, end),
        (Err(error), _) | (_, Err(error)) => return error.into_response(),
    };
    let limit = match query_value(&pairs, "limit").map(str::parse::<i64>) {
        None => MAX_CANDLES_PER_REQUEST,
        Some(Ok(limit)) if (1..=MAX_CANDLES_PER_REQUEST).contains(&limit) => limit,
        Some(_) => {
            return error_json(
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                format!("limit must be between 1 and {MAX_CANDLES_PER_REQUEST}"),
            );
        }
    };

    let exchange = state.lock_exchange();
    if exchange.product(&product_id).is_none() {
        return unknown_product(&product_id);
    }
    let series = exchange.visible_candles(&product_id);
    let end = end.unwrap_or_else(|| series.last().map_or(0, |candle| candle.start));
    let start = start.unwrap_or(end - (limit - 1) * width);
    if end < start {
        return error_json(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            format!("start {start} is after end {end}"),
        );
    }
    if (end - start) / width > MAX_CANDLES_PER_REQUEST {
        return error_json(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            format!(
                "number of candles requested should be less than {MAX_CANDLES_PER_REQUEST}; narrow start and end"
            ),
        );
    }

    let candles: Vec<Value> = aggregate(series, width, start, end)
        .iter()
        .take(limit as usize)
        .map(|candle| candle.to_json())
        .collect();
    Json(json!({"candles": candles})).into_response()
}

fn amount(value: Decimal, currency: &str) -> Value {
    json!({"value": text(value), "currency": currency})
}

pub async fn accounts(State(state): State<SharedState>) -> Json<Value> {
    let exchange = state.lock_exchange();
    let accounts: Vec<Value> = exchange
        .accounts
        .iter()
        .map(|(currency, account)| {
            json!({
                "uuid": account.uuid,
                "name": format!("{currency} Wallet"),
                "currency": currency,
                "available_balance": amount(account.available, currency),
                "default": true,
                "active": true,
                "created_at": "2024-01-01T00:00:00.000Z",
                "updated_at": "2024-01-01T00:00:00.000Z",
                "deleted_at": null,
                "type": if currency == "USD" { "ACCOUNT_TYPE_FIAT" } else { "ACCOUNT_TYPE_CRYPTO" },
                "ready": true,
                "hold": amount(account.hold, currency),
                "retail_portfolio_id": crate::config::DEFAULT_PORTFOLIO_UUID,
            })
        })
        .collect();
    Json(json!({"accounts": accounts, "has_next": false, "cursor": "", "size": accounts.len()}))
}

/// Quotes one price increment either side of the current price, so a post-only order at the
/// best bid or ask never crosses.
pub async fn best_bid_ask(
    State(state): State<SharedState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let exchange = state.lock_exchange();
    let mut product_ids = query_values(&pairs, "product_ids");
    if product_ids.is_empty() {
        product_ids = exchange
            .products
            .iter()
            .map(|product| product.product_id.clone())
            .collect();
    }
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
    let mut pricebooks = Vec::new();
    for product_id in &product_ids {
        let Some(product) = exchange.product(product_id) else {
            return unknown_product(product_id);
        };
        let price = exchange.price(product);
        pricebooks.push(json!({
            "product_id": product_id,
            "bids": [{"price": text(price - product.price_increment), "size": "1"}],
            "asks": [{"price": text(price + product.price_increment), "size": "1"}],
            "time": now,
        }));
    }
    Json(json!({"pricebooks": pricebooks})).into_response()
}

pub async fn key_permissions(State(state): State<SharedState>) -> Json<Value> {
    let permissions = &state.permissions;
    Json(json!({
        "can_view": permissions.can_view,
        "can_trade": permissions.can_trade,
        "can_transfer": permissions.can_transfer,
        "portfolio_uuid": permissions.portfolio_uuid,
        "portfolio_type": "DEFAULT",
    }))
}
