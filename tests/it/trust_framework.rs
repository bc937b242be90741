//! A trust framework brought up as `docs/operating-a-relay.md` tells it, with the real
//! binary: the operator starts a trust list, two organisations start their gateways
//! against the relay they will use, the operator adds both from their discovery
//! documents, signs the list and starts the standalone relay on it. A wallet pairs with the
//! first organisation through that relay and forwards its bundle to the second. Then the
//! operator key is rotated: the new key is published at once and signs only after the
//! overlap, so relays still pinning the old JWKS keep accepting the list meanwhile.

use std::path::Path;
use std::sync::Arc;

use gdpr_gateway::wallet::{FileKeyStore, Wallet};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::running_binary::{Running, command};

const PORTAL_TOKEN: &str = "portal-token-of-the-walkthrough";
const WAIT: u64 = 20;

/// One organisation's config, as the document writes it.
fn gateway_config(id: &str, name: &str, relay_url: &str, with_data: bool) -> String {
    let source = if with_data {
        r#"
[[sources]]
id = "crm"
type = "file"
name = "Customer records"
path = "energie-data"

[[categories]]
id = "contact"
name = "Contact details"
purposes = ["Sending your invoices"]
legal_basis = "contract"
retention = "P2Y"
source = "crm"
portable = true
"#
    } else {
        ""
    };
    format!(
        r#"relay_url = "{relay_url}"
relay_operator_jwks = "operator/operator.jwks.json"

[controller]
id = "{id}"
name = "{name}"
dpo_contact = "privacy@example.org"

[controller.supervisory_authority]
name = "Autoriteit Persoonsgegevens"
url = "https://autoriteitpersoonsgegevens.nl"

[[portal_clients]]
id = "portal"
token_sha256 = "{}"
{source}"#,
        hex::encode(Sha256::digest(PORTAL_TOKEN.as_bytes()))
    )
}

fn run(dir: &Path, args: &[&str]) -> String {
    let out = command(dir, args).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{args:?}: {stdout}{stderr}");
    stdout.into_owned()
}

