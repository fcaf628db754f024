//! REST routes under `/api/v3/brokerage`, JWT checks on the private ones, and shared helpers.

mod market;
mod orders;

use axum::Router;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::auth::{bearer_token, unix_now, verify_jwt};
use crate::{SharedState, admin, faults, ws};

/// Prefix of every Coinbase route.
pub const API_PREFIX: &str = "/api/v3/brokerage";

/// Builds the whole application: Coinbase routes, WebSockets and admin routes.
pub(crate) fn router(state: SharedState) -> Router {
    let public = Router::new()
        .route("/time", get(market::time))
        .route("/market/products/{product_id}", get(market::product))
        .route(
            "/market/products/{product_id}/candles",
            get(market::candles),
        );

    let private = Router::new()
        .route("/products", get(market::products))
        .route("/products/{product_id}", get(market::product))
        .route("/products/{product_id}/candles", get(market::candles))
        .route("/accounts", get(market::accounts))
        .route("/best_bid_ask", get(market::best_bid_ask))
        .route("/key_permissions", get(market::key_permissions))
        .route("/orders", post(orders::create))
        .route("/orders/batch_cancel", post(orders::cancel))
        .route("/orders/historical/batch", get(orders::list))
        .route("/orders/historical/fills", get(orders::fills))
        .route("/orders/historical/{order_id}", get(orders::get))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_jwt));

    let api = Router::new().nest(API_PREFIX, public.merge(private)).layer(
        middleware::from_fn_with_state(state.clone(), faults::apply_rest_faults),
    );

    Router::new()
        .merge(api)
        .route("/ws", get(ws::market))
        .route("/ws/user", get(ws::user))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            admin::count_request,
        ))
        .merge(admin::router())
        .fallback(not_found)
        .with_state(state)
}

/// Returns the request path before any nesting stripped a prefix, without the query.
pub(crate) fn full_path(request: &Request) -> String {
    request
        .extensions()
        .get::<OriginalUri>()
        .map(|original| original.0.path().to_string())
        .unwrap_or_else(|| request.uri().path().to_string())
}

/// Returns Coinbase's response to any authentication failure: 401 with the text `Unauthorized`.
pub(crate) fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "text/plain")],
        "Unauthorized",
    )
        .into_response()
}

/// Builds a Coinbase-style JSON error: `{"error", "error_details", "message"}`.
pub(crate) fn error_json(status: StatusCode, error: &str, message: impl Into<String>) -> Response {
    let message = message.into();
    (
        status,
        axum::Json(json!({"error": error, "error_details": message, "message": message})),
    )
        .into_response()
}

/// A Coinbase-style JSON error for a request the stand-in cannot serve.
pub(crate) struct ApiError {
    status: StatusCode,
    error: &'static str,
    message: String,
}

impl ApiError {
    /// Builds a 400 `INVALID_ARGUMENT` error.
    pub fn invalid_argument(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            error: "INVALID_ARGUMENT",
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_json(self.status, self.error, self.message)
    }
}

async fn not_found(request: Request) -> Response {
    let path = request.uri().path().to_string();
    error_json(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!("no route for {path}"),
    )
}

/// Checks the bearer JWT, with `uri` bound to this request's method, Host and path, then the
/// key's scopes: trade for POST, view for the rest.
async fn require_jwt(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let path = full_path(&request);
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok());
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());

    let Some(host) = host else {
        tracing::info!(path = %path, "rejected request: missing Host header");
        return unauthorized();
    };
    let expected_uri = format!("{} {host}{path}", request.method());
    let (key_name, keys) = state.accepted_keys();
    let verified = bearer_token(authorization)
        .and_then(|token| verify_jwt(token, &key_name, &keys, Some(&expected_uri), unix_now()));
    if let Err(reason) = verified {
        tracing::info!(path = %path, %reason, "rejected request: invalid JWT");
        return unauthorized();
    }

    let permissions = &state.permissions;
    let allowed = if request.method() == Method::POST {
        permissions.can_trade
    } else {
        permissions.can_view
    };
    if !allowed {
        tracing::info!(path = %path, "rejected request: key lacks the scope");
        return error_json(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "Missing required scopes",
        );
    }
    next.run(request).await
}

/// Returns every value of `key` in a query, splitting comma-separated lists.
pub(crate) fn query_values(pairs: &[(String, String)], key: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(name, _)| name == key || name.strip_suffix("[]") == Some(key))
        .flat_map(|(_, value)| value.split(','))
        .filter(|value| !value.is_empty())
        .map(str::to_string)
        .collect()
}

/// Returns the single value of `key` in a query, if present.
pub(crate) fn query_value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value.as_str())
}
