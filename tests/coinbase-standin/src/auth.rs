//! JWT verification for CDP API keys: ES256 (P-256, JOSE r||s signature) and EdDSA (Ed25519).

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use p256::ecdsa::signature::Verifier;
use serde::Deserialize;

/// A public key whose signatures the stand-in accepts.
#[derive(Clone, Debug)]
pub enum VerifyingKey {
    EcdsaP256(p256::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// Parses an SPKI PEM (`-----BEGIN PUBLIC KEY-----`) containing a P-256 or an Ed25519 key.
///
/// # Errors
/// Fails when the PEM contains neither key type.
pub fn parse_public_key_pem(pem: &str) -> anyhow::Result<VerifyingKey> {
    use ed25519_dalek::pkcs8::DecodePublicKey as _;

    if let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_pem(pem) {
        return Ok(VerifyingKey::EcdsaP256(key));
    }
    if let Ok(key) = ed25519_dalek::VerifyingKey::from_public_key_pem(pem) {
        return Ok(VerifyingKey::Ed25519(key));
    }
    anyhow::bail!(
        "invalid public key PEM: expected an SPKI `BEGIN PUBLIC KEY` block for a P-256 or Ed25519 key"
    )
}

/// Accepted clock skew on `nbf`, in seconds.
pub const NBF_LEEWAY_SECONDS: i64 = 5;
/// Longest accepted token lifetime `exp - nbf`, in seconds: Coinbase's 120 plus the leeway.
pub const MAX_LIFETIME_SECONDS: i64 = 120 + NBF_LEEWAY_SECONDS;

/// Why a JWT was rejected. Clients only ever see `401 Unauthorized`, and the reason goes to the log.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AuthError {
    #[error("missing or malformed Authorization header, expected `Bearer <jwt>`")]
    MissingBearer,
    #[error("token is not three base64url segments of JSON")]
    Malformed,
    #[error("alg {0:?} is not ES256 or EdDSA, or no accepted key has that type")]
    Algorithm(String),
    #[error("kid {0:?} is not the accepted key name")]
    KeyId(String),
    #[error("sub {0:?} is not the accepted key name")]
    Subject(String),
    #[error("iss {0:?} is not \"cdp\"")]
    Issuer(String),
    #[error("token expired at {exp}, now is {now}")]
    Expired { exp: i64, now: i64 },
    #[error("token is not valid before {nbf}, now is {now}")]
    NotYetValid { nbf: i64, now: i64 },
    #[error("token lifetime {0} s exceeds {MAX_LIFETIME_SECONDS} s")]
    Lifetime(i64),
    #[error("uri {actual:?} does not match the request {expected:?}")]
    Uri {
        actual: Option<String>,
        expected: String,
    },
    #[error("signature does not verify against any accepted key")]
    Signature,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    iss: Option<String>,
    nbf: Option<f64>,
    exp: Option<f64>,
    uri: Option<String>,
}

fn base64url() -> GeneralPurpose {
    GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    )
}

/// Returns the current unix time in seconds.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or(0)
}

/// Extracts the token from an `Authorization: Bearer <jwt>` header value.
pub fn bearer_token(header: Option<&str>) -> Result<&str, AuthError> {
    let value = header.ok_or(AuthError::MissingBearer)?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or(AuthError::MissingBearer)?;
    Ok(token.trim())
}

/// Verifies a JWT against the accepted key name and keys at time `now` (unix seconds).
///
/// `expected_uri` is `Some("GET 127.0.0.1:41235/api/v3/brokerage/accounts")` for REST and
/// `None` for WebSocket subscriptions, whose tokens carry no `uri` claim.
///
/// # Errors
/// Returns the first defect found.
pub fn verify_jwt(
    token: &str,
    key_name: &str,
    keys: &[VerifyingKey],
    expected_uri: Option<&str>,
    now: i64,
) -> Result<(), AuthError> {
    let mut segments = token.split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(AuthError::Malformed);
    };
    let engine = base64url();
    let decode = |segment: &str| engine.decode(segment).map_err(|_| AuthError::Malformed);
    let header: Header =
        serde_json::from_slice(&decode(header_b64)?).map_err(|_| AuthError::Malformed)?;
    let claims: Claims =
        serde_json::from_slice(&decode(claims_b64)?).map_err(|_| AuthError::Malformed)?;
    let signature = decode(signature_b64)?;

    let signed = &token[..header_b64.len() + 1 + claims_b64.len()];
    verify_signature(&header.alg, signed.as_bytes(), &signature, keys)?;

    if header.kid.as_deref() != Some(key_name) {
        return Err(AuthError::KeyId(header.kid.unwrap_or_default()));
    }
    if claims.sub.as_deref() != Some(key_name) {
        return Err(AuthError::Subject(claims.sub.unwrap_or_default()));
    }
    if claims.iss.as_deref() != Some("cdp") {
        return Err(AuthError::Issuer(claims.iss.unwrap_or_default()));
    }

    let nbf = claims
        .nbf
        .map(|value| value.floor() as i64)
        .ok_or(AuthError::Malformed)?;
    let exp = claims
        .exp
        .map(|value| value.floor() as i64)
        .ok_or(AuthError::Malformed)?;
    if nbf > now + NBF_LEEWAY_SECONDS {
        return Err(AuthError::NotYetValid { nbf, now });
    }
    if exp <= now {
        return Err(AuthError::Expired { exp, now });
    }
    if exp - nbf > MAX_LIFETIME_SECONDS {
        return Err(AuthError::Lifetime(exp - nbf));
    }

    if let Some(expected) = expected_uri
        && claims.uri.as_deref() != Some(expected)
    {
        return Err(AuthError::Uri {
            actual: claims.uri,
            expected: expected.to_string(),
        });
    }
    Ok(())
}

fn verify_signature(
    alg: &str,
    message: &[u8],
    signature: &[u8],
    keys: &[VerifyingKey],
) -> Result<(), AuthError> {
    let mut key_of_type_found = false;
    for key in keys {
        let verified = match (alg, key) {
            ("ES256", VerifyingKey::EcdsaP256(key)) => {
                key_of_type_found = true;
                p256::ecdsa::Signature::from_slice(signature)
                    .is_ok_and(|signature| key.verify(message, &signature).is_ok())
            }
            ("EdDSA", VerifyingKey::Ed25519(key)) => {
                key_of_type_found = true;
                ed25519_dalek::Signature::from_slice(signature)
                    .is_ok_and(|signature| key.verify(message, &signature).is_ok())
            }
            _ => false,
        };
        if verified {
            return Ok(());
        }
    }
    if key_of_type_found {
        Err(AuthError::Signature)
    } else {
        Err(AuthError::Algorithm(alg.to_string()))
    }
}
