//! The committed OpenAPI document matches the code, and every operation in it is served.

use crate::common::TestGateway;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/gateway.json");

fn generated() -> String {
    let mut text = serde_json::to_string_pretty(&gdpr_gateway::serve::openapi()).unwrap();
    text.push('\n');
    text
}

/// Fails when `openapi/gateway.json` is stale. Regenerate with
/// `UPDATE_OPENAPI=1 cargo test --test it openapi` (or `gdpr-gateway openapi`).
#[test]
fn committed_spec_matches_the_code() {
    let generated = generated();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(COMMITTED, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/gateway.json is out of date; run: UPDATE_OPENAPI=1 cargo test --test it openapi"
    );
}

/// Every path and method in the spec reaches a real handler, never the 404/405 fallbacks;
/// and the spec names every route we expect to serve.
#[tokio::test]
async fn every_documented_operation_is_served() {
    let spec: serde_json::Value = serde_json::to_value(gdpr_gateway::serve::openapi()).unwrap();
    let paths = spec["paths"].as_object().unwrap();
    let mut documented = Vec::new();
    let gw = TestGateway::demo().await;
    let client = reqwest::Client::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            documented.push(format!("{} {path}", method.to_uppercase()));
            let concrete = path.replace("{subject_ref}", "alice");
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = client
                .request(method.clone(), format!("{}{concrete}", gw.url))
                .bearer_auth(&gw.token)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body = response.text().await.unwrap();
            assert!(
                status != 405 && !body.contains("\"error_code\":\"not_found\""),
                "{method} {path}: {status} {body}"
            );
        }
    }
    documented.sort();
    let expected = [
        "DELETE /relay/v1/connections/{connection_id}",
        "DELETE /relay/v1/connections/{connection_id}/blobs/{blob_id}",
        "DELETE /relay/v1/connections/{connection_id}/messages/{message_id}",
        "DELETE /v1/pairings/{pairing_id}",
        "DELETE /v1/subjects/{subject_ref}/connections/{connection_id}",
        "GET /.well-known/gdpr-gateway",
        "GET /.well-known/jwks.json",
        "GET /healthz",
        "GET /metrics",
        "GET /readyz",
        "GET /relay/c/{token}",
        "GET /relay/v1/connections/{connection_id}",
        "GET /relay/v1/connections/{connection_id}/blobs/{blob_id}",
        "GET /relay/v1/connections/{connection_id}/messages",
        "GET /relay/v1/connections/{connection_id}/messages/stream",
        "GET /relay/v1/inbox",
        "GET /relay/v1/operator-jwks",
        "GET /relay/v1/trust-list",
        "GET /v1/audit",
        "GET /v1/audit.jsonl",
        "GET /v1/breaches",
        "GET /v1/breaches/{breach_id}",
        "GET /v1/breaches/{breach_id}/authority-notification",
        "GET /v1/deliveries",
        "GET /v1/imports",
        "GET /v1/imports/{import_id}",
        "GET /v1/legal-holds",
        "GET /v1/pairings/{pairing_id}",
        "GET /v1/pairings/{pairing_id}/events",
        "GET /v1/pairings/{pairing_id}/qr.png",
        "GET /v1/pairings/{pairing_id}/qr.svg",
        "GET /v1/register/processing",
        "GET /v1/requests",
        "GET /v1/requests.csv",
        "GET /v1/requests/{request_id}",
        "GET /v1/requests/{request_id}/document",
        "GET /v1/requests/{request_id}/receipt",
        "GET /v1/retention/sources",
        "GET /v1/retention/upcoming",
        "GET /v1/subjects/{subject_ref}/connections",
        "GET /v1/subjects/{subject_ref}/exports",
        "GET /v1/subjects/{subject_ref}/requests",
        "GET /v1/subjects/{subject_ref}/requests/{request_id}/receipt",
        "PATCH /v1/breaches/{breach_id}",
        "POST /relay/v1/connect",
        "POST /relay/v1/connect-tokens",
        "POST /relay/v1/connections",
        "POST /relay/v1/connections/{connection_id}/blobs",
        "POST /relay/v1/connections/{connection_id}/messages",
        "POST /v1/breaches",
        "POST /v1/breaches/{breach_id}/authority-notification",
        "POST /v1/breaches/{breach_id}/people-notification",
        "POST /v1/legal-holds",
        "POST /v1/legal-holds/{hold_id}/lift",
        "POST /v1/pairings",
        "POST /v1/pairings/{pairing_id}/confirm",
        "POST /v1/requests",
        "POST /v1/requests/{request_id}/advance",
        "POST /v1/requests/{request_id}/criteria",
        "POST /v1/requests/{request_id}/extension",
        "POST /v1/requests/{request_id}/identification",
        "POST /v1/requests/{request_id}/operations/{seq}",
        "POST /v1/requests/{request_id}/referral",
        "POST /v1/requests/{request_id}/refusal",
        "POST /v1/subjects/{subject_ref}/exports",
        "POST /v1/subjects/{subject_ref}/requests",
        "POST /v1/verify",
        "PUT /v1/requests/{request_id}/document",
    ];
    assert_eq!(documented, expected);
    let problem = &spec["components"]["schemas"]["ErrorCode"]["enum"];
    assert!(problem.as_array().unwrap().iter().any(|c| c == "subject_not_found"), "{problem}");
}
