//! Test helpers: keys, JWT signing, a candle series, and a signed HTTP client for a stand-in
//! started on 127.0.0.1.

#![allow(dead_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use coinbase_standin::{Candle, Standin, StandinConfig, VerifyingKey};
use futures_util::{SinkExt, StreamExt};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

pub const KEY_NAME: &str = "organizations/org-1/apiKeys/key-1";

/// A private key the tests sign with.
#[derive(Clone)]
pub enum TestKey {
    Es256(p256::ecdsa::SigningKey),
    EdDsa(ed25519_dalek::SigningKey),
}

impl TestKey {
    /// Derives a P-256 key from `seed`, so each test's keys are fixed and distinct.
    pub fn es256(seed: u8) -> TestKey {
        let mut bytes = [seed; 32];
        bytes[0] = 1;
        TestKey::Es256(
            p256::ecdsa::SigningKey::from_bytes(&bytes.into()).expect("valid P-256 scalar"),
        )
    }

    pub fn eddsa(seed: u8) -> TestKey {
        TestKey::EdDsa(ed25519_dalek::SigningKey::from_bytes(&[seed; 32]))
    }

    pub fn alg(&self) -> &'static str {
        match self {
            TestKey::Es256(_) => "ES256",
            TestKey::EdDsa(_) => "EdDSA",
        }
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        match self {
            TestKey::Es256(key) => VerifyingKey::EcdsaP256(*key.verifying_key()),
            TestKey::EdDsa(key) => VerifyingKey::Ed25519(key.verifying_key()),
        }
    }

    pub fn public_key_pem(&self) -> String {
        use p256::pkcs8::{EncodePublicKey, LineEnding};
        match self {
            TestKey::Es256(key) => key
                .verifying_key()
                .to_public_key_pem(LineEnding::LF)
                .expect("encodable key"),
            TestKey::EdDsa(key) => key
                .verifying_key()
                .to_public_key_pem(LineEnding::LF)
                .expect("encodable key"),
        }
    }

    /// Signs `header.claims` and returns the compact JWT.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = match self {
            TestKey::Es256(key) => {
                use p256::ecdsa::signature::Signer;
                let signature: p256::ecdsa::Signature = key.sign(signing_input.as_bytes());
                signature.to_bytes().to_vec()
            }
            TestKey::EdDsa(key) => {
                use ed25519_dalek::Signer;
                key.sign(signing_input.as_bytes()).to_bytes().to_vec()
            }
        };
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// Builds the header and claims of a valid token for `uri`. `None` builds a WebSocket token.
pub fn token_parts(key: &TestKey, uri: Option<&str>) -> (Value, Value) {
    let now = unix_now();
    let header =
        json!({"alg": key.alg(), "kid": KEY_NAME, "nonce": "0123456789abcdef", "typ": "JWT"});
    let mut claims = json!({"sub": KEY_NAME, "iss": "cdp", "nbf": now, "exp": now + 120});
    if let Some(uri) = uri {
        claims["uri"] = json!(uri);
    }
    (header, claims)
}

pub fn decimal(text: &str) -> Decimal {
    text.parse().expect("decimal literal")
}

/// First candle start: a multiple of one day, so every granularity's buckets align with it.
pub const SERIES_START: i64 = 1_699_920_000;

/// Ten one-minute BTC-USD candles. Closes: 50000, 50100, 49800, 49500, 50200, then 50200.
pub fn test_candles() -> Vec<Candle> {
    let rows = [
        ("50000", "50050", "49950", "50000"),
        ("50000", "50200", "49990", "50100"),
        ("50100", "50150", "49700", "49800"),
        ("49800", "49850", "49400", "49500"),
        ("49500", "50300", "49450", "50200"),
        ("50200", "50250", "50150", "50200"),
        ("50200", "50250", "50150", "50200"),
        ("50200", "50250", "50150", "50200"),
        ("50200", "50250", "50150", "50200"),
        ("50200", "50250", "50150", "50200"),
    ];
    rows.iter()
        .enumerate()
        .map(|(index, (open, high, low, close))| Candle {
            start: SERIES_START + 60 * index as i64,
            open: decimal(open),
            high: decimal(high),
            low: decimal(low),
            close: decimal(close),
            volume: decimal("2.5"),
        })
        .collect()
}

/// A stand-in with the default products and balances and a client signing with `key`.
pub struct Harness {
    pub standin: Standin,
    pub key: TestKey,
    pub http: reqwest::Client,
}

