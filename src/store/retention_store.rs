//! Retention of what the gateway itself holds: per kind, the rows whose retention ended
//! are deleted in batches, skipping anything of a person or request under a legal hold,
//! each batch with its audit entry in the same transaction. On PostgreSQL a batch is
//! claimed with `FOR UPDATE SKIP LOCKED`, so instances sweeping at once never wait for or
//! delete the same rows; SQLite has one writer.

use sqlx::Row;

use crate::clock::UnixSeconds;
use crate::store::audit_chain::NewAuditEntry;
use crate::store::audit_store::append_audit;
use crate::store::db::{Db, on_db};
use crate::store::outbox_store::{Notice, insert_notices};
use crate::store::{StoreError, to_i64, to_u64};

/// What retention deletes, kind by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetainedKind {
    /// The export register: who was sent which bundle of whom.
    Exports,
    /// The import register, with the bundles people forwarded here.
    Imports,
    /// Pairings that ended without a connection (expired, cancelled, abandoned).
    EndedPairings,
    /// Connections ended by either side, with the pairing that made them.
    RevokedConnections,
    /// Written requests' letters, kept until their `retain_until`.
    RequestDocuments,
}

impl RetainedKind {
    pub const ALL: [Self; 5] =
        [Self::Exports, Self::Imports, Self::EndedPairings, Self::RevokedConnections, Self::RequestDocuments];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exports => "exports",
            Self::Imports => "imports",
            Self::EndedPairings => "ended_pairings",
            Self::RevokedConnections => "revoked_connections",
            Self::RequestDocuments => "request_documents",
        }
    }

    /// Table, id column, the instant retention counts from, which rows qualify, and when
    /// a row is held.
    fn spec(self) -> Spec {
        const SUBJECT_HELD: &str = "h.subject_ref = t.subject_ref";
        match self {
            Self::Exports => Spec { table: "exports", id: "id", at: "t.created_at", only: "1 = 1", held: SUBJECT_HELD },
            Self::Imports => {
                Spec { table: "imports", id: "id", at: "t.received_at", only: "1 = 1", held: SUBJECT_HELD }
            }
            Self::EndedPairings => Spec {
                table: "pairings",
                id: "id",
                // A pairing nobody finished may still say `pending`: it ended when it expired.
                at: "CASE WHEN t.expires_at > t.updated_at THEN t.expires_at ELSE t.updated_at END",
                only: "t.state <> 'connected'",
                held: SUBJECT_HELD,
            },
            Self::RevokedConnections => Spec {
                table: "connections",
                id: "id",
                at: "t.revoked_at",
                only: "t.state = 'revoked'",
                held: SUBJECT_HELD,
            },
            Self::RequestDocuments => Spec {
                table: "request_documents",
                id: "request_id",
                at: "t.retain_until",
                only: "1 = 1",
                held: "h.request_id = t.request_id OR h.subject_ref = \
                       (SELECT r.subject_ref FROM rights_requests r WHERE r.id = t.request_id)",
            },
        }
    }
}

struct Spec {
    table: &'static str,
    id: &'static str,
    at: &'static str,
    only: &'static str,
    held: &'static str,
}

impl Spec {
    /// `columns` of the rows qualifying with `at` at or before `$1`, not held, oldest
    /// first, at most `$2`.
    fn due(&self, columns: &str, lock: &str) -> String {
        let Spec { table, id: _, at, only, held } = self;
        format!(
            "SELECT {columns} FROM {table} t WHERE {only} AND {at} <= $1 \
             AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.lifted_at IS NULL AND ({held})) \
             ORDER BY {at} LIMIT $2{lock}"
        )
    }
}

/// A row retention will delete, for the warning list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiring {
    pub id: String,
    /// The instant its retention counts from.
    pub since: UnixSeconds,
}

/// A legal hold on a person or a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalHold {
    pub id: String,
    pub subject_ref: Option<String>,
    pub request_id: Option<String>,
    pub reason: String,
    pub placed_by: String,
    pub placed_at: UnixSeconds,
    pub lifted: Option<Lifted>,
}

/// Who lifted a hold, when and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifted {
    pub by: String,
    pub reason: String,
    pub at: UnixSeconds,
}

const HOLD_COLUMNS: &str =
    "id, subject_ref, request_id, reason, placed_by, placed_at, lifted_by, lifted_reason, lifted_at";

#[derive(Debug, Clone)]
pub struct RetentionStore {
    db: Db,
}

