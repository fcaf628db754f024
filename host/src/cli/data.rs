//! `stratbox data download`: Coinbase candles into a canonical CSV file.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};
use stratbox::coinbase::ExchangeClock;
use stratbox::coinbase::download::{DownloadRequest, download, parse_time};
use stratbox::coinbase::http::{RestClient, RestConfig};

#[derive(Subcommand)]
pub enum DataCommand {
    /// Download candles from Coinbase's public candles endpoint into a CSV
    /// file in the canonical layout, resuming the file if it exists.
    Download(DownloadArgs),
}

#[derive(Args)]
pub struct DownloadArgs {
    /// Product id, for example BTC-USD.
    #[arg(long)]
    product: String,

    /// Candle width: ONE_MINUTE, FIVE_MINUTE, FIFTEEN_MINUTE, THIRTY_MINUTE,
    /// ONE_HOUR, TWO_HOUR, SIX_HOUR or ONE_DAY.
    #[arg(long, default_value = "ONE_HOUR")]
    granularity: String,

    /// First candle to fetch: a date (2024-01-01, midnight UTC), an RFC 3339
    /// time or unix seconds.
    #[arg(long)]
    start: String,

    /// End of the range, exclusive, in the same forms as --start.
    #[arg(long)]
    end: String,

    /// CSV file to write; an existing file is continued after its last row.
    #[arg(long, value_name = "FILE.csv")]
    out: PathBuf,

    /// Exchange to download from [default: https://api.coinbase.com].
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
}

pub fn run(command: &DataCommand) -> anyhow::Result<ExitCode> {
    let DataCommand::Download(args) = command;
    let request = DownloadRequest {
        product: args.product.clone(),
        granularity: args.granularity.clone(),
        start: parse_time(&args.start)?,
        end: parse_time(&args.end)?,
        out: args.out.clone(),
    };
    let config = RestConfig { base_url: args.base_url.clone().unwrap_or(RestConfig::default().base_url), ..RestConfig::default() };
    let client = RestClient::new(&config, None, Arc::new(ExchangeClock::new()))?;

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let show_progress = std::io::stderr().is_terminal();
    let summary = runtime.block_on(download(&client, &request, |done, total| {
        if show_progress {
            let percent = done * 100 / total.max(1);
            eprint!("\r  {done} of {total} candle intervals fetched ({percent}%)");
            let _ = std::io::stderr().flush();
        }
    }))?;
    if show_progress {
        eprintln!();
    }

    println!(
        "wrote {} candles to {} ({} were already there); {} gaps, {} candles missing",
        summary.written,
        args.out.display(),
        summary.existing,
        summary.gaps,
        summary.missing
    );
    Ok(ExitCode::SUCCESS)
}
