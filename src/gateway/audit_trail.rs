//! The audit trail (art. 5(2): the organisation proves compliance): what happened, who
//! did it, to what, and about whom as a keyed hash, appended to a hash chain no one can
//! change unnoticed, with checkpoints the gateway signs (`typ gdpr-audit-checkpoint+jwt`)
//! and sends to a witness. Entries are written with the change they record where the
//! change is one transaction (requests, exports), else right after it.

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use super::{Caller, Gateway};
use crate::clock::UnixSeconds;
use crate::jose::jws;
use crate::store::StoreError;
use crate::store::audit_chain::{AuditEntry, GENESIS, NewAuditEntry};
use crate::store::audit_store::{AuditFilter, Checkpoint};
use crate::store::request_store::{RequestEvent, RightsRequest};

/// `typ` of a signed checkpoint.
pub const CHECKPOINT_TYP: &str = "gdpr-audit-checkpoint+jwt";
/// Largest checkpoint token a verifier reads.
pub const MAX_CHECKPOINT_BYTES: usize = 4096;

/// Refused staff tokens recorded one by one per minute; the rest are counted.
pub const MAX_SIGN_IN_FAILURES_PER_MINUTE: u32 = 30;

/// The current minute's refused staff tokens.
#[derive(Debug, Default)]
pub(crate) struct FailureWindow {
    minute: u64,
    recorded: u32,
    suppressed: u64,
}

/// When the gateway signs a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditRules {
    /// After this many entries since the last checkpoint.
    pub checkpoint_every_entries: u64,
    /// After this many seconds since the last checkpoint, if anything was appended.
    pub checkpoint_every_secs: u64,
}

/// The claims of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointClaims {
    /// The controller id.
    pub iss: String,
    pub iat: UnixSeconds,
    pub audit: CheckpointHead,
}

/// The head a checkpoint vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointHead {
    /// The number of the last entry, which is also how many there are.
    pub seq: u64,
    /// Its hash (hex).
    pub hash: String,
}

