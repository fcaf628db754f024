//! The exchange key as it arrives from a secret store: a redacting,
//! non-serialisable wrapper that wipes itself, and the parser of Coinbase's
//! downloaded key JSON.

use std::fmt;

use zeroize::Zeroizing;

use crate::coinbase::{ApiKey, KeyError};

/// Secret text. `Debug` and `Display` print `***redacted***`, it has no
/// `Serialize`, and its memory is wiped on drop. The text is reachable only
/// through [`SecretText::expose`], which the key parser calls.
pub struct SecretText(Zeroizing<String>);

impl SecretText {
    pub fn new(text: String) -> SecretText {
        SecretText(Zeroizing::new(text))
    }

    /// Returns the secret. Call only to hand it to the code that signs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***redacted***")
    }
}

impl fmt::Display for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***redacted***")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error(
        "the secret from {source_name} is not a JSON object with string fields; store Coinbase's downloaded key file, \
         {{\"name\": ..., \"privateKey\": ...}}"
    )]
    NotJson { source_name: String },
    #[error(
        "the secret from {source_name} lacks {missing}; store Coinbase's downloaded key file, \
         {{\"name\": ..., \"privateKey\": ...}}"
    )]
    MissingFields { source_name: String, missing: String },
    #[error("the key from {source_name} is unsupported: {error}")]
    Key { source_name: String, error: KeyError },
}

/// The fields of Coinbase's key JSON that the host reads; others are
/// ignored. The private key is wiped when this is dropped.
#[derive(serde::Deserialize)]
struct KeyJson {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default, rename = "privateKey", deserialize_with = "zeroizing_string")]
    private_key: Option<Zeroizing<String>>,
}

fn zeroizing_string<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Zeroizing<String>>, D::Error> {
    let text: Option<String> = serde::Deserialize::deserialize(deserializer)?;
    Ok(text.map(Zeroizing::new))
}

/// Parses Coinbase's key JSON (`name` or `id`, and `privateKey`) into a
/// signing key. Errors name the fields, never their values.
///
/// # Errors
/// [`CredentialsError`] naming `source_name` and what is wrong.
pub fn parse_key_json(source_name: &str, secret: &SecretText) -> Result<ApiKey, CredentialsError> {
    let fields: KeyJson = serde_json::from_str(secret.expose())
        .map_err(|_| CredentialsError::NotJson { source_name: source_name.to_string() })?;
    let non_empty = |text: &Option<String>| text.clone().filter(|text| !text.is_empty());
    let name = non_empty(&fields.name).or_else(|| non_empty(&fields.id));
    let private_key = fields.private_key.as_deref().filter(|text| !text.is_empty());
    let name = name.as_deref();

    let mut missing = Vec::new();
    if name.is_none() {
        missing.push("\"name\"");
    }
    if private_key.is_none() {
        missing.push("\"privateKey\"");
    }
    match (name, private_key) {
        (Some(name), Some(private_key)) => ApiKey::parse(name, private_key)
            .map_err(|error| CredentialsError::Key { source_name: source_name.to_string(), error }),
        _ => Err(CredentialsError::MissingFields { source_name: source_name.to_string(), missing: missing.join(" and ") }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIVATE: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn secret_text_is_redacted() {
        let secret = SecretText::new(PRIVATE.to_string());
        assert_eq!(format!("{secret:?}"), "***redacted***");
        assert_eq!(format!("{secret}"), "***redacted***");
    }

    #[test]
    fn key_json_with_name_parses() {
        let secret = SecretText::new(format!(r#"{{"name": "organizations/o/apiKeys/k", "privateKey": "{PRIVATE}"}}"#));
        let key = parse_key_json("test", &secret).unwrap();
        assert_eq!(key.name(), "organizations/o/apiKeys/k");
    }

    #[test]
    fn key_json_with_id_parses() {
        let secret = SecretText::new(format!(r#"{{"id": "organizations/o/apiKeys/k", "privateKey": "{PRIVATE}"}}"#));
        assert!(parse_key_json("test", &secret).is_ok());
    }

    #[test]
    fn missing_fields_are_named_without_values() {
        let secret = SecretText::new(format!(r#"{{"privateKey": "{PRIVATE}"}}"#));
        let error = parse_key_json("arn:aws:secretsmanager:eu-west-1:1:secret:k", &secret).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("lacks \"name\""), "{message}");
        assert!(!message.contains(PRIVATE), "{message}");
    }

    #[test]
    fn non_json_secret_is_rejected_without_echo() {
        let secret = SecretText::new(PRIVATE.to_string());
        let message = parse_key_json("file k.json", &secret).unwrap_err().to_string();
        assert!(message.contains("not a JSON object"), "{message}");
        assert!(!message.contains(PRIVATE), "{message}");
    }
}
