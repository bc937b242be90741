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
