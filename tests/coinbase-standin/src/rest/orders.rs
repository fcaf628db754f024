//! Order REST handlers: create, batch cancel, get, list, and fills.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, error_json, query_value, query_values};
use crate::SharedState;
use crate::exchange::CreateOrderRequest;
use crate::exchange::place::PlaceError;
use crate::server::ConnectionKill;

/// Page size when a list request gives no `limit`.
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// Largest accepted `limit` on list requests.
pub const MAX_PAGE_SIZE: usize = 1000;

fn parse_body<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|error| ApiError::invalid_argument(format!("invalid request body: {error}")))
}

pub async fn create(
    State(state): State<SharedState>,
    OriginalUri(uri): OriginalUri,
    kill: Option<axum::Extension<ConnectionKill>>,
    body: Bytes,
) -> Response {
    let request: CreateOrderRequest = match parse_body(&body) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    let configuration = Value::Object(request.order_configuration.clone());

    let placed = {
        let mut exchange = state.lock_exchange();
        exchange
            .place(&request)
            .map(|index| exchange.orders[index].order_id.clone())
    };
    let order_id = match placed {
        Ok(order_id) => order_id,
        Err(PlaceError::InvalidArgument(message)) => {
            tracing::info!(client_order_id = %request.client_order_id, %message, "rejected malformed order");
            return error_json(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message);
        }
        Err(PlaceError::Rejected(rejection)) => {
            tracing::info!(client_order_id = %request.client_order_id, reason = rejection.reason, message = %rejection.message, "rejected order");
            return Json(json!({
                "success": false,
                "failure_reason": "UNKNOWN_FAILURE_REASON",
                "order_id": "",
                "error_response": {
                    "error": rejection.reason,
                    "message": rejection.message,
                    "error_details": rejection.message,
                    "preview_failure_reason": format!("PREVIEW_{}", rejection.reason),
                    "new_order_failure_reason": rejection.reason,
                },
                "order_configuration": configuration,
            }))
            .into_response();
        }
    };
    tracing::info!(order_id = %order_id, client_order_id = %request.client_order_id, product = %request.product_id, "order accepted");
    state.lock_received().record_order(&request.client_order_id);

    if state.lock_faults().take_drop_order_response(uri.path())
        && let Some(axum::Extension(ConnectionKill(kill))) = kill
    {
        tracing::info!(order_id = %order_id, "fault: dropping the create-order response");
        kill.notify_one();
        std::future::pending::<()>().await;
    }

    Json(json!({
        "success": true,
        "order_id": order_id,
        "failure_reason": "UNKNOWN_FAILURE_REASON",
        "success_response": {
            "order_id": order_id,
            "product_id": request.product_id,
            "side": request.side,
            "client_order_id": request.client_order_id,
        },
        "order_configuration": configuration,
    }))
    .into_response()
}

#[derive(Deserialize)]
struct CancelRequest {
    order_ids: Vec<String>,
}

pub async fn cancel(State(state): State<SharedState>, body: Bytes) -> Response {
    let request: CancelRequest = match parse_body(&body) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    let mut exchange = state.lock_exchange();
    let results: Vec<Value> = request
        .order_ids
        .iter()
        .map(|order_id| match exchange.cancel(order_id) {
            Ok(()) => json!({"success": true, "failure_reason": "UNKNOWN_CANCEL_FAILURE_REASON", "order_id": order_id}),
            Err(reason) => json!({"success": false, "failure_reason": reason, "order_id": order_id}),
        })
        .collect();
    Json(json!({"results": results})).into_response()
}

pub async fn get(State(state): State<SharedState>, Path(order_id): Path<String>) -> Response {
    let exchange = state.lock_exchange();
    match exchange
        .orders
        .iter()
        .find(|order| order.order_id == order_id)
    {
        Some(order) => Json(json!({"order": order.to_json()})).into_response(),
        None => error_json(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("order {order_id} not found"),
        ),
    }
}

/// A page of a list: items from offset `cursor`, at most `limit` of them.
struct Page {
    offset: usize,
    limit: usize,
}

