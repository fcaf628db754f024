//! Candle files: reading, validation and the interval and gap summary.
//!
//! Three layouts are accepted, recognised by their header:
//! - canonical: `timestamp,open,high,low,close,volume`;
//! - Coinbase export: `date,unix,low,high,open,close,volume,vol_fiat`
//!   (columns in Coinbase's own order, `unix` in seconds);
//! - ISO open_time export, as the Binance.US sample has it:
//!   `open_time,open,high,low,close,volume` with an ISO 8601 `open_time`.
//!   Binance's raw klines files (no header, times in milliseconds) are not
//!   read; convert them to the canonical layout.
//!
//! Columns are found by name, so extra columns are ignored and order does not
//! matter. The time column is the candle's start, either unix seconds or ISO
//! 8601 with an offset (`2024-01-01T00:00:00Z`, `2024-01-01 00:00:00+00:00`).

use std::fmt;
use std::path::Path;

use chrono::DateTime;
use sha2::{Digest, Sha256};

/// One OHLCV candle; `start_ms` is the start of its interval in unix
/// milliseconds, prices are in the quote asset, volume in the base asset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candle {
    pub start_ms: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    Canonical,
    Coinbase,
    Binance,
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::Canonical => "canonical (timestamp,open,high,low,close,volume)",
            Layout::Coinbase => "Coinbase export (unix,low,high,open,close,volume)",
            Layout::Binance => "ISO open_time export (open_time,open,high,low,close,volume)",
        })
    }
}

/// A validated, strictly ascending candle series.
#[derive(Debug, Clone)]
pub struct CandleSeries {
    pub candles: Vec<Candle>,
    pub layout: Layout,
    /// The most common spacing between consecutive candles, in milliseconds.
    pub interval_ms: i64,
    /// Places where consecutive candles are further apart than `interval_ms`.
    pub gaps: usize,
    /// Candles missing in those gaps, in whole intervals.
    pub missing_candles: u64,
    /// sha256 of the file's bytes, lower-case hex.
    pub sha256: String,
}

/// The reason a candle file was rejected. Line numbers count from 1 and
/// include the header line, as an editor shows them.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CandleError {
    #[error("the file is empty; expected a header line such as {CANONICAL_HEADER}")]
    Empty,
    #[error(
        "header {found:?} has no {column} column; use one of the layouts \"{CANONICAL_HEADER}\" \
         (canonical), \"date,unix,low,high,open,close,volume,vol_fiat\" (Coinbase export) or \
         \"open_time,open,high,low,close,volume\" (ISO open_time export)"
    )]
    MissingColumn { column: &'static str, found: String },
    #[error("header {found:?} has {count} columns named {column}; keep one")]
    DuplicateColumn { column: String, count: usize, found: String },
    #[error("header {found:?} has more than one time column ({columns}); keep one")]
    AmbiguousTimeColumn { columns: String, found: String },
    #[error("line {line}: {message}")]
    Malformed { line: u64, message: String },
    #[error("line {line}: {column} {value:?} is not a number")]
    InvalidNumber { line: u64, column: &'static str, value: String },
    #[error("line {line}: {column} {value:?} is not finite")]
    NonFinite { line: u64, column: &'static str, value: String },
    #[error("line {line}: {column} {value} must be greater than zero")]
    NonPositivePrice { line: u64, column: &'static str, value: f64 },
    #[error("line {line}: {column} {value} is above {MAX_PRICE:e}, which no market quotes; check the column and its units")]
    ImplausiblePrice { line: u64, column: &'static str, value: f64 },
    #[error("line {line}: high {high} is below max(open {open}, close {close})")]
    HighBelowBody { line: u64, high: f64, open: f64, close: f64 },
    #[error("line {line}: low {low} is above min(open {open}, close {close})")]
    LowAboveBody { line: u64, low: f64, open: f64, close: f64 },
    #[error("line {line}: volume {value} is negative")]
    NegativeVolume { line: u64, value: f64 },
    #[error(
        "line {line}: time {value:?} is not unix seconds or ISO 8601 with an offset \
         (for example 2024-01-01T00:00:00Z)"
    )]
    InvalidTimestamp { line: u64, value: String },
    #[error(
        "line {line}: time {value} looks like milliseconds (it is after the year 5138 in seconds); \
         the time column takes unix seconds"
    )]
    TimestampInMilliseconds { line: u64, value: i64 },
    #[error("line {line}: time {value:?} is before 1970-01-01; check the time column")]
    TimestampBeforeEpoch { line: u64, value: String },
    #[error(
        "line {line}: time {value:?} is not after the previous candle's ({previous:?}); \
         candles must be strictly ascending with no duplicates"
    )]
    TimestampNotAscending { line: u64, value: String, previous: String },
    #[error("the file has {rows} candle(s); at least 2 are needed to know the interval")]
    TooFewCandles { rows: usize },
}

pub const CANONICAL_HEADER: &str = "timestamp,open,high,low,close,volume";

