//! Coinbase CDP API keys and the JWT signed for every request.
//!
//! A key is parsed once, at load. An ECDSA P-256 key is accepted as SEC1
//! PEM (`BEGIN EC PRIVATE KEY`) or PKCS#8 PEM, and signs with ES256. An
//! Ed25519 key is accepted as PKCS#8 PEM, or as raw base64 of a 32-byte seed
//! or of 64 bytes (seed then public key), and signs with EdDSA. A literal
//! `\n` in the text, as key files pasted into JSON often have, is read as a
//! newline.
//!
//! Each JWT carries `sub` = key name, `iss` = "cdp", `nbf` = now, `exp` =
//! now + 120 s, and for REST `uri` = "{METHOD} {host}{path}". Its header
//! carries `kid` = key name and a random `nonce`.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use p256::ecdsa::signature::Signer as _;

/// Seconds a token is valid for, as Coinbase's SDKs issue them.
pub const TOKEN_LIFETIME_SECONDS: i64 = 120;

enum Key {
    Es256(p256::ecdsa::SigningKey),
    EdDsa(ed25519_dalek::SigningKey),
}

/// A parsed API key. Its private half never leaves this type: `Debug`
/// prints only the name and algorithm, and both key types wipe their
/// memory on drop.
pub struct ApiKey {
    name: String,
    key: Key,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm())
            .field("private_key", &"***redacted***")
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("API key name is empty; it looks like organizations/{{org_id}}/apiKeys/{{key_id}}")]
    EmptyName,
    #[error(
        "the private key of {name} is not a P-256 key in SEC1 or PKCS#8 PEM, nor an Ed25519 key \
         in PKCS#8 PEM or base64 of 32 or 64 bytes; download the key again from Coinbase"
    )]
    Unrecognised { name: String },
    #[error("the Ed25519 key of {name} has 64 bytes whose second half is not its public key")]
    MismatchedEd25519 { name: String },
}

/// Request details a REST token is bound to.
#[derive(Debug, Clone, Copy)]
pub struct RequestTarget<'a> {
    pub method: &'a str,
    /// Host as the request addresses it, with the port if not the default:
    /// "api.coinbase.com" or "127.0.0.1:41235".
    pub host: &'a str,
    /// Path without the query string.
    pub path: &'a str,
}

impl ApiKey {
    /// Parses a key. The private key text is not kept.
    ///
    /// # Errors
    /// [`KeyError`] naming the key (never its private half) and the forms
    /// accepted.
    pub fn parse(name: &str, private_key: &str) -> Result<ApiKey, KeyError> {
        if name.trim().is_empty() {
            return Err(KeyError::EmptyName);
        }
        let text = zeroize::Zeroizing::new(private_key.replace("\\n", "\n"));
        let text = text.trim();
        let unrecognised = || KeyError::Unrecognised { name: name.to_string() };

        let key = if text.contains("BEGIN EC PRIVATE KEY") {
            Key::Es256(p256::ecdsa::SigningKey::from(p256::SecretKey::from_sec1_pem(text).map_err(|_| unrecognised())?))
        } else if text.contains("BEGIN PRIVATE KEY") {
            match p256::ecdsa::SigningKey::from_pkcs8_pem(text) {
                Ok(key) => Key::Es256(key),
                Err(_) => Key::EdDsa(ed25519_dalek::SigningKey::from_pkcs8_pem(text).map_err(|_| unrecognised())?),
            }
        } else {
            let bytes = zeroize::Zeroizing::new(STANDARD.decode(text).map_err(|_| unrecognised())?);
            match bytes.len() {
                32 => {
                    let seed: [u8; 32] = bytes[..].try_into().map_err(|_| unrecognised())?;
                    Key::EdDsa(ed25519_dalek::SigningKey::from_bytes(&seed))
                }
                64 => {
                    let seed: [u8; 32] = bytes[..32].try_into().map_err(|_| unrecognised())?;
                    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
                    if key.verifying_key().as_bytes()[..] != bytes[32..] {
                        return Err(KeyError::MismatchedEd25519 { name: name.to_string() });
                    }
                    Key::EdDsa(key)
                }
                _ => return Err(unrecognised()),
            }
        };
        Ok(ApiKey { name: name.to_string(), key })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Returns the JWT `alg` this key signs with.
    pub fn algorithm(&self) -> &'static str {
        match self.key {
            Key::Es256(_) => "ES256",
            Key::EdDsa(_) => "EdDSA",
        }
    }

