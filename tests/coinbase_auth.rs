//! JWTs for every accepted key format: header and claims checked, and the
//! signature verified with the public key.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use p256::ecdsa::signature::Verifier as _;
use stratbox::coinbase::{ApiKey, ExchangeClock, KeyError, RequestTarget};

const NAME: &str = "organizations/org-1/apiKeys/key-1";
const NOW: i64 = 1_764_000_000;

enum Public {
    P256(p256::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

fn p256_key() -> (p256::SecretKey, Public) {
    let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let public = Public::P256(p256::ecdsa::VerifyingKey::from(secret.public_key()));
    (secret, public)
}

fn ed25519_key() -> (ed25519_dalek::SigningKey, Public) {
    let seed: [u8; 32] = rand::random();
    let secret = ed25519_dalek::SigningKey::from_bytes(&seed);
    let public = Public::Ed25519(secret.verifying_key());
    (secret, public)
}

fn decode_json(part: &str) -> serde_json::Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Splits a token, checks its header and claims, verifies its signature,
/// and returns the claims.
fn verify(token: &str, public: &Public, algorithm: &str) -> serde_json::Value {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three parts");
    let header = decode_json(parts[0]);
    let claims = decode_json(parts[1]);
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    let signing_input = format!("{}.{}", parts[0], parts[1]);

    assert_eq!(header["alg"], algorithm);
    assert_eq!(header["kid"], NAME);
    assert_eq!(header["typ"], "JWT");
    let nonce = header["nonce"].as_str().unwrap();
    assert_eq!(nonce.len(), 64);
    assert!(nonce.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(claims["sub"], NAME);
    assert_eq!(claims["iss"], "cdp");
    assert_eq!(claims["nbf"], NOW);
    assert_eq!(claims["exp"], NOW + 120);

    match public {
        Public::P256(key) => {
            let signature = p256::ecdsa::Signature::from_slice(&signature).expect("64-byte r||s");
            key.verify(signing_input.as_bytes(), &signature).expect("ES256 signature verifies");
        }
        Public::Ed25519(key) => {
            let signature = ed25519_dalek::Signature::from_slice(&signature).unwrap();
            key.verify_strict(signing_input.as_bytes(), &signature).expect("EdDSA signature verifies");
        }
    }
    claims
}

fn rest_claims(key: &ApiKey, public: &Public) -> serde_json::Value {
    let target = RequestTarget { method: "POST", host: "api.coinbase.com", path: "/api/v3/brokerage/orders" };
    let claims = verify(&key.rest_token(target, NOW), public, key.algorithm());
    assert_eq!(claims["uri"], "POST api.coinbase.com/api/v3/brokerage/orders");
    claims
}

#[test]
fn es256_sec1_pem_signs_verifiable_tokens() {
    let (secret, public) = p256_key();
    let pem = secret.to_sec1_pem(p256::pkcs8::LineEnding::LF).unwrap();
    let key = ApiKey::parse(NAME, &pem).unwrap();
    assert_eq!(key.algorithm(), "ES256");
    rest_claims(&key, &public);
}

#[test]
fn es256_pkcs8_pem_signs_verifiable_tokens() {
    let (secret, public) = p256_key();
    let pem = secret.to_pkcs8_pem(p256::pkcs8::LineEnding::LF).unwrap();
    let key = ApiKey::parse(NAME, &pem).unwrap();
    rest_claims(&key, &public);
}

#[test]
fn pem_with_literal_newlines_is_accepted() {
    let (secret, public) = p256_key();
    let pem = secret.to_sec1_pem(p256::pkcs8::LineEnding::LF).unwrap();
    let escaped = pem.replace('\n', "\\n");
    let key = ApiKey::parse(NAME, &escaped).unwrap();
    rest_claims(&key, &public);
}

#[test]
fn ed25519_pkcs8_pem_signs_verifiable_tokens() {
    let (secret, public) = ed25519_key();
    let pem = secret.to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF).unwrap();
    let key = ApiKey::parse(NAME, &pem).unwrap();
    assert_eq!(key.algorithm(), "EdDSA");
    rest_claims(&key, &public);
}

#[test]
fn ed25519_base64_seed_signs_verifiable_tokens() {
    let (secret, public) = ed25519_key();
    let key = ApiKey::parse(NAME, &STANDARD.encode(secret.to_bytes())).unwrap();
    rest_claims(&key, &public);
}

#[test]
fn ed25519_base64_seed_and_public_signs_verifiable_tokens() {
    let (secret, public) = ed25519_key();
    let mut bytes = secret.to_bytes().to_vec();
    bytes.extend_from_slice(secret.verifying_key().as_bytes());
    let key = ApiKey::parse(NAME, &STANDARD.encode(&bytes)).unwrap();
    rest_claims(&key, &public);
}

#[test]
fn ed25519_wrong_public_half_rejected() {
    let (secret, _) = ed25519_key();
    let mut bytes = secret.to_bytes().to_vec();
    bytes.extend_from_slice(&[0u8; 32]);
    let error = ApiKey::parse(NAME, &STANDARD.encode(&bytes)).unwrap_err();
    assert_eq!(error, KeyError::MismatchedEd25519 { name: NAME.to_string() });
}

#[test]
fn websocket_token_has_no_uri() {
    let (secret, public) = ed25519_key();
    let key = ApiKey::parse(NAME, &STANDARD.encode(secret.to_bytes())).unwrap();
    let claims = verify(&key.websocket_token(NOW), &public, "EdDSA");
    assert!(claims.get("uri").is_none(), "{claims}");
}

#[test]
fn every_token_has_a_fresh_nonce() {
    let (secret, _) = ed25519_key();
    let key = ApiKey::parse(NAME, &STANDARD.encode(secret.to_bytes())).unwrap();
    let nonce = |token: String| decode_json(token.split('.').next().unwrap())["nonce"].clone();
    assert_ne!(nonce(key.websocket_token(NOW)), nonce(key.websocket_token(NOW)));
}

#[test]
fn public_key_pem_matches_private_key() {
    let (secret, _) = p256_key();
    let pem = secret.to_sec1_pem(p256::pkcs8::LineEnding::LF).unwrap();
    let key = ApiKey::parse(NAME, &pem).unwrap();
    let expected = {
        use p256::pkcs8::EncodePublicKey as _;
        secret.public_key().to_public_key_pem(p256::pkcs8::LineEnding::LF).unwrap()
    };
    assert_eq!(key.public_key_pem(), expected);
}

#[test]
fn slow_clock_is_corrected_by_measured_offset() {
    // The host's clock is 10 minutes slow; the exchange reports its time.
    let clock = ExchangeClock::with_local_skew(-600_000);
    let before = clock.local_ms();
    let true_now = before + 600_000;
    clock.record(before, true_now, before);
    assert!((clock.now_seconds() - true_now / 1000).abs() <= 1);
}
