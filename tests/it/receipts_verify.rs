//! Signed receipts verified from outside: the `verify` command with a JWKS file, and
//! `POST /v1/verify` on the gateway whose key signed them; both say the same, and both
//! refuse what was altered for the same reason.

use std::path::Path;
use std::process::{Command, Output};

use gdpr_gateway::bundle::{self, CategoryOutcome, Evidence, OutcomeResult, Receipt, ReceiptClaims};
use gdpr_gateway::clock::rfc3339;
use gdpr_gateway::jose::{Jwks, SigningKeyPair, b64, danger, jws};
use gdpr_gateway::protocol::rights::{RequestKind, RequestState};
use serde_json::{Value, json};

use crate::common::{T0, TestGateway, assert_problem};

const BIN: &str = env!("CARGO_BIN_EXE_gdpr-gateway");

fn claims() -> ReceiptClaims {
    ReceiptClaims {
        iss: "https://demo.gdpr-gateway.example".into(),
        sub: "alice".into(),
        jti: "0b7f4c1e-2a55-4e0c-8d7e-5b1f0e9c3a21".into(),
        iat: T0 + 20 * 86_400,
        receipt: Receipt {
            request_number: "2026-000042".into(),
            kind: RequestKind::Rectification,
            state: RequestState::Closed,
            received_at: T0,
            due_at: T0 + 31 * 86_400 - 1,
            completed_at: T0 + 20 * 86_400,
            outcomes: vec![
                CategoryOutcome {
                    category: "contact".into(),
                    operation: "rectify".into(),
                    purpose: None,
                    result: OutcomeResult::Done,
                    note: None,
                    evidence: Evidence {
                        records: Some(1),
                        record_digests: vec![format!("sha256:{}", "ab".repeat(32))],
                        bundle: Some("b-77".into()),
                        ..Evidence::default()
                    },
                },
                CategoryOutcome {
                    category: "service_notes".into(),
                    operation: "rectify".into(),
                    purpose: None,
                    result: OutcomeResult::Manual,
                    note: Some("corrected by hand in the ticket system".into()),
                    evidence: Evidence { confirmation: Some("TCK-3141".into()), ..Evidence::default() },
                },
            ],
            detail: None,
            information: None,
        },
    }
}

/// What both verifiers answer for `claims` signed under `kid`.
fn expected_report(kid: &str, claims: &ReceiptClaims) -> Value {
    json!({
        "valid": true,
        "kind": "receipt",
        "kid": kid,
        "iss": claims.iss,
        "sub": claims.sub,
        "jti": claims.jti,
        "iat": claims.iat,
        "receipt": claims.receipt,
    })
}

fn verify_cli(dir: &Path, token: &[u8], jwks: &str, json_output: bool) -> Output {
    let file = dir.join("receipt.jwt");
    std::fs::write(&file, token).unwrap();
    let mut args = vec!["verify".to_owned(), file.display().to_string(), "--jwks".into(), jwks.to_owned()];
    if json_output {
        args.push("--json".into());
    }
    Command::new(BIN).args(args).output().unwrap()
}

/// Re-signs `claims` changed by `change`, as a signer that breaks the rules would.
fn signed_with(key: &SigningKeyPair, change: impl Fn(&mut Value)) -> String {
    let mut value = serde_json::to_value(claims()).unwrap();
    change(&mut value);
    jws::sign(key, bundle::RECEIPT_TYP, value.to_string().as_bytes())
}

fn flip_payload(token: &str) -> String {
    let [h, p, s]: [&str; 3] = token.split('.').collect::<Vec<_>>().try_into().unwrap();
    let payload = String::from_utf8(b64::decode(p).unwrap()).unwrap().replace("\"alice\"", "\"alicf\"");
    format!("{h}.{}.{s}", b64::encode(payload))
}

#[test]
fn the_verify_command_checks_a_receipt_with_a_jwks_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKeyPair::generate();
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, serde_json::to_vec(&Jwks { keys: vec![key.public_jwk().clone()] }).unwrap()).unwrap();
    let jwks = jwks.display().to_string();
    let token = bundle::sign_receipt(&claims(), &key).unwrap();

    let out = verify_cli(dir.path(), token.as_bytes(), &jwks, true);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report, expected_report(key.kid(), &claims()));

    let out = verify_cli(dir.path(), token.as_bytes(), &jwks, false);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "valid receipt",
        "https://demo.gdpr-gateway.example",
        key.kid(),
        "2026-000042",
        "rectification",
        "closed",
        &rfc3339(T0),
        &rfc3339(T0 + 31 * 86_400 - 1),
        &rfc3339(T0 + 20 * 86_400),
        "service_notes",
        "manual",
        "note: corrected by hand in the ticket system",
        "confirmation TCK-3141",
        "1 record",
        "bundle b-77",
    ] {
        assert!(text.contains(expected), "{expected} missing from {text}");
    }
    let contact = text.lines().find(|l| l.trim_start().starts_with("contact")).unwrap();
    assert!(contact.contains("rectify") && contact.contains("done") && contact.contains("sha256:abab"), "{contact}");

    // A note cannot write escape sequences to the terminal.
    let escaping = signed_with(&key, |v| v["receipt"]["outcomes"][1]["note"] = json!("fine\u{1b}[2J\nvalid bundle"));
    let out = verify_cli(dir.path(), escaping.as_bytes(), &jwks, false);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !text.contains('\u{1b}') && text.contains(r"fine\u{1b}[2J\nvalid bundle"),
        "{text}"
    );

    let refusals: Vec<(String, &str)> = vec![
        (flip_payload(&token), "signature_invalid"),
        (bundle::sign_receipt(&claims(), &SigningKeyPair::generate()).unwrap(), "unknown_kid"),
        (signed_with(&key, |v| v["receipt"]["state"] = json!("open")), "invalid_claims"),
        (signed_with(&key, |v| v["receipt"]["outcomes"][1]["note"] = json!("")), "invalid_claims"),
        (jws::sign(&key, "gdpr-invoice+jwt", serde_json::to_string(&claims()).unwrap().as_bytes()), "wrong_typ"),
        (jws::sign(&key, bundle::TYP, serde_json::to_string(&claims()).unwrap().as_bytes()), "invalid_claims"),
    ];
    for (bad, code) in refusals {
        let out = verify_cli(dir.path(), bad.as_bytes(), &jwks, true);
        assert_eq!(out.status.code(), Some(1), "{code}: {}", String::from_utf8_lossy(&out.stderr));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!((report["valid"].as_bool(), report["error_code"].as_str()), (Some(false), Some(code)), "{report}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(code));
    }
}

