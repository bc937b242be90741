//! The export register: who downloaded which categories of whose data, when, signed with
//! which key. Names what left the organisation, never contents.

use sqlx::Row;

use crate::clock::UnixSeconds;
use crate::store::audit_chain::NewAuditEntry;
use crate::store::audit_store::append_audit;
use crate::store::db::{Db, on_db};
use crate::store::{MAX_PAGE, StoreError, to_i64, to_u64};

/// One entry of the export register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRecord {
    /// The bundle id (`jti`).
    pub id: String,
    /// The portal client (or `connection:<id>` for a wallet) that asked.
    pub client_id: String,
    pub subject_ref: String,
    pub purpose: String,
    pub format: String,
    pub categories: Vec<String>,
    /// The signing key used.
    pub kid: String,
    pub created_at: UnixSeconds,
}

#[derive(Debug, Clone)]
pub struct ExportStore {
    db: Db,
}

impl ExportStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Adds an export to the register, with its `audit` entries; a duplicate id is a
    /// `Conflict`.
    pub async fn record(&self, e: &ExportRecord, audit: &[NewAuditEntry]) -> Result<(), StoreError> {
        let categories = serde_json::to_string(&e.categories).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        let created_at = to_i64(e.created_at, "created_at")?;
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO exports (id, client_id, subject_ref, purpose, format, categories, kid, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&e.id)
            .bind(&e.client_id)
            .bind(&e.subject_ref)
            .bind(&e.purpose)
            .bind(&e.format)
            .bind(&categories)
            .bind(&e.kid)
            .bind(created_at)
            .execute(&mut *tx)
            .await?;
            append_audit!(tx, audit);
            tx.commit().await?;
        });
        Ok(())
    }

    /// The subject's exports, newest first, at most `limit` (capped at [`MAX_PAGE`]).
    pub async fn of_subject(&self, subject_ref: &str, limit: u32) -> Result<Vec<ExportRecord>, StoreError> {
        on_db!(&self.db, pool => {
            let rows = sqlx::query(
                "SELECT id, client_id, subject_ref, purpose, format, categories, kid, created_at
                 FROM exports WHERE subject_ref = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
            )
            .bind(subject_ref)
            .bind(i64::from(limit.min(MAX_PAGE)))
            .fetch_all(pool)
            .await?;
            rows.iter().map(export_from_row).collect()
        })
    }

    /// Deletes register entries created before `cutoff`; returns how many.
    pub async fn delete_before(&self, cutoff: UnixSeconds) -> Result<u64, StoreError> {
        let cutoff = to_i64(cutoff, "cutoff")?;
        on_db!(&self.db, pool => {
            let done = sqlx::query("DELETE FROM exports WHERE created_at < $1").bind(cutoff).execute(pool).await?;
            Ok(done.rows_affected())
        })
    }
}

fn export_from_row<'r, R>(row: &'r R) -> Result<ExportRecord, StoreError>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let categories: String = row.try_get("categories")?;
    Ok(ExportRecord {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        subject_ref: row.try_get("subject_ref")?,
        purpose: row.try_get("purpose")?,
        format: row.try_get("format")?,
        categories: serde_json::from_str(&categories)
            .map_err(|e| StoreError::Corrupt(format!("exports.categories: {e}")))?,
        kid: row.try_get("kid")?,
        created_at: to_u64(row.try_get("created_at")?, "created_at")?,
    })
}