async fn portal(base: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut request = reqwest::Client::new().request(method, format!("{base}{path}")).bearer_auth(PORTAL_TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{path}: {}", response.status());
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_brings_up_a_relay_and_two_gateways_from_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // The relay's address comes first: both gateways are configured with it.
    let relay_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let relay_url = format!("http://127.0.0.1:{relay_port}");

    // 1. The operator starts the list.
    let said = run(dir, &["trust-list", "init", "--dir", "operator", "--operator-id", "https://operator.example"]);
    assert!(said.contains("pin operator/operator.jwks.json"), "{said}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = std::fs::read_dir(dir.join("operator"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("operator-key-"))
            .unwrap();
        assert_eq!(std::fs::metadata(key).unwrap().permissions().mode() & 0o777, 0o600);
    }

    // 2. Two organisations start their gateways against that relay.
    std::fs::create_dir_all(dir.join("energie-data/alice")).unwrap();
    std::fs::write(
        dir.join("energie-data/alice/contact.jsonl"),
        "{\"id\":\"C-1\",\"name\":\"Alice\",\"email\":\"alice@example.org\"}\n",
    )
    .unwrap();
    let energie_id = "https://energie.example";
    let stroom_id = "https://groene-stroom.example";
    std::fs::write(dir.join("energie.toml"), gateway_config(energie_id, "Energie B.V.", &relay_url, true)).unwrap();
    std::fs::write(dir.join("stroom.toml"), gateway_config(stroom_id, "Groene Stroom", &relay_url, false)).unwrap();
    let checked = run(dir, &["check-config", "--config", "energie.toml"]);
    assert!(checked.contains("valid (1 category, 1 source)"), "{checked}");
    let energie = Running::start(dir, &["--config", "energie.toml", "--data-dir", "energie"]);
    let stroom = Running::start(dir, &["--config", "stroom.toml", "--data-dir", "stroom"]);

    // 3. The operator adds both from their discovery documents and signs the list.
    for (gateway, id) in [(&energie, energie_id), (&stroom, stroom_id)] {
        let discovery = format!("{}/.well-known/gdpr-gateway", gateway.url);
        let said = run(dir, &["trust-list", "add", "--dir", "operator", "--id", id, "--discovery", &discovery]);
        assert!(said.starts_with(&format!("added {id}")), "{said}");
    }
    // A document that names another controller than the one being added is refused.
    let discovery = format!("{}/.well-known/gdpr-gateway", stroom.url);
    let out = command(dir, &["trust-list", "add", "--dir", "operator", "--id", energie_id, "--discovery", &discovery])
        .output()
        .unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("is the document of"));
    let said = run(dir, &["trust-list", "sign", "--dir", "operator"]);
    assert!(said.contains("signed 2 controllers"), "{said}");
    let shown =
        run(dir, &["trust-list", "show", "operator/trust-list.jwt", "--operator-jwks", "operator/operator.jwks.json"]);
    assert!(shown.contains(energie_id) && shown.contains(stroom_id), "{shown}");
    let jwks: Value =
        reqwest::get(format!("{}/.well-known/jwks.json", energie.url)).await.unwrap().json().await.unwrap();
    let energie_kid = jwks["keys"][0]["kid"].as_str().unwrap().to_owned();
    assert!(shown.contains(&energie_kid), "{shown}");

    // 4. The relay, on the signed list.
    let listen = format!("127.0.0.1:{relay_port}");
    let relay = Running::spawn(
        dir,
        &[
            "relay",
            "--trust-list",
            "operator/trust-list.jwt",
            "--operator-jwks",
            "operator/operator.jwks.json",
            "--listen",
            &listen,
            "--data-dir",
            "relay-data",
        ],
    );
    assert_eq!(relay.url, relay_url);

    // A wallet pairs with Energie through the relay and forwards its bundle to Groene Stroom.
    let store = FileKeyStore::new(dir.join("wallet")).unwrap();
    let wallet = Wallet::new(Arc::new(store));
    let pairing =
        portal(&energie.url, reqwest::Method::POST, "/v1/pairings", Some(json!({"subject_ref": "alice"}))).await;
    let uri = pairing["connect_uri"].as_str().unwrap();
    assert!(uri.contains(&relay_port.to_string()), "the QR code names the standalone relay: {uri}");
    let pending = wallet.connect(uri.to_owned()).await.unwrap();
    let confirm = format!("/v1/pairings/{}/confirm", pairing["pairing_id"].as_str().unwrap());
    portal(&energie.url, reqwest::Method::POST, &confirm, Some(json!({"code": pending.code}))).await;
    wallet.wait_connected(pending.connection_id.clone(), WAIT).await.unwrap();
    let purpose = gdpr_gateway::protocol::Purpose::Portability;
    let bundle = wallet.request_export(pending.connection_id.clone(), purpose, None, WAIT).await.unwrap();
    assert_eq!((bundle.issuer.as_str(), bundle.categories.as_slice()), (energie_id, &["contact".to_owned()][..]));
    let receipt = wallet.forward(bundle.token.clone(), stroom_id.to_owned(), WAIT).await.unwrap();
    assert_eq!(receipt.controller_id, stroom_id);
    let imports = portal(&stroom.url, reqwest::Method::GET, "/v1/imports", None).await;
    assert_eq!(imports["imports"][0]["import_id"], receipt.import_id.as_str());

    // 5. The operator key is rotated with an overlap: both keys are published, the old one
    //    still signs, so a relay still pinning the old JWKS accepts the re-signed list.
    std::fs::copy(dir.join("operator/operator.jwks.json"), dir.join("pinned-before.jwks.json")).unwrap();
    let said = run(dir, &["trust-list", "rotate-key", "--dir", "operator", "--overlap", "P14D"]);
    assert!(said.contains("signs from"), "{said}");
    let jwks: Value = serde_json::from_slice(&std::fs::read(dir.join("operator/operator.jwks.json")).unwrap()).unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    run(dir, &["trust-list", "sign", "--dir", "operator"]);
    run(dir, &["trust-list", "show", "operator/trust-list.jwt", "--operator-jwks", "pinned-before.jwks.json"]);

    // Removing a controller takes it out of the next list.
    run(dir, &["trust-list", "remove", "--dir", "operator", "--id", stroom_id]);
    run(dir, &["trust-list", "sign", "--dir", "operator"]);
    let shown =
        run(dir, &["trust-list", "show", "operator/trust-list.jwt", "--operator-jwks", "operator/operator.jwks.json"]);
    assert!(shown.contains(energie_id) && !shown.contains(stroom_id), "{shown}");
    drop((relay, energie, stroom));
}