impl RetentionStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Deletes up to `limit` rows of `kind` counted from at or before `through` and not
    /// held, with the audit entry `audit(n)` in the same transaction; answers `n`.
    pub async fn sweep(
        &self,
        kind: RetainedKind,
        through: UnixSeconds,
        limit: u32,
        audit: impl Fn(u64) -> NewAuditEntry,
    ) -> Result<u64, StoreError> {
        let spec = kind.spec();
        let through = to_i64(through, "through")?;
        on_db!(&self.db, pool => {
            let lock = if matches!(self.db, Db::Postgres(_)) { " FOR UPDATE OF t SKIP LOCKED" } else { "" };
            // One statement that writes first: on SQLite a transaction that read before it
            // writes fails when another connection wrote in between (SQLITE_BUSY_SNAPSHOT).
            let delete = format!(
                "DELETE FROM {table} WHERE {id} IN ({due}) RETURNING {id}",
                table = spec.table,
                id = spec.id,
                due = spec.due(&format!("t.{}", spec.id), lock)
            );
            let mut tx = pool.begin().await?;
            let ids: Vec<String> = sqlx::query(&delete)
                .bind(through)
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|row| row.try_get::<String, _>(0))
                .collect::<Result<_, _>>()?;
            if ids.is_empty() {
                return Ok(0);
            }
            if kind == RetainedKind::RevokedConnections {
                for id in &ids {
                    sqlx::query("DELETE FROM pairings WHERE connection_id = $1").bind(id).execute(&mut *tx).await?;
                }
            }
            let n = ids.len() as u64;
            append_audit!(tx, &[audit(n)]);
            tx.commit().await?;
            Ok(n)
        })
    }

    /// On SQLite, copies the WAL into the database and truncates it: `secure_delete`
    /// zeroes freed pages, but the WAL still holds the frames that wrote the deleted rows
    /// until then. True when done (always on PostgreSQL); false when a reader or writer
    /// kept it from finishing, to be tried again.
    pub async fn truncate_wal(&self) -> Result<bool, StoreError> {
        let Db::Sqlite(pool) = &self.db else { return Ok(true) };
        let row = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(pool).await?;
        let busy: i64 = row.try_get(0)?;
        Ok(busy == 0)
    }

    /// The rows of `kind` counted from at or before `through`, not held: what a sweep at
    /// that time would delete. At most `limit`, oldest first.
    pub async fn due(&self, kind: RetainedKind, through: UnixSeconds, limit: u32) -> Result<Vec<Expiring>, StoreError> {
        let spec = kind.spec();
        let sql = spec.due(&format!("t.{} AS id, {} AS since", spec.id, spec.at), "");
        let through = to_i64(through, "through")?;
        on_db!(&self.db, pool => {
            let rows = sqlx::query(&sql)
                .bind(through)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|r| Ok(Expiring { id: r.try_get("id")?, since: to_u64(r.try_get("since")?, "since")? }))
                .collect()
        })
    }

    /// Through which instant staff were warned of `kind`'s deletions, if ever: a
    /// [`RetainedKind`] or `source:<category>`.
    pub async fn warned_through(&self, kind: &str) -> Result<Option<UnixSeconds>, StoreError> {
        on_db!(&self.db, pool => {
            let row = sqlx::query("SELECT warned_through FROM retention_warnings WHERE kind = $1")
                .bind(kind)
                .fetch_optional(pool)
                .await?;
            row.map(|r| to_u64(r.try_get("warned_through")?, "warned_through")).transpose()
        })
    }

    /// Moves `kind`'s warning mark from `from` (`None`: never warned) to `to` with the
    /// warning's notices, unless another instance moved it first; false then. The warning
    /// is logged as sent `at`; log rows older than the newest sent by `aged_by` go.
    pub async fn record_warning(
        &self,
        kind: &str,
        from: Option<UnixSeconds>,
        to: UnixSeconds,
        (at, aged_by): (UnixSeconds, UnixSeconds),
        notices: &[Notice],
    ) -> Result<bool, StoreError> {
        let to = to_i64(to, "warned_through")?;
        let (at, aged_by) = (to_i64(at, "warned_at")?, to_i64(aged_by, "aged_by")?);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let moved = match from {
                None => sqlx::query(
                    "INSERT INTO retention_warnings (kind, warned_through) VALUES ($1, $2) ON CONFLICT (kind) DO NOTHING",
                )
                .bind(kind)
                .bind(to)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
                Some(from) => sqlx::query(
                    "UPDATE retention_warnings SET warned_through = $2 WHERE kind = $1 AND warned_through = $3",
                )
                .bind(kind)
                .bind(to)
                .bind(to_i64(from, "warned_through")?)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
            };
            if moved == 0 {
                return Ok(false);
            }
            sqlx::query("INSERT INTO retention_warning_log (kind, warned_through, warned_at) VALUES ($1, $2, $3)")
                .bind(kind)
                .bind(to)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "DELETE FROM retention_warning_log WHERE kind = $1 AND warned_at < \
                 (SELECT MAX(warned_at) FROM retention_warning_log WHERE kind = $1 AND warned_at <= $2)",
            )
            .bind(kind)
            .bind(aged_by)
            .execute(&mut *tx)
            .await?;
            insert_notices!(tx, notices);
            tx.commit().await?;
            Ok(true)
        })
    }

    /// How far ahead the newest warning of `kind` sent at or before `sent_by` reached:
    /// everything due through then was announced at least that long ago.
    pub async fn warned_by(&self, kind: &str, sent_by: UnixSeconds) -> Result<Option<UnixSeconds>, StoreError> {
        let sent_by = to_i64(sent_by, "sent_by")?;
        on_db!(&self.db, pool => {
            let row = sqlx::query(
                "SELECT MAX(warned_through) AS through FROM retention_warning_log WHERE kind = $1 AND warned_at <= $2",
            )
            .bind(kind)
            .bind(sent_by)
            .fetch_one(pool)
            .await?;
            let through: Option<i64> = row.try_get("through")?;
            through.map(|t| to_u64(t, "warned_through")).transpose()
        })
    }

    /// The people under an active legal hold.
    pub async fn held_subjects(&self) -> Result<std::collections::HashSet<String>, StoreError> {
        on_db!(&self.db, pool => {
            let rows = sqlx::query(
                "SELECT DISTINCT subject_ref FROM legal_holds WHERE subject_ref IS NOT NULL AND lifted_at IS NULL",
            )
            .fetch_all(pool)
            .await?;
            rows.iter().map(|r| Ok(r.try_get::<String, _>("subject_ref")?)).collect()
        })
    }

    /// Places a hold, with its audit entry.
    pub async fn place_hold(&self, hold: &LegalHold, audit: &[NewAuditEntry]) -> Result<(), StoreError> {
        let placed_at = to_i64(hold.placed_at, "placed_at")?;
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO legal_holds (id, subject_ref, request_id, reason, placed_by, placed_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&hold.id)
            .bind(&hold.subject_ref)
            .bind(&hold.request_id)
            .bind(&hold.reason)
            .bind(&hold.placed_by)
            .bind(placed_at)
            .execute(&mut *tx)
            .await?;
            append_audit!(tx, audit);
            tx.commit().await?;
            Ok(())
        })
    }

    /// Lifts an active hold, with its audit entry; false when it is not active.
    pub async fn lift_hold(&self, id: &str, lifted: &Lifted, audit: &[NewAuditEntry]) -> Result<bool, StoreError> {
        let at = to_i64(lifted.at, "lifted_at")?;
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE legal_holds SET lifted_by = $2, lifted_reason = $3, lifted_at = $4
                 WHERE id = $1 AND lifted_at IS NULL",
            )
            .bind(id)
            .bind(&lifted.by)
            .bind(&lifted.reason)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                return Ok(false);
            }
            append_audit!(tx, audit);
            tx.commit().await?;
            Ok(true)
        })
    }

    pub async fn hold(&self, id: &str) -> Result<Option<LegalHold>, StoreError> {
        on_db!(&self.db, pool => {
            let row = sqlx::query(&format!("SELECT {HOLD_COLUMNS} FROM legal_holds WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?;
            row.map(|r| hold_from_row(&r)).transpose()
        })
    }

    /// Every hold, newest first, at most `limit`; only the active ones when asked.
    pub async fn holds(&self, active_only: bool, limit: u32) -> Result<Vec<LegalHold>, StoreError> {
        let only = if active_only { "WHERE lifted_at IS NULL" } else { "" };
        on_db!(&self.db, pool => {
            let rows = sqlx::query(&format!(
                "SELECT {HOLD_COLUMNS} FROM legal_holds {only} ORDER BY placed_at DESC, id DESC LIMIT $1"
            ))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
            rows.iter().map(hold_from_row).collect()
        })
    }
}

fn hold_from_row<'r, R>(row: &'r R) -> Result<LegalHold, StoreError>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let lifted = match (row.try_get("lifted_by")?, row.try_get("lifted_reason")?, row.try_get("lifted_at")?) {
        (Some(by), Some(reason), Some(at)) => Some(Lifted { by, reason, at: to_u64(at, "lifted_at")? }),
        _ => None,
    };
    Ok(LegalHold {
        id: row.try_get("id")?,
        subject_ref: row.try_get("subject_ref")?,
        request_id: row.try_get("request_id")?,
        reason: row.try_get("reason")?,
        placed_by: row.try_get("placed_by")?,
        placed_at: to_u64(row.try_get("placed_at")?, "placed_at")?,
        lifted,
    })
}
