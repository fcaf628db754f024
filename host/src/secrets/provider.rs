//! The exchange key, cached for a configurable lifetime and re-read when
//! the exchange rejects it, so that a rotated secret is picked up without a
//! restart.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::credentials::{CredentialsError, parse_key_json};
use super::source::{SecretError, SecretSource};
use crate::coinbase::ApiKey;

/// How long a fetched key is used before the secret is read again.
pub const DEFAULT_KEY_LIFETIME: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyLoadError {
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
}

impl KeyLoadError {
    fn is_transient(&self) -> bool {
        matches!(self, KeyLoadError::Secret(error) if error.is_transient())
    }
}

struct Cached {
    key: Arc<ApiKey>,
    version_id: Option<String>,
    fetched_at: Instant,
}

/// The host's one holder of the exchange key.
pub struct KeyProvider {
    source: SecretSource,
    lifetime: Duration,
    cached: Mutex<Cached>,
}

impl std::fmt::Debug for KeyProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyProvider").field("source", &self.source.describe()).finish_non_exhaustive()
    }
}

async fn fetch_key(source: &SecretSource) -> Result<(ApiKey, Option<String>), KeyLoadError> {
    let fetched = source.fetch().await?;
    let key = parse_key_json(&source.describe(), &fetched.text)?;
    Ok((key, fetched.version_id))
}

impl KeyProvider {
    /// Reads the key for the first time.
    ///
    /// # Errors
    /// [`KeyLoadError`] naming the source (never the value) and the fix.
    pub async fn load(source: SecretSource, lifetime: Duration) -> Result<KeyProvider, KeyLoadError> {
        let (key, version_id) = fetch_key(&source).await?;
        tracing::info!(source = source.describe(), version_id = version_id.as_deref().unwrap_or("-"), algorithm = key.algorithm(), "exchange key loaded");
        Ok(KeyProvider {
            source,
            lifetime,
            cached: Mutex::new(Cached { key: Arc::new(key), version_id, fetched_at: Instant::now() }),
        })
    }

    pub fn source(&self) -> &SecretSource {
        &self.source
    }

    /// Returns the `VersionId` of the key in use, if it came from Secrets
    /// Manager.
    pub async fn version_id(&self) -> Option<String> {
        self.cached.lock().await.version_id.clone()
    }

    /// Returns the key, reading the secret again once its lifetime has
    /// passed. A throttled or failed re-read keeps the current key.
    pub async fn key(&self) -> Arc<ApiKey> {
        let mut cached = self.cached.lock().await;
        if cached.fetched_at.elapsed() >= self.lifetime {
            self.reload(&mut cached).await;
        }
        cached.key.clone()
    }

    /// Reads the secret now, bypassing the cache, as after a 401, and
    /// returns the key to use. A failed read keeps the current key.
    pub async fn refresh(&self) -> Arc<ApiKey> {
        let mut cached = self.cached.lock().await;
        self.reload(&mut cached).await;
        cached.key.clone()
    }

    async fn reload(&self, cached: &mut Cached) {
        match fetch_key(&self.source).await {
            Ok((key, version_id)) => {
                if version_id != cached.version_id {
                    tracing::info!(
                        source = self.source.describe(),
                        previous_version_id = cached.version_id.as_deref().unwrap_or("-"),
                        version_id = version_id.as_deref().unwrap_or("-"),
                        "exchange key version changed"
                    );
                }
                *cached = Cached { key: Arc::new(key), version_id, fetched_at: Instant::now() };
            }
            Err(error) => {
                // Retry after a short while rather than on every request.
                cached.fetched_at = Instant::now() - self.lifetime + RETRY_AFTER_FAILURE.min(self.lifetime);
                if error.is_transient() {
                    tracing::warn!(%error, "re-reading the exchange key failed; keeping the current key");
                } else {
                    tracing::error!(%error, "re-reading the exchange key failed; keeping the current key");
                }
            }
        }
    }
}

/// Wait before reading again after a failed read.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);
