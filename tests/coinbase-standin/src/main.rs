//! Command-line stand-in for Coinbase Advanced Trade. Prints `listening on ADDR` as its first
//! line on stdout, then serves until killed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use coinbase_standin::{FaultRequest, StandinConfig, parse_candle_csv, parse_public_key_pem};

#[derive(Parser)]
#[command(about = "Serve a local stand-in for the Coinbase Advanced Trade REST and WebSocket APIs")]
struct Arguments {
    /// Address to listen on, which must be loopback. Port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Accepted JWT `kid` and `sub`, e.g. organizations/org-1/apiKeys/key-1.
    #[arg(long)]
    key_name: String,
    /// SPKI PEM file of an accepted P-256 or Ed25519 public key. Repeat for several keys.
    #[arg(long = "public-key", required = true)]
    public_keys: Vec<PathBuf>,
    /// Candle CSV to replay, with header timestamp,open,high,low,close,volume and unix seconds.
    #[arg(long)]
    candles: PathBuf,
    /// Product whose price follows the candles.
    #[arg(long, default_value = "BTC-USD")]
    product: String,
    /// Advance one candle every N milliseconds. Without it the replay moves only through
    /// POST /admin/advance.
    #[arg(long)]
    tick_ms: Option<u64>,
    /// Restrict the fault flags below to paths starting with this prefix.
    #[arg(long, default_value = "")]
    fault_path_prefix: String,
    /// Return 429 with an HTML body for the next N REST requests.
    #[arg(long, default_value_t = 0)]
    fault_rate_limit: u32,
    /// Return 500 with an HTML body for the next N REST requests.
    #[arg(long, default_value_t = 0)]
    fault_server_error: u32,
    /// Delay the next N REST responses by --fault-delay-ms.
    #[arg(long, default_value_t = 0)]
    fault_delay_count: u32,
    /// Delay in milliseconds for --fault-delay-count.
    #[arg(long, default_value_t = 0)]
    fault_delay_ms: u64,
    /// Place the next N orders but close the connection without a response.
    #[arg(long, default_value_t = 0)]
    fault_drop_order_response: u32,
    /// Return 401 for the next N REST requests, as for an expired token.
    #[arg(long, default_value_t = 0)]
    fault_unauthorized: u32,
    /// Skip one sequence number before each of the next N WebSocket messages.
    #[arg(long, default_value_t = 0)]
    fault_ws_skip_sequence: u32,
    /// Send each of the next N WebSocket messages twice.
    #[arg(long, default_value_t = 0)]
    fault_ws_duplicate: u32,
    /// Send no WebSocket messages, heartbeats included, for the first N milliseconds.
    #[arg(long, default_value_t = 0)]
    fault_ws_silence_ms: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let arguments = Arguments::parse();

    if !arguments.listen.ip().is_loopback() {
        anyhow::bail!(
            "--listen {} is not a loopback address; use 127.0.0.1:PORT",
            arguments.listen
        );
    }

    let mut public_keys = Vec::new();
    for path in &arguments.public_keys {
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read --public-key {}", path.display()))?;
        let key = parse_public_key_pem(&pem)
            .with_context(|| format!("in --public-key {}", path.display()))?;
        public_keys.push(key);
    }
    let csv = std::fs::read_to_string(&arguments.candles)
        .with_context(|| format!("failed to read --candles {}", arguments.candles.display()))?;
    let candles = parse_candle_csv(&csv)
        .with_context(|| format!("invalid candle in {}", arguments.candles.display()))?;
    if candles.is_empty() {
        anyhow::bail!(
            "--candles {} has no candles; add at least one row",
            arguments.candles.display()
        );
    }

    let mut config = StandinConfig::with_defaults(arguments.key_name.clone(), public_keys, candles);
    if !config
        .products
        .iter()
        .any(|product| product.product_id == arguments.product)
    {
        let known: Vec<&str> = config
            .products
            .iter()
            .map(|product| product.product_id.as_str())
            .collect();
        anyhow::bail!(
            "--product {} is not listed; use one of {}",
            arguments.product,
            known.join(", ")
        );
    }
    config.product_for_candles = arguments.product.clone();
    config.tick = arguments.tick_ms.map(Duration::from_millis);

    let standin = coinbase_standin::start_on(config, arguments.listen).await?;
    let faults = FaultRequest {
        path_prefix: arguments.fault_path_prefix,
        rate_limit_count: arguments.fault_rate_limit,
        server_error_count: arguments.fault_server_error,
        delay_count: arguments.fault_delay_count,
        delay_ms: arguments.fault_delay_ms,
        drop_order_response_count: arguments.fault_drop_order_response,
        unauthorized_count: arguments.fault_unauthorized,
        ws_skip_sequence_count: arguments.fault_ws_skip_sequence,
        ws_duplicate_count: arguments.fault_ws_duplicate,
        ws_silence_ms: arguments.fault_ws_silence_ms,
        ..FaultRequest::default()
    };
    if faults != FaultRequest::default() {
        standin.arm_faults(&faults);
    }
    println!("listening on {}", standin.addr);

    tokio::signal::ctrl_c()
        .await
        .context("failed to wait for Ctrl-C")?;
    standin.shutdown().await;
    Ok(())
}
