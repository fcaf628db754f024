//! Order entry, matching, balances and order queries over real HTTP.

mod common;

use common::{decimal, start};
use serde_json::{Value, json};

fn market_base(size: &str) -> Value {
    json!({"market_market_ioc": {"base_size": size}})
}

fn limit_gtc(size: &str, price: &str, post_only: bool) -> Value {
    json!({"limit_limit_gtc": {"base_size": size, "limit_price": price, "post_only": post_only}})
}

fn rejection_reason(response: &Value) -> &str {
    assert_eq!(response["success"], false, "order was rejected: {response}");
    response["error_response"]["error"]
        .as_str()
        .expect("error string")
}

#[tokio::test]
async fn market_buy_fills_and_moves_balances() {
    let harness = start().await;
    let response = harness
        .create_order("c-market-1", "BUY", market_base("0.1"))
        .await;
    assert_eq!(response["success"], true, "{response}");
    assert_eq!(response["failure_reason"], "UNKNOWN_FAILURE_REASON");
    assert_eq!(
        response["success_response"]["client_order_id"],
        "c-market-1"
    );
    assert_eq!(response["success_response"]["product_id"], "BTC-USD");
    assert_eq!(response["success_response"]["side"], "BUY");
    let order_id = response["success_response"]["order_id"]
        .as_str()
        .expect("order id")
        .to_string();

    let order = harness
        .get_json(&format!("/orders/historical/{order_id}"))
        .await;
    let order = &order["order"];
    assert_eq!(order["status"], "FILLED");
    assert_eq!(order["filled_size"], "0.1");
    assert_eq!(order["average_filled_price"], "50000");
    assert_eq!(order["total_fees"], "30");
    assert_eq!(order["time_in_force"], "IMMEDIATE_OR_CANCEL");

    let fills = harness
        .get_json(&format!("/orders/historical/fills?order_ids={order_id}"))
        .await;
    let fills = fills["fills"].as_array().expect("fills array");
    assert_eq!(fills.len(), 1);
    assert_eq!(fills[0]["liquidity_indicator"], "TAKER");
    assert_eq!(fills[0]["price"], "50000");
    assert_eq!(fills[0]["commission"], "30");

    assert_eq!(harness.available("USD").await, decimal("4970"));
    assert_eq!(harness.available("BTC").await, decimal("1.1"));
}

#[tokio::test]
async fn market_buy_by_quote_size() {
    let harness = start().await;
    let response = harness
        .create_order(
            "c-quote",
            "BUY",
            json!({"market_market_ioc": {"quote_size": "1006.00"}}),
        )
        .await;
    assert_eq!(response["success"], true, "{response}");
    assert_eq!(harness.available("BTC").await, decimal("1.02"));
    assert_eq!(harness.available("USD").await, decimal("8994"));
}

#[tokio::test]
async fn limit_buy_fills_after_price_trades_through() {
    let harness = start().await;
    let response = harness
        .create_order("c-limit", "BUY", limit_gtc("0.1", "49600.00", false))
        .await;
    assert_eq!(response["success"], true, "{response}");
    let order_id = response["success_response"]["order_id"]
        .as_str()
        .expect("order id")
        .to_string();
    assert_eq!(
        harness.available("USD").await,
        decimal("5010.24"),
        "hold includes the taker fee"
    );

    let advanced = harness
        .admin_post("/admin/advance", &json!({"candles": 2}))
        .await;
    assert_eq!(advanced.status(), 200);
    let order = harness
        .get_json(&format!("/orders/historical/{order_id}"))
        .await;
    assert_eq!(
        order["order"]["status"], "OPEN",
        "lows 49990 and 49700 stay above 49600"
    );

    harness
        .admin_post("/admin/advance", &json!({"candles": 1}))
        .await;
    let order = harness
        .get_json(&format!("/orders/historical/{order_id}"))
        .await;
    assert_eq!(
        order["order"]["status"], "FILLED",
        "low 49400 trades through 49600"
    );
    assert_eq!(order["order"]["average_filled_price"], "49600");

    let fills = harness
        .get_json(&format!("/orders/historical/fills?order_ids={order_id}"))
        .await;
    assert_eq!(fills["fills"][0]["liquidity_indicator"], "MAKER");
    assert_eq!(fills["fills"][0]["commission"], "19.84");
    assert_eq!(harness.available("USD").await, decimal("5020.16"));
    assert_eq!(harness.available("BTC").await, decimal("1.1"));

    let state = harness.admin_get("/admin/state").await;
    assert_eq!(state["candle_index"], 3);
    assert_eq!(
        state["open_orders"].as_array().expect("open orders").len(),
        0
    );
}

