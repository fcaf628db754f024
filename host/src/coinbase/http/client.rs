//! The REST transport: signing, rate limiting, timeouts, and retries with
//! jittered exponential backoff for requests that are safe to repeat.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use crate::coinbase::auth::{ApiKey, ExchangeClock, RequestTarget};
use crate::secrets::KeyProvider;

/// The path prefix of every Advanced Trade endpoint.
pub const API_PREFIX: &str = "/api/v3/brokerage";
pub const COINBASE_BASE_URL: &str = "https://api.coinbase.com";

/// Bytes of an error body quoted in a message; HTML error pages are long.
const QUOTED_BODY_BYTES: usize = 300;

#[derive(Debug, Clone)]
pub struct RestConfig {
    /// Scheme, host and port, for example `https://api.coinbase.com`.
    pub base_url: String,
    /// Time allowed for one request, connection included.
    pub timeout: Duration,
    /// Private requests per second, kept under Coinbase's limit of about 30.
    pub private_per_second: f64,
    /// Public requests per second, kept under Coinbase's limit of about 10.
    pub public_per_second: f64,
    pub retry: RetryPolicy,
}

impl Default for RestConfig {
    fn default() -> Self {
        RestConfig {
            base_url: COINBASE_BASE_URL.to_string(),
            timeout: Duration::from_secs(10),
            private_per_second: 25.0,
            public_per_second: 8.0,
            retry: RetryPolicy::default(),
        }
    }
}

/// Backoff for repeatable requests: attempt n waits a random time between
/// half and all of `base × 2^n`, capped at `max_delay`.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { attempts: 5, base_delay: Duration::from_millis(200), max_delay: Duration::from_secs(10) }
    }
}

impl RetryPolicy {
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponential = self.base_delay.saturating_mul(1u32 << attempt.min(16));
        let capped = exponential.min(self.max_delay);
        capped.mul_f64(0.5 + rand::random::<f64>() * 0.5)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RestError {
    #[error("{method} {path}: 401 Unauthorized; check the key name, the key and the host clock")]
    Unauthorized { method: Method, path: String },
    #[error("{method} {path}: 403 Forbidden: {body}")]
    Forbidden { method: Method, path: String, body: String },
    #[error("{method} {path}: 429 rate limited after {attempts} attempt(s)")]
    RateLimited { method: Method, path: String, attempts: u32 },
    #[error("{method} {path}: server error {status} after {attempts} attempt(s): {body}")]
    Server { method: Method, path: String, status: u16, attempts: u32, body: String },
    #[error("{method} {path}: {status}: {body}")]
    Status { method: Method, path: String, status: u16, body: String },
    #[error("{method} {path}: no answer after {attempts} attempt(s): {reason}")]
    Transport { method: Method, path: String, attempts: u32, reason: String },
    #[error("{method} {path}: unreadable response body: {reason}")]
    Decode { method: Method, path: String, reason: String },
    #[error("{path} needs an API key, and none is configured")]
    NoKey { path: String },
    #[error("invalid base URL {url:?}: {reason}")]
    BaseUrl { url: String, reason: String },
}

impl RestError {
    /// Returns true when the request may or may not have taken effect at the
    /// venue: no response, a server error, or a response that could not be
    /// read.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, RestError::Transport { .. } | RestError::Server { .. } | RestError::Decode { .. })
    }
}

/// Spaces requests of one class evenly at a maximum rate.
#[derive(Debug)]
struct RateLimiter {
    interval: Duration,
    next_slot: Mutex<Instant>,
}

impl RateLimiter {
    fn new(per_second: f64) -> RateLimiter {
        let interval = if per_second > 0.0 { Duration::from_secs_f64(1.0 / per_second) } else { Duration::ZERO };
        RateLimiter { interval, next_slot: Mutex::new(Instant::now()) }
    }

    async fn acquire(&self) {
        let wait_until = {
            let mut next_slot = self.next_slot.lock().await;
            let slot = (*next_slot).max(Instant::now());
            *next_slot = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(wait_until).await;
    }
}

/// Whether a request may be sent again when its outcome is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Reads and cancels: repeating them changes nothing.
    Safe,
    /// Order creation: never repeated here; the caller looks the order up.
    Never,
}

/// The source of a client's key: fixed, or the provider that re-reads the
/// secret after a 401.
#[derive(Debug, Clone)]
pub enum KeySupply {
    Fixed(Arc<ApiKey>),
    Provider(Arc<KeyProvider>),
}

impl KeySupply {
    async fn current(&self) -> Arc<ApiKey> {
        match self {
            KeySupply::Fixed(key) => key.clone(),
            KeySupply::Provider(provider) => provider.key().await,
        }
    }
}

