//! The wallet against a real gateway with its embedded relay, over loopback HTTP: pair,
//! confirm, download, verify, file a rights request, revoke.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../tests/it/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Duration;

use common::TestGateway;
use gdpr_gateway::views::PairingView;
use gdpr_wallet::{
    ConnectionState, ExportPurpose as Purpose, FileKeyStore, RequestForm, RequestKind, RequestState, RequestUpdate,
    Wallet, WalletError,
};

const WAIT: u64 = 10;

/// A wallet on the gateway's clock, keeping its keys in `dir`.
fn wallet(gw: &TestGateway, dir: &std::path::Path) -> Wallet {
    Wallet::with_clock(Arc::new(FileKeyStore::new(dir).unwrap()), Arc::new(gw.clock.clone()))
}

#[tokio::test]
async fn pair_confirm_download_verify_revoke() {
    let gw = TestGateway::demo().await;
    let portal = gw.portal_client();
    let keys = tempfile::tempdir().unwrap();
    let wallet = wallet(&gw, keys.path());
    let pairing: PairingView = portal.create_pairing("alice").await;

    let pending = wallet.connect(pairing.connect_uri.clone().unwrap()).await.unwrap();
    assert_eq!(pending.code.len(), 6);
    assert_eq!(wallet.connections().unwrap()[0].state, ConnectionState::Pending);
    let refused = wallet.request_export(pending.connection_id.clone(), Purpose::Access, None, WAIT).await.unwrap_err();
    assert!(matches!(refused, WalletError::NotConfirmed), "{refused:?}");

    let confirmed = portal.confirm(&pairing.pairing_id, &pending.code).await.unwrap();
    assert_eq!(confirmed.state.as_str(), "connected");
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
    let again = self::wallet(&gw, keys.path());
    again.request_export(pending.connection_id.clone(), Purpose::Access, None, WAIT).await.unwrap();

    // A rights request, acknowledged at once; the app finds it again after a restart.
    let form = RequestForm { kind: RequestKind::Access, categories: vec![], details: None, proposed_json: None };
    let filed = again.submit_request(pending.connection_id.clone(), form, WAIT).await.unwrap();
    assert_eq!((filed.state, filed.update), (RequestState::Open, RequestUpdate::Acknowledged));
    assert_eq!(filed.contact, "privacy@voorbeeld-energie.example");
    let restarted = self::wallet(&gw, keys.path());
    let kept = restarted.requests().unwrap();
    assert_eq!(kept.iter().map(|r| r.number.as_str()).collect::<Vec<_>>(), [filed.number.as_str()]);

    again.revoke(pending.connection_id.clone()).await.unwrap();
    assert_eq!(again.connections().unwrap()[0].state, ConnectionState::Revoked);
    let after = again.request_export(pending.connection_id.clone(), Purpose::Access, None, WAIT).await.unwrap_err();
    assert_eq!(after, WalletError::Revoked);
    for _ in 0..100 {
        let now = portal.connections("alice").await.unwrap().connections;
        if now[0].state == "revoked" {
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