/// Why the trail could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    #[error("only auditors and administrators read the audit trail")]
    NotPermitted,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Gateway {
    /// An entry about `objects` (`kind:id`), by `caller`, concerning `subject_ref` (kept
    /// only as its keyed hash), now.
    pub(crate) fn audit_entry(
        &self,
        caller: &Caller,
        action: &str,
        objects: Vec<String>,
        subject_ref: Option<&str>,
        detail: Option<String>,
    ) -> NewAuditEntry {
        self.audit_entry_by(&caller.audit_name(), action, objects, subject_ref, detail)
    }

    /// As [`Gateway::audit_entry`], for an actor named as the registers name it.
    pub(crate) fn audit_entry_by(
        &self,
        actor: &str,
        action: &str,
        objects: Vec<String>,
        subject_ref: Option<&str>,
        detail: Option<String>,
    ) -> NewAuditEntry {
        NewAuditEntry {
            at: self.clock.now(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            objects,
            subject: subject_ref.and_then(|s| self.subject_hash(s)),
            detail,
        }
    }

    /// The keyed hash a person appears under in the trail: the pseudonym that replaces
    /// them in the registers when they are forgotten, so forgetting leaves the trail as it
    /// is. A reference that is a pseudonym already stays itself.
    pub fn subject_hash(&self, subject_ref: &str) -> Option<String> {
        if subject_ref.starts_with(super::subject_erasure::PSEUDONYM_PREFIX) {
            return Some(subject_ref.to_owned());
        }
        self.keyring.pseudonym_secret().map(|secret| secret.pseudonym(subject_ref))
    }

    /// The entries for `request`'s new history lines (`request.<action>` by the line's
    /// actor, with the phase; never the line's free text, which may name people), and one
    /// for a receipt signed with them, named by its digest.
    pub(crate) fn request_audit(
        &self,
        request: &RightsRequest,
        events: &[RequestEvent],
        receipt: Option<&str>,
    ) -> Vec<NewAuditEntry> {
        let subject = self.subject_hash(&request.subject_ref);
        let object = format!("request:{}", request.id);
        let mut entries: Vec<NewAuditEntry> = events
            .iter()
            .map(|e| NewAuditEntry {
                at: e.at,
                actor: e.actor.clone(),
                action: format!("request.{}", e.action),
                objects: vec![object.clone()],
                subject: subject.clone(),
                detail: Some(format!("{} request, phase {}", request.kind.as_str(), e.phase)),
            })
            .collect();
        if let Some(token) = receipt {
            let digest = hex::encode(sha2::Sha256::digest(token.as_bytes()));
            entries.push(NewAuditEntry {
                at: self.clock.now(),
                actor: super::request_actions::GATEWAY_ACTOR.to_owned(),
                action: "receipt.signed".to_owned(),
                objects: vec![object, format!("receipt:sha256:{digest}")],
                subject,
                detail: None,
            });
        }
        entries
    }

    /// Appends `entries` on their own. A failure is returned: what cannot be recorded is
    /// reported, not lost in silence.
    pub(crate) async fn audit(&self, entries: &[NewAuditEntry]) -> Result<(), StoreError> {
        self.audits.append(entries).await
    }

    /// Appends `entries`, logging a failure: for events whose own change is already
    /// committed and must not be undone by the trail.
    pub(crate) async fn audit_after(&self, entries: &[NewAuditEntry]) {
        if let Err(e) = self.audits.append(entries).await {
            tracing::error!("audit trail: {} entries not appended: {e}", entries.len());
        }
    }

    /// Notes a retention sweep that deleted `count` items of `what` (nothing when none):
    /// counts, never contents.
    pub(crate) async fn audit_deletion(&self, what: &str, count: u64) {
        if count > 0 {
            let detail = format!("{count} {what} past their retention deleted");
            let entry = self.audit_entry_by("gateway", "retention.deleted", Vec::new(), None, Some(detail));
            self.audit_after(&[entry]).await;
        }
    }

    /// Notes a staff token that was refused (`why`: what kind of refusal, never the token),
    /// at most [`MAX_SIGN_IN_FAILURES_PER_MINUTE`] one by one each minute; the rest are
    /// counted into the first entry of the next minute, so a flood of guesses cannot flood
    /// the trail.
    pub async fn staff_sign_in_failed(&self, why: &str) {
        let minute = self.clock.now() / 60;
        let (record, suppressed) = {
            let mut window = self.sign_in_failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let suppressed = if window.minute == minute {
                0
            } else {
                let carried = window.suppressed;
                *window = FailureWindow { minute, recorded: 0, suppressed: 0 };
                carried
            };
            if window.recorded < MAX_SIGN_IN_FAILURES_PER_MINUTE {
                window.recorded += 1;
                (true, suppressed)
            } else {
                window.suppressed += 1;
                (false, suppressed)
            }
        };
        if record {
            let detail = match suppressed {
                0 => why.to_owned(),
                n => format!("{why} (and {n} more refusals the minute before, not recorded one by one)"),
            };
            let entry = self.audit_entry_by("unknown", "staff.sign_in_failed", Vec::new(), None, Some(detail));
            self.audit_after(&[entry]).await;
        }
    }

    /// A page of the trail, for auditors and administrators.
    pub async fn audit_page(
        &self,
        caller: &Caller,
        filter: &AuditFilter,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, AuditError> {
        if !caller.reads_audit() {
            return Err(AuditError::NotPermitted);
        }
        Ok(self.audits.page(filter, limit).await?)
    }

    /// The last checkpoint signed, by this instance or another.
    pub async fn last_audit_checkpoint(&self) -> Result<Option<Checkpoint>, StoreError> {
        self.audits.last_checkpoint().await
    }

    /// Signs a checkpoint over the head when [`AuditRules`] say one is due, keeps it and
    /// sends it to the witnesses (`audit.checkpoint` webhooks); `None` when none was due.
    pub async fn checkpoint_audit(&self) -> Result<Option<Checkpoint>, StoreError> {
        let (seq, hash) = self.audits.head().await?;
        let last = self.audits.last_checkpoint().await?;
        let now = self.clock.now();
        let (since_seq, since_at) = last.as_ref().map_or((0, 0), |c| (c.seq, c.at));
        let grown = seq.saturating_sub(since_seq);
        let due = grown >= self.audit_rules.checkpoint_every_entries
            || (grown > 0 && now.saturating_sub(since_at) >= self.audit_rules.checkpoint_every_secs);
        if !due {
            return Ok(None);
        }
        // Never vouch for a chain that does not continue the last checkpoint: a rewrite in
        // the database would otherwise be signed, and reach the witnesses, as genuine.
        let (from_seq, from_hash) = last.as_ref().map_or((0, GENESIS), |c| (c.seq, c.hash.as_str()));
        if let Some(finding) = self.audits.verify_since(from_seq, from_hash, (seq, &hash)).await?.finding {
            tracing::error!("audit trail: no checkpoint signed, the trail was changed since the last one: {finding}");
            return Ok(None);
        }
        let claims = CheckpointClaims {
            iss: self.notice.controller.id.clone(),
            iat: now,
            audit: CheckpointHead { seq, hash: hash.clone() },
        };
        let payload = serde_json::to_vec(&claims).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let token = jws::sign(self.keyring.active_signing(), CHECKPOINT_TYP, &payload);
        let checkpoint = Checkpoint { seq, hash, at: now, token };
        // Kept with the notices to the witnesses, so none misses a checkpoint; another
        // instance that signed at the same entry first keeps its own.
        let notices = self.checkpoint_notices(&checkpoint);
        if !self.audits.add_checkpoint(&checkpoint, &notices).await? {
            return Ok(None);
        }
        if !notices.is_empty() {
            self.outbox_wake.notify_one();
        }
        Ok(Some(checkpoint))
    }
}

/// Verifies a checkpoint token with the controller's keys: its head, or why not.
pub fn verify_checkpoint(token: &[u8], keys: &crate::jose::Jwks) -> Result<CheckpointClaims, String> {
    let policy = jws::Policy { typ: CHECKPOINT_TYP, max_bytes: MAX_CHECKPOINT_BYTES };
    let verified = jws::verify(token, keys, policy).map_err(|e| e.to_string())?;
    serde_json::from_slice(&verified.payload).map_err(|e| format!("not a checkpoint: {e}"))
}