/// A signed, rate-limited REST client for one base URL.
#[derive(Debug, Clone)]
pub struct RestClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    base: Url,
    /// Host and port as the JWT `uri` claim names them.
    jwt_host: String,
    key: Option<KeySupply>,
    clock: Arc<ExchangeClock>,
    private_limiter: RateLimiter,
    public_limiter: RateLimiter,
    retry: RetryPolicy,
}

impl RestClient {
    /// Creates a client. Without a key, only public endpoints work.
    ///
    /// # Errors
    /// [`RestError::BaseUrl`] for a URL without a host.
    pub fn new(config: &RestConfig, key: Option<Arc<ApiKey>>, clock: Arc<ExchangeClock>) -> Result<RestClient, RestError> {
        RestClient::with_key_supply(config, key.map(KeySupply::Fixed), clock)
    }

    /// Creates a client whose key comes from `supply`.
    ///
    /// # Errors
    /// [`RestError::BaseUrl`] for a URL without a host.
    pub fn with_key_supply(
        config: &RestConfig,
        key: Option<KeySupply>,
        clock: Arc<ExchangeClock>,
    ) -> Result<RestClient, RestError> {
        let bad_url = |reason: &str| RestError::BaseUrl { url: config.base_url.clone(), reason: reason.to_string() };
        let base = Url::parse(&config.base_url).map_err(|error| bad_url(&error.to_string()))?;
        let host = base.host_str().ok_or_else(|| bad_url("it has no host"))?;
        let jwt_host = match base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|error| bad_url(&error.to_string()))?;

        Ok(RestClient {
            inner: Arc::new(Inner {
                http,
                base,
                jwt_host,
                key,
                clock,
                private_limiter: RateLimiter::new(config.private_per_second),
                public_limiter: RateLimiter::new(config.public_per_second),
                retry: config.retry,
            }),
        })
    }

    /// Returns the backoff before retry number `attempt` (0-based).
    pub fn retry_delay(&self, attempt: u32) -> Duration {
        self.inner.retry.delay(attempt)
    }

    pub fn clock(&self) -> &Arc<ExchangeClock> {
        &self.inner.clock
    }

    pub fn key_supply(&self) -> Option<&KeySupply> {
        self.inner.key.as_ref()
    }

    /// Sends a request to `API_PREFIX + path` and decodes the JSON response.
    /// `private` requests are signed. `Repeat::Safe` requests are retried
    /// on 429, 5xx, timeouts and lost connections, and on 401 for reads,
    /// because Coinbase has rejected heavy reads with 401 instead of 429.
    ///
    /// # Errors
    /// [`RestError`] naming the method, the path and what went wrong.
    pub async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        private: bool,
        repeat: Repeat,
    ) -> Result<T, RestError> {
        let inner = &self.inner;
        let full_path = format!("{API_PREFIX}{path}");
        let attempts = match repeat {
            Repeat::Safe => inner.retry.attempts.max(1),
            Repeat::Never => 1,
        };

        let mut attempt = 0;
        let mut key_refreshed = false;
        loop {
            attempt += 1;
            let outcome = self.send_once(&method, &full_path, query, body, private).await;
            // A rejected key may have been rotated: read the secret again,
            // once per request, and retry at once. The venue did not act on
            // a 401, so this is safe for order creation too.
            if let Err(RestError::Unauthorized { .. }) = &outcome
                && let Some(KeySupply::Provider(provider)) = &inner.key
                && !key_refreshed
            {
                key_refreshed = true;
                tracing::warn!(%method, path = full_path, "exchange rejected the key; re-reading the secret");
                provider.refresh().await;
                attempt -= 1;
                continue;
            }
            let retryable = match &outcome {
                Ok(_) => false,
                Err(RestError::Unauthorized { .. }) => method == Method::GET,
                Err(error) => error.outcome_unknown() || matches!(error, RestError::RateLimited { .. }),
            };
            if !retryable || attempt >= attempts {
                return outcome.map_err(|error| with_attempts(error, attempt));
            }
            let delay = inner.retry.delay(attempt - 1);
            tracing::warn!(%method, path = full_path, attempt, delay_ms = delay.as_millis() as u64, error = %outcome.as_ref().err().map(ToString::to_string).unwrap_or_default(), "retrying request");
            tokio::time::sleep(delay).await;
        }
    }

    async fn send_once<T: DeserializeOwned>(
        &self,
        method: &Method,
        full_path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        private: bool,
    ) -> Result<T, RestError> {
        let inner = &self.inner;
        let mut url = inner.base.clone();
        url.set_path(full_path);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().map(|(key, value)| (*key, value.as_str())));
        }

        let mut request = inner.http.request(method.clone(), url);
        if private {
            let key = inner.key.as_ref().ok_or_else(|| RestError::NoKey { path: full_path.to_string() })?.current().await;
            inner.private_limiter.acquire().await;
            let target = RequestTarget { method: method.as_str(), host: &inner.jwt_host, path: full_path };
            let token = key.rest_token(target, inner.clock.now_seconds());
            request = request.bearer_auth(token);
        } else {
            inner.public_limiter.acquire().await;
        }
        if let Some(body) = body {
            request = request.json(body);
        }

        let transport = |error: reqwest::Error| RestError::Transport {
            method: method.clone(),
            path: full_path.to_string(),
            attempts: 1,
            reason: error.to_string(),
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let text = response.text().await.map_err(transport)?;

        let quoted = || quote_body(&text);
        let path = full_path.to_string();
        match status {
            status if status.is_success() => serde_json::from_str(&text).map_err(|error| RestError::Decode {
                method: method.clone(),
                path,
                reason: error.to_string(),
            }),
            StatusCode::UNAUTHORIZED => Err(RestError::Unauthorized { method: method.clone(), path }),
            StatusCode::FORBIDDEN => Err(RestError::Forbidden { method: method.clone(), path, body: quoted() }),
            StatusCode::TOO_MANY_REQUESTS => Err(RestError::RateLimited { method: method.clone(), path, attempts: 1 }),
            status if status.is_server_error() => Err(RestError::Server {
                method: method.clone(),
                path,
                status: status.as_u16(),
                attempts: 1,
                body: quoted(),
            }),
            status => Err(RestError::Status { method: method.clone(), path, status: status.as_u16(), body: quoted() }),
        }
    }

    /// Measures the offset between this host's clock and the exchange's.
    ///
    /// # Errors
    /// [`RestError`] when the time endpoint cannot be read.
    pub async fn sync_clock(&self) -> Result<i64, RestError> {
        let clock = &self.inner.clock;
        let sent = clock.local_ms();
        let time: super::models::ServerTime = self.send(Method::GET, "/time", &[], None, false, Repeat::Safe).await?;
        let received = clock.local_ms();
        let server_ms: i64 = time.epoch_millis.parse().map_err(|_| RestError::Decode {
            method: Method::GET,
            path: format!("{API_PREFIX}/time"),
            reason: format!("epochMillis {:?} is not a number", time.epoch_millis),
        })?;
        clock.record(sent, server_ms, received);
        tracing::info!(offset_ms = clock.offset_ms(), "exchange clock offset measured");
        Ok(clock.offset_ms())
    }
}

