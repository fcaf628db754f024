//! The sources of the exchange key: AWS Secrets Manager by ARN, through the
//! standard credential chain (the task role on Fargate), or for local work
//! a key file that only its owner can read.

use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;

use aws_sdk_secretsmanager::error::{ProvideErrorMetadata as _, SdkError};

use super::credentials::SecretText;

/// The environment variable holding the secret's ARN.
pub const SECRET_ARN_VARIABLE: &str = "COINBASE_API_KEY_SECRET_ARN";

/// A secret value and the version it came from.
#[derive(Debug)]
pub struct Fetched {
    pub text: SecretText,
    /// Secrets Manager's `VersionId`; None for a key file.
    pub version_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error(
        "no exchange key configured: set {SECRET_ARN_VARIABLE} to the ARN of the Secrets Manager \
         secret, or pass --key-file for local work"
    )]
    NotConfigured,
    #[error("secret {arn} not found; check the ARN and the region in {SECRET_ARN_VARIABLE}")]
    NotFound { arn: String },
    #[error(
        "access to secret {arn} denied; grant the task role secretsmanager:GetSecretValue and \
         secretsmanager:DescribeSecret on that ARN (and kms:Decrypt on its key if it uses a customer key)"
    )]
    AccessDenied { arn: String },
    #[error("secret {arn} could not be decrypted; grant the task role kms:Decrypt on the secret's KMS key")]
    Decryption { arn: String },
    #[error("Secrets Manager throttled the read of {arn}; retry later or read the secret less often")]
    Throttled { arn: String },
    #[error("Secrets Manager failed to return {arn}: {reason}")]
    Unavailable { arn: String, reason: String },
    #[error("secret {arn} has no string value; store the key JSON as the secret string")]
    NotString { arn: String },
    #[error("key file {path} cannot be read: {reason}")]
    FileUnreadable { path: String, reason: String },
    #[error("key file {path} is readable by group or others (mode {mode:o}); run chmod 600 {path}")]
    FileTooOpen { path: String, mode: u32 },
}

impl SecretError {
    /// True for failures that may pass if the read is tried again later.
    pub fn is_transient(&self) -> bool {
        matches!(self, SecretError::Throttled { .. } | SecretError::Unavailable { .. })
    }
}

#[derive(Debug, Clone)]
pub enum SecretSource {
    /// Secrets Manager through the standard credential chain.
    AwsSecretsManager { arn: String },
    /// Secrets Manager through a given SDK configuration, for a client that
    /// already has one (tests point it at a local server).
    AwsSecretsManagerWith { arn: String, config: aws_config::SdkConfig },
    /// A key file; refused if group or others can read it, as ssh refuses
    /// an open private key.
    File { path: PathBuf },
}

impl SecretSource {
    /// Picks the source: the key file if given, else the ARN given, else
    /// the ARN in [`SECRET_ARN_VARIABLE`].
    ///
    /// # Errors
    /// [`SecretError::NotConfigured`] when there is none.
    pub fn resolve(key_file: Option<PathBuf>, arn: Option<String>) -> Result<SecretSource, SecretError> {
        if let Some(path) = key_file {
            return Ok(SecretSource::File { path });
        }
        let arn = arn.or_else(|| std::env::var(SECRET_ARN_VARIABLE).ok()).filter(|arn| !arn.trim().is_empty());
        match arn {
            Some(arn) => Ok(SecretSource::AwsSecretsManager { arn }),
            None => Err(SecretError::NotConfigured),
        }
    }

    /// Names the source in messages: the ARN or the file path, never a value.
    pub fn describe(&self) -> String {
        match self {
            SecretSource::AwsSecretsManager { arn } | SecretSource::AwsSecretsManagerWith { arn, .. } => arn.clone(),
            SecretSource::File { path } => format!("key file {}", path.display()),
        }
    }

    /// Reads the secret's current version.
    ///
    /// # Errors
    /// [`SecretError`] naming the ARN or file and the likely fix.
    pub async fn fetch(&self) -> Result<Fetched, SecretError> {
        match self {
            SecretSource::File { path } => read_file(path),
            SecretSource::AwsSecretsManager { arn } => {
                // The standard chain: environment, profile, web identity,
                // then the ECS task role on Fargate. AWS_ENDPOINT_URL
                // redirects the client, as the tests do to reach a local
                // server.
                let config = aws_config::load_from_env().await;
                read_aws(arn, &config).await
            }
            SecretSource::AwsSecretsManagerWith { arn, config } => read_aws(arn, config).await,
        }
    }
}

