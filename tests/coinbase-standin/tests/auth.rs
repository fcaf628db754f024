//! JWT verification over real HTTP: accepted tokens, each defect rejected with 401, key rotation.

mod common;

use common::{KEY_NAME, TestKey, start, start_with, token_parts, unix_now};
use serde_json::json;

const ACCOUNTS_PATH: &str = "/api/v3/brokerage/accounts";

async fn status_with_token(harness: &common::Harness, token: &str) -> (u16, String) {
    let response = harness
        .http
        .get(format!("{}{ACCOUNTS_PATH}", harness.standin.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET reaches the stand-in");
    let status = response.status().as_u16();
    (status, response.text().await.expect("text body"))
}

#[tokio::test]
async fn es256_jwt_accepted() {
    let harness = start_with(TestKey::es256(3)).await;
    let response = harness.get("/accounts").await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn eddsa_jwt_accepted() {
    let harness = start_with(TestKey::eddsa(4)).await;
    let response = harness.get("/accounts").await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn jwt_defects_rejected_with_401() {
    let harness = start().await;
    let uri = format!("GET {}{ACCOUNTS_PATH}", harness.host());
    let now = unix_now();
    let (header, claims) = token_parts(&harness.key, Some(&uri));

    let mut cases = Vec::new();
    let mut wrong_alg = header.clone();
    wrong_alg["alg"] = json!("EdDSA");
    cases.push((
        "alg EdDSA on a P-256 key",
        harness.key.sign(&wrong_alg, &claims),
    ));
    let mut none_alg = header.clone();
    none_alg["alg"] = json!("none");
    cases.push(("alg none", harness.key.sign(&none_alg, &claims)));
    let mut wrong_kid = header.clone();
    wrong_kid["kid"] = json!("organizations/org-1/apiKeys/other");
    cases.push(("wrong kid", harness.key.sign(&wrong_kid, &claims)));

    let mut claim_cases = Vec::new();
    claim_cases.push((
        "sub differs from kid",
        "sub",
        json!("organizations/org-1/apiKeys/other"),
    ));
    claim_cases.push(("wrong iss", "iss", json!("coinbase-cloud")));
    claim_cases.push(("expired", "exp", json!(now - 1)));
    claim_cases.push(("nbf in the future", "nbf", json!(now + 60)));
    claim_cases.push(("lifetime over 120 s", "exp", json!(now + 600)));
    claim_cases.push((
        "wrong uri host",
        "uri",
        json!(format!("GET api.coinbase.com{ACCOUNTS_PATH}")),
    ));
    claim_cases.push((
        "wrong uri method",
        "uri",
        json!(format!("POST {}{ACCOUNTS_PATH}", harness.host())),
    ));
    claim_cases.push(("uri with query", "uri", json!(format!("{uri}?limit=1"))));
    for (name, field, value) in claim_cases {
        let mut changed = claims.clone();
        changed[field] = value;
        cases.push((name, harness.key.sign(&header, &changed)));
    }
    let mut no_uri = claims.clone();
    no_uri.as_object_mut().expect("claims object").remove("uri");
    cases.push(("missing uri", harness.key.sign(&header, &no_uri)));

    let other_key = TestKey::es256(99);
    cases.push(("signature by another key", other_key.sign(&header, &claims)));
    let good = harness.key.sign(&header, &claims);
    let (signed, _) = good.rsplit_once('.').expect("three segments");
    cases.push(("signature truncated", format!("{signed}.AAAA")));
    cases.push(("not a JWT", "not-a-jwt".to_string()));

    for (name, token) in &cases {
        let (status, body) = status_with_token(&harness, token).await;
        assert_eq!(status, 401, "case {name:?} got status {status}");
        assert_eq!(body, "Unauthorized", "case {name:?}");
    }

    let (status, _) = status_with_token(&harness, &good).await;
    assert_eq!(status, 200, "the unchanged token is accepted");
}

#[tokio::test]
async fn missing_authorization_rejected() {
    let harness = start().await;
    let response = harness
        .http
        .get(format!("{}{ACCOUNTS_PATH}", harness.standin.base_url()))
        .send()
        .await
        .expect("GET reaches the stand-in");
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn public_time_needs_no_jwt() {
    let harness = start().await;
    let response = harness
        .http
        .get(format!(
            "{}/api/v3/brokerage/time",
            harness.standin.base_url()
        ))
        .send()
        .await
        .expect("GET reaches the stand-in");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("JSON body");
    let seconds: i64 = body["epochSeconds"]
        .as_str()
        .expect("epochSeconds string")
        .parse()
        .expect("integer");
    assert!(
        (seconds - unix_now()).abs() <= 2,
        "epochSeconds {seconds} is near now"
    );
    assert!(body["epochMillis"].is_string());
    assert!(body["iso"].as_str().expect("iso string").ends_with('Z'));
}

#[tokio::test]
async fn get_with_empty_json_body_accepted() {
    let harness = start().await;
    let token = harness.jwt("GET", ACCOUNTS_PATH);
    let response = harness
        .http
        .get(format!("{}{ACCOUNTS_PATH}", harness.standin.base_url()))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("GET reaches the stand-in");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn admin_keys_rotation_switches_key() {
    let mut harness = start().await;
    let new_key = TestKey::eddsa(11);
    let rotated_name = "organizations/org-1/apiKeys/key-2";
    let response = harness
        .admin_post(
            "/admin/keys",
            &json!({"key_name": rotated_name, "public_keys_pem": [new_key.public_key_pem()]}),
        )
        .await;
    assert_eq!(response.status(), 200);

    let old = harness.get("/accounts").await;
    assert_eq!(old.status(), 401, "the old key is no longer accepted");

    harness.key = new_key;
    let uri = format!("GET {}{ACCOUNTS_PATH}", harness.host());
    let (mut header, mut claims) = token_parts(&harness.key, Some(&uri));
    header["kid"] = json!(rotated_name);
    claims["sub"] = json!(rotated_name);
    let token = harness.key.sign(&header, &claims);
    let (status, _) = status_with_token(&harness, &token).await;
    assert_eq!(status, 200, "the rotated key is accepted");
    assert_ne!(KEY_NAME, rotated_name);
}

#[tokio::test]
async fn admin_keys_rejects_bad_pem() {
    let harness = start().await;
    let response = harness
        .admin_post(
            "/admin/keys",
            &json!({"key_name": KEY_NAME, "public_keys_pem": ["not a key"]}),
        )
        .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn key_permissions_reported() {
    let harness = start().await;
    let body = harness.get_json("/key_permissions").await;
    assert_eq!(body["can_view"], true);
    assert_eq!(body["can_trade"], true);
    assert_eq!(body["can_transfer"], false);
    assert!(body["portfolio_uuid"].is_string());
}

#[test]
fn parse_public_key_pem_reads_both_key_types() {
    for key in [TestKey::es256(5), TestKey::eddsa(6)] {
        let parsed =
            coinbase_standin::parse_public_key_pem(&key.public_key_pem()).expect("valid PEM");
        let same_type = matches!(
            (&key, parsed),
            (
                TestKey::Es256(_),
                coinbase_standin::VerifyingKey::EcdsaP256(_)
            ) | (
                TestKey::EdDsa(_),
                coinbase_standin::VerifyingKey::Ed25519(_)
            )
        );
        assert!(same_type, "{} key parsed as its own type", key.alg());
    }
    assert!(
        coinbase_standin::parse_public_key_pem(
            "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n"
        )
        .is_err()
    );
}

/// Signers such as Python's `cryptography` do not normalize S, so both forms must verify.
#[tokio::test]
async fn es256_high_s_signature_accepted() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    let harness = start().await;
    let token = harness.jwt("GET", ACCOUNTS_PATH);
    let (signed, signature) = token.rsplit_once('.').expect("three segments");
    let signature =
        p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).expect("base64url"))
            .expect("64-byte signature");
    let (r, s) = signature.split_scalars();
    let negated = p256::ecdsa::Signature::from_scalars(r, -s).expect("valid scalars");
    // `normalize_s` returns `Some` only for a signature whose S is high.
    let high_s = if signature.normalize_s().is_some() {
        signature
    } else {
        negated
    };
    assert!(high_s.normalize_s().is_some(), "signature has a high S");

    let token = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(high_s.to_bytes()));
    let (status, _) = status_with_token(&harness, &token).await;
    assert_eq!(status, 200);
}
