//! The wallet against a real gateway with its embedded relay, over loopback HTTP: pair,
//! confirm, download, verify, revoke.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use gdpr_gateway::clock::{Clock, SystemClock};
use gdpr_gateway::config::builtin_demo as demo;
use gdpr_gateway::config::{self, Origin, Overrides};
use gdpr_gateway::serve;
use gdpr_wallet::{ConnectionState, ExportPurpose as Purpose, FileKeyStore, Wallet, WalletError};
use serde_json::{Value, json};

const WAIT: u64 = 10;

struct Gateway {
    url: String,
    token: String,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn gateway() -> Gateway {
    let dir = tempfile::tempdir().unwrap();
    let overrides = Overrides {
        listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        data_dir: Some(dir.path().to_owned()),
        database_url: None,
    };
    let loaded = config::from_text(Origin::BuiltInDemo, demo::CONFIG, Vec::new(), overrides).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let listener = serve::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
    let bound = listener.local_addr().unwrap();
    let prepared = serve::prepare(loaded, clock, bound).await.unwrap();
    let token = std::fs::read_to_string(dir.path().join(demo::TOKEN_FILE)).unwrap().trim().to_owned();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve::run(listener, prepared, async move {
        let _ = stopped.await;
    }));
    Gateway { url: format!("http://{bound}"), token, _dir: dir, _stop: stop }
}

impl Gateway {
    async fn portal(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let request = reqwest::Client::new().request(method, format!("{}{path}", self.url)).bearer_auth(&self.token);
        request.json(&body).send().await.unwrap().json().await.unwrap()
    }
}

#[tokio::test]
async fn pair_confirm_download_verify_revoke() {
    let gw = gateway().await;
    let keys = tempfile::tempdir().unwrap();
    let wallet = Wallet::new(Arc::new(FileKeyStore::new(keys.path()).unwrap()));
    let pairing = gw.portal(reqwest::Method::POST, "/v1/pairings", json!({ "subject_ref": "alice" })).await;

    let pending = wallet.connect(pairing["connect_uri"].as_str().unwrap().to_owned()).await.unwrap();
    assert_eq!(pending.code.len(), 6);
    assert_eq!(wallet.connections().unwrap()[0].state, ConnectionState::Pending);
    let refused = wallet.request_export(pending.connection_id.clone(), Purpose::Access, None, WAIT).await.unwrap_err();
    assert!(matches!(refused, WalletError::NotConfirmed), "{refused:?}");

    let path = format!("/v1/pairings/{}/confirm", pairing["pairing_id"].as_str().unwrap());
    let confirmed = gw.portal(reqwest::Method::POST, &path, json!({ "code": pending.code })).await;
    assert_eq!(confirmed["state"], "connected");
    wallet.wait_connected(pending.connection_id.clone(), WAIT).await.unwrap();
    let listed = wallet.connections().unwrap();
    assert_eq!((listed.len(), listed[0].state), (1, ConnectionState::Connected));
    assert_eq!(listed[0].controller_id, pending.controller_id);

    let bundle = wallet.request_export(pending.connection_id.clone(), Purpose::Portability, None, WAIT).await.unwrap();
    assert_eq!(bundle.issuer, pending.controller_id);
    assert!(bundle.categories.contains(&"meter_readings".to_owned()), "{:?}", bundle.categories);
    assert!(!bundle.categories.contains(&"service_notes".to_owned()), "not portable");
    assert_eq!(wallet.verify(pending.connection_id.clone(), bundle.token.clone()).unwrap(), bundle);
    let mut tampered = bundle.token.clone().into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert!(matches!(wallet.verify(pending.connection_id.clone(), tampered), Err(WalletError::BadBundle(_))));
    let unknown =
        wallet.request_export(pending.connection_id.clone(), Purpose::Access, Some(vec!["nope".into()]), WAIT).await;
    assert!(matches!(unknown, Err(WalletError::Refused { code, .. }) if code == "category_not_found"));

    // Keys survive a restart of the app: a new wallet on the same store goes on.
    let again = Wallet::new(Arc::new(FileKeyStore::new(keys.path()).unwrap()));
    again.request_export(pending.connection_id.clone(), Purpose::Access, None, WAIT).await.unwrap();

    again.revoke(pending.connection_id.clone()).await.unwrap();
    assert_eq!(again.connections().unwrap()[0].state, ConnectionState::Revoked);
    let after = again.request_export(pending.connection_id.clone(), Purpose::Access, None, WAIT).await.unwrap_err();
    assert_eq!(after, WalletError::Revoked);
    for _ in 0..100 {
        let now: Value = reqwest::Client::new()
            .get(format!("{}/v1/subjects/alice/connections", gw.url))
            .bearer_auth(&gw.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if now["connections"][0]["state"] == "revoked" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the gateway never learnt of the revocation");
}

#[tokio::test]
async fn bad_uris_and_unknown_connections_are_clear_errors() {
    let keys = tempfile::tempdir().unwrap();
    let wallet = Wallet::new(Arc::new(FileKeyStore::new(keys.path()).unwrap()));
    assert!(matches!(wallet.connect("https://relay.example/x".into()).await, Err(WalletError::InvalidUri(_))));
    assert!(matches!(wallet.verify("abcd".into(), "x.y.z".into()), Err(WalletError::UnknownConnection(_))));
    assert!(matches!(wallet.verify("../etc".into(), "x.y.z".into()), Err(WalletError::Storage(_))));
}
