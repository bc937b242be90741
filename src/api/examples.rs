//! Example bodies for the OpenAPI document, one place for all: generated clients and the
//! docs show them, and a test reads each back into its Rust type, so an example cannot
//! drift from the body it stands for.

use serde_json::{Value, json};

const PAIRING: &str = "5d0c9a3e8b1f4a7c9e2d6b8a0f3c1e57";
const CONNECTION: &str = "c2a81f0e9d7b4c6a8e5f3d1b0a9c7e64";
const BASE: &str = "https://gateway.zonnestroom.example/v1/pairings/5d0c9a3e8b1f4a7c9e2d6b8a0f3c1e57";

pub(crate) fn create_pairing() -> Value {
    json!({ "subject_ref": "alice" })
}

pub(crate) fn confirm_code() -> Value {
    json!({ "code": "483920" })
}

pub(crate) fn pairing_view() -> Value {
    json!({
        "pairing_id": PAIRING,
        "subject_ref": "alice",
        "state": "pending",
        "connect_uri": "https://relay.example/c/q7Vw0c3nJ8mZ5xYb2aKp4tLr9sDf6gHj1kQe8uIo0Ww",
        "qr_svg_url": format!("{BASE}/qr.svg"),
        "qr_png_url": format!("{BASE}/qr.png"),
        "events_url": format!("{BASE}/events"),
        "expires_at": "2026-11-30T10:15:00Z",
        "attempts_left": 3,
        "status_token": "Zk3u9QmP2xLr7TbN4wYc8VaH1sJd6GfE0oKi5UqXy2A"
    })
}

pub(crate) fn pairing_event() -> Value {
    json!({
        "event": "scanned",
        "data": format!(
            "{{\"pairing_id\":\"{PAIRING}\",\"subject_ref\":\"alice\",\"state\":\"scanned\",\"qr_svg_url\":\"{BASE}/qr.svg\",\
             \"qr_png_url\":\"{BASE}/qr.png\",\"events_url\":\"{BASE}/events\",\"expires_at\":\"2026-11-30T10:15:00Z\",\
             \"attempts_left\":3,\"connection_id\":\"{CONNECTION}\"}}"
        )
    })
}

pub(crate) fn connection_list() -> Value {
    json!({ "connections": [{
        "connection_id": CONNECTION,
        "state": "active",
        "wallet_kid": "Xy9bT4kPq2nL7wRz5vC8mJ3hF6dS1aG0eU4iO7yK2tB",
        "created_at": "2026-11-30T10:06:12Z"
    }] })
}

pub(crate) fn export_request() -> Value {
    json!({ "format": "zip", "purpose": "portability", "categories": ["contact", "meter_readings"] })
}

pub(crate) fn export_list() -> Value {
    json!({ "exports": [{
        "id": "9f4e2b7c1a8d4e6f0b3c5a7d9e1f2b4c",
        "client_id": "customer-portal",
        "purpose": "access",
        "format": "jwt",
        "categories": ["contact", "contracts", "meter_readings"],
        "kid": "mN3pQ7rS1tU5vW9xY2zA4bC6dE8fG0hJ3kL5nP7qR9s",
        "created_at": "2026-11-30T10:08:40Z"
    }] })
}

fn import_entry() -> Value {
    json!({
        "import_id": "4b8d2f6a0c1e3a5b7d9f2e4c6a8b0d1f",
        "issuer": "https://zonnestroom.example",
        "bundle_id": "9f4e2b7c1a8d4e6f0b3c5a7d9e1f2b4c",
        "issuer_subject": "alice",
        "subject_ref": "C-1001",
        "purpose": "portability",
        "categories": ["contact", "meter_readings"],
        "bundle_sha256": "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b",
        "issued_at": "2026-11-30T10:08:40Z",
        "received_at": "2026-11-30T10:09:02Z"
    })
}

pub(crate) fn import_list() -> Value {
    json!({ "imports": [import_entry()] })
}

pub(crate) fn import_detail() -> Value {
    let mut detail = import_entry();
    if let Value::Object(fields) = &mut detail {
        fields.insert("bundle".into(), json!("eyJhbGciOiJFZERTQSIsImtpZCI6Im1OM3AiLCJ0eXAiOiJnZHByLWJ1bmRsZStqd3QifQ.eyJpc3MiOiJodHRwczovL3pvbm5lc3Ryb29tLmV4YW1wbGUifQ.c2lnbmF0dXJl"));
    }
    detail
}

pub(crate) fn file_request() -> Value {
    json!({ "type": "erasure", "categories": ["service_notes"], "details": "I closed my account in October." })
}

pub(crate) fn request_view() -> Value {
    json!({
        "id": "7e1c3a5b9d2f4e6a8c0b1d3f5a7c9e2b",
        "number": "2026-000123",
        "type": "erasure",
        "subject_ref": "alice",
        "state": "open",
        "phase": "intake",
        "categories": ["service_notes"],
        "details": "I closed my account in October.",
        "channel": "portal",
        "identification": "portal session",
        "received_at": "2026-11-30T10:12:00Z",
        "due_on": "2026-12-30",
        "due_at": "2026-12-30T23:59:59+01:00",
        "contact": "privacy@zonnestroom.example"
    })
}

pub(crate) fn request_list() -> Value {
    json!({ "requests": [request_view()] })
}

pub(crate) fn health() -> Value {
    json!({ "status": "ok" })
}