/// Unix seconds above this are read as a mistake in units: 10^11 seconds is
/// the year 5138, while 10^11 milliseconds is 1973.
const MAX_UNIX_SECONDS: i64 = 100_000_000_000;

/// Prices above this are rejected as a corrupt value or a units mistake.
/// The dearest quotes (BTC in Vietnamese dong, about 2.5e9) are far below.
pub const MAX_PRICE: f64 = 1e15;

/// Reads and validates a candle file.
///
/// # Errors
/// An I/O error, or a [`CandleError`] naming the line and value that failed,
/// wrapped with the file's path.
pub fn read_candles(path: &Path) -> anyhow::Result<CandleSeries> {
    use anyhow::Context as _;

    let bytes = std::fs::read(path).with_context(|| format!("failed to read {}", path.display()))?;
    parse_candles(&bytes).with_context(|| format!("invalid candle file {}", path.display()))
}

struct Columns {
    time: usize,
    open: usize,
    high: usize,
    low: usize,
    close: usize,
    volume: usize,
}

/// Parses and validates candle CSV bytes.
///
/// # Errors
/// The first row that breaks a rule, with its line number and value.
pub fn parse_candles(bytes: &[u8]) -> Result<CandleSeries, CandleError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).trim(csv::Trim::All).from_reader(bytes);
    let header = reader.headers().map_err(|error| describe_csv_error(&error, 1))?.clone();
    if header.is_empty() || header.iter().all(str::is_empty) {
        return Err(CandleError::Empty);
    }
    let (layout, columns) = find_columns(&header)?;

    let mut candles = Vec::new();
    let mut previous_time = String::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => return Err(describe_csv_error(&error, line)),
        }
        let line = record.position().map_or(line, |position| position.line());

        let candle = parse_row(&record, &columns, line)?;
        if let Some(last) = candles.last().map(|candle: &Candle| candle.start_ms)
            && candle.start_ms <= last
        {
            return Err(CandleError::TimestampNotAscending {
                line,
                value: record[columns.time].to_string(),
                previous: previous_time,
            });
        }
        previous_time = record[columns.time].to_string();
        candles.push(candle);
    }

    if candles.len() < 2 {
        return Err(CandleError::TooFewCandles { rows: candles.len() });
    }
    let interval_ms = most_common_spacing(&candles);
    let (gaps, missing_candles) = count_gaps(&candles, interval_ms);
    Ok(CandleSeries {
        candles,
        layout,
        interval_ms,
        gaps,
        missing_candles,
        sha256: hex::encode(Sha256::digest(bytes)),
    })
}

/// Turns a CSV syntax error into a message that names the line and the fix.
fn describe_csv_error(error: &csv::Error, fallback_line: u64) -> CandleError {
    let line = error.position().map_or(fallback_line, |position| position.line());
    let message = match error.kind() {
        csv::ErrorKind::Utf8 { .. } => "the text is not valid UTF-8; save the file as UTF-8".to_string(),
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => format!(
            "found {len} fields where the header has {expected_len}; check for a missing or extra comma, \
             or an unclosed quote that joins lines"
        ),
        _ => error.to_string(),
    };
    CandleError::Malformed { line, message }
}

fn find_columns(header: &csv::StringRecord) -> Result<(Layout, Columns), CandleError> {
    let found = header.iter().collect::<Vec<_>>().join(",");
    let position = |name: &str| header.iter().position(|column| column.eq_ignore_ascii_case(name));
    let require = |name: &'static str| {
        position(name).ok_or_else(|| CandleError::MissingColumn { column: name, found: found.clone() })
    };

    for name in ["timestamp", "unix", "open_time", "open", "high", "low", "close", "volume"] {
        let count = header.iter().filter(|column| column.eq_ignore_ascii_case(name)).count();
        if count > 1 {
            return Err(CandleError::DuplicateColumn { column: name.to_string(), count, found });
        }
    }
    let time_columns: Vec<&str> =
        ["timestamp", "unix", "open_time"].into_iter().filter(|name| position(name).is_some()).collect();
    if time_columns.len() > 1 {
        return Err(CandleError::AmbiguousTimeColumn { columns: time_columns.join(", "), found });
    }

    let (layout, time) = if let Some(index) = position("timestamp") {
        (Layout::Canonical, index)
    } else if let Some(index) = position("unix") {
        (Layout::Coinbase, index)
    } else if let Some(index) = position("open_time") {
        (Layout::Binance, index)
    } else {
        return Err(CandleError::MissingColumn { column: "timestamp", found });
    };

    let columns = Columns {
        time,
        open: require("open")?,
        high: require("high")?,
        low: require("low")?,
        close: require("close")?,
        volume: require("volume")?,
    };
    Ok((layout, columns))
}

