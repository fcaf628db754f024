//! Injected REST faults, each observed as configured, and path-prefix targeting.

mod common;

use std::time::{Duration, Instant};

use common::start;
use serde_json::json;

async fn arm(harness: &common::Harness, faults: serde_json::Value) {
    let response = harness.admin_post("/admin/faults", &faults).await;
    assert_eq!(response.status(), 200, "faults {faults} armed");
}

#[tokio::test]
async fn rate_limit_answers_429_html_then_recovers() {
    let harness = start().await;
    arm(&harness, json!({"rate_limit_count": 2})).await;
    for attempt in 0..2 {
        let response = harness.get("/accounts").await;
        assert_eq!(response.status(), 429, "attempt {attempt}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .expect("ASCII header")
            .to_string();
        assert!(
            content_type.starts_with("text/html"),
            "content type {content_type}"
        );
        assert!(
            response
                .text()
                .await
                .expect("text body")
                .starts_with("<html>")
        );
    }
    assert_eq!(harness.get("/accounts").await.status(), 200);
}

#[tokio::test]
async fn server_error_answers_500_html() {
    let harness = start().await;
    arm(&harness, json!({"server_error_count": 1})).await;
    let response = harness.get("/accounts").await;
    assert_eq!(response.status(), 500);
    assert!(
        response
            .text()
            .await
            .expect("text body")
            .contains("Internal Server Error")
    );
    assert_eq!(harness.get("/accounts").await.status(), 200);
}

#[tokio::test]
async fn delay_holds_response() {
    let harness = start().await;
    arm(&harness, json!({"delay_count": 1, "delay_ms": 300})).await;
    let started = Instant::now();
    assert_eq!(harness.get("/accounts").await.status(), 200);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "delayed {:?}",
        started.elapsed()
    );

    let started = Instant::now();
    assert_eq!(harness.get("/accounts").await.status(), 200);
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "second request is not delayed"
    );
}

#[tokio::test]
async fn unauthorized_fault_answers_401() {
    let harness = start().await;
    arm(&harness, json!({"unauthorized_count": 1})).await;
    let response = harness.get("/accounts").await;
    assert_eq!(response.status(), 401);
    assert_eq!(response.text().await.expect("text body"), "Unauthorized");
    assert_eq!(harness.get("/accounts").await.status(), 200);
}

#[tokio::test]
async fn dropped_order_response_still_places_order() {
    let harness = start().await;
    arm(&harness, json!({"drop_order_response_count": 1})).await;
    let body = json!({
        "client_order_id": "c-dropped",
        "product_id": "BTC-USD",
        "side": "BUY",
        "order_configuration": {"market_market_ioc": {"base_size": "0.01"}},
    });
    let outcome = harness.try_post("/orders", &body).await;
    assert!(
        outcome.is_err(),
        "the connection closes without a response: {outcome:?}"
    );

    let orders = harness
        .get_json("/orders/historical/batch?client_order_id=c-dropped")
        .await;
    assert_eq!(
        orders["orders"].as_array().expect("orders array").len(),
        1,
        "the order was placed"
    );
    let received = harness.admin_get("/admin/received").await;
    assert_eq!(received["orders_by_client_order_id"]["c-dropped"], 1);

    let next = harness
        .try_post(
            "/orders",
            &json!({
                "client_order_id": "c-after",
                "product_id": "BTC-USD",
                "side": "BUY",
                "order_configuration": {"market_market_ioc": {"base_size": "0.01"}},
            }),
        )
        .await
        .expect("the next order gets a response");
    assert_eq!(next.status(), 200);
}

#[tokio::test]
async fn path_prefix_limits_fault_to_matching_paths() {
    let harness = start().await;
    arm(
        &harness,
        json!({"server_error_count": 1, "path_prefix": "/api/v3/brokerage/orders"}),
    )
    .await;
    assert_eq!(
        harness.get("/accounts").await.status(),
        200,
        "accounts is outside the prefix"
    );
    assert_eq!(harness.get("/orders/historical/batch").await.status(), 500);
    assert_eq!(harness.get("/orders/historical/batch").await.status(), 200);
}

#[tokio::test]
async fn clear_disarms_faults() {
    let harness = start().await;
    arm(&harness, json!({"rate_limit_count": 5})).await;
    arm(&harness, json!({"clear": true})).await;
    assert_eq!(harness.get("/accounts").await.status(), 200);
}

#[tokio::test]
async fn unknown_fault_field_answers_400() {
    let harness = start().await;
    let response = harness
        .admin_post("/admin/faults", &json!({"rate_limit": 1}))
        .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn admin_routes_ignore_faults() {
    let harness = start().await;
    arm(&harness, json!({"server_error_count": 3})).await;
    let state = harness.admin_get("/admin/state").await;
    assert_eq!(state["candle_index"], 0);
}
