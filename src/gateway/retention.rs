//! Retention of the gateway's own records (001 Atlas: warn, then delete by itself): what
//! is due when, the warning staff get ahead of it, the sweep, and legal holds that stop
//! it for a person or a request until lifted.

use serde_json::json;

use super::{Caller, Gateway};
use crate::clock::{UnixSeconds, rfc3339};
use crate::config::{RETENTION_UPCOMING_EVENT, RetentionConfig};
use crate::inventory::IsoDuration;
use crate::protocol::subject::SubjectRef;
use crate::store::StoreError;
use crate::store::audit_store::{PRUNED_ACTION, pruned_object};
use crate::store::outbox_store::Notice;
use crate::store::retention_store::{Expiring, LegalHold, Lifted, RetainedKind};

/// Rows deleted per transaction; a sweep repeats until a kind has no more due.
pub const RETENTION_BATCH: u32 = 500;
/// Most rows per kind the upcoming list shows; `count` says how many more there are.
pub const MAX_UPCOMING_LISTED: u32 = 100;
/// Tries at truncating SQLite's WAL after a sweep, and the pause between them.
const WAL_TRUNCATE_ATTEMPTS: u32 = 20;
const WAL_TRUNCATE_PAUSE: std::time::Duration = std::time::Duration::from_millis(50);
/// Most rows per kind counted for a warning or the upcoming list.
const MAX_COUNTED: u32 = 100_000;
/// Longest hold reason, in characters.
pub const MAX_HOLD_REASON_CHARS: usize = 2000;

/// Rows of one kind deleted within a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upcoming {
    pub kind: RetainedKind,
    /// How many, up to [`MAX_COUNTED`].
    pub count: usize,
    /// The first [`MAX_UPCOMING_LISTED`], soonest first, each with when it goes.
    pub rows: Vec<(Expiring, UnixSeconds)>,
}

/// Why a legal-hold call failed.
#[derive(Debug, thiserror::Error)]
pub enum HoldError {
    #[error("this role may not place or lift legal holds")]
    NotPermitted,
    #[error("no legal hold {0:?}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the legal hold was lifted before")]
    Lifted,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RetentionConfig {
    /// How long `kind` is kept after the instant its retention counts from; a request
    /// document's `retain_until` is that instant itself.
    fn period(&self, kind: RetainedKind) -> IsoDuration {
        match kind {
            RetainedKind::Exports => self.exports,
            RetainedKind::Imports => self.imports,
            RetainedKind::EndedPairings | RetainedKind::RevokedConnections => self.ended_pairings,
            RetainedKind::RequestDocuments => IsoDuration::default(),
        }
    }
}

impl Gateway {
    /// Deletes every row whose retention ended, kind by kind, in batches, each batch with
    /// an audit entry; answers how many. Nothing of a person or request on hold goes.
    pub async fn sweep_retention(&self) -> Result<u64, StoreError> {
        let now = self.clock.now();
        let mut total = 0;
        for kind in RetainedKind::ALL {
            let Some(through) = self.retention.period(kind).expired_through(now) else { continue };
            loop {
                let audit = |n: u64| {
                    let detail = format!("{n} {} past their retention", kind.as_str().replace('_', " "));
                    self.audit_entry_by(
                        "system",
                        "retention.deleted",
                        vec![format!("retention:{}", kind.as_str())],
                        None,
                        Some(detail),
                    )
                };
                let n = self.retention_store.sweep(kind, through, RETENTION_BATCH, audit).await?;
                total += n;
                if n < u64::from(RETENTION_BATCH) {
                    break;
                }
            }
        }
        total += self.prune_audit_trail(now).await?;
        if total > 0 {
            self.leave_no_copy().await;
        }
        Ok(total)
    }