fn parse_page(pairs: &[(String, String)]) -> Result<Page, ApiError> {
    let limit = match query_value(pairs, "limit") {
        None | Some("") => DEFAULT_PAGE_SIZE,
        Some(text) => match text.parse::<usize>() {
            Ok(limit) if (1..=MAX_PAGE_SIZE).contains(&limit) => limit,
            _ => {
                let message =
                    format!("limit {text:?} must be an integer from 1 to {MAX_PAGE_SIZE}");
                return Err(ApiError::invalid_argument(message));
            }
        },
    };
    let offset = match query_value(pairs, "cursor") {
        None | Some("") => 0,
        Some(text) => text.parse::<usize>().map_err(|_| {
            ApiError::invalid_argument(format!(
                "cursor {text:?} is not a cursor this server returned"
            ))
        })?,
    };
    Ok(Page { offset, limit })
}

/// Cuts one page out of `items` and returns it with `has_next` and the next cursor.
fn paginate(items: Vec<Value>, page: &Page) -> (Vec<Value>, bool, String) {
    let total = items.len();
    let items: Vec<Value> = items
        .into_iter()
        .skip(page.offset)
        .take(page.limit)
        .collect();
    let next = page.offset + items.len();
    let has_next = next < total;
    (
        items,
        has_next,
        if has_next {
            next.to_string()
        } else {
            String::new()
        },
    )
}

fn matches_filter(filter: &[String], value: &str) -> bool {
    filter.is_empty() || filter.iter().any(|wanted| wanted == value)
}

pub async fn list(
    State(state): State<SharedState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let page = match parse_page(&pairs) {
        Ok(page) => page,
        Err(error) => return error.into_response(),
    };
    let order_ids = query_values(&pairs, "order_ids");
    let product_ids = query_values(&pairs, "product_ids");
    let statuses = query_values(&pairs, "order_status");
    let client_order_id = query_value(&pairs, "client_order_id");
    let (start_date, end_date) = match (
        parse_date(&pairs, "start_date"),
        parse_date(&pairs, "end_date"),
    ) {
        (Ok(start), Ok(end)) => (start, end),
        (Err(error), _) | (_, Err(error)) => return error.into_response(),
    };

    let exchange = state.lock_exchange();
    let orders: Vec<Value> = exchange
        .orders
        .iter()
        .rev()
        .filter(|order| matches_filter(&order_ids, &order.order_id))
        .filter(|order| matches_filter(&product_ids, &order.product_id))
        .filter(|order| matches_filter(&statuses, order.status.as_str()))
        .filter(|order| client_order_id.is_none_or(|wanted| wanted == order.client_order_id))
        .filter(|order| start_date.is_none_or(|start| order.created_time >= start))
        .filter(|order| end_date.is_none_or(|end| order.created_time <= end))
        .map(|order| order.to_json())
        .collect();
    let (orders, has_next, cursor) = paginate(orders, &page);
    Json(json!({"orders": orders, "sequence": "0", "has_next": has_next, "cursor": cursor}))
        .into_response()
}

/// Parses an optional RFC 3339 query parameter such as `start_date`.
fn parse_date(pairs: &[(String, String)], key: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    match query_value(pairs, key) {
        None | Some("") => Ok(None),
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map(|date| Some(date.with_timezone(&Utc)))
            .map_err(|_| {
                ApiError::invalid_argument(format!("{key} {text:?} is not an RFC 3339 time"))
            }),
    }
}

pub async fn fills(
    State(state): State<SharedState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let page = match parse_page(&pairs) {
        Ok(page) => page,
        Err(error) => return error.into_response(),
    };
    let order_ids = query_values(&pairs, "order_ids");
    let trade_ids = query_values(&pairs, "trade_ids");
    let product_ids = query_values(&pairs, "product_ids");

    let exchange = state.lock_exchange();
    let fills: Vec<Value> = exchange
        .fills
        .iter()
        .rev()
        .filter(|fill| matches_filter(&order_ids, &fill.order_id))
        .filter(|fill| matches_filter(&trade_ids, &fill.trade_id))
        .filter(|fill| matches_filter(&product_ids, &fill.product_id))
        .map(|fill| fill.to_json())
        .collect();
    let (fills, has_next, cursor) = paginate(fills, &page);
    Json(json!({"fills": fills, "has_next": has_next, "cursor": cursor})).into_response()
}
