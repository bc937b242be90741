//! Forgetting a person who had everything erased: in one transaction the gateway deletes
//! what it holds about them (bundles forwarded to it, pairings not yet used) and replaces
//! their reference by a keyed pseudonym in every register (requests, exports, pairings,
//! connections), dropping the free text and proposed values of their requests. The
//! registers still prove what was done, without naming the person.

use sqlx::Row;

use crate::clock::UnixSeconds;
use crate::store::audit_chain::NewAuditEntry;
use crate::store::audit_store::append_audit;
use crate::store::db::{Db, on_db};
use crate::store::request_store::{RequestEvent, append_event, insert_event};
use crate::store::{StoreError, to_i64};

/// What forgetting a person removed or rewrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forgotten {
    pub imports_deleted: u64,
    pub pairings: u64,
    pub connections: u64,
    pub requests: u64,
    pub exports: u64,
    pub notices_dropped: u64,
}

impl Forgotten {
    pub fn total(&self) -> u64 {
        self.imports_deleted + self.pairings + self.connections + self.requests + self.exports + self.notices_dropped
    }
}

#[derive(Debug, Clone)]
pub struct ErasureStore {
    db: Db,
}

impl ErasureStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Forgets `subject_ref` under `pseudonym`, and appends `history` (a line about what
    /// was done) to request `request_id`, all at once.
    pub async fn forget(
        &self,
        subject_ref: &str,
        pseudonym: &str,
        at: UnixSeconds,
        request_id: &str,
        history: impl FnOnce(&Forgotten) -> String + Send,
        audit: &[NewAuditEntry],
    ) -> Result<Forgotten, StoreError> {
        let when = at;
        let at = to_i64(at, "at")?;
        let mut forgotten = Forgotten::default();
        // Webhook payloads are compact JSON naming the person this way.
        let marker = format!("\"subject_ref\":{}", serde_json::Value::String(subject_ref.to_owned()));
        let contains = if self.db.is_shared() { "strpos(payload, $2)" } else { "instr(payload, $2)" };
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            // Notices about the person: to their wallets (delivered or not, with their
            // attempts, which may hold a receipt) and webhooks naming them.
            let about = format!(
                "(target IN (SELECT 'wallet:' || id FROM connections WHERE subject_ref = $1) OR {contains} > 0)"
            );
            sqlx::query(&format!("DELETE FROM outbox_attempts WHERE outbox_id IN (SELECT id FROM outbox WHERE {about})"))
                .bind(subject_ref)
                .bind(&marker)
                .execute(&mut *tx)
                .await?;
            forgotten.notices_dropped = sqlx::query(&format!("DELETE FROM outbox WHERE {about}"))
                .bind(subject_ref)
                .bind(&marker)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            // Proposed values live on in rectifications' operations, and the receipts name
            // the person: their digests stay.
            let theirs = "SELECT id FROM rights_requests WHERE subject_ref = $1";
            sqlx::query(&format!("UPDATE request_actions SET argument = NULL WHERE request_id IN ({theirs})"))
                .bind(subject_ref)
                .execute(&mut *tx)
                .await?;
            sqlx::query(&format!("UPDATE request_receipts SET token = NULL WHERE request_id IN ({theirs})"))
                .bind(subject_ref)
                .execute(&mut *tx)
                .await?;
            forgotten.imports_deleted = sqlx::query("DELETE FROM imports WHERE subject_ref = $1")
                .bind(subject_ref)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            forgotten.pairings = sqlx::query(
                "UPDATE pairings SET subject_ref = $2, sealed_token = NULL, status_sha256 = NULL, code_sha256 = NULL,
                     state = CASE WHEN state IN ('pending', 'scanned') THEN 'cancelled' ELSE state END
                 WHERE subject_ref = $1",
            )
            .bind(subject_ref)
            .bind(pseudonym)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            forgotten.connections = sqlx::query(
                "UPDATE connections SET subject_ref = $2, state = 'revoked', revoked_at = COALESCE(revoked_at, $3)
                 WHERE subject_ref = $1",
            )
            .bind(subject_ref)
            .bind(pseudonym)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            forgotten.exports = sqlx::query("UPDATE exports SET subject_ref = $2 WHERE subject_ref = $1")
                .bind(subject_ref)
                .bind(pseudonym)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            forgotten.requests = sqlx::query(
                "UPDATE rights_requests SET subject_ref = $2, details = NULL, proposed = NULL, intermediary = NULL
                 WHERE subject_ref = $1",
            )
            .bind(subject_ref)
            .bind(pseudonym)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let line = RequestEvent {
                at: when,
                actor: "gateway".to_owned(),
                phase: "closed".to_owned(),
                action: "subject forgotten".to_owned(),
                detail: Some(history(&forgotten)),
            };
            append_event!(tx, request_id, line);
            append_audit!(tx, audit);
            tx.commit().await?;
            Ok::<(), StoreError>(())
        })?;
        Ok(forgotten)
    }

    /// Erasures of everything whose person can be forgotten now: closed, something done,
    /// the receipt acknowledged or flagged before `flagged_before`, no other request of the
    /// person still open, not forgotten yet. At most `limit`, oldest receipt first.
    pub async fn due(&self, flagged_before: UnixSeconds, limit: u32) -> Result<Vec<String>, StoreError> {
        on_db!(&self.db, pool => {
            let rows = sqlx::query(
                "SELECT r.id FROM rights_requests r JOIN request_receipts c ON c.request_id = r.id
                 WHERE r.kind = 'erasure' AND r.categories = '[]' AND r.state = 'closed'
                   AND substr(r.subject_ref, 1, 1) <> '~'
                   AND (c.acknowledged_at IS NOT NULL OR c.flagged_at < $1)
                   AND EXISTS (SELECT 1 FROM request_actions a
                               WHERE a.request_id = r.id AND a.status IN ('done', 'manual'))
                   AND NOT EXISTS (SELECT 1 FROM rights_requests o
                                   WHERE o.subject_ref = r.subject_ref AND o.state = 'open')
                 ORDER BY c.signed_at LIMIT $2",
            )
            .bind(to_i64(flagged_before, "flagged_before")?)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
            rows.iter().map(|row| Ok(row.try_get("id")?)).collect()
        })
    }

    /// Copies what the write-ahead log holds into the database file and empties the log
    /// (SQLite), so the pages an erasure overwrote leave no older copy behind.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        if let Db::Sqlite(pool) = &self.db {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(pool).await?;
        }
        Ok(())
    }
}