fn read_file(path: &PathBuf) -> Result<Fetched, SecretError> {
    let unreadable = |reason: String| SecretError::FileUnreadable { path: path.display().to_string(), reason };
    let metadata = std::fs::metadata(path).map_err(|error| unreadable(error.to_string()))?;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(SecretError::FileTooOpen { path: path.display().to_string(), mode });
    }
    let text = std::fs::read_to_string(path).map_err(|error| unreadable(error.to_string()))?;
    Ok(Fetched { text: SecretText::new(text), version_id: None })
}

async fn read_aws(arn: &str, config: &aws_config::SdkConfig) -> Result<Fetched, SecretError> {
    let client = aws_sdk_secretsmanager::Client::new(config);
    let output = client.get_secret_value().secret_id(arn).send().await.map_err(|error| classify(arn, error))?;
    let text = output.secret_string().ok_or_else(|| SecretError::NotString { arn: arn.to_string() })?;
    Ok(Fetched { text: SecretText::new(text.to_string()), version_id: output.version_id().map(str::to_string) })
}

fn classify<E, R>(arn: &str, error: SdkError<E, R>) -> SecretError
where
    E: aws_sdk_secretsmanager::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let arn = arn.to_string();
    let code = error.code().map(str::to_string);
    match code.as_deref() {
        Some("ResourceNotFoundException") => SecretError::NotFound { arn },
        Some("AccessDeniedException" | "AccessDenied" | "UnrecognizedClientException" | "InvalidSignatureException") => {
            SecretError::AccessDenied { arn }
        }
        Some("DecryptionFailure") => SecretError::Decryption { arn },
        Some("ThrottlingException" | "TooManyRequestsException" | "RequestLimitExceeded") => {
            SecretError::Throttled { arn }
        }
        _ => {
            let reason = match &error {
                SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
                    "the service could not be reached; check the network path and the region".to_string()
                }
                SdkError::ConstructionFailure(_) => {
                    "the request could not be built; check that AWS credentials are available (the task role on Fargate)"
                        .to_string()
                }
                _ => code.unwrap_or_else(|| "unknown error".to_string()),
            };
            SecretError::Unavailable { arn, reason }
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_secretsmanager::config::http::HttpResponse;
    use aws_sdk_secretsmanager::error::ErrorMetadata;
    use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    const ARN: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:coinbase-AbCdEf";

    /// Builds the error the SDK returns for a service error with `code`.
    fn service_error(code: &str, status: u16) -> SdkError<GetSecretValueError, HttpResponse> {
        let metadata = ErrorMetadata::builder().code(code).message("from the service").build();
        let raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        SdkError::service_error(GetSecretValueError::generic(metadata), raw)
    }

    #[test]
    fn access_denied_names_arn_and_iam_actions() {
        let error = classify(ARN, service_error("AccessDeniedException", 400));
        assert_eq!(error, SecretError::AccessDenied { arn: ARN.to_string() });
        let message = error.to_string();
        assert!(message.contains(ARN), "{message}");
        assert!(message.contains("secretsmanager:GetSecretValue"), "{message}");
        assert!(message.contains("secretsmanager:DescribeSecret"), "{message}");
    }

    #[test]
    fn throttling_is_transient() {
        let error = classify(ARN, service_error("ThrottlingException", 400));
        assert_eq!(error, SecretError::Throttled { arn: ARN.to_string() });
        assert!(error.is_transient());
    }

    #[test]
    fn decryption_failure_names_kms() {
        let error = classify(ARN, service_error("DecryptionFailure", 400));
        assert!(error.to_string().contains("kms:Decrypt"), "{error}");
    }

    #[test]
    fn not_found_is_not_transient() {
        let error = classify(ARN, service_error("ResourceNotFoundException", 400));
        assert_eq!(error, SecretError::NotFound { arn: ARN.to_string() });
        assert!(!error.is_transient());
    }

    #[test]
    fn server_error_is_transient() {
        let error = classify(ARN, service_error("InternalServiceError", 500));
        assert!(error.is_transient(), "{error}");
    }
}
