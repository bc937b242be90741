//! Key discovery as a verifier with only a bundle does it (`verify --issuer-discovery`):
//! from `iss` to `{iss}/.well-known/gdpr-gateway`, whose `id` must be `iss`, to the JWKS it
//! names; against controller sites served on 127.0.0.1 that keep to the rule, lie about
//! their id, redirect, or name keys over plain http. Nothing outside the rule is fetched.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Json, Response};
use gdpr_gateway::bundle::{Claims, sign_jwt, verify_jwt};
use gdpr_gateway::jose::{Jwks, SigningKeyPair, danger};
use serde_json::{Value, json};

use crate::common::TestGateway;
use crate::running_binary::BIN;

/// Controller sites under one local server, one per path prefix, and every path asked for.
struct Sites {
    base: String,
    key: SigningKeyPair,
    asked: Mutex<Vec<String>>,
}

async fn site(State(sites): State<Arc<Sites>>, uri: Uri) -> Response {
    let path = uri.path().to_owned();
    sites.asked.lock().unwrap().push(path.clone());
    let base = &sites.base;
    let discovery = |id: String, jwks_uri: String| {
        Json(json!({"id": id, "name": "Energie", "endpoints": {"gateway": format!("{base}/v1"), "jwks_uri": jwks_uri}}))
            .into_response()
    };
    let jwks = Json(Jwks { keys: vec![sites.key.public_jwk().clone()] });
    match path.as_str() {
        "/good/.well-known/gdpr-gateway" => discovery(format!("{base}/good"), format!("{base}/keys/jwks.json")),
        "/keys/jwks.json" => jwks.into_response(),
        "/liar/.well-known/gdpr-gateway" => discovery(format!("{base}/good"), format!("{base}/keys/jwks.json")),
        "/moved/.well-known/gdpr-gateway" => {
            (StatusCode::FOUND, [(header::LOCATION, format!("{base}/good/.well-known/gdpr-gateway"))]).into_response()
        }
        "/plain/.well-known/gdpr-gateway" => {
            discovery(format!("{base}/plain"), "http://keys.energie.example/jwks.json".to_owned())
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn serve_sites(key: SigningKeyPair) -> Arc<Sites> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let sites = Arc::new(Sites { base, key, asked: Mutex::new(Vec::new()) });
    let app = Router::new().fallback(site).with_state(sites.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    sites
}

fn verify(dir: &std::path::Path, file: &str) -> (Option<i32>, Value, String) {
    let out = std::process::Command::new(BIN)
        .current_dir(dir)
        .args(["verify", file, "--issuer-discovery", "--json"])
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), json, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_issuer_leads_to_its_keys_by_the_rule_and_nowhere_else() {
    // A real bundle's claims, issued again by a controller whose site is local.
    let gw = TestGateway::demo().await;
    let request = serde_json::from_value(json!({"format": "jwt", "purpose": "access"})).unwrap();
    let token = gw.portal_client().export("alice", &request).await.text().await.unwrap();
    let published: Jwks = gw.get("/.well-known/jwks.json").send().await.unwrap().json().await.unwrap();
    let claims = verify_jwt(token.as_bytes(), &published).unwrap().claims;
    let key = SigningKeyPair::generate();
    let kid = key.kid().to_owned();
    let sites = serve_sites(key).await;
    let signer = SigningKeyPair::from_jwk(&sites.key.to_jwk()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let issued_by = |prefix: &str, name: &str| {
        let claims = Claims { iss: format!("{}/{prefix}", sites.base), ..claims.clone() };
        std::fs::write(dir.path().join(name), sign_jwt(&claims, &signer).unwrap()).unwrap();
    };
    issued_by("good", "good.jwt");
    issued_by("liar", "liar.jwt");
    issued_by("moved", "moved.jwt");
    issued_by("plain", "plain.jwt");

    let (code, json, stderr) = verify(dir.path(), "good.jwt");
    assert_eq!(
        (code, &json["issuer"], &json["kid"]),
        (Some(0), &json!(format!("{}/good", sites.base)), &json!(kid)),
        "{stderr}"
    );
    assert_eq!(*sites.asked.lock().unwrap(), ["/good/.well-known/gdpr-gateway", "/keys/jwks.json"]);

    // What the issuer's own site says is a verdict (exit 1): a forger cannot make a bundle
    // look merely unchecked by naming a site that does not vouch for it.
    let (code, json, _) = verify(dir.path(), "liar.jwt");
    assert_eq!((code, json["error_code"].as_str()), (Some(1), Some("issuer_unknown")), "{json}");
    assert!(json["reason"].as_str().unwrap().contains("is the document of"), "{json}");
    let (code, json, _) = verify(dir.path(), "moved.jwt");
    assert!(code == Some(1) && json["reason"].as_str().unwrap().contains("HTTP 302"), "not followed: {json}");
    let (code, json, _) = verify(dir.path(), "plain.jwt");
    assert!(code == Some(1) && json["reason"].as_str().unwrap().contains("not an https URL"), "{json}");
    // A site that cannot be reached is no verdict: could not check (exit 2).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let claims_away = Claims { iss: format!("http://{closed}"), ..claims.clone() };
    std::fs::write(dir.path().join("away.jwt"), sign_jwt(&claims_away, &signer).unwrap()).unwrap();
    let (code, _, stderr) = verify(dir.path(), "away.jwt");
    assert_eq!(code, Some(2), "{stderr}");

    // A `jku` in the header points elsewhere: refused, and never fetched.
    let header =
        format!(r#"{{"alg":"EdDSA","kid":"{kid}","typ":"gdpr-bundle+jwt","jku":"{}/evil/jwks.json"}}"#, sites.base);
    let good = Claims { iss: format!("{}/good", sites.base), ..claims.clone() };
    let payload = serde_json::to_vec(&good).unwrap();
    std::fs::write(
        dir.path().join("jku.jwt"),
        danger::sign_with_header(signer.signing_key(), header.as_bytes(), &payload),
    )
    .unwrap();
    let (code, json, _) = verify(dir.path(), "jku.jwt");
    assert_eq!((code, json["error_code"].as_str()), (Some(1), Some("forbidden_header")), "{json}");
    // Another controller's key cannot speak for this one.
    let other = SigningKeyPair::generate();
    std::fs::write(dir.path().join("other.jwt"), sign_jwt(&good, &other).unwrap()).unwrap();
    let (code, json, _) = verify(dir.path(), "other.jwt");
    assert_eq!((code, json["error_code"].as_str()), (Some(1), Some("unknown_kid")), "{json}");
    let asked = sites.asked.lock().unwrap().clone();
    assert!(asked.iter().all(|p| !p.starts_with("/evil")), "{asked:?}");
    assert!(!asked.iter().any(|p| p.contains("keys.energie.example")), "{asked:?}");
    gw.stop().await.unwrap();
}
