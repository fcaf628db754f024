//! `stratbox doctor` and `stratbox account`: the exchange key and the
//! account, checked through the same client the host trades with.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use stratbox::coinbase::ExchangeClock;
use stratbox::coinbase::http::{KeySupply, OrderFilter, RestClient, RestConfig, RestError};
use stratbox::secrets::{KeyLoadError, KeyProvider, SECRET_ARN_VARIABLE, SecretSource};

/// Exit status when the command cannot start: no key, no secret, no access.
pub const START_FAILURE: u8 = 2;

/// Largest clock offset the doctor accepts, in milliseconds. Tokens live
/// 120 s; the client corrects the offset, but a host this far off has a
/// broken time service.
const MAX_CLOCK_OFFSET_MS: i64 = 30_000;

#[derive(Args, Debug)]
pub struct KeyArgs {
    /// ARN of the Secrets Manager secret holding Coinbase's key JSON
    /// [default: the COINBASE_API_KEY_SECRET_ARN environment variable].
    #[arg(long, value_name = "ARN")]
    secret_arn: Option<String>,

    /// For local work: a key JSON file readable only by its owner (mode 600).
    #[arg(long, value_name = "FILE.json", conflicts_with = "secret_arn")]
    key_file: Option<PathBuf>,

    /// Exchange to talk to [default: https://api.coinbase.com].
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,

    /// Seconds a fetched key is used before the secret is read again.
    #[arg(long, value_name = "SECONDS", default_value_t = 900)]
    key_lifetime: u64,

    /// Pretends the host clock is off by this many milliseconds, to see
    /// how the checks react to a skewed clock.
    #[arg(long, value_name = "MS", hide = true, allow_negative_numbers = true)]
    clock_skew_ms: Option<i64>,
}

impl KeyArgs {
    async fn provider(&self) -> Result<Arc<KeyProvider>, KeyLoadError> {
        let source = SecretSource::resolve(self.key_file.clone(), self.secret_arn.clone())?;
        Ok(Arc::new(KeyProvider::load(source, Duration::from_secs(self.key_lifetime)).await?))
    }

    fn client(&self, provider: Arc<KeyProvider>) -> anyhow::Result<RestClient> {
        let config = RestConfig { base_url: self.base_url.clone().unwrap_or(RestConfig::default().base_url), ..RestConfig::default() };
        let clock = match self.clock_skew_ms {
            Some(skew) => ExchangeClock::with_local_skew(skew),
            None => ExchangeClock::new(),
        };
        Ok(RestClient::with_key_supply(&config, Some(KeySupply::Provider(provider)), Arc::new(clock))?)
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?)
}

#[derive(Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    key: KeyArgs,

    /// Product the host will trade; repeat for several [default: BTC-USD].
    #[arg(long = "product", value_name = "PRODUCT")]
    products: Vec<String>,

    /// UNSAFE: accept a key that can transfer funds out of the account. A
    /// leaked trading key can then empty it.
    #[arg(long)]
    unsafe_allow_transfer_key: bool,

    /// Accept a key that cannot trade, for read-only use.
    #[arg(long)]
    allow_view_only_key: bool,
}

struct Report {
    failed: bool,
}

impl Report {
    fn line(&mut self, passed: bool, check: &str, detail: String) {
        self.failed |= !passed;
        println!("{} {check:<12} {detail}", if passed { "PASS" } else { "FAIL" });
    }
}

pub fn doctor(args: &DoctorArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(run_doctor(args))
}

