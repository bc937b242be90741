//! The wallet against a real gateway with its embedded relay, over loopback HTTP: pair,
//! confirm, download, verify, file a rights request, revoke; a rectification built from
//! the downloaded bundle, carried out, and its signed receipt verified and acknowledged.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../tests/it/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Duration;

use common::TestGateway;
use gdpr_gateway::protocol::rights::StaffRole;
use gdpr_gateway::views::PairingView;
use gdpr_wallet::{
    ConnectionState, EventKind, ExportPurpose as Purpose, FileKeyStore, RequestForm, RequestKind, RequestState,
    RequestUpdate, Wallet, WalletError, rectification_form,
};

const WAIT: Duration = Duration::from_secs(10);

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
    assert!(matches!(wallet.verify(pending.connection_id.clone(), tampered), Err(WalletError::BadBundle { .. })));
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
async fn a_rectification_from_the_bundle_ends_with_a_verified_acknowledged_receipt() {
    let gw = TestGateway::demo().await;
    let portal = gw.portal_client();
    let keys = tempfile::tempdir().unwrap();
    let wallet = wallet(&gw, keys.path());
    let pairing = portal.create_pairing("alice").await;
    let pending = wallet.connect(pairing.connect_uri.clone().unwrap()).await.unwrap();
    portal.confirm(&pairing.pairing_id, &pending.code).await.unwrap();
    wallet.wait_connected(pending.connection_id.clone(), WAIT).await.unwrap();
    let connection = pending.connection_id;

    // The record as the downloaded bundle holds it, as an app reads it from the token.
    let contact = Some(vec!["contact".to_owned()]);
    let bundle = wallet.request_export(connection.clone(), Purpose::Access, contact, WAIT).await.unwrap();
    let claims =
        gdpr_gateway::bundle::verify_jwt(bundle.token.as_bytes(), &gw.gateway.keyring().jwks()).unwrap().claims;
    let record = serde_json::to_string(&claims.bundle.categories[0].records[0]).unwrap();
    let changes = r#"{"address.street":"Kerkstraat 2"}"#.to_owned();
    let form = rectification_form("contact".into(), record.clone(), "id".into(), changes).unwrap();
    assert_eq!(form.proposed_json.as_deref(), Some(r#"{"contact":{"id":"C-1001","address.street":"Kerkstraat 2"}}"#));
    let changes_id = r#"{"id":"C-2"}"#.to_owned();
    let refused = rectification_form("contact".into(), record, "id".into(), changes_id);
    assert!(matches!(refused, Err(WalletError::InvalidInput { .. })), "{refused:?}");
    let filed = wallet.submit_request(connection.clone(), form, WAIT).await.unwrap();

    // The organisation's staff take it through; the gateway corrects it at the source.
    let (handler, approver) = (gw.staff_client(StaffRole::Handler), gw.staff_client(StaffRole::Approver));
    let id = handler.register("").await.unwrap().requests[0].id.clone();
    handler.advance(&id).await.unwrap();
    handler.meet(&id, &["scope_determined", "legal_holds_checked"]).await;
    handler.advance(&id).await.unwrap();
    approver.advance(&id).await.unwrap();
    handler.carried_out(&id).await;
    handler.step(&id, "advance", serde_json::json!({"note": "your address is corrected"})).await.unwrap();

    let mut acknowledged = false;
    for _ in 0..100 {
        let events = wallet.events().await.unwrap();
        assert!(events.iter().all(|e| e.kind != EventKind::Unexpected), "{events:?}");
        let history = handler.rights_request(&id).await.unwrap().history;
        if let Some(line) = history.iter().find(|h| h.action == "receipt acknowledged") {
            assert_eq!(line.actor, format!("connection:{connection}"));
            acknowledged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(acknowledged, "the register never learnt the receipt arrived");
    let closed = &wallet.requests().unwrap()[0];
    assert_eq!((closed.number.as_str(), closed.state), (filed.number.as_str(), RequestState::Closed));
    assert!(closed.receipt.is_some() && closed.receipt_verified && closed.receipt_acknowledged, "{closed:?}");
    let outcome = &closed.outcomes[..];
    assert_eq!(outcome.len(), 1, "{outcome:?}");
    assert_eq!((outcome[0].category.as_str(), outcome[0].operation.as_str()), ("contact", "rectify"));
    assert_eq!((outcome[0].result.as_str(), outcome[0].record_digests.len()), ("done", 1));
    // After a restart the app still holds the receipt and knows it was acknowledged.
    let restarted = self::wallet(&gw, keys.path());
    assert_eq!(&restarted.requests().unwrap()[0], closed);
}

#[tokio::test]
async fn bad_uris_and_unknown_connections_are_clear_errors() {
    let keys = tempfile::tempdir().unwrap();
    let wallet = Wallet::new(Arc::new(FileKeyStore::new(keys.path()).unwrap()));
    assert!(matches!(wallet.connect("https://relay.example/x".into()).await, Err(WalletError::InvalidUri { .. })));
    assert!(matches!(wallet.verify("abcd".into(), "x.y.z".into()), Err(WalletError::UnknownConnection { .. })));
    assert!(matches!(wallet.verify("../etc".into(), "x.y.z".into()), Err(WalletError::Storage { .. })));
}
