//! Both SQL backends behind one enum, for stores whose queries are written once: every
//! query uses `$N` placeholders and types (`TEXT`, 64-bit integers) both SQLite and
//! PostgreSQL accept, and [`on_db!`] runs it on whichever pool is open.

use std::time::Duration;

use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;

/// Runs `$body` with `$pool` bound to the open pool; the body is compiled once per backend.
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::store::db::Db::Sqlite($pool) => $body,
            $crate::store::db::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_db;

/// With a shared database, how often long-polls and event streams re-read.
pub(crate) const SHARED_RECHECK: Duration = Duration::from_secs(2);

/// An open database, either backend.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Db {
    /// True when other instances may write to the same database, so in-process wake-ups
    /// do not see every change and waiters must also re-check on a timer.
    pub fn is_shared(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }

    /// How often a waiter re-reads besides its wake-ups: on a shared database another
    /// instance's writes cannot wake it, so every [`SHARED_RECHECK`]; else never.
    pub fn recheck_interval(&self) -> Option<Duration> {
        self.is_shared().then_some(SHARED_RECHECK)
    }

    /// Succeeds when the database answers a query.
    pub async fn ping(&self) -> Result<(), super::StoreError> {
        on_db!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }
}
