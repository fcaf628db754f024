//! Injected faults: armed through `POST /admin/faults` or command-line flags, each consumed by
//! the next matching REST response or WebSocket message.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::time::Instant;

use crate::SharedState;

/// Body of `POST /admin/faults`. Every count means "the next N", and zero leaves that fault unarmed.
/// Counts add to faults already armed unless `clear` is set.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct FaultRequest {
    /// Only requests, or WebSocket connections, whose path starts with this prefix are hit.
    /// Empty hits every path.
    pub path_prefix: String,
    /// Disarms every fault before arming the ones in this request.
    pub clear: bool,
    /// Returns 429 with an HTML body.
    pub rate_limit_count: u32,
    /// Returns 500 with an HTML body.
    pub server_error_count: u32,
    /// Delays the response by `delay_ms` milliseconds.
    pub delay_count: u32,
    pub delay_ms: u64,
    /// Places the order of a `POST /orders` but closes the connection without a response.
    pub drop_order_response_count: u32,
    /// Returns 401 `Unauthorized`, as for an expired token.
    pub unauthorized_count: u32,
    /// Closes every open WebSocket connection at once, without a close frame.
    pub close_websockets: bool,
    /// Skips one sequence number before each of the next N WebSocket messages.
    pub ws_skip_sequence_count: u32,
    /// Sends nothing, heartbeats included, for this many milliseconds.
    pub ws_silence_ms: u64,
    /// Sends each of the next N WebSocket messages twice with the same sequence number.
    pub ws_duplicate_count: u32,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum FaultKind {
    RateLimit,
    ServerError,
    Delay(Duration),
    DropOrderResponse,
    Unauthorized,
    WsSkipSequence,
    WsDuplicate,
}

#[derive(Debug)]
struct Armed {
    kind: FaultKind,
    remaining: u32,
    path_prefix: String,
}

/// What to do with one outgoing WebSocket message.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct WsMessageFaults {
    pub silent: bool,
    pub skip_sequence: bool,
    pub duplicate: bool,
}

/// Faults currently armed.
#[derive(Debug, Default)]
pub struct Faults {
    armed: Vec<Armed>,
    silence: Option<(Instant, String)>,
}

impl Faults {
    /// Arms the faults of `request`. `close_websockets` is acted on by the caller.
    pub fn arm(&mut self, request: &FaultRequest) {
        if request.clear {
            *self = Faults::default();
        }
        let counts = [
            (FaultKind::RateLimit, request.rate_limit_count),
            (FaultKind::ServerError, request.server_error_count),
            (
                FaultKind::Delay(Duration::from_millis(request.delay_ms)),
                request.delay_count,
            ),
            (
                FaultKind::DropOrderResponse,
                request.drop_order_response_count,
            ),
            (FaultKind::Unauthorized, request.unauthorized_count),
            (FaultKind::WsSkipSequence, request.ws_skip_sequence_count),
            (FaultKind::WsDuplicate, request.ws_duplicate_count),
        ];
        for (kind, remaining) in counts {
            if remaining > 0 {
                self.armed.push(Armed {
                    kind,
                    remaining,
                    path_prefix: request.path_prefix.clone(),
                });
            }
        }
        if request.ws_silence_ms > 0 {
            let until = Instant::now() + Duration::from_millis(request.ws_silence_ms);
            self.silence = Some((until, request.path_prefix.clone()));
        }
    }

    /// Consumes one use of the first armed fault that `accepts` and whose prefix matches `path`.
    fn take(&mut self, path: &str, accepts: impl Fn(FaultKind) -> bool) -> Option<FaultKind> {
        let armed = self.armed.iter_mut().find(|armed| {
            accepts(armed.kind) && armed.remaining > 0 && path.starts_with(&armed.path_prefix)
        })?;
        armed.remaining -= 1;
        let kind = armed.kind;
        self.armed.retain(|armed| armed.remaining > 0);
        Some(kind)
    }

    /// Consumes a drop-the-response fault for a create-order call on `path`, if one is armed.
    pub fn take_drop_order_response(&mut self, path: &str) -> bool {
        self.take(path, |kind| kind == FaultKind::DropOrderResponse)
            .is_some()
    }

    /// Decides the faults for one outgoing WebSocket message on a connection at `path`.
    pub fn take_ws_message(&mut self, path: &str) -> WsMessageFaults {
        let silent = match &self.silence {
            Some((until, prefix)) if Instant::now() < *until => path.starts_with(prefix.as_str()),
            Some(_) => {
                self.silence = None;
                false
            }
            None => false,
        };
        if silent {
            return WsMessageFaults {
                silent,
                ..WsMessageFaults::default()
            };
        }
        WsMessageFaults {
            silent,
            skip_sequence: self
                .take(path, |kind| kind == FaultKind::WsSkipSequence)
                .is_some(),
            duplicate: self
                .take(path, |kind| kind == FaultKind::WsDuplicate)
                .is_some(),
        }
    }

    /// Returns true while a silence fault covers `path`.
    pub fn is_silent(&self, path: &str) -> bool {
        matches!(&self.silence, Some((until, prefix)) if Instant::now() < *until && path.starts_with(prefix.as_str()))
    }
}

const RATE_LIMIT_HTML: &str = "<html><head><title>429 Too Many Requests</title></head><body><h1>Too Many Requests</h1></body></html>";
const SERVER_ERROR_HTML: &str = "<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>";

fn html(status: StatusCode, body: &'static str) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// Middleware on the REST routes: delays, then returns 401, 429 or 500 in place of the handler
/// when such a fault is armed for the request's path.
pub(crate) async fn apply_rest_faults(
    State(state): State<SharedState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();

    let delay = state
        .lock_faults()
        .take(&path, |kind| matches!(kind, FaultKind::Delay(_)));
    if let Some(FaultKind::Delay(duration)) = delay {
        tracing::info!(path = %path, delay_ms = duration.as_millis() as u64, "fault: delaying response");
        tokio::time::sleep(duration).await;
    }

    let fault = state.lock_faults().take(&path, |kind| {
        matches!(
            kind,
            FaultKind::RateLimit | FaultKind::ServerError | FaultKind::Unauthorized
        )
    });
    match fault {
        Some(FaultKind::RateLimit) => {
            tracing::info!(path = %path, "fault: returning 429");
            let mut response = html(StatusCode::TOO_MANY_REQUESTS, RATE_LIMIT_HTML);
            let headers = response.headers_mut();
            headers.insert("x-ratelimit-limit", HeaderValue::from_static("30"));
            headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
            headers.insert("x-ratelimit-reset", HeaderValue::from_static("1"));
            response
        }
        Some(FaultKind::ServerError) => {
            tracing::info!(path = %path, "fault: returning 500");
            html(StatusCode::INTERNAL_SERVER_ERROR, SERVER_ERROR_HTML)
        }
        Some(FaultKind::Unauthorized) => {
            tracing::info!(path = %path, "fault: returning 401 as for an expired token");
            crate::rest::unauthorized()
        }
        _ => next.run(request).await,
    }
}
