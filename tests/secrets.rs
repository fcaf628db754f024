//! The exchange key from moto's Secrets Manager server and from key files,
//! `stratbox doctor` and `stratbox account` against the Coinbase stand-in,
//! and a canary that searches every output for the key.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use coinbase_standin::{KeyPermissions, Standin, StandinConfig, parse_public_key_pem};
use p256::pkcs8::LineEnding;
use stratbox::coinbase::ExchangeClock;
use stratbox::coinbase::http::{KeySupply, RestClient, RestConfig};
use stratbox::secrets::{KeyLoadError, KeyProvider, SecretError, SecretSource};

const KEY_NAME: &str = "organizations/org-9/apiKeys/key-9";
const WAIT: Duration = Duration::from_secs(30);

/// A moto Secrets Manager server on a free loopback port, stopped on drop.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start python3 for moto ({error}); install Python 3"));
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("moto's server exited with {status}; install it with: pip install \"moto[server]\"");
            }
            assert!(Instant::now() < deadline, "moto's server did not start within {WAIT:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto { child, endpoint: format!("http://127.0.0.1:{port}") }
    }

    async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .load()
            .await
    }

    /// Environment a `stratbox` process needs to reach this server.
    fn environment(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A P-256 key: its JSON as Coinbase's download has it, and its PEM body.
struct TestKey {
    json: String,
    pem_body: String,
    public_pem: String,
}

fn test_key() -> TestKey {
    let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let pem = secret.to_sec1_pem(LineEnding::LF).unwrap();
    let pem_body: String = pem.lines().filter(|line| !line.starts_with("-----")).collect();
    let json = serde_json::json!({ "name": KEY_NAME, "privateKey": pem.as_str() }).to_string();
    let public_pem = {
        use p256::pkcs8::EncodePublicKey as _;
        secret.public_key().to_public_key_pem(LineEnding::LF).unwrap()
    };
    TestKey { json, pem_body, public_pem }
}

async fn create_secret(config: &aws_config::SdkConfig, name: &str, value: &str) -> (String, String) {
    let client = aws_sdk_secretsmanager::Client::new(config);
    let created = client.create_secret().name(name).secret_string(value).send().await.unwrap();
    (created.arn().unwrap().to_string(), created.version_id().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_is_fetched_by_arn() {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let key = test_key();
    let (arn, version) = create_secret(&config, "coinbase-key", &key.json).await;

    let source = SecretSource::AwsSecretsManagerWith { arn, config };
    let provider = KeyProvider::load(source, Duration::from_secs(60)).await.unwrap();
    assert_eq!(provider.key().await.name(), KEY_NAME);
    assert_eq!(provider.version_id().await, Some(version));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_secret_names_the_arn() {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:absent-AbCdEf";
    let source = SecretSource::AwsSecretsManagerWith { arn: arn.to_string(), config };
    let error = KeyProvider::load(source, Duration::from_secs(60)).await.unwrap_err();
    assert_eq!(error, KeyLoadError::Secret(SecretError::NotFound { arn: arn.to_string() }));
    assert!(error.to_string().contains(arn));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_without_name_lists_missing_field() {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let key = test_key();
    let value = serde_json::json!({ "privateKey": key.pem_body }).to_string();
    let (arn, _) = create_secret(&config, "half-key", &value).await;
    let error = KeyProvider::load(SecretSource::AwsSecretsManagerWith { arn, config }, Duration::from_secs(60))
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("lacks \"name\""), "{message}");
    assert!(!message.contains(&key.pem_body[..16]), "{message}");
}

#[test]
fn key_file_readable_by_group_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("open-key.json");
    std::fs::write(&path, test_key().json).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let error = runtime
        .block_on(KeyProvider::load(SecretSource::File { path: path.clone() }, Duration::from_secs(60)))
        .unwrap_err();
    assert!(matches!(error, KeyLoadError::Secret(SecretError::FileTooOpen { mode: 0o640, .. })), "{error}");
    assert!(error.to_string().contains("chmod 600"), "{error}");
}

/// A writer shared with a tracing subscriber, to read the log back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Forty-eight flat hourly candles from 2024-01-01.
fn flat_candles() -> Vec<coinbase_standin::Candle> {
    let price = rust_decimal::Decimal::from(42_000);
    (0..48)
        .map(|hour| coinbase_standin::Candle {
            start: 1_704_067_200 + hour * 3600,
            open: price,
            high: price,
            low: price,
            close: price,
            volume: rust_decimal::Decimal::ONE,
        })
        .collect()
}

async fn standin_for(key: &TestKey, permissions: KeyPermissions) -> Standin {
    let public = parse_public_key_pem(&key.public_pem).unwrap();
    let mut config = StandinConfig::with_defaults(KEY_NAME, vec![public], flat_candles());
    config.permissions = permissions;
    coinbase_standin::start(config).await.unwrap()
}

fn trading_permissions() -> KeyPermissions {
    KeyPermissions { can_view: true, can_trade: true, can_transfer: false, portfolio_uuid: "portfolio-1".to_string() }
}

#[test]
fn rotation_is_followed_after_a_401() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
    let old_key = test_key();
    let new_key = test_key();

    let new_version = tracing::subscriber::with_default(subscriber, || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let moto = Moto::start();
            let config = moto.sdk_config().await;
            let (arn, _) = create_secret(&config, "rotating-key", &old_key.json).await;
            let standin = standin_for(&old_key, trading_permissions()).await;

            // A long lifetime: only the 401 may make the host read again.
            let source = SecretSource::AwsSecretsManagerWith { arn: arn.clone(), config: config.clone() };
            let provider = Arc::new(KeyProvider::load(source, Duration::from_secs(3600)).await.unwrap());
            let rest = RestConfig { base_url: standin.base_url(), ..RestConfig::default() };
            let client = RestClient::with_key_supply(&rest, Some(KeySupply::Provider(provider.clone())), Arc::new(ExchangeClock::new())).unwrap();

            let mut new_version = String::new();
            for request in 0..30 {
                if request == 10 {
                    let secrets = aws_sdk_secretsmanager::Client::new(&config);
                    let put = secrets.put_secret_value().secret_id(&arn).secret_string(&new_key.json).send().await.unwrap();
                    new_version = put.version_id().unwrap().to_string();
                    let body = serde_json::json!({ "key_name": KEY_NAME, "public_keys_pem": [new_key.public_pem] });
                    let url = format!("{}/admin/keys", standin.base_url());
                    let response = reqwest::Client::new().post(url).json(&body).send().await.unwrap();
                    assert!(response.status().is_success());
                }
                client.accounts().await.unwrap_or_else(|error| panic!("request {request} failed: {error}"));
            }
            assert_eq!(provider.version_id().await.as_deref(), Some(new_version.as_str()));
            standin.shutdown().await;
            new_version
        })
    });

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains(&new_version), "the new VersionId is not in the log:\n{log}");
    assert!(log.contains("re-reading the secret"), "{log}");
    for key in [&old_key, &new_key] {
        assert!(!log.contains(&key.pem_body[..16]), "the key reached the log");
    }
}