#[tokio::test]
async fn post_only_crossing_rejected() {
    let harness = start().await;
    let response = harness
        .create_order("c-post", "BUY", limit_gtc("0.1", "50000.00", true))
        .await;
    assert_eq!(rejection_reason(&response), "INVALID_LIMIT_PRICE_POST_ONLY");
    assert_eq!(
        response["error_response"]["preview_failure_reason"],
        "PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY"
    );

    let resting = harness
        .create_order("c-post-ok", "BUY", limit_gtc("0.1", "49999.99", true))
        .await;
    assert_eq!(
        resting["success"], true,
        "a post-only order below the price rests"
    );
}

#[tokio::test]
async fn precision_errors_rejected() {
    let harness = start().await;
    let size = harness
        .create_order("c-size", "BUY", market_base("0.000000001"))
        .await;
    assert_eq!(rejection_reason(&size), "INVALID_SIZE_PRECISION");
    let price = harness
        .create_order("c-price", "BUY", limit_gtc("0.1", "49000.001", false))
        .await;
    assert_eq!(rejection_reason(&price), "INVALID_PRICE_PRECISION");
    let quote = harness
        .create_order(
            "c-quote",
            "BUY",
            json!({"market_market_ioc": {"quote_size": "10.001"}}),
        )
        .await;
    assert_eq!(rejection_reason(&quote), "INVALID_SIZE_PRECISION");
}

#[tokio::test]
async fn insufficient_funds_rejected() {
    let harness = start().await;
    let response = harness.create_order("c-big", "BUY", market_base("1")).await;
    assert_eq!(rejection_reason(&response), "INSUFFICIENT_FUND");
    let sell = harness
        .create_order("c-big-sell", "SELL", limit_gtc("2", "60000.00", false))
        .await;
    assert_eq!(rejection_reason(&sell), "INSUFFICIENT_FUND");
    assert_eq!(
        harness.available("USD").await,
        decimal("10000"),
        "a rejected order holds nothing"
    );
}

#[tokio::test]
async fn unsupported_and_invalid_orders_rejected() {
    let harness = start().await;
    let fok = harness
        .create_order(
            "c-fok",
            "BUY",
            json!({"limit_limit_fok": {"base_size": "0.1", "limit_price": "50000.00"}}),
        )
        .await;
    assert_eq!(rejection_reason(&fok), "UNSUPPORTED_ORDER_CONFIGURATION");

    let two_keys = harness
        .create_order(
            "c-two",
            "BUY",
            json!({"market_market_ioc": {"base_size": "0.1"}, "limit_limit_gtc": {}}),
        )
        .await;
    assert_eq!(
        rejection_reason(&two_keys),
        "UNSUPPORTED_ORDER_CONFIGURATION"
    );

    let small = harness
        .create_order(
            "c-small",
            "BUY",
            json!({"market_market_ioc": {"quote_size": "0.50"}}),
        )
        .await;
    assert_eq!(rejection_reason(&small), "INVALID_QUOTE_SIZE_TOO_SMALL");

    let body = json!({
        "client_order_id": "c-product",
        "product_id": "DOGE-EUR",
        "side": "BUY",
        "order_configuration": market_base("1"),
    });
    let unknown = harness.post_json("/orders", &body).await;
    assert_eq!(rejection_reason(&unknown), "INVALID_PRODUCT_ID");
}

