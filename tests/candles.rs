//! The candle reader on the real bundled files and on one small bad file
//! per rejection rule.

use std::path::PathBuf;

use stratbox::data::{CandleError, Layout, read_candles};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/candles").join(name)
}

/// Reads a bad fixture and returns the reader's error, checking on the way
/// that the message names the file.
fn rejection(name: &str) -> CandleError {
    let path = fixture(name);
    let error = read_candles(&path).expect_err("the fixture breaks a rule");
    let message = format!("{error:#}");
    assert!(message.contains(name), "message does not name the file: {message}");
    error.downcast::<CandleError>().expect("a CandleError inside the context")
}

#[test]
fn bundled_coinbase_file_parses_every_row() {
    let series = read_candles(&root().join("data/coinbase-btc-usd-1h-2024.csv")).unwrap();
    assert_eq!(series.candles.len(), 6115);
    assert_eq!(series.layout, Layout::Coinbase);
    assert_eq!(series.interval_ms, 3_600_000);
    assert_eq!(series.gaps, 0);
}

#[test]
fn coinbase_layout_maps_columns_by_name() {
    let series = read_candles(&root().join("data/coinbase-btc-usd-1h-2024.csv")).unwrap();
    let first = series.candles[0];
    // date,unix,low,high,open,close: 2023-12-31 23:00, 42066.35, 42339.7, 42252.3, 42288.06
    assert_eq!(first.start_ms, 1_704_063_600_000);
    assert_eq!(first.low, 42066.35);
    assert_eq!(first.high, 42339.7);
    assert_eq!(first.open, 42252.3);
    assert_eq!(first.close, 42288.06);
}

#[test]
fn binance_file_parses_every_row() {
    let path = std::env::var_os("STRATBOX_BINANCE_SAMPLE")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/data/binanceus-btc-usd-1m-2023-03.csv"));
    assert!(
        path.is_file(),
        "{} is missing: this test reads the Binance.US sample, which stratbox may not ship; put \
         the shared data folder beside the repository or set STRATBOX_BINANCE_SAMPLE to the file",
        path.display()
    );
    let series = read_candles(&path).unwrap();
    assert_eq!(series.candles.len(), 30_240);
    assert_eq!(series.layout, Layout::Binance);
    assert_eq!(series.interval_ms, 60_000);
    assert_eq!(series.candles[0].start_ms, 1_677_628_800_000);
}

#[test]
fn gaps_are_counted_not_rejected() {
    let series = read_candles(&fixture("with-gap.csv")).unwrap();
    assert_eq!(series.layout, Layout::Canonical);
    assert_eq!(series.interval_ms, 3_600_000);
    assert_eq!(series.gaps, 1);
    assert_eq!(series.missing_candles, 2);
}

#[test]
fn unparsable_number_names_line_and_value() {
    let error = rejection("unparsable-number.csv");
    assert_eq!(error, CandleError::InvalidNumber { line: 3, column: "close", value: "abc".into() });
    assert!(error.to_string().starts_with("line 3: close \"abc\""), "{error}");
}

#[test]
fn nan_is_rejected_as_non_finite() {
    let error = rejection("non-finite-number.csv");
    assert_eq!(error, CandleError::NonFinite { line: 4, column: "open", value: "NaN".into() });
}

#[test]
fn infinity_is_rejected_as_non_finite() {
    let error = rejection("infinite-number.csv");
    assert_eq!(error, CandleError::NonFinite { line: 4, column: "close", value: "inf".into() });
}

#[test]
fn zero_price_is_rejected() {
    let error = rejection("zero-price.csv");
    assert_eq!(error, CandleError::NonPositivePrice { line: 3, column: "open", value: 0.0 });
}

#[test]
fn negative_price_is_rejected() {
    let error = rejection("negative-price.csv");
    assert_eq!(error, CandleError::NonPositivePrice { line: 3, column: "low", value: -101.0 });
}