    /// Deletes audit entries past `[retention] audit` up to the newest signed checkpoint
    /// they reach, which then anchors the chain; records it in the chain. Answers how many.
    async fn prune_audit_trail(&self, now: UnixSeconds) -> Result<u64, StoreError> {
        let Some(through) = self.retention.audit.expired_through(now) else { return Ok(0) };
        let record = |anchor: u64, deleted: u64| {
            let detail = format!(
                "{deleted} audit entries through entry {anchor}, made on or before {}, deleted past their retention \
                 ({}); the signed checkpoint at entry {anchor} anchors the chain",
                rfc3339(through),
                self.retention.audit
            );
            self.audit_entry_by("system", PRUNED_ACTION, vec![pruned_object(anchor)], None, Some(detail))
        };
        Ok(self.audits.prune(through, record).await?.map_or(0, |(_, deleted)| deleted))
    }

    /// How long ahead deletions are announced (`[retention] warn_before`).
    pub fn retention_warning_period(&self) -> IsoDuration {
        self.retention.warn_before
    }

    /// Truncates SQLite's WAL after a deletion, retrying while other connections keep the
    /// checkpoint from finishing; the next sweep tries again if they never let go.
    async fn leave_no_copy(&self) {
        for _ in 0..WAL_TRUNCATE_ATTEMPTS {
            match self.retention_store.truncate_wal().await {
                Ok(true) => return,
                Ok(false) => {}
                Err(e) => tracing::debug!("retention: truncating the WAL: {e}"),
            }
            tokio::time::sleep(WAL_TRUNCATE_PAUSE).await;
        }
        tracing::warn!("retention: the WAL could not be truncated; deleted rows stay in it until the next checkpoint");
    }

    /// What retention deletes within `within` from now, per kind (staff).
    pub async fn upcoming_deletions(
        &self,
        caller: &Caller,
        within: IsoDuration,
    ) -> Result<Option<Vec<Upcoming>>, StoreError> {
        if !caller.reads_register() {
            return Ok(None);
        }
        let horizon = within.after(self.clock.now());
        let mut all = Vec::new();
        for kind in RetainedKind::ALL {
            all.push(self.due_by(kind, horizon, None).await?);
        }
        Ok(Some(all))
    }

    /// Rows of `kind` gone by `horizon` and not before `after` (exclusive), soonest first.
    async fn due_by(
        &self,
        kind: RetainedKind,
        horizon: UnixSeconds,
        after: Option<UnixSeconds>,
    ) -> Result<Upcoming, StoreError> {
        let period = self.retention.period(kind);
        let Some(through) = period.expired_through(horizon) else {
            return Ok(Upcoming { kind, count: 0, rows: Vec::new() });
        };
        let rows: Vec<(Expiring, UnixSeconds)> = self
            .retention_store
            .due(kind, through, MAX_COUNTED)
            .await?
            .into_iter()
            .map(|row| {
                let at = period.after(row.since);
                (row, at)
            })
            .filter(|(_, at)| after.is_none_or(|after| *at > after))
            .collect();
        let count = rows.len();
        Ok(Upcoming { kind, count, rows: rows.into_iter().take(MAX_UPCOMING_LISTED as usize).collect() })
    }

    /// Announces, once across instances, the deletions coming within the warning period
    /// (`retention.upcoming` to endpoints that name it); answers how many kinds had some.
    pub async fn warn_of_retention(&self) -> Result<u32, StoreError> {
        let now = self.clock.now();
        let horizon = self.retention.warn_before.after(now);
        let mut warned = 0;
        for kind in RetainedKind::ALL {
            let from = self.retention_store.warned_through(kind.as_str()).await?;
            if from.is_some_and(|from| from >= horizon) {
                continue;
            }
            let coming = self.due_by(kind, horizon, from).await?;
            let notices = if coming.count == 0 { Vec::new() } else { self.retention_notices(&coming, horizon) };
            let sent = (now, self.retention.warn_before.expired_through(now).unwrap_or_default());
            if self.retention_store.record_warning(kind.as_str(), from, horizon, sent, &notices).await?
                && coming.count > 0
            {
                warned += 1;
            }
        }
        if warned > 0 {
            self.outbox_wake.notify_one();
        }
        Ok(warned)
    }

