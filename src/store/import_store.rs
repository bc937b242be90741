//! The import register: bundles other controllers signed that people forwarded here, kept
//! once per issuer and bundle id, listed to the portal newest first.

use sqlx::Row;

use crate::clock::UnixSeconds;
use crate::store::audit_chain::NewAuditEntry;
use crate::store::audit_store::append_audit;
use crate::store::db::{Db, on_db};
use crate::store::{StoreError, to_i64, to_u64};

/// One imported bundle, stored as it was signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub id: String,
    /// The issuing controller's id, from its trust-list entry.
    pub issuer: String,
    /// The bundle's `jti`.
    pub bundle_id: String,
    /// The bundle's `sub`: the issuer's reference for the person, not ours.
    pub issuer_subject: String,
    /// Our reference for the person, when it came over a connection bound to an account.
    pub subject_ref: Option<String>,
    pub connection_id: String,
    pub purpose: String,
    pub categories: Vec<String>,
    /// The compact JWS, byte for byte as the wallet forwarded it.
    pub bundle: String,
    /// SHA-256 of `bundle`, lowercase hex.
    pub bundle_sha256: String,
    pub issued_at: UnixSeconds,
    pub received_at: UnixSeconds,
}

#[derive(Debug, Clone)]
pub struct ImportStore {
    db: Db,
}

const SUMMARY_COLUMNS: &str = "id, issuer, bundle_id, issuer_subject, subject_ref, connection_id, purpose, \
                               categories, bundle_sha256, issued_at, received_at";

impl ImportStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Stores `import` with its `audit` entries; when this issuer's bundle was imported
    /// before, stores nothing and returns the earlier import's id.
    pub async fn insert(&self, import: &Import, audit: &[NewAuditEntry]) -> Result<String, StoreError> {
        let categories = serde_json::to_string(&import.categories).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let (issued_at, received_at) =
            (to_i64(import.issued_at, "issued_at")?, to_i64(import.received_at, "received_at")?);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO imports (id, issuer, bundle_id, issuer_subject, subject_ref, connection_id, purpose,
                     categories, bundle, bundle_sha256, issued_at, received_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                 ON CONFLICT (issuer, bundle_id) DO NOTHING",
            )
            .bind(&import.id)
            .bind(&import.issuer)
            .bind(&import.bundle_id)
            .bind(&import.issuer_subject)
            .bind(import.subject_ref.as_deref())
            .bind(&import.connection_id)
            .bind(&import.purpose)
            .bind(&categories)
            .bind(&import.bundle)
            .bind(&import.bundle_sha256)
            .bind(issued_at)
            .bind(received_at)
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() == 1 {
                append_audit!(tx, audit);
                tx.commit().await?;
                return Ok(import.id.clone());
            }
            let row = sqlx::query("SELECT id FROM imports WHERE issuer = $1 AND bundle_id = $2")
                .bind(&import.issuer)
                .bind(&import.bundle_id)
                .fetch_one(&mut *tx)
                .await?;
            Ok(row.try_get::<String, _>("id")?)
        })
    }

    /// Imports newest first, at most `limit`, strictly older than import `before` when given.
    /// The summaries leave `bundle` empty.
    pub async fn list(&self, limit: u32, before: Option<&str>) -> Result<Vec<Import>, StoreError> {
        let sql = match before {
            None => format!("SELECT {SUMMARY_COLUMNS} FROM imports ORDER BY received_at DESC, id DESC LIMIT $1"),
            Some(_) => format!(
                "SELECT {SUMMARY_COLUMNS} FROM imports
                 WHERE (received_at, id) < (SELECT received_at, id FROM imports WHERE id = $2)
                 ORDER BY received_at DESC, id DESC LIMIT $1"
            ),
        };
        on_db!(&self.db, pool => {
            let mut query = sqlx::query(&sql).bind(i64::from(limit));
            if let Some(before) = before {
                query = query.bind(before);
            }
            let rows = query.fetch_all(pool).await?;
            rows.iter().map(|row| import_from_row(row, None)).collect()
        })
    }

    /// One import with its bundle.
    pub async fn by_id(&self, id: &str) -> Result<Option<Import>, StoreError> {
        let sql = format!("SELECT {SUMMARY_COLUMNS}, bundle FROM imports WHERE id = $1");
        on_db!(&self.db, pool => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
            match row {
                None => Ok(None),
                Some(row) => {
                    let bundle: String = row.try_get("bundle")?;
                    import_from_row(&row, Some(bundle)).map(Some)
                }
            }
        })
    }
}

fn import_from_row<'r, R>(row: &'r R, bundle: Option<String>) -> Result<Import, StoreError>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let categories: String = row.try_get("categories")?;
    Ok(Import {
        id: row.try_get("id")?,
        issuer: row.try_get("issuer")?,
        bundle_id: row.try_get("bundle_id")?,
        issuer_subject: row.try_get("issuer_subject")?,
        subject_ref: row.try_get("subject_ref")?,
        connection_id: row.try_get("connection_id")?,
        purpose: row.try_get("purpose")?,
        categories: serde_json::from_str(&categories)
            .map_err(|e| StoreError::Corrupt(format!("imports.categories: {e}")))?,
        bundle: bundle.unwrap_or_default(),
        bundle_sha256: row.try_get("bundle_sha256")?,
        issued_at: to_u64(row.try_get("issued_at")?, "issued_at")?,
        received_at: to_u64(row.try_get("received_at")?, "received_at")?,
    })
}
