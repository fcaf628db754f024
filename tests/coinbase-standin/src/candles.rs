//! Candles: the replayed price series, its CSV reader, and aggregation to a granularity.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Value, json};

/// One candle of the replayed series. `start` is in unix seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Candle {
    pub start: i64,
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub close: Decimal,
    pub volume: Decimal,
}

impl Candle {
    /// Renders the candle as Coinbase does: every field a string.
    pub fn to_json(&self) -> Value {
        json!({
            "start": self.start.to_string(),
            "low": self.low.normalize().to_string(),
            "high": self.high.normalize().to_string(),
            "open": self.open.normalize().to_string(),
            "close": self.close.normalize().to_string(),
            "volume": self.volume.normalize().to_string(),
        })
    }
}

/// A row of a candle CSV that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct CandleCsvError {
    pub line: usize,
    pub reason: String,
}

/// Header of the canonical candle CSV layout.
pub const CSV_HEADER: &str = "timestamp,open,high,low,close,volume";

/// Parses a candle CSV in the layout `timestamp,open,high,low,close,volume`, unix seconds,
/// oldest first. A header line is required, and blank lines are skipped.
///
/// # Errors
/// Returns the first bad row with its 1-based line number: a wrong column count, a value that
/// is not a number, a high below the low or an open or close outside them, or a timestamp that
/// does not increase.
pub fn parse_candle_csv(text: &str) -> Result<Vec<Candle>, CandleCsvError> {
    let mut candles: Vec<Candle> = Vec::new();
    let mut lines = text.lines().enumerate();

    let header = lines.next().map(|(_, line)| line.trim()).unwrap_or("");
    if header.replace(' ', "") != CSV_HEADER {
        return Err(CandleCsvError {
            line: 1,
            reason: format!("header is {header:?}, expected {CSV_HEADER:?}"),
        });
    }

    for (index, line) in lines {
        let line_number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let error = |reason: String| CandleCsvError {
            line: line_number,
            reason,
        };

        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != 6 {
            return Err(error(format!("expected 6 columns, found {}", fields.len())));
        }
        let start = i64::from_str(fields[0]).map_err(|_| {
            error(format!(
                "timestamp {:?} is not an integer of unix seconds",
                fields[0]
            ))
        })?;
        let mut values = [Decimal::ZERO; 5];
        for (slot, (name, text)) in values.iter_mut().zip(
            ["open", "high", "low", "close", "volume"]
                .iter()
                .zip(&fields[1..]),
        ) {
            *slot = Decimal::from_str(text)
                .or_else(|_| Decimal::from_scientific(text))
                .map_err(|_| error(format!("{name} {text:?} is not a decimal number")))?;
        }
        let candle = Candle {
            start,
            open: values[0],
            high: values[1],
            low: values[2],
            close: values[3],
            volume: values[4],
        };

        if candle.high < candle.low {
            return Err(error(format!(
                "high {} is below low {}",
                candle.high, candle.low
            )));
        }
        for (name, price) in [("open", candle.open), ("close", candle.close)] {
            if price < candle.low || price > candle.high {
                return Err(error(format!(
                    "{name} {price} is outside low {} and high {}",
                    candle.low, candle.high
                )));
            }
        }
        if let Some(previous) = candles.last()
            && candle.start <= previous.start
        {
            return Err(error(format!(
                "timestamp {} does not follow the previous timestamp {}",
                candle.start, previous.start
            )));
        }
        candles.push(candle);
    }
    Ok(candles)
}

/// Candle widths accepted by the candles endpoints.
pub const GRANULARITIES: [(&str, i64); 8] = [
    ("ONE_MINUTE", 60),
    ("FIVE_MINUTE", 300),
    ("FIFTEEN_MINUTE", 900),
    ("THIRTY_MINUTE", 1800),
    ("ONE_HOUR", 3600),
    ("TWO_HOUR", 7200),
    ("SIX_HOUR", 21600),
    ("ONE_DAY", 86400),
];

/// Returns the width in seconds of a granularity name such as `FIVE_MINUTE`.
pub fn granularity_seconds(name: &str) -> Option<i64> {
    GRANULARITIES
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, seconds)| *seconds)
}

/// Aggregates `series` (oldest first) into buckets of `width` seconds whose start lies in
/// `[start, end]`, newest first. Buckets without a source candle are omitted. A source candle
/// wider than `width` lands in the single bucket that contains its start.
pub fn aggregate(series: &[Candle], width: i64, start: i64, end: i64) -> Vec<Candle> {
    let mut buckets: Vec<Candle> = Vec::new();
    for candle in series {
        let bucket_start = candle.start - candle.start.rem_euclid(width);
        if bucket_start < start || bucket_start > end {
            continue;
        }
        match buckets.last_mut() {
            Some(bucket) if bucket.start == bucket_start => {
                bucket.high = bucket.high.max(candle.high);
                bucket.low = bucket.low.min(candle.low);
                bucket.close = candle.close;
                bucket.volume += candle.volume;
            }
            _ => buckets.push(Candle {
                start: bucket_start,
                ..candle.clone()
            }),
        }
    }
    buckets.reverse();
    buckets
}
