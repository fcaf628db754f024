//! Candle download from the public candles endpoint into the canonical CSV
//! layout, in ascending order, resuming an existing file without repeating
//! rows.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{Context as _, bail};
use rust_decimal::Decimal;

use super::http::RestClient;
use super::http::api::{GRANULARITIES, MAX_CANDLES_PER_REQUEST};
use crate::data::{CANONICAL_HEADER, read_candles};

#[derive(Debug, Clone)]
pub struct DownloadRequest {
    pub product: String,
    /// One of [`GRANULARITIES`], for example `ONE_HOUR`.
    pub granularity: String,
    /// First candle start, unix seconds, inclusive.
    pub start: i64,
    /// End of the range, unix seconds, exclusive.
    pub end: i64,
    pub out: PathBuf,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownloadSummary {
    pub written: usize,
    /// Candles already in the file when the download resumed.
    pub existing: usize,
    /// Places where consecutive candles are further apart than the
    /// granularity: the venue omits buckets without trades.
    pub gaps: usize,
    pub missing: u64,
}

/// Returns the length in seconds of a granularity name.
///
/// # Errors
/// A message listing the accepted names.
pub fn granularity_seconds(name: &str) -> anyhow::Result<i64> {
    GRANULARITIES.iter().find(|(known, _)| *known == name).map(|(_, seconds)| *seconds).with_context(|| {
        let names: Vec<&str> = GRANULARITIES.iter().map(|(known, _)| *known).collect();
        format!("granularity {name:?} is not one of {}", names.join(", "))
    })
}

/// Parses a date (`2024-01-01`, midnight UTC), an RFC 3339 time or unix
/// seconds.
///
/// # Errors
/// A message naming the value and the accepted forms.
pub fn parse_time(text: &str) -> anyhow::Result<i64> {
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc().timestamp());
    }
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(time.timestamp());
    }
    bail!("time {text:?} is not a date (2024-01-01), an RFC 3339 time (2024-01-01T00:00:00Z) or unix seconds")
}

/// Downloads the candles of `request`, calling `progress(done, total)` after
/// each page.
///
/// # Errors
/// When the range or the existing file is invalid, the venue keeps failing,
/// or a candle from the venue is not valid.
pub async fn download(
    client: &RestClient,
    request: &DownloadRequest,
    mut progress: impl FnMut(i64, i64),
) -> anyhow::Result<DownloadSummary> {
    let step = granularity_seconds(&request.granularity)?;
    if request.end <= request.start {
        bail!("the end {} is not after the start {}; give an end later than the start", request.end, request.start);
    }

    let mut summary = DownloadSummary::default();
    let mut last_written: Option<i64> = None;
    let exists = request.out.exists() && std::fs::metadata(&request.out).map(|meta| meta.len() > 0).unwrap_or(false);
    if exists {
        let series = read_candles(&request.out).context("cannot resume: the existing file is not a valid candle file")?;
        if series.interval_ms != step * 1000 && series.candles.len() > 1 {
            bail!(
                "cannot resume {}: its candles are {} s apart, not {} s; choose another --out",
                request.out.display(),
                series.interval_ms / 1000,
                step
            );
        }
        summary.existing = series.candles.len();
        last_written = series.candles.last().map(|candle| candle.start_ms / 1000);
    }

    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&request.out)
        .with_context(|| format!("failed to open {}", request.out.display()))?;
    if !exists {
        writeln!(file, "{CANONICAL_HEADER}")?;
    }

    let start = match last_written {
        Some(last) => (last + step).max(request.start),
        None => request.start,
    };
    let total = ((request.end - request.start) / step).max(1);
    let window = MAX_CANDLES_PER_REQUEST * step;
    let mut window_start = start;
    while window_start < request.end {
        let window_end = (window_start + window).min(request.end);
        let mut page = client
            .public_candles(&request.product, window_start, window_end, &request.granularity)
            .await
            .with_context(|| format!("failed to fetch candles from {window_start} to {window_end}"))?;
        page.sort_by_key(|candle| candle.start.parse::<i64>().unwrap_or(i64::MAX));

        for candle in page {
            let start: i64 = candle
                .start
                .parse()
                .with_context(|| format!("the venue sent a candle with start {:?}", candle.start))?;
            if start < window_start || start >= window_end || last_written.is_some_and(|last| start <= last) {
                continue;
            }
            for (name, value) in
                [("open", &candle.open), ("high", &candle.high), ("low", &candle.low), ("close", &candle.close)]
            {
                let price = Decimal::from_str(value).with_context(|| format!("candle {start}: {name} {value:?} is not a decimal"))?;
                if price <= Decimal::ZERO {
                    bail!("candle {start}: {name} {value} is not positive");
                }
            }
            if let Some(last) = last_written
                && start - last > step
            {
                summary.gaps += 1;
                summary.missing += ((start - last) / step - 1) as u64;
            }
            writeln!(file, "{start},{},{},{},{},{}", candle.open, candle.high, candle.low, candle.close, candle.volume)?;
            last_written = Some(start);
            summary.written += 1;
        }
        progress(((window_end - request.start) / step).min(total), total);
        window_start = window_end;
    }
    file.flush()?;
    Ok(summary)
}
