//! Verification years later, as a third party does it with what it archived: a bundle the
//! gateway signed, checked with `gdpr-gateway verify` after two key rotations against the
//! signed key history (`keys export-history`), and against the trust list of the day, long
//! expired, judged `--at` a moment it was valid. A bundle dated after its key retired, as a
//! thief of the old key would sign it, is refused.

use std::path::Path;
use std::process::{Command, Output};

use gdpr_gateway::bundle::{Claims, sign_jwt, verify_jwt};
use gdpr_gateway::jose::{Jwks, PrivateOkpJwk, SigningKeyPair};
use gdpr_gateway::protocol::trust_list::{Entry, TrustList, VERSION};
use serde_json::{Value, json};

use crate::common::{T0, TestGateway};
use crate::running_binary::BIN;

const YEAR: u64 = 365 * 24 * 3600;

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN).current_dir(dir).args(args).output().unwrap()
}

fn report(out: &Output) -> (Option<i32>, Value) {
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), json)
}

/// The first signing key's private half, read from the gateway's key file.
fn first_signing_key(data: &Path) -> SigningKeyPair {
    let file = std::fs::read_dir(data.join("keys"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("signing-0001-"))
        .unwrap();
    let stored: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    let jwk: PrivateOkpJwk = serde_json::from_value(stored["jwk"].clone()).unwrap();
    SigningKeyPair::from_jwk(&jwk).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn archived_keys_verify_a_bundle_two_rotations_and_ten_years_later() {
    let gw = TestGateway::demo().await;
    let request = serde_json::from_value(json!({"format": "jwt", "purpose": "access"})).unwrap();
    let token = gw.portal_client().export("alice", &request).await.text().await.unwrap();
    let published: Jwks = gw.get("/.well-known/jwks.json").send().await.unwrap().json().await.unwrap();
    assert_eq!((published.keys[0].nbf, published.keys[0].exp), (Some(T0), None), "{published:?}");
    let claims = verify_jwt(token.as_bytes(), &published).unwrap().claims;
    assert_eq!(claims.iat, T0);
    // The gateway keeps running; `keys rotate` only writes key files, as in production.
    let data = gw.dir.clone();

    let stolen = first_signing_key(&data);
    let late = sign_jwt(&Claims { iat: T0 + 5 * YEAR, jti: "forged".into(), ..claims.clone() }, &stolen).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path();
    std::fs::write(archive.join("bundle.jwt"), &token).unwrap();
    std::fs::write(archive.join("late.jwt"), &late).unwrap();

    let data_dir = data.display().to_string();
    for _ in 0..2 {
        let out = run(archive, &["keys", "rotate", "--data-dir", &data_dir]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = run(archive, &["keys", "export-history", "--data-dir", &data_dir, "--out", "history.jwt"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Ten years on, with the archived history: the bundle verifies; the forgery does not.
    let verify = |file: &str, extra: &[&str]| {
        let mut args = vec!["verify", file, "--json"];
        args.extend_from_slice(extra);
        report(&run(archive, &args))
    };
    let (code, json) = verify("bundle.jwt", &["--jwks", "history.jwt", "--at", "2036-11-22T00:00:00Z"]);
    assert_eq!((code, &json["valid"], &json["subject"]), (Some(0), &json!(true), &json!("alice")), "{json}");
    assert_eq!(json["kid"], published.keys[0].kid);
    let (code, json) = verify("late.jwt", &["--jwks", "history.jwt"]);
    assert_eq!((code, json["error_code"].as_str()), (Some(1), Some("key_not_in_use")), "{json}");
    assert!(json["reason"].as_str().unwrap().contains("2031-11-21T00:00:00Z"), "{json}");

    // The trust list of the day expired after 24 hours: said as a time, and judged `--at`.
    let operator = SigningKeyPair::generate();
    let list = TrustList {
        iss: "https://operator.example".into(),
        iat: T0,
        exp: T0 + 24 * 3600,
        version: VERSION,
        controllers: vec![Entry {
            id: claims.iss.clone(),
            name: "Voorbeeld Energie".into(),
            jwks: published.clone(),
            encryption_jwks: Jwks::default(),
            import_endpoint: None,
            token_endpoint: None,
            privacy_contact: None,
        }],
    };
    std::fs::write(archive.join("trust-list.jwt"), list.sign(&operator).unwrap()).unwrap();
    let operator_jwks = serde_json::to_string(&Jwks { keys: vec![operator.public_jwk().clone()] }).unwrap();
    std::fs::write(archive.join("operator.json"), operator_jwks).unwrap();
    let by_list = ["--trust-list", "trust-list.jwt", "--operator-jwks", "operator.json"];
    let out = run(archive, &[&["verify", "bundle.jwt"][..], &by_list].concat());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("expired at 2026-11-23T00:00:00Z"), "{stderr}");
    let (code, json) = verify("bundle.jwt", &[&by_list[..], &["--at", "2026-11-22T12:00:00Z"]].concat());
    assert_eq!(code, Some(0), "{json}");
    // Judged at a moment before the list was signed, the list cannot speak for it.
    let out = run(archive, &[&["verify", "bundle.jwt"][..], &by_list, &["--at", "2026-11-21T23:00:00Z"]].concat());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.code() == Some(2) && stderr.contains("after the moment judged"), "{stderr}");
    // With the key history, judged before the bundle was signed: nothing vouches for it.
    let (code, json) = verify("bundle.jwt", &["--jwks", "history.jwt", "--at", "2026-11-21T23:00:00Z"]);
    assert_eq!((code, json["error_code"].as_str()), (Some(1), Some("key_not_in_use")), "{json}");
    gw.stop().await.unwrap();
}