    fn retention_notices(&self, coming: &Upcoming, horizon: UnixSeconds) -> Vec<Notice> {
        let first = coming.rows.first().map(|(_, at)| rfc3339(*at));
        let data = json!({ "kind": coming.kind.as_str(), "count": coming.count, "first_at": first, "through": rfc3339(horizon) });
        self.webhook_notices(RETENTION_UPCOMING_EVENT, data)
    }

    /// Places a legal hold on a person or on one rights request (approvers and admins).
    pub async fn place_legal_hold(
        &self,
        caller: &Caller,
        subject_ref: Option<String>,
        request_id: Option<String>,
        reason: String,
    ) -> Result<LegalHold, HoldError> {
        if !caller.notifies_breaches() {
            return Err(HoldError::NotPermitted);
        }
        check_reason(&reason)?;
        match (&subject_ref, &request_id) {
            (Some(subject), None) => {
                SubjectRef::parse(subject).map_err(|e| HoldError::Invalid(e.to_string()))?;
            }
            (None, Some(request)) => {
                if self.requests.by_id(request).await?.is_none() {
                    return Err(HoldError::Invalid(format!("no rights request {request:?}")));
                }
            }
            _ => return Err(HoldError::Invalid("name either subject_ref or request_id".into())),
        }
        let hold = LegalHold {
            id: uuid::Uuid::new_v4().simple().to_string(),
            subject_ref,
            request_id,
            reason,
            placed_by: caller.audit_name(),
            placed_at: self.clock.now(),
            lifted: None,
        };
        let audit = [self.hold_audit(caller, "legal_hold.placed", &hold)];
        self.retention_store.place_hold(&hold, &audit).await?;
        Ok(hold)
    }

    /// Lifts an active hold, with the reason (approvers and admins).
    pub async fn lift_legal_hold(&self, caller: &Caller, id: &str, reason: String) -> Result<LegalHold, HoldError> {
        if !caller.notifies_breaches() {
            return Err(HoldError::NotPermitted);
        }
        check_reason(&reason)?;
        let mut hold = self.retention_store.hold(id).await?.ok_or_else(|| HoldError::NotFound(id.to_owned()))?;
        let lifted = Lifted { by: caller.audit_name(), reason, at: self.clock.now() };
        let audit = [self.hold_audit(caller, "legal_hold.lifted", &hold)];
        if !self.retention_store.lift_hold(id, &lifted, &audit).await? {
            return Err(HoldError::Lifted);
        }
        hold.lifted = Some(lifted);
        Ok(hold)
    }

    /// Legal holds, newest first (staff).
    pub async fn legal_holds(
        &self,
        caller: &Caller,
        active_only: bool,
        limit: u32,
    ) -> Result<Vec<LegalHold>, HoldError> {
        if !caller.reads_register() {
            return Err(HoldError::NotPermitted);
        }
        Ok(self.retention_store.holds(active_only, limit).await?)
    }

    fn hold_audit(&self, caller: &Caller, action: &str, hold: &LegalHold) -> crate::store::audit_chain::NewAuditEntry {
        let mut objects = vec![format!("legal_hold:{}", hold.id)];
        objects.extend(hold.request_id.iter().map(|r| format!("request:{r}")));
        self.audit_entry(caller, action, objects, hold.subject_ref.as_deref(), None)
    }
}

fn check_reason(reason: &str) -> Result<(), HoldError> {
    if reason.trim().is_empty() || reason.chars().count() > MAX_HOLD_REASON_CHARS {
        return Err(HoldError::Invalid(format!("reason must be 1 to {MAX_HOLD_REASON_CHARS} characters")));
    }
    Ok(())
}