async fn run_doctor(args: &DoctorArgs) -> anyhow::Result<ExitCode> {
    let mut report = Report { failed: false };
    let provider = match args.key.provider().await {
        Ok(provider) => provider,
        Err(error) => {
            report.line(false, "secret", error.to_string());
            println!("skipped: the other checks need the key");
            return Ok(ExitCode::from(START_FAILURE));
        }
    };
    let version = provider.version_id().await.unwrap_or_else(|| "- (key file)".to_string());
    report.line(true, "secret", format!("read from {} (version {version})", provider.source().describe()));
    let key = provider.key().await;
    report.line(true, "key", format!("{} parsed, algorithm {}", key.name(), key.algorithm()));

    let client = args.key.client(provider.clone())?;
    match client.sync_clock().await {
        Ok(offset) if offset.abs() <= MAX_CLOCK_OFFSET_MS => {
            report.line(true, "clock", format!("off by {offset} ms from the exchange"));
        }
        Ok(offset) => report.line(
            false,
            "clock",
            format!(
                "off by {} s from the exchange (limit {} s); tokens are corrected, but fix the host's time service (NTP)",
                offset / 1000,
                MAX_CLOCK_OFFSET_MS / 1000
            ),
        ),
        Err(error) => report.line(false, "clock", format!("{error}")),
    }

    let permissions = match client.key_permissions().await {
        Ok(permissions) => {
            report.line(true, "exchange", "accepts the key".to_string());
            Some(permissions)
        }
        Err(RestError::Unauthorized { .. }) => {
            report.line(
                false,
                "exchange",
                "rejects the key (401): it was revoked, deleted or mistyped; create a new key and store it in the secret"
                    .to_string(),
            );
            None
        }
        Err(error) => {
            report.line(false, "exchange", error.to_string());
            None
        }
    };

    if let Some(permissions) = permissions {
        if permissions.can_transfer && !args.unsafe_allow_transfer_key {
            report.line(
                false,
                "permissions",
                "the key can transfer funds; create a key with view and trade only (or pass \
                 --unsafe-allow-transfer-key)"
                    .to_string(),
            );
        } else if !permissions.can_trade && !args.allow_view_only_key {
            report.line(
                false,
                "permissions",
                "the key cannot trade; add the trade scope (or pass --allow-view-only-key)".to_string(),
            );
        } else {
            report.line(
                true,
                "permissions",
                format!("view {}, trade {}, transfer {}", permissions.can_view, permissions.can_trade, permissions.can_transfer),
            );
        }
    } else {
        report.line(false, "permissions", "not checked: the exchange did not accept the key".to_string());
    }

    let products = if args.products.is_empty() { vec!["BTC-USD".to_string()] } else { args.products.clone() };
    for product_id in &products {
        match client.product(product_id).await {
            Ok(product) if product.is_tradable() => report.line(true, "product", format!("{product_id} is tradable")),
            Ok(product) => report.line(
                false,
                "product",
                format!("{product_id} is not tradable now (status {:?}); choose another product", product.status),
            ),
            Err(RestError::Status { status: 404, .. }) | Err(RestError::Status { status: 400, .. }) => report.line(
                false,
                "product",
                format!("{product_id} does not exist on the exchange; check the spelling, for example BTC-USD"),
            ),
            Err(error) => report.line(false, "product", format!("{product_id}: {error}")),
        }
    }

    Ok(if report.failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

#[derive(Args)]
pub struct AccountArgs {
    #[command(flatten)]
    key: KeyArgs,

    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn account(args: &AccountArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(run_account(args))
}

async fn run_account(args: &AccountArgs) -> anyhow::Result<ExitCode> {
    let provider = match args.key.provider().await {
        Ok(provider) => provider,
        Err(error) => {
            eprintln!("error: {error}");
            if matches!(error, KeyLoadError::Secret(stratbox::secrets::SecretError::NotConfigured)) {
                eprintln!("hint: export {SECRET_ARN_VARIABLE}=arn:aws:secretsmanager:...");
            }
            return Ok(ExitCode::from(START_FAILURE));
        }
    };
    let client = args.key.client(provider)?;
    if let Err(error) = client.sync_clock().await {
        tracing::warn!(%error, "clock sync failed; signing with the local clock");
    }
    let accounts = client.accounts().await?;
    let open = client
        .list_orders(&OrderFilter { order_status: vec!["OPEN".to_string()], ..OrderFilter::default() })
        .await?;

    if args.json {
        let balances: Vec<_> = accounts
            .iter()
            .map(|account| {
                serde_json::json!({
                    "currency": account.currency,
                    "available": account.available_balance.value.map(|value| value.to_string()),
                    "hold": account.hold.as_ref().and_then(|hold| hold.value).map(|value| value.to_string()),
                })
            })
            .collect();
        let orders: Vec<_> = open
            .iter()
            .map(|order| {
                serde_json::json!({
                    "order_id": order.order_id, "client_order_id": order.client_order_id,
                    "product_id": order.product_id, "side": order.side, "status": order.status,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "balances": balances, "open_orders": orders }))?);
        return Ok(ExitCode::SUCCESS);
    }

    println!("{:<10} {:>24} {:>24}", "currency", "available", "hold");
    for account in &accounts {
        let available = account.available_balance.value.map(|value| value.to_string()).unwrap_or_default();
        let hold = account.hold.as_ref().and_then(|hold| hold.value).map(|value| value.to_string()).unwrap_or_default();
        println!("{:<10} {available:>24} {hold:>24}", account.currency);
    }
    println!("\nopen orders: {}", open.len());
    for order in &open {
        println!("  {} {} {} {} ({})", order.order_id, order.product_id, order.side, order.status, order.client_order_id);
    }
    Ok(ExitCode::SUCCESS)
}