pub async fn start_with(key: TestKey) -> Harness {
    let config = StandinConfig::with_defaults(KEY_NAME, vec![key.verifying_key()], test_candles());
    start_config(config, key).await
}

pub async fn start_config(config: StandinConfig, key: TestKey) -> Harness {
    let standin = coinbase_standin::start(config)
        .await
        .expect("stand-in starts on loopback");
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("HTTP client builds");
    Harness { standin, key, http }
}

pub async fn start() -> Harness {
    start_with(TestKey::es256(7)).await
}

impl Harness {
    pub fn host(&self) -> String {
        self.standin.addr.to_string()
    }

    /// Signs a valid token for `method` on `path`, which excludes the query.
    pub fn jwt(&self, method: &str, path: &str) -> String {
        let uri = format!("{method} {}{path}", self.host());
        let (header, claims) = token_parts(&self.key, Some(&uri));
        self.key.sign(&header, &claims)
    }

    pub fn ws_jwt(&self) -> String {
        let (header, claims) = token_parts(&self.key, None);
        self.key.sign(&header, &claims)
    }

    /// Sends a signed GET to `path_and_query` under the Coinbase prefix.
    pub async fn get(&self, path_and_query: &str) -> reqwest::Response {
        let full = format!("/api/v3/brokerage{path_and_query}");
        let path = full.split('?').next().expect("split yields one part");
        let token = self.jwt("GET", path);
        self.http
            .get(format!("{}{full}", self.standin.base_url()))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET reaches the stand-in")
    }

    pub async fn get_json(&self, path_and_query: &str) -> Value {
        let response = self.get(path_and_query).await;
        assert_eq!(response.status(), 200, "GET {path_and_query}");
        response.json().await.expect("JSON body")
    }

    /// Sends a signed POST of `body` under the Coinbase prefix.
    pub async fn try_post(&self, path: &str, body: &Value) -> reqwest::Result<reqwest::Response> {
        let full = format!("/api/v3/brokerage{path}");
        let token = self.jwt("POST", &full);
        self.http
            .post(format!("{}{full}", self.standin.base_url()))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Value {
        let response = self
            .try_post(path, body)
            .await
            .expect("POST reaches the stand-in");
        assert_eq!(response.status(), 200, "POST {path}");
        response.json().await.expect("JSON body")
    }

    pub async fn create_order(
        &self,
        client_order_id: &str,
        side: &str,
        configuration: Value,
    ) -> Value {
        let body = json!({
            "client_order_id": client_order_id,
            "product_id": "BTC-USD",
            "side": side,
            "order_configuration": configuration,
        });
        self.post_json("/orders", &body).await
    }

    pub async fn admin_get(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.standin.base_url()))
            .send()
            .await
            .expect("admin GET reaches the stand-in");
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("JSON body")
    }

    pub async fn admin_post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.standin.base_url()))
            .json(body)
            .send()
            .await
            .expect("admin POST reaches the stand-in")
    }

    /// Returns the available balance of `currency` from `GET /accounts`.
    pub async fn available(&self, currency: &str) -> Decimal {
        let accounts = self.get_json("/accounts").await;
        let account = accounts["accounts"]
            .as_array()
            .expect("accounts array")
            .iter()
            .find(|account| account["currency"] == currency)
            .unwrap_or_else(|| panic!("no {currency} account"));
        decimal(
            account["available_balance"]["value"]
                .as_str()
                .expect("value string"),
        )
    }
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn connect(url: &str) -> Socket {
    let (socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("WebSocket connects");
    socket
}

pub async fn send_json(socket: &mut Socket, message: &Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .expect("WebSocket send");
}

/// Returns the next text message as JSON, or `None` when the connection ends or `wait`
/// passes first.
pub async fn next_json(socket: &mut Socket, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    for _ in 0..1000 {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()??;
        match message {
            Ok(Message::Text(text)) => {
                return Some(serde_json::from_str(&text).expect("JSON message"));
            }
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
    None
}

/// Returns the next message on `channel`, skipping others such as heartbeats.
pub async fn next_on_channel(socket: &mut Socket, channel: &str, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    for _ in 0..1000 {
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        let message = next_json(socket, remaining).await?;
        if message["channel"] == channel {
            return Some(message);
        }
    }
    None
}

pub const WAIT: Duration = Duration::from_secs(5);
