//! Signed bundles end to end: portal download, the export register, `POST /v1/verify`,
//! the `verify` command, and tampering caught and named.

use std::process::Command;

use gdpr_gateway::jose::b64;
use serde_json::{Value, json};

use crate::common::{TestGateway, assert_problem};

const BIN: &str = env!("CARGO_BIN_EXE_gdpr-gateway");

async fn export(gw: &TestGateway, subject: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/v1/subjects/{subject}/exports", gw.url))
        .bearer_auth(&gw.token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn jwt(gw: &TestGateway, subject: &str, body: Value) -> String {
    let response = export(gw, subject, body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/jwt");
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.starts_with("attachment; filename=\"gdpr-bundle-") && disposition.ends_with(".jwt\""));
    response.text().await.unwrap()
}

fn claims(token: &str) -> Value {
    serde_json::from_slice(&b64::decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap()
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
async fn access_bundle_holds_every_category_with_its_art15_information() {
    let gw = TestGateway::demo().await;
    let token = jwt(&gw, "alice", json!({"format": "jwt", "purpose": "access"})).await;
    let header: Value = serde_json::from_slice(&b64::decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(
        header,
        json!({"alg": "EdDSA", "kid": gw.gateway.keyring().active_signing().kid(), "typ": "gdpr-bundle+jwt"})
    );
    let c = claims(&token);
    assert_eq!((c["iss"].as_str(), c["sub"].as_str()), (Some("https://demo.gdpr-gateway.example"), Some("alice")));
    assert_eq!(c["iat"], crate::common::T0);
    let categories = c["bundle"]["categories"].as_array().unwrap();
    let ids: Vec<&str> = categories.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["contact", "contracts", "meter_readings", "payments", "service_notes", "medical_priority"]);
    let payments = &categories[3];
    assert_eq!(payments["records"].as_array().unwrap().len(), 2);
    assert_eq!(payments["legal_basis"], "legal_obligation");
    assert_eq!(payments["retention"], "P7Y");
    assert_eq!(payments["portable"], false);
    assert!(payments["recipients"].as_array().unwrap().len() == 2 && payments["purposes"].is_array());
    assert!(payments["source"].as_str().unwrap().contains("billing"));
    assert_eq!(categories[0]["records"][0]["email"], "alice@example.org");
    assert_eq!(c["bundle"]["art15"]["controller"]["dpo_contact"], "privacy@voorbeeld-energie.example");
    assert!(c["bundle"]["art15"]["rights"].as_array().unwrap().iter().any(|r| r["id"] == "complaint"));
}

#[tokio::test]
async fn portability_bundle_holds_only_portable_categories_and_selection_is_checked() {
    let gw = TestGateway::demo().await;
    let token = jwt(&gw, "alice", json!({"format": "jwt", "purpose": "portability"})).await;
    let c = claims(&token);
    let ids: Vec<&str> =
        c["bundle"]["categories"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["contact", "contracts", "meter_readings", "medical_priority"]);
    assert_eq!(c["bundle"]["purpose"], "portability");

    let chosen =
        jwt(&gw, "bob", json!({"format": "jwt", "purpose": "access", "categories": ["payments", "contact"]})).await;
    let ids: Vec<String> = claims(&chosen)["bundle"]["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().into())
        .collect();
    assert_eq!(ids, ["contact", "payments"], "inventory order");
    // Bob has no medical file: the category is there, empty.
    let bob = claims(&jwt(&gw, "bob", json!({"format": "jwt", "purpose": "access"})).await);
    let medical =
        bob["bundle"]["categories"].as_array().unwrap().iter().find(|c| c["id"] == "medical_priority").unwrap().clone();
    assert_eq!(medical["records"], json!([]));

    let cases = [
        (
            "alice",
            json!({"format": "jwt", "purpose": "portability", "categories": ["payments"]}),
            422,
            "category_not_portable",
        ),
        ("alice", json!({"format": "jwt", "purpose": "access", "categories": ["nope"]}), 404, "category_not_found"),
        ("alice", json!({"format": "jwt", "purpose": "access", "categories": []}), 400, "invalid_parameter"),
        ("carol", json!({"format": "jwt", "purpose": "access"}), 404, "subject_not_found"),
        (".hidden", json!({"format": "jwt", "purpose": "access"}), 400, "invalid_parameter"),
        ("alice", json!({"format": "pdf", "purpose": "access"}), 400, "malformed_body"),
        ("alice", json!({"format": "jwt", "purpose": "access", "extra": 1}), 400, "malformed_body"),
    ];
    for (subject, body, status, code) in cases {
        assert_problem(export(&gw, subject, body).await, status, code).await;
    }
    let unauthenticated = reqwest::Client::new()
        .post(format!("{}/v1/subjects/alice/exports", gw.url))
        .json(&json!({"format": "jwt", "purpose": "access"}))
        .send()
        .await
        .unwrap();
    assert_problem(unauthenticated, 401, "missing_bearer_token").await;
    let not_json = reqwest::Client::new()
        .post(format!("{}/v1/subjects/alice/exports", gw.url))
        .bearer_auth(&gw.token)
        .body("format=jwt")
        .send()
        .await
        .unwrap();
    assert_problem(not_json, 415, "unsupported_media_type").await;
    // JSON between systems is UTF-8: another charset is refused, not misread.
    for (content_type, status) in [
        ("application/json; charset=ISO-8859-1", Some(415)),
        ("application/json; charset=\"utf-16\"", Some(415)),
        ("application/json; charset=UTF-8", None),
        ("application/json;charset=utf-8", None),
    ] {
        let response = reqwest::Client::new()
            .post(format!("{}/v1/subjects/alice/exports", gw.url))
            .bearer_auth(&gw.token)
            .header("content-type", content_type)
            .body(r#"{"format":"jwt","purpose":"access"}"#)
            .send()
            .await
            .unwrap();
        match status {
            Some(status) => {
                assert_problem(response, status, "unsupported_media_type").await;
            }
            None => assert_eq!(response.status(), 200, "{content_type}"),
        }
    }
}

#[tokio::test]
async fn every_export_is_recorded_without_contents() {
    let gw = TestGateway::demo().await;
    let token = jwt(&gw, "alice", json!({"format": "jwt", "purpose": "portability", "categories": ["contact"]})).await;
    let list: Value = gw.portal_get("/v1/subjects/alice/exports").send().await.unwrap().json().await.unwrap();
    let entry = &list["exports"][0];
    assert_eq!(entry["id"], claims(&token)["jti"]);
    assert_eq!((entry["client_id"].as_str(), entry["purpose"].as_str()), (Some("demo-portal"), Some("portability")));
    assert_eq!(entry["categories"], json!(["contact"]));
    assert_eq!(entry["kid"], gw.gateway.keyring().active_signing().kid());
    assert!(!list.to_string().contains("alice@example.org"));
}

#[tokio::test]
async fn verify_endpoint_accepts_ours_and_names_each_failure() {
    let gw = TestGateway::demo().await;
    let token = jwt(&gw, "alice", json!({"format": "jwt", "purpose": "access"})).await;
    let ok: Value = verify_http(&gw, token.clone()).await.json().await.unwrap();
    assert_eq!((ok["valid"].as_bool(), ok["kind"].as_str()), (Some(true), Some("bundle")));
    assert_eq!((ok["subject"].as_str(), ok["issued_at"].as_str()), (Some("alice"), Some("2026-11-22T00:00:00Z")));
    assert_eq!(ok["categories"][3], json!({"id": "payments", "name": "Invoices and payments", "records": 2}));

    let [h, p, s]: [&str; 3] = token.split('.').collect::<Vec<_>>().try_into().unwrap();
    let other = gdpr_gateway::jose::SigningKeyPair::generate();
    let foreign = gdpr_gateway::bundle::sign_jwt(&serde_json::from_value(claims(&token)).unwrap(), &other).unwrap();
    let resign = |header: &str| {
        gdpr_gateway::jose::danger::sign_with_header(
            gw.gateway.keyring().active_signing().signing_key(),
            header.as_bytes(),
            &b64::decode(p).unwrap(),
        )
    };
    let kid = gw.gateway.keyring().active_signing().kid().to_owned();
    let payload_with_dup = {
        let json = String::from_utf8(b64::decode(p).unwrap()).unwrap();
        let dup = json.replacen("{\"iss\":", "{\"sub\":\"mallory\",\"iss\":", 1);
        gdpr_gateway::jose::danger::sign_with_header(
            gw.gateway.keyring().active_signing().signing_key(),
            &b64::decode(h).unwrap(),
            dup.as_bytes(),
        )
    };
    let cases: Vec<(String, u16, &str)> = vec![
        (format!("{h}.{p}.{}", flip(s)), 422, "signature_invalid"),
        (format!("{h}.{}.{s}", flip(p)), 422, "signature_invalid"),
        (foreign, 422, "unknown_kid"),
        (
            resign(&format!(r#"{{"alg":"EdDSA","kid":"{kid}","typ":"gdpr-bundle+jwt","jku":"https://evil.example"}}"#)),
            422,
            "forbidden_header",
        ),
        (
            resign(&format!(r#"{{"alg":"EdDSA","kid":"{kid}","typ":"gdpr-bundle+jwt","jwk":{{}}}}"#)),
            422,
            "forbidden_header",
        ),
        (resign(&format!(r#"{{"alg":"EdDSA","kid":"{kid}"}}"#)), 422, "wrong_typ"),
        (resign(&format!(r#"{{"alg":"none","kid":"{kid}","typ":"gdpr-bundle+jwt"}}"#)), 422, "alg_not_allowed"),
        (payload_with_dup, 422, "duplicate_member"),
        (format!("{h}.{p}.{s}.x"), 422, "malformed"),
        (format!("{h}.{p}"), 422, "malformed"),
        ("garbage".into(), 422, "malformed"),
        (format!("{h}.{p}.{s}=="), 422, "malformed"),
        // The signature covers the payload as sent, so a mangled encoding fails there first.
        (format!("{h}.{}.{s}", "%%%"), 422, "signature_invalid"),
    ];
    for (body, status, code) in cases {
        assert_problem(verify_http(&gw, body.clone()).await, status, code).await;
    }
    let non_utf8 = verify_http(&gw, vec![0xff, 0xfe, 0x00]).await;
    assert_problem(non_utf8, 422, "malformed").await;
    let wrong_type =
        reqwest::Client::new().post(format!("{}/v1/verify", gw.url)).body(token.clone()).send().await.unwrap();
    assert_problem(wrong_type, 415, "unsupported_media_type").await;
    let oversized = verify_http(&gw, vec![b'a'; gdpr_gateway::bundle::MAX_JWT_BYTES + 1]).await;
    assert_eq!(oversized.status(), 413);
}

#[tokio::test]
async fn verify_command_reports_and_exits_by_outcome() {
    let gw = TestGateway::demo().await;
    let token = jwt(&gw, "bob", json!({"format": "jwt", "purpose": "access"})).await;
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bob.jwt");
    std::fs::write(&bundle, &token).unwrap();
    let jwks_url = format!("{}/.well-known/jwks.json", gw.url);
    let jwks_file = dir.path().join("jwks.json");
    std::fs::write(&jwks_file, gw.get("/.well-known/jwks.json").send().await.unwrap().text().await.unwrap()).unwrap();

    let run = |args: Vec<String>| async move {
        tokio::task::spawn_blocking(move || Command::new(BIN).args(args).output().unwrap()).await.unwrap()
    };
    let out = run(vec!["verify".into(), bundle.display().to_string(), "--jwks".into(), jwks_url.clone()]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "https://demo.gdpr-gateway.example",
        "bob",
        gw.gateway.keyring().active_signing().kid(),
        "2026-11-22T00:00:00Z",
        "contracts",
        "1 record",
    ] {
        assert!(text.contains(expected), "{expected} missing from {text}");
    }
    let out = run(vec![
        "verify".into(),
        bundle.display().to_string(),
        "--jwks".into(),
        jwks_file.display().to_string(),
        "--json".into(),
    ])
    .await;
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((report["valid"].as_bool(), report["subject"].as_str()), (Some(true), Some("bob")));
    assert_eq!(report["kind"], "bundle");

    let tampered = dir.path().join("tampered.jwt");
    let mut bytes = token.into_bytes();
    let middle = bytes.len() / 2;
    bytes[middle] = if bytes[middle] == b'A' { b'B' } else { b'A' };
    std::fs::write(&tampered, bytes).unwrap();
    let out =
        run(vec!["verify".into(), tampered.display().to_string(), "--jwks".into(), jwks_file.display().to_string()])
            .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("signature_invalid"));

    let out =
        run(vec!["verify".into(), "/nonexistent.jwt".into(), "--jwks".into(), jwks_file.display().to_string()]).await;
    assert_eq!(out.status.code(), Some(2));
    let out =
        run(vec!["verify".into(), bundle.display().to_string(), "--jwks".into(), bundle.display().to_string()]).await;
    assert_eq!(out.status.code(), Some(2), "a bundle is not a JWKS");
    let out = run(vec!["verify".into(), bundle.display().to_string()]).await;
    assert_eq!(out.status.code(), Some(2), "--jwks is required");
}

/// Changes one base64url character in the middle of `part`.
fn flip(part: &str) -> String {
    let mut bytes = part.as_bytes().to_vec();
    let i = bytes.len() / 2;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

async fn zip_export(gw: &TestGateway, subject: &str) -> Vec<u8> {
    let response = export(gw, subject, json!({"format": "zip", "purpose": "access"})).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    assert!(response.headers()["content-disposition"].to_str().unwrap().ends_with(".zip\""));
    response.bytes().await.unwrap().to_vec()
}

async fn verify_zip_http(gw: &TestGateway, body: Vec<u8>) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/v1/verify", gw.url))
        .header("content-type", "application/zip")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Re-zips with `change` applied to one entry, CRCs recomputed, as an editor would.
fn rezip(package: &[u8], target: &str, change: impl Fn(Vec<u8>) -> Vec<u8>) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(package)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let name = entry.name().to_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        out.start_file(name.as_str(), stored).unwrap();
        out.write_all(&if name == target { change(bytes) } else { bytes }).unwrap();
    }
    out.finish().unwrap().into_inner()
}

fn entry(package: &[u8], name: &str) -> String {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(package)).unwrap();
    let mut text = String::new();
    zip.by_name(name).unwrap().read_to_string(&mut text).unwrap();
    text
}

#[tokio::test]
async fn zip_package_holds_json_csv_and_a_readable_page_and_verifies() {
    let gw = TestGateway::demo().await;
    let package = zip_export(&gw, "alice").await;
    let payments: Value = serde_json::from_str(&entry(&package, "data/payments.json")).unwrap();
    assert_eq!(
        (payments["legal_basis"].as_str(), payments["records"].as_array().map(Vec::len)),
        (Some("legal_obligation"), Some(2))
    );
    let csv = entry(&package, "data/contact.csv");
    assert!(csv.starts_with("name,email,phone,address.street,address.postcode,address.city,id\r\n"), "{csv}");
    assert!(
        csv.contains("Alice de Vries,alice@example.org,+31 6 12345678,Keizersgracht 1,1015 CJ,Amsterdam,C-1001"),
        "{csv}"
    );
    // `m3` first appears in the fourth record: earlier rows are padded to the full width.
    let readings = entry(&package, "data/meter_readings.csv");
    assert!(readings.starts_with("meter,date,kwh,m3\r\nE-8712,2026-01-01,10412,\r\n"), "{readings}");
    assert!(readings.contains("\r\nG-3310,2026-01-01,,5230\r\n"), "{readings}");
    let page = entry(&package, "data/index.html");
    for expected in [
        "Medical priority registration",
        "Art. 9(2)(a) GDPR",
        "7 years",
        "Autoriteit Persoonsgegevens",
        "Art. 20 GDPR",
        // Who receives it, with the sharing assessment's answers.
        "<strong>Grid operator</strong>, independent controller, in NL",
        "Why that is allowed: Required by the Energy Act",
    ] {
        assert!(page.contains(expected), "{expected} missing from index.html");
    }
    assert!(entry(&package, "bag-info.txt").contains("Payload-Oxum: "));

    let ok: Value = verify_zip_http(&gw, package.clone()).await.json().await.unwrap();
    assert_eq!((ok["valid"].as_bool(), ok["subject"].as_str()), (Some(true), Some("alice")));
    assert_eq!(ok["kind"], "bundle", "a package is a bundle");
    assert_eq!(ok["categories"][2], json!({"id": "meter_readings", "name": "Meter readings", "records": 5}));
    let list: Value = gw.portal_get("/v1/subjects/alice/exports").send().await.unwrap().json().await.unwrap();
    assert_eq!(
        (list["exports"][0]["format"].as_str(), list["exports"][0]["id"].as_str()),
        (Some("zip"), ok["bundle_id"].as_str())
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alice.zip");
    std::fs::write(&path, &package).unwrap();
    let jwks = format!("{}/.well-known/jwks.json", gw.url);
    let args = vec!["verify".to_owned(), path.display().to_string(), "--jwks".into(), jwks.clone(), "--json".into()];
    let out = tokio::task::spawn_blocking(move || Command::new(BIN).args(args).output().unwrap()).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["bundle_id"], ok["bundle_id"]);
}

#[tokio::test]
async fn tampering_with_any_file_of_a_package_is_caught_and_named() {
    let gw = TestGateway::demo().await;
    let package = zip_export(&gw, "bob").await;
    let flip = |mut bytes: Vec<u8>| {
        bytes[0] ^= 1;
        bytes
    };
    for target in [
        "data/contact.json",
        "data/payments.csv",
        "data/index.html",
        "manifest-sha256.txt",
        "bag-info.txt",
        "bagit.txt",
        "tagmanifest-sha256.txt",
    ] {
        let body =
            assert_problem(verify_zip_http(&gw, rezip(&package, target, flip)).await, 422, "digest_mismatch").await;
        assert!(body["detail"].as_str().unwrap().contains(target), "{body}");
    }
    let resigned = rezip(&package, "signature.jwt", |bytes| bytes[..bytes.len() - 4].to_vec());
    assert_problem(verify_zip_http(&gw, resigned).await, 422, "malformed").await;
    assert_problem(verify_zip_http(&gw, b"PK\x03\x04 truncated".to_vec()).await, 422, "package_truncated").await;
    assert_problem(verify_zip_http(&gw, b"<html>502</html>".to_vec()).await, 422, "not_a_package").await;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tampered.zip");
    std::fs::write(&path, rezip(&package, "data/contracts.json", flip)).unwrap();
    let args = vec![
        "verify".to_owned(),
        path.display().to_string(),
        "--jwks".into(),
        format!("{}/.well-known/jwks.json", gw.url),
    ];
    let out = tokio::task::spawn_blocking(move || Command::new(BIN).args(args).output().unwrap()).await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("data/contracts.json") && stderr.contains("digest_mismatch"), "{stderr}");

    // Could not check (exit 2) versus checked and invalid (exit 1), by the file's fault.
    // One byte of an entry's data changed in place: its CRC no longer matches.
    let data_at = {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&package)).unwrap();
        zip.by_name("data/contracts.json").unwrap().data_start().unwrap() as usize
    };
    let mut crc_broken = package.clone();
    crc_broken[data_at] ^= 0x01;
    for (name, bytes, exit, expected) in [
        ("cut.zip", package[..package.len() * 2 / 3].to_vec(), 2, "package_truncated"),
        ("page.zip", b"<!doctype html><title>502 Bad Gateway</title>".to_vec(), 2, "not_a_package"),
        ("crc.zip", crc_broken, 1, "digest_mismatch"),
    ] {
        std::fs::write(dir.path().join(name), bytes).unwrap();
        let args = vec![
            "verify".to_owned(),
            dir.path().join(name).display().to_string(),
            "--jwks".into(),
            format!("{}/.well-known/jwks.json", gw.url),
            "--json".into(),
        ];
        let out = tokio::task::spawn_blocking(move || Command::new(BIN).args(args).output().unwrap()).await.unwrap();
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            (out.status.code(), report["error_code"].as_str()),
            (Some(exit), Some(expected)),
            "{name}: {report}"
        );
        assert_eq!(report["checked"], exit == 1, "{name}");
        if name == "crc.zip" {
            assert!(report["reason"].as_str().unwrap().contains("data/contracts.json"), "{report}");
        }
    }
}

#[tokio::test]
async fn oversized_zip_bodies_are_refused_while_streaming() {
    let gw = TestGateway::demo().await;
    let oversized = vec![0u8; gdpr_gateway::serve::MAX_VERIFY_ZIP_BYTES + 1];
    assert_problem(verify_zip_http(&gw, oversized).await, 413, "payload_too_large").await;
}

#[tokio::test]
async fn verify_command_takes_issuer_keys_from_a_signed_trust_list() {
    use gdpr_gateway::jose::{Jwks, SigningKeyPair};
    use gdpr_gateway::protocol::trust_list::{Entry, TrustList, VERSION};

    let gw = TestGateway::demo().await;
    let token = jwt(&gw, "alice", json!({"format": "jwt", "purpose": "access"})).await;
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, content: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    };
    let bundle = write("alice.jwt", &token);
    let operator = SigningKeyPair::generate();
    let operator_jwks =
        write("operator.json", &serde_json::to_string(&Jwks { keys: vec![operator.public_jwk().clone()] }).unwrap());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let list_for = |id: &str, exp: u64| TrustList {
        iss: "https://operator.example".into(),
        iat: now,
        exp,
        version: VERSION,
        controllers: vec![Entry {
            id: id.into(),
            name: "Demo".into(),
            jwks: gw.gateway.keyring().jwks(),
            encryption_jwks: gw.gateway.keyring().encryption_jwks(),
            import_endpoint: None,
            token_endpoint: None,
            privacy_contact: None,
        }],
    };
    let good = write("good.jwt", &list_for("https://demo.gdpr-gateway.example", now + 3600).sign(&operator).unwrap());
    let elsewhere = write("elsewhere.jwt", &list_for("https://other.example", now + 3600).sign(&operator).unwrap());
    let expired =
        write("expired.jwt", &list_for("https://demo.gdpr-gateway.example", now - 1).sign(&operator).unwrap());
    let forged = write(
        "forged.jwt",
        &list_for("https://demo.gdpr-gateway.example", now + 3600).sign(&SigningKeyPair::generate()).unwrap(),
    );

    let run = |args: Vec<&str>| {
        let args: Vec<String> = args.into_iter().map(str::to_owned).collect();
        async move { tokio::task::spawn_blocking(move || Command::new(BIN).args(args).output().unwrap()).await.unwrap() }
    };
    let with_list = |list: &str| {
        vec!["verify", bundle.as_str(), "--trust-list", list, "--operator-jwks", operator_jwks.as_str()]
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let out = run(with_list(&good).iter().map(String::as_str).collect()).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(with_list(&elsewhere).iter().map(String::as_str).collect()).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("issuer_mismatch"));
    for bad in [&expired, &forged] {
        let out = run(with_list(bad).iter().map(String::as_str).collect()).await;
        assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = run(vec!["verify", &bundle, "--trust-list", &good]).await;
    assert_eq!(out.status.code(), Some(2), "the operator key must be pinned");
    let out = run(vec![
        "verify",
        &bundle,
        "--trust-list",
        &good,
        "--operator-jwks",
        &operator_jwks,
        "--jwks",
        &operator_jwks,
    ])
    .await;
    assert_eq!(out.status.code(), Some(2), "one key source at a time");
}