fn stratbox() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_stratbox"));
    command.env_remove("COINBASE_API_KEY_SECRET_ARN");
    command.env("XDG_CACHE_HOME", PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cache"));
    command
}

fn key_file(name: &str, key: &TestKey) -> PathBuf {
    use std::os::unix::fs::OpenOptionsExt as _;
    use std::io::Write as _;
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_file(&path);
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).unwrap();
    file.write_all(key.json.as_bytes()).unwrap();
    path
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn run(command: &mut tokio::process::Command) -> Run {
    let output = tokio::time::timeout(WAIT, command.output()).await.expect("bounded").unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

async fn doctor(key_path: &Path, standin: &Standin, extra: &[&str]) -> Run {
    run(stratbox().arg("doctor").arg("--key-file").arg(key_path).args(["--base-url", &standin.base_url()]).args(extra)).await
}

fn line<'a>(run: &'a Run, check: &str) -> &'a str {
    run.stdout.lines().find(|line| line[5..].starts_with(check)).unwrap_or_else(|| panic!("no {check} line:\n{}", run.stdout))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_passes_with_a_good_key() {
    let key = test_key();
    let standin = standin_for(&key, trading_permissions()).await;
    let result = doctor(&key_file("good-key.json", &key), &standin, &[]).await;
    assert_eq!(result.code, 0, "{}{}", result.stdout, result.stderr);
    for check in ["secret", "key", "clock", "exchange", "permissions", "product"] {
        assert!(line(&result, check).starts_with("PASS"), "{}", result.stdout);
    }
    assert!(line(&result, "key").contains("ES256"));
    standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_refuses_transfer_capable_key() {
    let key = test_key();
    let permissions = KeyPermissions { can_transfer: true, ..trading_permissions() };
    let standin = standin_for(&key, permissions).await;
    let path = key_file("transfer-key.json", &key);
    let result = doctor(&path, &standin, &[]).await;
    assert_eq!(result.code, 1);
    assert!(line(&result, "permissions").starts_with("FAIL"));
    assert!(line(&result, "permissions").contains("can transfer funds"));
    let unsafe_run = doctor(&path, &standin, &["--unsafe-allow-transfer-key"]).await;
    assert_eq!(unsafe_run.code, 0, "{}", unsafe_run.stdout);
    standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reports_revoked_key() {
    let key = test_key();
    let other = test_key();
    let standin = standin_for(&other, trading_permissions()).await;
    let result = doctor(&key_file("revoked-key.json", &key), &standin, &[]).await;
    assert_eq!(result.code, 1);
    assert!(line(&result, "exchange").starts_with("FAIL"));
    assert!(line(&result, "exchange").contains("rejects the key (401)"));
    standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reports_skewed_clock() {
    let key = test_key();
    let standin = standin_for(&key, trading_permissions()).await;
    let result = doctor(&key_file("skew-key.json", &key), &standin, &["--clock-skew-ms", "-600000"]).await;
    assert_eq!(result.code, 1);
    assert!(line(&result, "clock").starts_with("FAIL"), "{}", result.stdout);
    assert!(line(&result, "clock").contains("off by 600 s"), "{}", result.stdout);
    // The measured offset corrects the tokens, so the exchange still accepts them.
    assert!(line(&result, "exchange").starts_with("PASS"), "{}", result.stdout);
    standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reports_unknown_product() {
    let key = test_key();
    let standin = standin_for(&key, trading_permissions()).await;
    let result = doctor(&key_file("product-key.json", &key), &standin, &["--product", "NOPE-USD"]).await;
    assert_eq!(result.code, 1);
    assert!(line(&result, "product").starts_with("FAIL"));
    assert!(line(&result, "product").contains("NOPE-USD"));
    standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_without_key_exits_two() {
    let result = run(stratbox().arg("doctor")).await;
    assert_eq!(result.code, 2);
    assert!(result.stdout.contains("COINBASE_API_KEY_SECRET_ARN"), "{}", result.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reads_secret_from_secrets_manager() {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let key = test_key();
    let (arn, version) = create_secret(&config, "doctor-key", &key.json).await;
    let standin = standin_for(&key, trading_permissions()).await;

    let result = run(stratbox().envs(moto.environment()).args(["doctor", "--secret-arn", &arn, "--base-url", &standin.base_url()])).await;
    assert_eq!(result.code, 0, "{}{}", result.stdout, result.stderr);
    assert!(line(&result, "secret").contains(&version), "{}", result.stdout);

    let absent = format!("{arn}-absent");
    let missing = run(stratbox().envs(moto.environment()).args(["account", "--secret-arn", &absent])).await;
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains(&absent), "{}", missing.stderr);
    standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_lists_balances_as_json() {
    let key = test_key();
    let standin = standin_for(&key, trading_permissions()).await;
    let path = key_file("account-key.json", &key);
    let result = run(stratbox().args(["account", "--json", "--base-url", &standin.base_url()]).arg("--key-file").arg(&path)).await;
    assert_eq!(result.code, 0, "{}", result.stderr);
    let value: serde_json::Value = serde_json::from_str(&result.stdout).unwrap();
    let balances = value["balances"].as_array().unwrap();
    assert!(balances.iter().any(|balance| balance["currency"] == "USD" && balance["available"] == "10000"), "{value}");
    assert_eq!(value["open_orders"].as_array().unwrap().len(), 0);
    standin.shutdown().await;
}

/// Returns every 16-character piece of `body`, the unit the canary looks for.
fn pieces(body: &str) -> Vec<&str> {
    (0..=body.len().saturating_sub(16)).map(|start| &body[start..start + 16]).collect()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_key_appears_in_no_output() {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let key = test_key();
    let (arn, _) = create_secret(&config, "canary-key", &key.json).await;
    let standin = standin_for(&key, trading_permissions()).await;
    standin.advance(47);
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("canary");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let base_url = standin.base_url();

    let mut runs = Vec::new();
    let with_secret = |command: &mut tokio::process::Command| {
        command.envs(moto.environment()).env("COINBASE_API_KEY_SECRET_ARN", &arn).env("RUST_LOG", "debug");
    };
    let mut doctor = stratbox();
    with_secret(doctor.args(["doctor", "--base-url", &base_url]));
    runs.push(run(&mut doctor).await);
    let mut account = stratbox();
    with_secret(account.args(["account", "--base-url", &base_url]));
    runs.push(run(&mut account).await);
    let mut download = stratbox();
    with_secret(download.args(["data", "download", "--product", "BTC-USD", "--start", "2024-01-01", "--end", "2024-01-02", "--base-url", &base_url, "--out"]).arg(out.join("candles.csv")));
    runs.push(run(&mut download).await);
    let mut backtest = stratbox();
    with_secret(backtest.args(["backtest", "--strategy", env!("STRATBOX_HOSTILE_STRATEGY_WASM"), "--param", "attack=snoop", "--out"]).arg(out.join("report")));
    runs.push(run(&mut backtest).await);

    assert_eq!(runs[0].code, 0, "doctor: {}{}", runs[0].stdout, runs[0].stderr);
    assert_eq!(runs[1].code, 0, "account: {}", runs[1].stderr);
    assert_eq!(runs[2].code, 0, "download: {}", runs[2].stderr);
    assert_eq!(runs[3].code, 0, "backtest: {}", runs[3].stderr);

    let mut texts: Vec<(String, String)> = Vec::new();
    for (index, result) in runs.iter().enumerate() {
        texts.push((format!("run {index} stdout"), result.stdout.clone()));
        texts.push((format!("run {index} stderr"), result.stderr.clone()));
    }
    for file in files_under(&out) {
        texts.push((file.display().to_string(), String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned()));
    }
    assert!(texts.len() >= 10, "the canary read too little: {}", texts.len());
    for (name, text) in &texts {
        assert!(!text.contains(&key.pem_body), "the PEM body is in {name}");
        for piece in pieces(&key.pem_body) {
            assert!(!text.contains(piece), "a 16-character piece of the key is in {name}");
        }
    }
    standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_reread_keeps_current_key() {
    use std::os::unix::fs::PermissionsExt as _;
    let key = test_key();
    let path = key_file("reread-key.json", &key);
    let provider = KeyProvider::load(SecretSource::File { path: path.clone() }, Duration::from_secs(3600)).await.unwrap();
    let before = provider.key().await;

    // The file becomes unreadable for the host's rules; a forced re-read,
    // as after a 401, must fail and keep the key in use.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let after = provider.refresh().await;
    assert!(Arc::ptr_eq(&before, &after), "the key was replaced after a failed read");
    assert_eq!(after.name(), KEY_NAME);
}
