//! A local stand-in for Coinbase Advanced Trade: the REST API under `/api/v3/brokerage`, the
//! market-data and user WebSockets, JWT verification for CDP keys, a matching engine driven by
//! a replayed candle series, and fault injection for client tests. It binds only to loopback.

pub mod auth;
pub mod candles;
pub mod config;
pub mod exchange;
pub mod faults;

mod admin;
mod rest;
mod server;
mod ws;

pub use auth::{VerifyingKey, parse_public_key_pem};
pub use candles::{Candle, parse_candle_csv};
pub use config::{KeyPermissions, Product, StandinConfig};
pub use faults::FaultRequest;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::admin::Received;
use crate::exchange::{Exchange, Published};
use crate::faults::Faults;

/// Capacity of the channel that carries order and market changes to WebSocket connections.
/// A connection that falls further behind skips the oldest changes.
const EVENT_CHANNEL_CAPACITY: usize = 4096;

/// Key name and keys currently accepted. `POST /admin/keys` replaces them.
pub(crate) struct AcceptedKeys {
    pub key_name: String,
    pub keys: Vec<VerifyingKey>,
}

/// State shared by every request and connection.
pub(crate) struct Shared {
    pub exchange: Mutex<Exchange>,
    pub keys: RwLock<AcceptedKeys>,
    pub permissions: KeyPermissions,
    pub faults: Mutex<Faults>,
    pub received: Mutex<Received>,
    pub events: broadcast::Sender<Published>,
    /// Incremented to close every open WebSocket connection.
    pub close_websockets: watch::Sender<u64>,
    pub shutdown: watch::Sender<bool>,
}

pub(crate) type SharedState = Arc<Shared>;

/// Locks a mutex, recovering the data if a previous holder panicked: every update here leaves
/// the state consistent between statements that can panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub fn lock_exchange(&self) -> MutexGuard<'_, Exchange> {
        lock(&self.exchange)
    }

    pub fn lock_faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.faults)
    }

    pub fn lock_received(&self) -> MutexGuard<'_, Received> {
        lock(&self.received)
    }

    /// Returns the accepted key name and a copy of the accepted keys.
    pub fn accepted_keys(&self) -> (String, Vec<VerifyingKey>) {
        let keys = self
            .keys
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (keys.key_name.clone(), keys.keys.clone())
    }

    pub fn replace_keys(&self, key_name: String, keys: Vec<VerifyingKey>) {
        let mut accepted = self
            .keys
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *accepted = AcceptedKeys { key_name, keys };
    }
}

/// A running stand-in. Dropping it leaves the server running until the runtime stops, so call
/// [`Standin::shutdown`] to stop it.
pub struct Standin {
    pub addr: SocketAddr,
    shared: SharedState,
    server: JoinHandle<()>,
    ticker: Option<JoinHandle<()>>,
}

/// Starts a stand-in on `127.0.0.1` with a port chosen by the system.
///
/// # Errors
/// Fails when the listening socket cannot be bound.
pub async fn start(config: StandinConfig) -> anyhow::Result<Standin> {
    start_on(config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
}

/// Starts a stand-in on `listen`, which must be a loopback address.
///
/// # Errors
/// Fails when `listen` is not loopback or cannot be bound.
pub async fn start_on(config: StandinConfig, listen: SocketAddr) -> anyhow::Result<Standin> {
    if !listen.ip().is_loopback() {
        anyhow::bail!("listen address {listen} is not loopback; use 127.0.0.1 or [::1]");
    }
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|error| anyhow::anyhow!("failed to bind {listen}: {error}"))?;
    let addr = listener.local_addr()?;

    let (events, _) = broadcast::channel(EVENT_CHANNEL_CAPACITY);
    let shared = Arc::new(Shared {
        exchange: Mutex::new(Exchange::new(&config, events.clone())),
        keys: RwLock::new(AcceptedKeys {
            key_name: config.key_name.clone(),
            keys: config.public_keys.clone(),
        }),
        permissions: config.permissions.clone(),
        faults: Mutex::new(Faults::default()),
        received: Mutex::new(Received::default()),
        events,
        close_websockets: watch::Sender::new(0),
        shutdown: watch::Sender::new(false),
    });

    let router = rest::router(shared.clone());
    let server = tokio::spawn(server::serve(listener, router, shared.shutdown.subscribe()));
    let ticker = config
        .tick
        .map(|period| tokio::spawn(server::tick(shared.clone(), period)));
    tracing::info!(%addr, candles = config.candles.len(), product = %config.product_for_candles, "stand-in started");
    Ok(Standin {
        addr,
        shared,
        server,
        ticker,
    })
}

impl Standin {
    /// Returns the REST base URL, e.g. `http://127.0.0.1:41235`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Returns the market-data WebSocket URL.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Returns the user-data WebSocket URL.
    pub fn user_ws_url(&self) -> String {
        format!("ws://{}/ws/user", self.addr)
    }

    /// Arms faults as `POST /admin/faults` does.
    pub fn arm_faults(&self, request: &FaultRequest) {
        admin::arm_faults(&self.shared, request);
    }

    /// Advances the replay by up to `candles` candles as `POST /admin/advance` does, and
    /// returns how many it advanced.
    pub fn advance(&self, candles: usize) -> usize {
        self.shared.lock_exchange().advance(candles)
    }

    /// Stops accepting connections, closes the open ones and waits for the server task.
    pub async fn shutdown(self) {
        self.shared.shutdown.send_replace(true);
        if let Some(ticker) = self.ticker {
            ticker.abort();
        }
        let _ = self.server.await;
        tracing::info!(addr = %self.addr, "stand-in stopped");
    }
}
