//! The embedded default: SQLite in WAL mode in the data dir.

use std::path::Path;

use futures_util::future::BoxFuture;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use super::{ACQUIRE_TIMEOUT, ExportRecord, MAX_PAGE, Store, StoreError, export_from_row, migrations, to_i64};
use crate::clock::UnixSeconds;

/// Connections in the pool; SQLite serialises writers, so more would only queue.
const POOL_SIZE: u32 = 4;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(ACQUIRE_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
        migrations::sqlite().run(&pool).await.map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(Self { pool })
    }

    /// The pool, for tests that inspect raw rows.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

impl Store for SqliteStore {
    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query("SELECT 1").execute(&self.pool).await?;
            Ok(())
        })
    }

    fn record_export<'a>(&'a self, e: &'a ExportRecord) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query(
                "INSERT INTO exports (id, client_id, subject_ref, purpose, format, categories, kid, created_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&e.id)
            .bind(&e.client_id)
            .bind(&e.subject_ref)
            .bind(&e.purpose)
            .bind(&e.format)
            .bind(serde_json::to_string(&e.categories).map_err(|err| StoreError::Corrupt(err.to_string()))?)
            .bind(&e.kid)
            .bind(to_i64(e.created_at, "created_at")?)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
    }

    fn exports_for_subject<'a>(
        &'a self,
        subject_ref: &'a str,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<ExportRecord>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT id, client_id, subject_ref, purpose, format, categories, kid, created_at
                 FROM exports WHERE subject_ref = ? ORDER BY created_at DESC, id DESC LIMIT ?",
            )
            .bind(subject_ref)
            .bind(limit.min(MAX_PAGE))
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(export_from_row).collect()
        })
    }

    fn delete_exports_before(&self, cutoff: UnixSeconds) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            let done = sqlx::query("DELETE FROM exports WHERE created_at < ?")
                .bind(to_i64(cutoff, "cutoff")?)
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected())
        })
    }
}
