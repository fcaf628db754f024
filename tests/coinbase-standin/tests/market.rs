//! Products, candles, best bid and ask, the candle CSV reader, and the binary's start-up.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{SERIES_START, TestKey, start};
use serde_json::{Value, json};

#[tokio::test]
async fn product_reports_increments_as_strings() {
    let harness = start().await;
    let product = harness.get_json("/products/BTC-USD").await;
    assert_eq!(product["base_increment"], "0.00000001");
    assert_eq!(product["quote_increment"], "0.01");
    assert_eq!(product["price_increment"], "0.01");
    assert_eq!(product["base_min_size"], "0.00000001");
    assert_eq!(product["quote_min_size"], "1");
    assert_eq!(product["status"], "online");
    assert_eq!(product["trading_disabled"], false);
    assert_eq!(product["price"], "50000");

    let public = harness
        .http
        .get(format!(
            "{}/api/v3/brokerage/market/products/XRP-BTC",
            harness.standin.base_url()
        ))
        .send()
        .await
        .expect("GET reaches the stand-in");
    assert_eq!(public.status(), 200, "the market route needs no JWT");
    let xrp: Value = public.json().await.expect("JSON body");
    assert_eq!(xrp["base_increment"], "1");
    assert_eq!(xrp["price_increment"], "0.00000001");

    let products = harness.get_json("/products").await;
    assert_eq!(
        products["products"]
            .as_array()
            .expect("products array")
            .len(),
        2
    );
    assert_eq!(harness.get("/products/NOPE-USD").await.status(), 404);
}

#[tokio::test]
async fn candles_aggregate_newest_first() {
    let harness = start().await;
    harness
        .admin_post("/admin/advance", &json!({"candles": 9}))
        .await;
    let end = SERIES_START + 600;
    let one_minute = harness
        .get_json(&format!(
            "/products/BTC-USD/candles?start={SERIES_START}&end={end}&granularity=ONE_MINUTE"
        ))
        .await;
    let candles = one_minute["candles"].as_array().expect("candles array");
    assert_eq!(candles.len(), 10);
    assert_eq!(
        candles[0]["start"],
        (SERIES_START + 540).to_string(),
        "newest first"
    );

    let five_minute = harness
        .get_json(&format!(
            "/products/BTC-USD/candles?start={SERIES_START}&end={end}&granularity=FIVE_MINUTE"
        ))
        .await;
    let candles = five_minute["candles"].as_array().expect("candles array");
    assert_eq!(candles.len(), 2);
    let older = &candles[1];
    assert_eq!(older["start"], SERIES_START.to_string());
    assert_eq!(older["open"], "50000");
    assert_eq!(older["high"], "50300");
    assert_eq!(older["low"], "49400");
    assert_eq!(older["close"], "50200");
    assert_eq!(older["volume"], "12.5");
}

#[tokio::test]
async fn candles_hide_future_of_replay() {
    let harness = start().await;
    let end = SERIES_START + 600;
    let response = harness
        .http
        .get(format!(
            "{}/api/v3/brokerage/market/products/BTC-USD/candles?start={SERIES_START}&end={end}&granularity=ONE_MINUTE",
            harness.standin.base_url()
        ))
        .send()
        .await
        .expect("GET reaches the stand-in");
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(
        body["candles"].as_array().expect("candles array").len(),
        1,
        "only the current candle"
    );
}

#[tokio::test]
async fn candles_over_350_rejected() {
    let harness = start().await;
    let end = SERIES_START + 351 * 60;
    let too_many = harness
        .get(&format!(
            "/products/BTC-USD/candles?start={SERIES_START}&end={end}&granularity=ONE_MINUTE"
        ))
        .await;
    assert_eq!(too_many.status(), 400);
    let bad_granularity = harness
        .get(&format!(
            "/products/BTC-USD/candles?start={SERIES_START}&end={end}&granularity=TEN_MINUTE"
        ))
        .await;
    assert_eq!(bad_granularity.status(), 400);
}

#[tokio::test]
async fn best_bid_ask_straddles_price() {
    let harness = start().await;
    let body = harness.get_json("/best_bid_ask?product_ids=BTC-USD").await;
    let book = &body["pricebooks"][0];
    assert_eq!(book["product_id"], "BTC-USD");
    assert_eq!(book["bids"][0]["price"], "49999.99");
    assert_eq!(book["asks"][0]["price"], "50000.01");
}