/// Measures the clock offset every `every` until the returned task is
/// aborted, so that a host clock that drifts while running keeps signing
/// valid tokens. Failures are logged and the last offset is kept.
pub fn spawn_clock_sync(client: RestClient, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(error) = client.sync_clock().await {
                tracing::warn!(%error, "exchange clock sync failed; keeping the last offset");
            }
            tokio::time::sleep(every).await;
        }
    })
}

fn with_attempts(error: RestError, attempts: u32) -> RestError {
    match error {
        RestError::RateLimited { method, path, .. } => RestError::RateLimited { method, path, attempts },
        RestError::Server { method, path, status, body, .. } => RestError::Server { method, path, status, attempts, body },
        RestError::Transport { method, path, reason, .. } => RestError::Transport { method, path, attempts, reason },
        other => other,
    }
}

/// Shortens a body for an error message, so an HTML error page does not
/// flood the log.
fn quote_body(text: &str) -> String {
    let trimmed = text.trim();
    if trimmed.len() <= QUOTED_BODY_BYTES {
        return trimmed.to_string();
    }
    let mut cut = QUOTED_BODY_BYTES;
    while !trimmed.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes)", &trimmed[..cut], trimmed.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn rate_limiter_spaces_requests_evenly() {
        let limiter = RateLimiter::new(50.0);
        let start = Instant::now();
        for _ in 0..5 {
            limiter.acquire().await;
        }
        // The first request goes at once, the next four 20 ms apart.
        assert_eq!(start.elapsed(), Duration::from_millis(80));
    }

    #[test]
    fn retry_delay_stays_within_jitter_bounds() {
        let policy = RetryPolicy { attempts: 5, base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(1) };
        for attempt in 0..8 {
            let nominal = Duration::from_millis(100).saturating_mul(1 << attempt).min(Duration::from_secs(1));
            let delay = policy.delay(attempt);
            assert!(delay >= nominal / 2, "attempt {attempt}: {delay:?}");
            assert!(delay <= nominal, "attempt {attempt}: {delay:?}");
        }
    }

    #[test]
    fn long_html_body_is_cut() {
        let quoted = quote_body(&"<html>".repeat(200));
        assert!(quoted.len() < 350, "{quoted}");
        assert!(quoted.ends_with("(1200 bytes)"), "{quoted}");
    }
}
