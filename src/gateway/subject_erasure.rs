//! After an erasure of every category, once the person has its receipt (their wallet
//! acknowledged it, or staff were told to send it another way and had `receipt_ack_days`
//! to do so), and no other request of theirs is open, the gateway forgets them:
//! their wallets are told and their connections revoked at the relay, bundles forwarded to
//! the gateway for them are deleted, and their reference is replaced in every register by
//! a keyed pseudonym (`~` and 32 hex digits, which no route accepts as a reference). Until
//! then the connections stay, so the receipt can reach the wallet.

use super::{Caller, Gateway, RequestError};
use crate::protocol::rights::{RequestKind, RequestState};
use crate::protocol::subject::SubjectRef;
use crate::store::erasure_store::Forgotten;
use crate::store::request_store::RightsRequest;

pub(crate) use crate::keys::PSEUDONYM_PREFIX;
/// Most people forgotten in one sweep; the next takes the rest.
const FORGET_BATCH: u32 = 100;

impl Gateway {
    /// Forgets the people of every erasure that is due (`ErasureStore::due`): their
    /// receipt was acknowledged, or flagged `receipt_ack_days` ago so staff had that long
    /// to send it another way. Run hourly, so a forgetting that failed is tried again.
    /// Answers how many were forgotten.
    pub async fn forget_due(&self) -> Result<usize, RequestError> {
        let grace = u64::from(self.request_rules.receipt_ack_days) * 86_400;
        let due = self.erasures.due(self.clock.now().saturating_sub(grace), FORGET_BATCH).await?;
        let mut forgotten = 0;
        for id in due {
            let Some(request) = self.requests.by_id(&id).await? else { continue };
            self.forget(&request).await?;
            forgotten += 1;
        }
        Ok(forgotten)
    }

    /// Forgets the person of `request`, an erasure of everything that is due.
    async fn forget(&self, request: &RightsRequest) -> Result<(), RequestError> {
        let everything = request.kind == RequestKind::Erasure && request.categories.is_empty();
        if !everything || request.state != RequestState::Closed || request.subject_ref.starts_with(PSEUDONYM_PREFIX) {
            return Ok(());
        }
        if let Ok(subject) = SubjectRef::parse(&request.subject_ref) {
            let connections = self.pairings.connections_of(subject.as_str(), super::MAX_WALLETS_TOLD).await?;
            for connection in connections.iter().filter(|c| c.active) {
                if let Err(e) = self.revoke_connection(&Caller::System, &subject, &connection.id).await {
                    tracing::warn!(connection = %connection.id, "revoking a forgotten person's connection: {e}");
                }
            }
        }
        let pseudonym = self.subject_hash(&request.subject_ref).ok_or_else(|| {
            RequestError::Invalid("the keyring has no pseudonym secret: open it with open_or_create".into())
        })?;
        // The trail knew them by this pseudonym all along: nothing in it changes.
        let objects = vec![format!("request:{}", request.id)];
        let entry = self.audit_entry_by("gateway", "subject.forgotten", objects, Some(&pseudonym), None);
        let history = |f: &Forgotten| {
            format!(
                "{} forwarded bundles deleted; pseudonymised in {} requests, {} exports, {} pairings, \
                 {} connections; {} undelivered notices dropped",
                f.imports_deleted, f.requests, f.exports, f.pairings, f.connections, f.notices_dropped
            )
        };
        let forgotten = self
            .erasures
            .forget(&request.subject_ref, &pseudonym, self.clock.now(), &request.id, history, &[entry])
            .await?;
        self.erasures.checkpoint().await?;
        tracing::info!(request = %request.number, items = forgotten.total(), "forgot the person of an erasure");
        Ok(())
    }
}