pub(crate) fn verify_answer() -> Value {
    json!({
        "kind": "bundle",
        "valid": true,
        "issuer": "https://zonnestroom.example",
        "kid": "mN3pQ7rS1tU5vW9xY2zA4bC6dE8fG0hJ3kL5nP7qR9s",
        "issued_at": "2026-11-30T10:08:40Z",
        "subject": "alice",
        "bundle_id": "9f4e2b7c1a8d4e6f0b3c5a7d9e1f2b4c",
        "categories": [{ "id": "contact", "name": "Contact details", "records": 1 }]
    })
}

pub(crate) fn settle_operation() -> Value {
    json!({ "result": "done", "note": "Removed the three service notes by hand in the CRM (ticket CRM-4471)." })
}

pub(crate) fn record_criterion() -> Value {
    json!({ "criterion": "identity_verified", "note": "Asked through the logged-in portal." })
}

pub(crate) fn advance_request() -> Value {
    json!({ "note": "Checked: no legal obligation keeps the service notes." })
}

pub(crate) fn extend_request() -> Value {
    json!({ "months": 1, "reason": "The request covers twelve years of meter readings held in two systems." })
}

pub(crate) fn refuse_request() -> Value {
    json!({ "reason": "Contract records must be kept for seven years (art. 52 AWR); they are not erased." })
}

pub(crate) fn refer_request() -> Value {
    json!({ "controller_id": "https://groene-stroom.example", "about": "your former contract with them", "close": false })
}

pub(crate) fn register_written_request() -> Value {
    json!({
        "subject_ref": "bob",
        "type": "access",
        "details": "Letter of 27 November asking for all data held about him.",
        "intermediary": "Example Legal Aid, post@legal-aid.example"
    })
}

pub(crate) fn record_identification() -> Value {
    json!({ "method": "passport shown at the desk" })
}

pub(crate) fn document_view() -> Value {
    json!({
        "media_type": "application/pdf",
        "size": 48213,
        "sha256": "9b74c9897bac770ffc029102a200c5de3f0f5cc1a3e5b2bd5f2a7e3a8c1f2d40",
        "file_name": "20261130_2026-000124_access.pdf"
    })
}

pub(crate) fn delivery_list() -> Value {
    json!({ "deliveries": [{
        "id": "msg_2f8a6c4e0b1d3f5a7c9e1b3d5f7a9c0e",
        "target": "webhook:case-system",
        "event_type": "request.acknowledged",
        "state": "delivered",
        "created_at": "2026-11-30T10:12:01Z",
        "attempts": [
            { "at": "2026-11-30T10:12:01Z", "status": 503 },
            { "at": "2026-11-30T10:12:31Z", "status": 204 }
        ]
    }] })
}

pub(crate) fn request_detail() -> Value {
    let mut detail = request_view();
    if let Value::Object(fields) = &mut detail {
        fields.insert("phase".into(), json!("execution"));
        fields.insert(
            "history".into(),
            json!([
                { "at": "2026-11-30T10:12:00Z", "actor": "portal:customer-portal", "phase": "intake", "action": "received" },
                { "at": "2026-11-30T10:12:00Z", "actor": "gateway", "phase": "intake", "action": "acknowledged" },
                { "at": "2026-12-01T09:30:00Z", "actor": "staff:j.jansen", "phase": "assessment", "action": "advanced",
                  "detail": "Checked: no legal obligation keeps the service notes." }
            ]),
        );
        fields.insert(
            "workflow".into(),
            json!({
                "criteria": [{ "id": "carried_out", "mandatory": true, "met": false }],
                "next_phase": "closed",
                "approver_role": "approver"
            }),
        );
        fields.insert(
            "operations".into(),
            json!([{
                "seq": 1,
                "category": "service_notes",
                "operation": "erase",
                "status": "task",
                "note": "The CRM has no erase operation configured: erase by hand.",
                "updated_at": "2026-12-01T09:30:01Z",
                "updated_by": "gateway"
            }]),
        );
    }
    detail
}

/// The discovery document of the built-in demo: its notice is generated from the demo's
/// inventory, as a real gateway's is, so the example cannot fall behind the notice's shape.
pub(crate) fn discovery() -> Value {
    use crate::config::{self, Origin, Overrides, SourceConfig, builtin_demo};
    use crate::protocol::notice::PrivacyNotice;
    let Ok(loaded) = config::from_text(Origin::BuiltInDemo, builtin_demo::CONFIG, Vec::new(), Overrides::default())
    else {
        return Value::Null;
    };
    let sources = &loaded.config.sources;
    let source_name = |id: &str| sources.iter().find(|s| s.id() == id).map(SourceConfig::name);
    let notice = PrivacyNotice::new(&loaded.config.controller, &loaded.inventory, source_name);
    let id = loaded.config.controller.id.clone();
    json!({
        "id": id,
        "name": loaded.config.controller.name,
        "endpoints": {
            "gateway": format!("{id}/v1"),
            "jwks_uri": format!("{id}/.well-known/jwks.json"),
            "relay": format!("{id}/relay")
        },
        "encryption_jwks": { "keys": [{
            "kty": "OKP", "crv": "X25519", "x": "HB4xz82azO1df2st7oD7TTNlGMG7ahIYE8RXrpvBjyk",
            "kid": "yHR-Ly4Z7GQ_Gd5Fo6lTAnH3l17juje4AtotMXjanOY", "use": "enc", "alg": "ECDH-ES"
        }] },
        "privacy_notice": notice
    })
}