#[tokio::test]
async fn accounts_show_hold() {
    let harness = start().await;
    harness
        .create_order("c-hold", "SELL", json!({"limit_limit_gtc": {"base_size": "0.25", "limit_price": "60000.00", "post_only": false}}))
        .await;
    let body = harness.get_json("/accounts").await;
    assert_eq!(body["has_next"], false);
    let btc = body["accounts"]
        .as_array()
        .expect("accounts array")
        .iter()
        .find(|account| account["currency"] == "BTC")
        .expect("BTC account")
        .clone();
    assert_eq!(
        btc["available_balance"],
        json!({"value": "0.75", "currency": "BTC"})
    );
    assert_eq!(btc["hold"], json!({"value": "0.25", "currency": "BTC"}));
}

#[test]
fn candle_csv_reads_rows() {
    let csv = "timestamp,open,high,low,close,volume\n1700000000,10,12,9,11,5\n\n1700000060,11,11.5,10.5,11,3\n";
    let candles = coinbase_standin::parse_candle_csv(csv).expect("valid CSV");
    assert_eq!(candles.len(), 2);
    assert_eq!(candles[1].start, 1_700_000_060);
}

#[test]
fn candle_csv_names_bad_line() {
    let cases = [
        (
            "timestamp,open,high,low,close,volume\n1700000000,10,12,9,11,5\n1700000060,10,8,9,9,5\n",
            "line 3",
        ),
        (
            "timestamp,open,high,low,close,volume\n1700000000,10,12,9,eleven,5\n",
            "line 2",
        ),
        (
            "timestamp,open,high,low,close,volume\n1700000000,10,12,9,11\n",
            "line 2",
        ),
        (
            "timestamp,open,high,low,close,volume\n1700000060,10,12,9,11,5\n1700000000,10,12,9,11,5\n",
            "line 3",
        ),
        ("time,o,h,l,c,v\n", "line 1"),
    ];
    for (csv, line) in cases {
        let error = coinbase_standin::parse_candle_csv(csv).expect_err("invalid CSV");
        assert!(error.to_string().starts_with(line), "{error} names {line}");
    }
}

fn write_temp(name: &str, contents: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("coinbase-standin-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).expect("temp file written");
    path
}

#[test]
fn binary_prints_address_first() {
    let key = write_temp("key.pem", &TestKey::eddsa(9).public_key_pem());
    let candles = write_temp(
        "candles.csv",
        "timestamp,open,high,low,close,volume\n1700000000,10,12,9,11,5\n",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_coinbase-standin"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--key-name",
            common::KEY_NAME,
            "--fault-rate-limit",
            "1",
        ])
        .arg("--public-key")
        .arg(&key)
        .arg("--candles")
        .arg(&candles)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let mut first_line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut first_line)
        .expect("first line read");
    child.kill().expect("binary killed");
    child.wait().expect("binary reaped");
    let _ = std::fs::remove_file(&key);
    let _ = std::fs::remove_file(&candles);

    let address = first_line
        .trim()
        .strip_prefix("listening on 127.0.0.1:")
        .unwrap_or_else(|| panic!("first line {first_line:?}"));
    assert!(
        address.parse::<u16>().is_ok_and(|port| port > 0),
        "port in {first_line:?}"
    );
}

#[test]
fn binary_rejects_non_loopback_listen() {
    let key = write_temp("key-remote.pem", &TestKey::es256(9).public_key_pem());
    let candles = write_temp(
        "candles-remote.csv",
        "timestamp,open,high,low,close,volume\n1700000000,10,12,9,11,5\n",
    );
    let output = Command::new(env!("CARGO_BIN_EXE_coinbase-standin"))
        .args(["--listen", "0.0.0.0:0", "--key-name", common::KEY_NAME])
        .arg("--public-key")
        .arg(&key)
        .arg("--candles")
        .arg(&candles)
        .output()
        .expect("binary runs");
    let _ = std::fs::remove_file(&key);
    let _ = std::fs::remove_file(&candles);

    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "nothing listened");
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a loopback address"));
}
