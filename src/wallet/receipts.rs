//! Receipts of ended rights requests on the wallet's side (`docs/receipt-format.md`): the
//! signed receipt a closing or refusing status carries is verified against the
//! organisation's pinned keys and checked to be about this request, this organisation and
//! this account; one that verifies is acknowledged once (`receipt.ack`), one that does not
//! is kept unverified, with the reason, and never acknowledged.

use super::stored::{Stored, StoredRequest};
use super::{ConnectionState, EventKind, Wallet, WalletEvent};
use crate::bundle::{self, CategoryOutcome, VerifiedReceipt};
use crate::protocol::message::Body;
use crate::protocol::rights::RequestStatus;

/// One category's outcome, as a verified receipt states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptOutcome {
    pub category: String,
    /// `rectify`, `erase`, `restrict`, `lift_restriction`, `object` or `review` (category
    /// `*`: the request as a whole); a later organisation may name others.
    pub operation: String,
    /// For an objection: the purpose objected to (one outcome per purpose).
    pub purpose: Option<String>,
    /// `done` (carried out at the source), `refused` (for the ground in `note`) or
    /// `manual` (done by a member of staff, who said how in `note`).
    pub result: String,
    pub note: Option<String>,
    /// Records the source reported as affected. Signed, as apps count in (`Long`, `Int64`);
    /// a count beyond `i64::MAX` is not one any source reports.
    pub records: Option<i64>,
    /// The source's own id for the operation, to quote to it.
    pub confirmation: Option<String>,
    /// `sha256:<hex>` of each corrected record as the source holds it now (its JSON with
    /// keys sorted, no whitespace): compare with a later download.
    pub record_digests: Vec<String>,
    /// The id of a signed bundle that shows the result.
    pub bundle_id: Option<String>,
}

impl From<CategoryOutcome> for ReceiptOutcome {
    fn from(o: CategoryOutcome) -> Self {
        Self {
            category: o.category,
            operation: o.operation,
            purpose: o.purpose,
            result: o.result.as_str().to_owned(),
            note: o.note,
            records: o.evidence.records.and_then(|n| i64::try_from(n).ok()),
            confirmation: o.evidence.confirmation,
            record_digests: o.evidence.record_digests,
            bundle_id: o.evidence.bundle,
        }
    }
}

/// Verifies `status`'s receipt with the organisation's pinned keys and checks that it is
/// the organisation's (`iss`), about the connection's account (`sub`) and about this
/// request as the status tells it (number, type, how it ended). `None` without a receipt.
pub(super) fn check(stored: &Stored, status: &RequestStatus) -> Option<Result<VerifiedReceipt, String>> {
    let token = status.receipt.as_deref()?;
    Some(check_token(stored, status, token))
}

fn check_token(stored: &Stored, status: &RequestStatus, token: &str) -> Result<VerifiedReceipt, String> {
    let verified = bundle::verify_receipt(token.as_bytes(), &stored.controller.jwks).map_err(|e| e.to_string())?;
    let (claims, receipt) = (&verified.claims, &verified.claims.receipt);
    if claims.iss != stored.controller.id {
        return Err(format!("it is issued by {:?}, not {:?}", claims.iss, stored.controller.id));
    }
    if stored.subject.as_deref() != Some(claims.sub.as_str()) {
        return Err(format!("it is about {:?}, not this connection's account", claims.sub));
    }
    if receipt.request_number != status.number {
        return Err(format!("it is the receipt of request {}, not {}", receipt.request_number, status.number));
    }
    if (receipt.kind, receipt.state) != (status.kind, status.state) {
        return Err(format!(
            "it says {} {}, the status {} {}",
            receipt.kind.as_str(),
            receipt.state.as_str(),
            status.kind.as_str(),
            status.state.as_str()
        ));
    }
    Ok(verified)
}