#[tokio::test]
async fn malformed_order_body_answers_400() {
    let harness = start().await;
    for body in [
        json!({"product_id": "BTC-USD"}),
        json!("not an object"),
        json!({
            "client_order_id": "c-number", "product_id": "BTC-USD", "side": "BUY",
            "order_configuration": {"market_market_ioc": {"base_size": 0.1}},
        }),
    ] {
        let response = harness
            .try_post("/orders", &body)
            .await
            .expect("POST reaches the stand-in");
        assert_eq!(response.status(), 400, "body {body}");
        let error: Value = response.json().await.expect("JSON error");
        assert_eq!(error["error"], "INVALID_ARGUMENT");
    }
}

#[tokio::test]
async fn cancel_releases_hold() {
    let harness = start().await;
    let response = harness
        .create_order("c-cancel", "SELL", limit_gtc("0.5", "60000.00", false))
        .await;
    let order_id = response["success_response"]["order_id"]
        .as_str()
        .expect("order id")
        .to_string();
    assert_eq!(harness.available("BTC").await, decimal("0.5"));

    let cancel = harness
        .post_json(
            "/orders/batch_cancel",
            &json!({"order_ids": [order_id, "no-such-order"]}),
        )
        .await;
    assert_eq!(cancel["results"][0]["success"], true);
    assert_eq!(cancel["results"][1]["success"], false);
    assert_eq!(
        cancel["results"][1]["failure_reason"],
        "UNKNOWN_CANCEL_ORDER"
    );
    assert_eq!(harness.available("BTC").await, decimal("1"));

    let again = harness
        .post_json("/orders/batch_cancel", &json!({"order_ids": [order_id]}))
        .await;
    assert_eq!(
        again["results"][0]["failure_reason"],
        "INVALID_CANCEL_REQUEST"
    );
    let order = harness
        .get_json(&format!("/orders/historical/{order_id}"))
        .await;
    assert_eq!(order["order"]["status"], "CANCELLED");
}

