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

/// Every JSON body a portal or a verifier meets has an example in the document, and each
/// example reads back into its Rust type unchanged, so none drifts from what is sent.
#[test]
fn every_json_body_has_an_example_that_is_a_real_body() {
    use gdpr_gateway::protocol::relay_wire;
    use gdpr_gateway::views::*;
    use serde_json::Value;

    use crate::openapi_oversight_examples::round_trip;

    let document = serde_json::to_value(gdpr_gateway::serve::openapi()).unwrap();
    let schemas = &document["components"]["schemas"];
    type RoundTrip = fn(&Value) -> Value;
    let checks: &[(&str, RoundTrip)] = &[
        ("CreatePairing", round_trip::<CreatePairing>),
        ("ConfirmCode", round_trip::<ConfirmCode>),
        ("PairingView", round_trip::<PairingView>),
        ("PairingEvent", round_trip::<PairingEvent>),
        ("ConnectionList", round_trip::<ConnectionList>),
        ("ExportRequest", round_trip::<ExportRequest>),
        ("ExportList", round_trip::<ExportList>),
        ("ImportList", round_trip::<ImportList>),
        ("ImportDetail", round_trip::<ImportDetail>),
        ("FileRequest", round_trip::<FileRequest>),
        ("RequestView", round_trip::<RequestView>),
        ("RequestList", round_trip::<RequestList>),
        ("Health", round_trip::<Health>),
        ("VerifyAnswer", round_trip::<VerifyAnswer>),
        ("Discovery", round_trip::<Discovery>),
        ("Jwks", round_trip::<gdpr_gateway::jose::Jwks>),
        // The staff's request workflow.
        ("RequestDetail", round_trip::<RequestDetail>),
        ("SettleOperation", round_trip::<SettleOperation>),
        ("RecordCriterion", round_trip::<RecordCriterion>),
        ("AdvanceRequest", round_trip::<AdvanceRequest>),
        ("ExtendRequest", round_trip::<ExtendRequest>),
        ("RefuseRequest", round_trip::<RefuseRequest>),
        ("ReferRequest", round_trip::<ReferRequest>),
        ("RegisterWrittenRequest", round_trip::<RegisterWrittenRequest>),
        ("RecordIdentification", round_trip::<RecordIdentification>),
        ("DocumentView", round_trip::<DocumentView>),
        ("DeliveryList", round_trip::<DeliveryList>),
        // The relay's wire.
        ("RegisterToken", round_trip::<relay_wire::RegisterToken>),
        ("ConnectRequest", round_trip::<relay_wire::ConnectRequest>),
        ("OpenConnection", round_trip::<relay_wire::OpenConnection>),
        ("Connected", round_trip::<relay_wire::Connected>),
        ("ConnectionInfo", round_trip::<relay_wire::ConnectionInfo>),
        ("MailboxItems", round_trip::<relay_wire::MailboxItems>),
        ("StoredBlob", round_trip::<relay_wire::StoredBlob>),
        ("Posted", round_trip::<relay_wire::Posted>),
    ];
    for (name, check) in checks {
        let example = &schemas[name]["example"];
        assert!(example.is_object(), "{name} has no example");
        assert_eq!(&check(example), example, "{name}'s example is not what the type reads and writes");
    }
    // Each operation's JSON bodies have one, and so have the portal and public problems.
    let mut missing = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let tag = operation["tags"][0].as_str().unwrap_or_default();
            let bodies = operation["requestBody"]["content"]
                .as_object()
                .into_iter()
                .chain(operation["responses"].as_object().unwrap().values().filter_map(|r| r["content"].as_object()));
            for content in bodies {
                for (media_type, body) in content {
                    let named = body["schema"]["$ref"].as_str().and_then(|r| r.rsplit('/').next());
                    let has_example = body.get("example").is_some()
                        || body.get("examples").is_some()
                        || named.is_some_and(|n| schemas[n].get("example").is_some());
                    let json = media_type.ends_with("json") && media_type != "application/jwk-set+json";
                    let ours = media_type != "application/problem+json" || matches!(tag, "portal" | "public");
                    if json && ours && !has_example {
                        missing.push(format!("{method} {path}: {media_type}"));
                    }
                }
            }
        }
    }
    assert!(missing.is_empty(), "bodies without an example: {missing:#?}");
}