/// What a kept request's verified receipt says was done, per category; empty when it has
/// none that verified.
pub(super) fn outcomes(stored: &Stored, request: &StoredRequest) -> Vec<ReceiptOutcome> {
    if !request.receipt_verified {
        return Vec::new();
    }
    match check(stored, &request.status) {
        Some(Ok(verified)) => verified.claims.receipt.outcomes.into_iter().map(ReceiptOutcome::from).collect(),
        _ => Vec::new(),
    }
}

impl Wallet {
    /// Tells the organisation of each verified receipt on the connection not yet
    /// acknowledged, once. One that cannot be sent is an event and is sent on a later call.
    pub(super) async fn acknowledge_receipts(&self, connection_id: &str) {
        let Ok(stored) = self.load(connection_id) else { return };
        if stored.state != ConnectionState::Connected {
            return;
        }
        let due: Vec<(String, String)> = stored
            .requests
            .iter()
            .filter(|r| r.receipt_verified && !r.receipt_acknowledged)
            .filter_map(|r| match check(&stored, &r.status) {
                Some(Ok(verified)) => Some((r.status.number.clone(), verified.claims.jti)),
                _ => None,
            })
            .collect();
        let event = |detail: String| WalletEvent {
            connection_id: connection_id.to_owned(),
            kind: EventKind::Unreachable,
            detail,
        };
        for (number, receipt_id) in due {
            if let Err(e) = self.send(&stored, Body::ReceiptAck { receipt_id }).await {
                self.log(event(format!("the receipt of request {number} was not acknowledged yet: {e}")));
                // The relay is away or the connection gone: the rest waits for the next call.
                return;
            }
            let marked = self.update(connection_id, |stored| {
                if let Some(kept) = stored.requests.iter_mut().find(|r| r.status.number == number) {
                    kept.receipt_acknowledged = true;
                }
            });
            if let Err(e) = marked {
                self.log(event(format!("the receipt of request {number} was acknowledged, but not noted: {e}")));
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(super) mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::super::stored::{Stored, StoredRequest};
    use super::super::{ConnectionState, EventKind, FileKeyStore, Wallet};
    use crate::bundle::{CategoryOutcome, Evidence, OutcomeResult, Receipt, ReceiptClaims, sign_receipt};
    use crate::clock::ManualClock;
    use crate::jose::{EncryptionKeyPair, Jwks, SigningKeyPair};
    use crate::protocol::rights::{RequestKind, RequestState, RequestStatus, RequestUpdate};
    use crate::protocol::trust_list::Entry;

    const CONTROLLER: &str = "https://energie.example";
    pub(in crate::wallet) const CONNECTION: &str = "c0ffee";

    /// A wallet with one connection to [`CONTROLLER`] through a relay nobody runs.
    pub(in crate::wallet) struct Fixture {
        pub(in crate::wallet) wallet: Wallet,
        pub(in crate::wallet) organisation: SigningKeyPair,
        _dir: tempfile::TempDir,
    }

    pub(in crate::wallet) fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = FileKeyStore::new(dir.path()).unwrap();
        let wallet = Wallet::with_clock(Arc::new(store), Arc::new(ManualClock::new(1_795_305_600)));
        let organisation = SigningKeyPair::generate();
        let stored = Stored {
            connection_id: CONNECTION.into(),
            relay: "http://127.0.0.1:9/relay".into(),
            controller: Entry {
                id: CONTROLLER.into(),
                name: "Voorbeeld Energie".into(),
                jwks: Jwks { keys: vec![organisation.public_jwk().clone()] },
                encryption_jwks: Jwks { keys: vec![EncryptionKeyPair::generate().public_jwk().clone()] },
                import_endpoint: None,
                token_endpoint: None,
                privacy_contact: None,
            },
            signing: SigningKeyPair::generate().to_jwk(),
            encryption: EncryptionKeyPair::generate().to_jwk(),
            state: ConnectionState::Connected,
            created_at: 1_795_305_600,
            subject: Some("alice".into()),
            operator: None,
            requests: Vec::new(),
            breach_notices: Vec::new(),
        };
        wallet.save(&stored).unwrap();
        Fixture { wallet, organisation, _dir: dir }
    }

    fn claims() -> ReceiptClaims {
        ReceiptClaims {
            iss: CONTROLLER.into(),
            sub: "alice".into(),
            jti: "req-1".into(),
            iat: 1_795_400_000,
            receipt: Receipt {
                request_number: "2026-000001".into(),
                kind: RequestKind::Rectification,
                state: RequestState::Closed,
                received_at: 1_795_305_600,
                due_at: 1_798_000_000,
                completed_at: 1_795_400_000,
                outcomes: vec![CategoryOutcome {
                    category: "contact".into(),
                    operation: "rectify".into(),
                    purpose: None,
                    result: OutcomeResult::Done,
                    note: None,
                    evidence: Evidence {
                        records: Some(1),
                        record_digests: vec![format!("sha256:{}", "ab".repeat(32))],
                        ..Evidence::default()
                    },
                }],
                detail: Some("done as asked".into()),
                information: None,
            },
        }
    }

    fn closed(receipt: Option<String>) -> RequestStatus {
        RequestStatus {
            number: "2026-000001".into(),
            kind: RequestKind::Rectification,
            state: RequestState::Closed,
            update: RequestUpdate::Closed,
            at: 1_795_400_000,
            received_at: 1_795_305_600,
            due_on: "2026-12-22".into(),
            due_at: 1_798_000_000,
            contact: "privacy@energie.example".into(),
            detail: Some("done as asked".into()),
            remedies: None,
            receipt,
        }
    }

    /// Feeds the status to the wallet as if it arrived unasked; returns the events.
    fn arrive(f: &Fixture, status: &RequestStatus) -> Vec<super::WalletEvent> {
        let stored = f.wallet.load(CONNECTION).unwrap();
        f.wallet.status_arrived(&stored, status);
        let mut log = f.wallet.events.lock().unwrap();
        log.drain(..).collect()
    }

    #[test]
    fn a_receipt_that_verifies_is_kept_with_its_outcomes_and_due_for_acknowledgement() {
        let f = fixture();
        let token = sign_receipt(&claims(), &f.organisation).unwrap();
        let events = arrive(&f, &closed(Some(token.clone())));
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].kind, EventKind::Request);
        assert!(events[0].detail.contains("receipt verified"), "{}", events[0].detail);
        let tracked = &f.wallet.requests().unwrap()[0];
        assert_eq!(tracked.receipt.as_deref(), Some(token.as_str()));
        assert!(tracked.receipt_verified && !tracked.receipt_acknowledged && tracked.receipt_problem.is_none());
        let outcome = &tracked.outcomes[0];
        assert_eq!(
            (outcome.category.as_str(), outcome.operation.as_str(), outcome.result.as_str()),
            ("contact", "rectify", "done")
        );
        assert_eq!((outcome.records, outcome.record_digests.len()), (Some(1), 1));

        // The same status again (the outbox delivers at least once) keeps the acknowledgement.
        f.wallet.update(CONNECTION, |stored| stored.requests[0].receipt_acknowledged = true).unwrap();
        arrive(&f, &closed(Some(token)));
        assert!(f.wallet.requests().unwrap()[0].receipt_acknowledged);
    }