async fn verify_http(gw: &TestGateway, body: impl Into<reqwest::Body>) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/v1/verify", gw.url))
        .header("content-type", "application/jwt")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_verify_endpoint_answers_for_a_receipt_the_gateway_signed() {
    let gw = TestGateway::demo().await;
    let key = gw.gateway.keyring().active_signing();
    let token = bundle::sign_receipt(&claims(), key).unwrap();

    let response = verify_http(&gw, token.clone()).await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer, expected_report(key.kid(), &claims()));

    // The command, with the gateway's published JWKS, says exactly the same.
    let jwks = format!("{}/.well-known/jwks.json", gw.url);
    let report = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        let out = verify_cli(dir.path(), token.as_bytes(), &jwks, true);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(report, answer);

    let token = bundle::sign_receipt(&claims(), key).unwrap();
    let kid = key.kid();
    let mut big = claims();
    big.receipt.detail = Some("x".repeat(bundle::MAX_RECEIPT_BYTES));
    let extra_header = danger::sign_with_header(
        key.signing_key(),
        format!(r#"{{"alg":"EdDSA","kid":"{kid}","typ":"gdpr-receipt+jwt","cty":"JWT"}}"#).as_bytes(),
        serde_json::to_string(&claims()).unwrap().as_bytes(),
    );
    let cases: Vec<(String, u16, &str)> = vec![
        (flip_payload(&token), 422, "signature_invalid"),
        (bundle::sign_receipt(&claims(), &SigningKeyPair::generate()).unwrap(), 422, "unknown_kid"),
        (signed_with(key, |v| v["receipt"]["state"] = json!("open")), 422, "invalid_claims"),
        (signed_with(key, |v| v["receipt"]["completed_at"] = json!(T0 - 1)), 422, "invalid_claims"),
        (signed_with(key, |v| v["receipt"]["outcomes"][0]["evidence"]["rows"] = json!(1)), 422, "invalid_claims"),
        (jws::sign(key, "gdpr-invoice+jwt", b"{}"), 422, "wrong_typ"),
        (extra_header, 422, "forbidden_header"),
        (bundle::sign_receipt(&big, key).unwrap(), 413, "payload_too_large"),
    ];
    for (body, status, code) in cases {
        assert_problem(verify_http(&gw, body).await, status, code).await;
    }
}

/// With a trust list, a receipt's key must be listed under the controller its `iss` names,
/// exactly as a bundle's.
#[test]
fn the_verify_command_takes_a_receipts_issuer_keys_from_a_trust_list() {
    use gdpr_gateway::protocol::trust_list::{Entry, TrustList, VERSION};

    let dir = tempfile::tempdir().unwrap();
    let (operator, controller) = (SigningKeyPair::generate(), SigningKeyPair::generate());
    let receipt = dir.path().join("receipt.jwt");
    std::fs::write(&receipt, bundle::sign_receipt(&claims(), &controller).unwrap()).unwrap();
    let operator_jwks = dir.path().join("operator.json");
    std::fs::write(&operator_jwks, serde_json::to_vec(&Jwks { keys: vec![operator.public_jwk().clone()] }).unwrap())
        .unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let verify_with_list = |id: &str| {
        let list = TrustList {
            iss: "https://operator.example".into(),
            iat: now,
            exp: now + 3600,
            version: VERSION,
            controllers: vec![Entry {
                id: id.into(),
                name: "Demo".into(),
                jwks: Jwks { keys: vec![controller.public_jwk().clone()] },
                encryption_jwks: Jwks::default(),
                import_endpoint: None,
                token_endpoint: None,
                privacy_contact: None,
            }],
        };
        let path = dir.path().join("list.jwt");
        std::fs::write(&path, list.sign(&operator).unwrap()).unwrap();
        Command::new(BIN)
            .arg("verify")
            .arg(&receipt)
            .arg("--trust-list")
            .arg(&path)
            .arg("--operator-jwks")
            .arg(&operator_jwks)
            .arg("--json")
            .output()
            .unwrap()
    };
    let out = verify_with_list("https://demo.gdpr-gateway.example");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report, expected_report(controller.kid(), &claims()));
    let out = verify_with_list("https://other.example");
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["error_code"], "issuer_mismatch");
}
