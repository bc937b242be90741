//! The public and portal HTTP API of a running demo gateway.

use gdpr_gateway::jose::{Curve, thumbprint};
use gdpr_gateway::store::ExportRecord;

use crate::common::{T0, TestGateway, assert_problem};

#[tokio::test]
async fn health_and_readiness() {
    let gw = TestGateway::demo().await;
    let health: serde_json::Value = gw.get("/healthz").send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let ready = gw.get("/readyz").send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<serde_json::Value>().await.unwrap()["status"], "ready");
}

#[tokio::test]
async fn jwks_publishes_public_signing_keys_only() {
    let gw = TestGateway::demo().await;
    let response = gw.get("/.well-known/jwks.json").send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/jwk-set+json");
    let text = response.text().await.unwrap();
    let jwks: serde_json::Value = serde_json::from_str(&text).unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str(), key["use"].as_str()),
        (Some("OKP"), Some("Ed25519"), Some("sig"))
    );
    assert!(key.get("d").is_none() && !text.contains("\"d\""));
    assert_eq!(key["kid"], thumbprint(Curve::Ed25519, key["x"].as_str().unwrap()));
    assert_eq!(key["kid"], gw.gateway.keyring().active_signing().kid());
}

#[tokio::test]
async fn discovery_carries_the_privacy_notice() {
    let gw = TestGateway::demo().await;
    let doc: serde_json::Value = gw.get("/.well-known/gdpr-gateway").send().await.unwrap().json().await.unwrap();
    assert_eq!(doc["id"], "https://demo.gdpr-gateway.example");
    assert_eq!(doc["endpoints"]["gateway"], format!("{}/v1", gw.url));
    assert_eq!(doc["endpoints"]["jwks_uri"], format!("{}/.well-known/jwks.json", gw.url));
    let enc = &doc["encryption_jwks"]["keys"][0];
    assert_eq!((enc["crv"].as_str(), enc["use"].as_str()), (Some("X25519"), Some("enc")));
    assert!(enc.get("d").is_none());

    let notice = &doc["privacy_notice"];
    assert_eq!(notice["controller"]["supervisory_authority"]["name"], "Autoriteit Persoonsgegevens");
    let categories = notice["categories"].as_array().unwrap();
    assert!(categories.len() >= 4);
    let by_id = |id: &str| categories.iter().find(|c| c["id"] == id).unwrap().clone();
    let medical = by_id("medical_priority");
    assert_eq!(medical["special_category"], true);
    assert_eq!(medical["art9_article"], "Art. 9(2)(a) GDPR");
    let payments = by_id("payments");
    assert_eq!(
        (payments["portable"].as_bool(), payments["legal_basis"].as_str()),
        (Some(false), Some("legal_obligation"))
    );
    assert_eq!(payments["retention"], "P7Y");
    assert_eq!(payments["retention_text"], "7 years");
    assert_eq!(by_id("contact")["legal_basis_article"], "Art. 6(1)(b) GDPR");
    assert!(by_id("contact")["source"].as_str().unwrap().starts_with("Customer administration"));

    let rights: Vec<&str> = notice["rights"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    for right in [
        "access",
        "rectification",
        "erasure",
        "restriction",
        "portability",
        "objection",
        "complaint",
        "withdraw_consent",
    ] {
        assert!(rights.contains(&right), "{right} missing from {rights:?}");
    }
    let portability = notice["rights"].as_array().unwrap().iter().find(|r| r["id"] == "portability").unwrap();
    let text = portability["description"].as_str().unwrap();
    assert!(text.contains("Contact details") && !text.contains("Invoices and payments"), "{text}");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let gw = TestGateway::demo().await;
    assert_problem(gw.get("/no/such/route").send().await.unwrap(), 404, "not_found").await;
    let post = reqwest::Client::new().post(format!("{}/healthz", gw.url)).send().await.unwrap();
    assert_problem(post, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn request_ids_are_adopted_when_sane_and_made_otherwise() {
    let gw = TestGateway::demo().await;
    let response = gw.get("/nope").header("x-request-id", "portal-req-42").send().await.unwrap();
    let body = assert_problem(response, 404, "not_found").await;
    assert_eq!(body["request_id"], "portal-req-42");
    let response = gw.get("/nope").header("x-request-id", "bad id\twith junk").send().await.unwrap();
    let body = assert_problem(response, 404, "not_found").await;
    assert_ne!(body["request_id"], "bad id\twith junk");
    assert_eq!(body["request_id"].as_str().unwrap().len(), 32);
}

#[tokio::test]
async fn portal_routes_require_a_valid_bearer_token() {
    let gw = TestGateway::demo().await;
    let path = "/v1/subjects/alice/exports";
    let missing = gw.get(path).send().await.unwrap();
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    assert_problem(missing, 401, "missing_bearer_token").await;
    let basic = gw.get(path).header("authorization", "Basic dXNlcjpwYXNz").send().await.unwrap();
    assert_problem(basic, 401, "missing_bearer_token").await;
    let empty = gw.get(path).header("authorization", "Bearer ").send().await.unwrap();
    assert_problem(empty, 401, "missing_bearer_token").await;
    let wrong = gw.get(path).bearer_auth("not-the-token").send().await.unwrap();
    assert_problem(wrong, 401, "invalid_bearer_token").await;
    let near = gw.get(path).bearer_auth(format!("{}x", gw.token)).send().await.unwrap();
    assert_problem(near, 401, "invalid_bearer_token").await;
    let huge = gw.get(path).bearer_auth("a".repeat(10_000)).send().await.unwrap();
    assert_problem(huge, 401, "invalid_bearer_token").await;
    let lower = gw.get(path).header("authorization", format!("bearer {}", gw.token)).send().await.unwrap();
    assert_eq!(lower.status(), 200);
    assert_eq!(gw.portal_get(path).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn export_register_lists_newest_first_with_validated_parameters() {
    let gw = TestGateway::demo().await;
    for (i, subject) in ["alice", "alice", "bob", "alice"].iter().enumerate() {
        let export = ExportRecord {
            id: format!("bundle-{i}"),
            client_id: "demo-portal".into(),
            subject_ref: (*subject).into(),
            purpose: "access".into(),
            format: "jwt".into(),
            categories: vec!["contact".into(), "payments".into()],
            kid: gw.gateway.keyring().active_signing().kid().into(),
            created_at: T0 + i as u64,
        };
        gw.gateway.record_export(&export).await.unwrap();
    }
    let list: serde_json::Value =
        gw.portal_get("/v1/subjects/alice/exports").send().await.unwrap().json().await.unwrap();
    let ids: Vec<&str> = list["exports"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["bundle-3", "bundle-1", "bundle-0"]);
    assert_eq!(list["exports"][0]["created_at"], "2026-11-22T00:00:03Z");
    assert_eq!(list["exports"][0]["categories"], serde_json::json!(["contact", "payments"]));
    let limited: serde_json::Value =
        gw.portal_get("/v1/subjects/alice/exports?limit=1").send().await.unwrap().json().await.unwrap();
    assert_eq!(limited["exports"].as_array().unwrap().len(), 1);

    for bad in ["?limit=0", "?limit=1001", "?limit=abc", "?limit=-1"] {
        let response = gw.portal_get(&format!("/v1/subjects/alice/exports{bad}")).send().await.unwrap();
        assert_problem(response, 400, "invalid_parameter").await;
    }
    for bad in ["..%2Fetc", "%C3%A9", ".hidden", &"x".repeat(200), "%FF"] {
        let response = gw.portal_get(&format!("/v1/subjects/{bad}/exports")).send().await.unwrap();
        assert_problem(response, 400, "invalid_parameter").await;
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let gw = TestGateway::demo().await;
    gw.get("/healthz").send().await.unwrap();
    gw.portal_get("/v1/subjects/alice/exports").send().await.unwrap();
    let response = gw.get("/metrics").send().await.unwrap();
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let text = response.text().await.unwrap();
    assert!(
        text.contains(r#"gdpr_gateway_http_requests_total{method="GET",route="/healthz",status="200"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"route="/v1/subjects/{subject_ref}/exports",status="200"}"#), "{text}");
    assert!(!text.contains("alice"), "raw paths must not become labels");
    assert!(text.contains("gdpr_gateway_http_request_duration_seconds_bucket"));
}