    #[test]
    fn a_tampered_or_foreign_receipt_is_kept_unverified_and_never_acknowledged() {
        let f = fixture();
        let good = sign_receipt(&claims(), &f.organisation).unwrap();
        let tampered = {
            let mut bytes = good.clone().into_bytes();
            let at = good.find('.').unwrap() + 12;
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            String::from_utf8(bytes).unwrap()
        };
        let other_key = sign_receipt(&claims(), &SigningKeyPair::generate()).unwrap();
        let signed = |change: &dyn Fn(&mut ReceiptClaims)| {
            let mut c = claims();
            change(&mut c);
            sign_receipt(&c, &f.organisation).unwrap()
        };
        let cases = [
            ("tampered", tampered, "signature"),
            ("another key", other_key, "kid"),
            ("another issuer", signed(&|c| c.iss = "https://other.example".into()), "issued by"),
            ("another account", signed(&|c| c.sub = "bob".into()), "account"),
            ("another request", signed(&|c| c.receipt.request_number = "2026-000002".into()), "not 2026-000001"),
            ("another ending", signed(&|c| c.receipt.state = RequestState::Refused), "says rectification refused"),
        ];
        for (case, token, reason) in cases {
            let events = arrive(&f, &closed(Some(token.clone())));
            let unexpected: Vec<_> = events.iter().filter(|e| e.kind == EventKind::Unexpected).collect();
            assert_eq!(unexpected.len(), 1, "{case}: {events:?}");
            assert!(unexpected[0].detail.contains("does not verify"), "{case}: {}", unexpected[0].detail);
            assert!(unexpected[0].detail.to_lowercase().contains(reason), "{case}: {}", unexpected[0].detail);
            let tracked = &f.wallet.requests().unwrap()[0];
            assert_eq!(tracked.receipt.as_deref(), Some(token.as_str()), "{case}");
            assert!(!tracked.receipt_verified && !tracked.receipt_acknowledged, "{case}");
            assert!(tracked.outcomes.is_empty() && tracked.receipt_problem.is_some(), "{case}");
            let stored = f.wallet.load(CONNECTION).unwrap();
            assert!(stored.requests.iter().all(|r| !r.receipt_verified), "{case}: nothing is due for a receipt.ack");
        }
    }

