//! The archive of written requests (bijlage 2, step 2): the letter or e-mail itself, one per
//! request, stored once and never replaced, deleted when its retention ends.

use sqlx::Row;

use crate::clock::UnixSeconds;
use crate::store::audit_chain::NewAuditEntry;
use crate::store::audit_store::append_audit;
use crate::store::db::{Db, on_db};
use crate::store::request_store::{RequestEvent, append_event, insert_event};
use crate::store::{StoreError, to_i64, to_u64};

/// A written request's document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestDocument {
    pub request_id: String,
    pub media_type: String,
    /// Hex SHA-256 of `content`, for the register and for evidence.
    pub sha256: String,
    pub content: Vec<u8>,
    pub stored_at: UnixSeconds,
    pub retain_until: UnixSeconds,
}

#[derive(Debug, Clone)]
pub struct DocumentStore {
    db: Db,
}

impl DocumentStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Stores the document with the history line `event` that records it, in one
    /// transaction, unless the request has one already; false then, and nothing is written.
    pub async fn insert(
        &self,
        document: &RequestDocument,
        event: &RequestEvent,
        audit: &[NewAuditEntry],
    ) -> Result<bool, StoreError> {
        let size = i64::try_from(document.content.len()).map_err(|_| StoreError::Corrupt("document size".into()))?;
        let (stored_at, retain_until) =
            (to_i64(document.stored_at, "stored_at")?, to_i64(document.retain_until, "retain_until")?);
        let id = &document.request_id;
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO request_documents (request_id, media_type, sha256, size, content, stored_at, retain_until)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (request_id) DO NOTHING",
            )
            .bind(id)
            .bind(&document.media_type)
            .bind(&document.sha256)
            .bind(size)
            .bind(&document.content)
            .bind(stored_at)
            .bind(retain_until)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                return Ok(false);
            }
            append_event!(tx, id, event);
            append_audit!(tx, audit);
            tx.commit().await?;
            Ok(true)
        })
    }

    pub async fn by_request(&self, request_id: &str) -> Result<Option<RequestDocument>, StoreError> {
        on_db!(&self.db, pool => {
            let row = sqlx::query(
                "SELECT request_id, media_type, sha256, content, stored_at, retain_until
                 FROM request_documents WHERE request_id = $1",
            )
            .bind(request_id)
            .fetch_optional(pool)
            .await?;
            let Some(row) = row else { return Ok(None) };
            Ok(Some(RequestDocument {
                request_id: row.try_get("request_id")?,
                media_type: row.try_get("media_type")?,
                sha256: row.try_get("sha256")?,
                content: row.try_get("content")?,
                stored_at: to_u64(row.try_get("stored_at")?, "stored_at")?,
                retain_until: to_u64(row.try_get("retain_until")?, "retain_until")?,
            }))
        })
    }
}
