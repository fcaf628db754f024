//! The exchange key: where it is read from, the type that keeps it out of
//! every output, and the cache that follows rotations.

pub mod credentials;
pub mod provider;
pub mod source;

pub use credentials::{CredentialsError, SecretText, parse_key_json};
pub use provider::{DEFAULT_KEY_LIFETIME, KeyLoadError, KeyProvider};
pub use source::{SECRET_ARN_VARIABLE, SecretError, SecretSource};