#[test]
fn high_below_close_is_rejected() {
    let error = rejection("high-below-close.csv");
    assert_eq!(error, CandleError::HighBelowBody { line: 3, high: 107.0, open: 105.0, close: 108.0 });
    assert!(error.to_string().contains("high 107 is below max(open 105, close 108)"), "{error}");
}

#[test]
fn low_above_open_is_rejected() {
    let error = rejection("low-above-open.csv");
    assert_eq!(error, CandleError::LowAboveBody { line: 3, low: 106.0, open: 105.0, close: 108.0 });
}

#[test]
fn negative_volume_is_rejected() {
    let error = rejection("negative-volume.csv");
    assert_eq!(error, CandleError::NegativeVolume { line: 3, value: -3.0 });
}

#[test]
fn duplicate_timestamp_is_rejected() {
    let error = rejection("duplicate-timestamp.csv");
    assert!(
        matches!(&error, CandleError::TimestampNotAscending { line: 4, value, .. } if value == "1704070800"),
        "{error:?}"
    );
}

#[test]
fn earlier_timestamp_is_rejected() {
    let error = rejection("earlier-timestamp.csv");
    assert!(
        matches!(&error, CandleError::TimestampNotAscending { line: 4, value, previous } if value == "1704063600" && previous == "1704070800"),
        "{error:?}"
    );
}

#[test]
fn missing_column_names_accepted_layouts() {
    let error = stratbox::data::parse_candles(b"time,open,high,low,close\n1,1,1,1,1\n").unwrap_err();
    assert!(matches!(&error, CandleError::MissingColumn { column: "timestamp", found } if found == "time,open,high,low,close"), "{error:?}");
    assert!(error.to_string().contains("timestamp,open,high,low,close,volume"), "{error}");
}

#[test]
fn short_row_names_its_line() {
    let error = stratbox::data::parse_candles(
        b"timestamp,open,high,low,close,volume\n1704067200,1,1,1,1,1\n1704070800,1,1\n",
    )
    .unwrap_err();
    assert!(matches!(error, CandleError::Malformed { line: 3, .. }), "{error:?}");
}

#[test]
fn duplicate_column_is_rejected() {
    let error = stratbox::data::parse_candles(b"timestamp,open,high,low,close,close,volume\n0,1,1,1,1,1,1\n").unwrap_err();
    assert!(matches!(&error, CandleError::DuplicateColumn { column, count: 2, .. } if column == "close"), "{error:?}");
}

#[test]
fn two_time_columns_are_rejected() {
    let error =
        stratbox::data::parse_candles(b"timestamp,open_time,open,high,low,close,volume\n0,0,1,1,1,1,1\n").unwrap_err();
    assert!(matches!(&error, CandleError::AmbiguousTimeColumn { .. }), "{error:?}");
}

#[test]
fn implausible_price_is_rejected() {
    let error = stratbox::data::parse_candles(
        b"timestamp,open,high,low,close,volume\n1704067200,100,1e308,90,105,1\n1704070800,1,1,1,1,1\n",
    )
    .unwrap_err();
    assert_eq!(error, CandleError::ImplausiblePrice { line: 2, column: "high", value: 1e308 });
}

#[test]
fn time_before_1970_is_rejected() {
    let error = stratbox::data::parse_candles(
        b"timestamp,open,high,low,close,volume\n0001-01-01T00:00:00Z,1,1,1,1,1\n1704070800,1,1,1,1,1\n",
    )
    .unwrap_err();
    assert!(matches!(error, CandleError::TimestampBeforeEpoch { line: 2, .. }), "{error:?}");
}

#[test]
fn invalid_utf8_names_line_and_fix() {
    let error = stratbox::data::parse_candles(
        b"timestamp,open,high,low,close,volume\n1704067200,1,1,1,1,1\n1704070800,\xff,1,1,1,1\n",
    )
    .unwrap_err();
    assert!(matches!(&error, CandleError::Malformed { line: 3, message } if message.contains("save the file as UTF-8")), "{error:?}");
}
