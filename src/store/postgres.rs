//! The scale-out backend: PostgreSQL, shared by any number of gateway instances.

use sqlx::postgres::{PgPool, PgPoolOptions};

use super::{ACQUIRE_TIMEOUT, StoreError, migrations};
use crate::config::DatabaseUrl;

/// Connections per instance.
const POOL_SIZE: u32 = 16;

/// Connects and migrates.
pub(super) async fn connect(url: &DatabaseUrl) -> Result<PgPool, StoreError> {
    let pool = PgPoolOptions::new()
        .max_connections(POOL_SIZE)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect(url.expose())
        .await
        // sqlx errors name host and database, never the password.
        .map_err(|e| StoreError::Unavailable(format!("cannot connect to {url}: {e}")))?;
    migrations::postgres().run(&pool).await.map_err(|e| StoreError::Migration(e.to_string()))?;
    Ok(pool)
}