fn parse_row(record: &csv::StringRecord, columns: &Columns, line: u64) -> Result<Candle, CandleError> {
    let field = |index: usize| record.get(index).unwrap_or("");
    let widest = [columns.time, columns.open, columns.high, columns.low, columns.close, columns.volume]
        .into_iter()
        .max()
        .unwrap_or(0);
    if record.len() <= widest {
        return Err(CandleError::Malformed {
            line,
            message: format!("expected at least {} fields, found {}", widest + 1, record.len()),
        });
    }

    let start_ms = parse_time(field(columns.time), line)?;
    let open = parse_price(field(columns.open), "open", line)?;
    let high = parse_price(field(columns.high), "high", line)?;
    let low = parse_price(field(columns.low), "low", line)?;
    let close = parse_price(field(columns.close), "close", line)?;
    let volume = parse_number(field(columns.volume), "volume", line)?;

    if high < open.max(close) {
        return Err(CandleError::HighBelowBody { line, high, open, close });
    }
    if low > open.min(close) {
        return Err(CandleError::LowAboveBody { line, low, open, close });
    }
    if volume < 0.0 {
        return Err(CandleError::NegativeVolume { line, value: volume });
    }
    Ok(Candle { start_ms, open, high, low, close, volume })
}

fn parse_number(text: &str, column: &'static str, line: u64) -> Result<f64, CandleError> {
    let value: f64 = text
        .parse()
        .map_err(|_| CandleError::InvalidNumber { line, column, value: text.to_string() })?;
    if !value.is_finite() {
        return Err(CandleError::NonFinite { line, column, value: text.to_string() });
    }
    Ok(value)
}

fn parse_price(text: &str, column: &'static str, line: u64) -> Result<f64, CandleError> {
    let value = parse_number(text, column, line)?;
    if value <= 0.0 {
        return Err(CandleError::NonPositivePrice { line, column, value });
    }
    if value > MAX_PRICE {
        return Err(CandleError::ImplausiblePrice { line, column, value });
    }
    Ok(value)
}

fn parse_time(text: &str, line: u64) -> Result<i64, CandleError> {
    let time_ms = if let Ok(seconds) = text.parse::<i64>() {
        if seconds >= MAX_UNIX_SECONDS {
            return Err(CandleError::TimestampInMilliseconds { line, value: seconds });
        }
        seconds.saturating_mul(1000)
    } else {
        let parsed = DateTime::parse_from_rfc3339(text)
            .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%:z"))
            .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%#z"));
        match parsed {
            Ok(time) => time.timestamp_millis(),
            Err(_) => return Err(CandleError::InvalidTimestamp { line, value: text.to_string() }),
        }
    };
    if time_ms < 0 {
        return Err(CandleError::TimestampBeforeEpoch { line, value: text.to_string() });
    }
    Ok(time_ms)
}

/// Returns the most common spacing between candles. A tie goes to the
/// shorter spacing, so a file with as many gaps as regular steps still
/// reports its true interval.
fn most_common_spacing(candles: &[Candle]) -> i64 {
    let mut spacings: Vec<i64> = candles.windows(2).map(|pair| pair[1].start_ms - pair[0].start_ms).collect();
    spacings.sort_unstable();

    let mut best = (spacings[0], 0usize);
    let mut run_start = 0;
    for index in 1..=spacings.len() {
        if index == spacings.len() || spacings[index] != spacings[run_start] {
            let run_length = index - run_start;
            if run_length > best.1 {
                best = (spacings[run_start], run_length);
            }
            run_start = index;
        }
    }
    best.0
}

fn count_gaps(candles: &[Candle], interval_ms: i64) -> (usize, u64) {
    let mut gaps = 0;
    let mut missing = 0u64;
    for pair in candles.windows(2) {
        let spacing = pair[1].start_ms - pair[0].start_ms;
        if spacing > interval_ms {
            gaps += 1;
            missing += (spacing / interval_ms - 1).max(0) as u64;
        }
    }
    (gaps, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_time_accepts_unix_seconds_and_iso() {
        assert_eq!(parse_time("1704067200", 2), Ok(1_704_067_200_000));
        assert_eq!(parse_time("2024-01-01T00:00:00Z", 2), Ok(1_704_067_200_000));
        assert_eq!(parse_time("2024-01-01 00:00:00+00:00", 2), Ok(1_704_067_200_000));
        assert_eq!(parse_time("2024-01-01 01:00:00+01:00", 2), Ok(1_704_067_200_000));
    }

    #[test]
    fn parse_time_rejects_milliseconds() {
        assert_eq!(
            parse_time("1704067200000", 7),
            Err(CandleError::TimestampInMilliseconds { line: 7, value: 1_704_067_200_000 })
        );
    }

    #[test]
    fn most_common_spacing_prefers_shorter_on_tie() {
        let at = |start_ms| Candle { start_ms, open: 1.0, high: 1.0, low: 1.0, close: 1.0, volume: 0.0 };
        let candles = [at(0), at(60), at(180)];
        assert_eq!(most_common_spacing(&candles), 60);
    }
}