#[tokio::test]
async fn list_orders_filters_and_pages() {
    let harness = start().await;
    harness
        .create_order("c-a", "BUY", market_base("0.01"))
        .await;
    harness
        .create_order("c-b", "SELL", limit_gtc("0.01", "60000.00", false))
        .await;
    harness
        .create_order("c-c", "SELL", limit_gtc("0.01", "61000.00", false))
        .await;

    let open = harness
        .get_json("/orders/historical/batch?order_status=OPEN&product_ids=BTC-USD")
        .await;
    let open = open["orders"].as_array().expect("orders array");
    assert_eq!(open.len(), 2);
    assert_eq!(open[0]["client_order_id"], "c-c", "newest first");

    let by_client = harness
        .get_json("/orders/historical/batch?client_order_id=c-a")
        .await;
    assert_eq!(
        by_client["orders"].as_array().expect("orders array").len(),
        1
    );
    assert_eq!(by_client["orders"][0]["status"], "FILLED");

    let first_page = harness.get_json("/orders/historical/batch?limit=2").await;
    assert_eq!(first_page["has_next"], true);
    let cursor = first_page["cursor"].as_str().expect("cursor string");
    let second_page = harness
        .get_json(&format!("/orders/historical/batch?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(
        second_page["orders"]
            .as_array()
            .expect("orders array")
            .len(),
        1
    );
    assert_eq!(second_page["has_next"], false);

    let future = harness
        .get_json("/orders/historical/batch?start_date=2999-01-01T00:00:00Z")
        .await;
    assert_eq!(future["orders"].as_array().expect("orders array").len(), 0);
    let bad_date = harness
        .get("/orders/historical/batch?start_date=yesterday")
        .await;
    assert_eq!(bad_date.status(), 400);

    let missing = harness.get("/orders/historical/no-such-order").await;
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn received_counts_orders_per_client_order_id() {
    let harness = start().await;
    harness
        .create_order("c-repeat", "BUY", market_base("0.01"))
        .await;
    harness
        .create_order("c-repeat", "BUY", market_base("0.01"))
        .await;
    harness
        .create_order("c-once", "BUY", market_base("0.01"))
        .await;
    harness
        .create_order("c-rejected", "BUY", market_base("5"))
        .await;

    let received = harness.admin_get("/admin/received").await;
    let orders = &received["orders_by_client_order_id"];
    assert_eq!(orders["c-repeat"], 2);
    assert_eq!(orders["c-once"], 1);
    assert!(
        orders.get("c-rejected").is_none(),
        "a rejected order is not counted"
    );
    assert_eq!(received["requests_by_path"]["/api/v3/brokerage/orders"], 4);
}

#[tokio::test]
async fn gtd_order_rests_until_end_time() {
    let harness = start().await;
    let past = json!({"limit_limit_gtd": {"base_size": "0.1", "limit_price": "40000.00", "end_time": "2020-01-01T00:00:00Z", "post_only": false}});
    let rejected = harness.create_order("c-gtd-past", "BUY", past).await;
    assert_eq!(rejection_reason(&rejected), "INVALID_END_TIME");

    let end_time = chrono::Utc::now() + chrono::Duration::milliseconds(300);
    let soon = json!({"limit_limit_gtd": {"base_size": "0.1", "limit_price": "40000.00", "end_time": end_time.to_rfc3339(), "post_only": false}});
    let response = harness.create_order("c-gtd", "BUY", soon).await;
    let order_id = response["success_response"]["order_id"]
        .as_str()
        .expect("order id")
        .to_string();
    let order = harness
        .get_json(&format!("/orders/historical/{order_id}"))
        .await;
    assert_eq!(order["order"]["time_in_force"], "GOOD_UNTIL_DATE_TIME");
    assert_eq!(order["order"]["status"], "OPEN");

    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    harness
        .admin_post("/admin/advance", &json!({"candles": 1}))
        .await;
    let order = harness
        .get_json(&format!("/orders/historical/{order_id}"))
        .await;
    assert_eq!(order["order"]["status"], "EXPIRED");
    assert_eq!(
        harness.available("USD").await,
        common::decimal("10000"),
        "the hold is released"
    );
}

#[tokio::test]
async fn ioc_limit_that_does_not_cross_cancelled() {
    let harness = start().await;
    let response = harness
        .create_order(
            "c-ioc",
            "BUY",
            json!({"sor_limit_ioc": {"base_size": "0.1", "limit_price": "40000.00"}}),
        )
        .await;
    let order_id = response["success_response"]["order_id"]
        .as_str()
        .expect("order id")
        .to_string();
    let order = harness
        .get_json(&format!("/orders/historical/{order_id}"))
        .await;
    assert_eq!(order["order"]["status"], "CANCELLED");
    assert_eq!(harness.available("USD").await, common::decimal("10000"));
}

#[tokio::test]
async fn view_only_key_cannot_trade() {
    let key = common::TestKey::es256(7);
    let mut config = coinbase_standin::StandinConfig::with_defaults(
        common::KEY_NAME,
        vec![key.verifying_key()],
        common::test_candles(),
    );
    config.permissions.can_trade = false;
    let harness = common::start_config(config, key).await;
    let response = harness
        .try_post(
            "/orders",
            &json!({
                "client_order_id": "c-view",
                "product_id": "BTC-USD",
                "side": "BUY",
                "order_configuration": market_base("0.01"),
            }),
        )
        .await
        .expect("POST reaches the stand-in");
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(body["error_details"], "Missing required scopes");
}

#[tokio::test]
async fn tick_advances_replay_on_timer() {
    let key = common::TestKey::es256(7);
    let mut config = coinbase_standin::StandinConfig::with_defaults(
        common::KEY_NAME,
        vec![key.verifying_key()],
        common::test_candles(),
    );
    config.tick = Some(std::time::Duration::from_millis(20));
    let harness = common::start_config(config, key).await;
    let mut index = 0;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        index = harness.admin_get("/admin/state").await["candle_index"]
            .as_u64()
            .expect("index");
        if index == 9 {
            break;
        }
    }
    assert_eq!(
        index, 9,
        "the timer reaches the last candle and stops there"
    );
}
