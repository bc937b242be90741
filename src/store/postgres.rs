//! The scale-out backend: PostgreSQL, shared by any number of gateway instances.

use futures_util::future::BoxFuture;
use sqlx::postgres::{PgPool, PgPoolOptions};

use super::{ACQUIRE_TIMEOUT, ExportRecord, MAX_PAGE, Store, StoreError, export_from_row, migrations, to_i64};
use crate::clock::UnixSeconds;
use crate::config::DatabaseUrl;

/// Connections per instance.
const POOL_SIZE: u32 = 16;

#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    pub async fn connect(url: &DatabaseUrl) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url.expose())
            .await
            // sqlx errors name host and database, never the password.
            .map_err(|e| StoreError::Unavailable(format!("cannot connect to {url}: {e}")))?;
        migrations::postgres().run(&pool).await.map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

impl Store for PostgresStore {
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
                 VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)",
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
                "SELECT id, client_id, subject_ref, purpose, format, categories::text AS categories, kid, created_at
                 FROM exports WHERE subject_ref = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
            )
            .bind(subject_ref)
            .bind(i64::from(limit.min(MAX_PAGE)))
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(export_from_row).collect()
        })
    }

    fn delete_exports_before(&self, cutoff: UnixSeconds) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            let done = sqlx::query("DELETE FROM exports WHERE created_at < $1")
                .bind(to_i64(cutoff, "cutoff")?)
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected())
        })
    }
}