    #[test]
    fn a_status_without_a_receipt_keeps_the_one_that_came() {
        let f = fixture();
        let token = sign_receipt(&claims(), &f.organisation).unwrap();
        arrive(&f, &closed(Some(token.clone())));
        arrive(&f, &closed(None));
        let tracked = &f.wallet.requests().unwrap()[0];
        assert_eq!((tracked.receipt.as_deref(), tracked.receipt_verified), (Some(token.as_str()), true));
    }

    /// However many receipts come, the entry stays readable: the oldest ended requests go.
    #[test]
    fn receipts_never_grow_the_entry_past_what_a_key_store_holds() {
        let f = fixture();
        for n in 1..=80 {
            let number = format!("2026-{n:06}");
            let mut c = claims();
            c.receipt.request_number.clone_from(&number);
            let status = RequestStatus {
                number,
                at: 1_795_400_000 + n,
                receipt: Some(sign_receipt(&c, &f.organisation).unwrap()),
                ..closed(None)
            };
            arrive(&f, &status);
        }
        let entry = f.wallet.store.load(CONNECTION.into()).unwrap().unwrap();
        assert!(entry.len() as u64 <= super::super::MAX_ENTRY_BYTES, "{} bytes", entry.len());
        let tracked = f.wallet.requests().unwrap();
        assert!((20..80).contains(&tracked.len()), "{} kept", tracked.len());
        assert!(tracked.iter().any(|r| r.number == "2026-000080"), "the newest is kept");
        assert!(tracked.iter().all(|r| r.receipt_verified));
    }

    /// Entries written before receipts existed hold bare statuses: they read back.
    #[test]
    fn requests_stored_before_receipts_read_back() {
        let old = json!({
            "number": "2026-000001", "type": "erasure", "state": "open", "update": "acknowledged",
            "at": 1, "received_at": 1, "due_on": "2026-12-22", "due_at": 2, "contact": "privacy@x.example"
        });
        let kept: StoredRequest = serde_json::from_value(old.clone()).unwrap();
        assert_eq!(kept.status.number, "2026-000001");
        assert!(!kept.receipt_verified && !kept.receipt_acknowledged && kept.receipt_problem.is_none());
        assert_eq!(serde_json::to_value(&kept).unwrap(), old, "written back as it was");
        let acknowledged = StoredRequest { receipt_verified: true, receipt_acknowledged: true, ..kept };
        let again: StoredRequest = serde_json::from_value(serde_json::to_value(&acknowledged).unwrap()).unwrap();
        assert_eq!(again, acknowledged);
    }
}