    /// Returns the public half as SPKI PEM, for a server that verifies tokens.
    pub fn public_key_pem(&self) -> String {
        use p256::pkcs8::EncodePublicKey as _;
        let pem = match &self.key {
            Key::Es256(key) => key.verifying_key().to_public_key_pem(p256::pkcs8::LineEnding::LF),
            Key::EdDsa(key) => {
                use ed25519_dalek::pkcs8::EncodePublicKey as _;
                key.verifying_key().to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            }
        };
        pem.expect("encoding a valid public key cannot fail")
    }

    /// Signs a token for one REST request, valid from `now` (unix seconds).
    pub fn rest_token(&self, target: RequestTarget<'_>, now: i64) -> String {
        let uri = format!("{} {}{}", target.method, target.host, target.path);
        self.token(Some(&uri), now)
    }

    /// Signs a token for one WebSocket subscribe message.
    pub fn websocket_token(&self, now: i64) -> String {
        self.token(None, now)
    }

    fn token(&self, uri: Option<&str>, now: i64) -> String {
        let nonce: [u8; 32] = rand::random();
        let header = serde_json::json!({
            "alg": self.algorithm(),
            "kid": self.name,
            "nonce": hex::encode(nonce),
            "typ": "JWT",
        });
        let mut claims = serde_json::json!({
            "sub": self.name,
            "iss": "cdp",
            "nbf": now,
            "exp": now + TOKEN_LIFETIME_SECONDS,
        });
        if let Some(uri) = uri {
            claims["uri"] = serde_json::Value::String(uri.to_string());
        }

        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = match &self.key {
            Key::Es256(key) => {
                let signature: p256::ecdsa::Signature = key.sign(signing_input.as_bytes());
                signature.to_bytes().to_vec()
            }
            Key::EdDsa(key) => {
                use ed25519_dalek::Signer as _;
                key.sign(signing_input.as_bytes()).to_bytes().to_vec()
            }
        };
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

/// The local clock corrected by the offset to the exchange's clock, so that
/// a host whose clock is minutes off still issues tokens the exchange
/// accepts.
#[derive(Debug, Default)]
pub struct ExchangeClock {
    offset_ms: AtomicI64,
    /// Added to the system clock; only tests set it, to play a host whose
    /// clock is wrong.
    local_skew_ms: AtomicI64,
}

impl ExchangeClock {
    pub fn new() -> ExchangeClock {
        ExchangeClock::default()
    }

    /// Creates a clock whose local time is off by `skew_ms`, to test the
    /// correction.
    pub fn with_local_skew(skew_ms: i64) -> ExchangeClock {
        ExchangeClock { offset_ms: AtomicI64::new(0), local_skew_ms: AtomicI64::new(skew_ms) }
    }

    /// This host's idea of the time, in unix milliseconds.
    pub fn local_ms(&self) -> i64 {
        let system = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as i64);
        system + self.local_skew_ms.load(Ordering::Relaxed)
    }

    /// Records a measurement: the exchange reported `server_ms` at some
    /// point between `sent_ms` and `received_ms` of the local clock.
    pub fn record(&self, sent_ms: i64, server_ms: i64, received_ms: i64) {
        let midpoint = sent_ms + (received_ms - sent_ms) / 2;
        self.offset_ms.store(server_ms - midpoint, Ordering::Relaxed);
    }

    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }

    /// Returns the exchange's time, in unix seconds.
    pub fn now_seconds(&self) -> i64 {
        (self.local_ms() + self.offset_ms()).div_euclid(1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "organizations/org-1/apiKeys/key-1";

    #[test]
    fn debug_redacts_private_key() {
        let key = ApiKey::parse(NAME, &STANDARD.encode([7u8; 32])).unwrap();
        let debug = format!("{key:?}");
        assert!(debug.contains("***redacted***"), "{debug}");
        assert!(!debug.contains(&STANDARD.encode([7u8; 32])), "{debug}");
    }

    #[test]
    fn unrecognised_key_names_key_not_secret() {
        let error = ApiKey::parse(NAME, "not a key at all").unwrap_err();
        assert!(error.to_string().contains(NAME));
        assert!(!error.to_string().contains("not a key at all"));
    }

    #[test]
    fn clock_offset_uses_request_midpoint() {
        let clock = ExchangeClock::new();
        clock.record(1_000, 601_000, 1_200);
        assert_eq!(clock.offset_ms(), 599_900);
    }
}
