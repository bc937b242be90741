//! PostgreSQL for tests: a schema of their own per run, dropped afterwards.

use gdpr_gateway::config::DatabaseUrl;

/// A schema of its own per test run, dropped afterwards, so runs never see each other.
pub struct PgSchema {
    admin: sqlx::PgPool,
    name: String,
}

impl PgSchema {
    pub async fn create(url: &str) -> (Self, DatabaseUrl) {
        let admin = sqlx::PgPool::connect(url).await.unwrap();
        let name = format!("gw_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE SCHEMA {name}")).execute(&admin).await.unwrap();
        let separator = if url.contains('?') { '&' } else { '?' };
        let scoped = format!("{url}{separator}options=-c%20search_path%3D{name}");
        (Self { admin, name }, DatabaseUrl::new(scoped))
    }

    /// Drops the schema once the gateway's connections are gone.
    pub async fn drop_idle(self) {
        let _ = sqlx::query("SET lock_timeout = '5s'").execute(&self.admin).await;
        let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name)).execute(&self.admin).await;
    }

    pub async fn drop(self) {
        sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.name)).execute(&self.admin).await.unwrap();
    }
}
