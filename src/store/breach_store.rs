//! The breach register: one row per suspected breach, kept for good (art. 33(5)). Facts
//! and answers are JSON the gateway reads; every change commits with its audit entries
//! and notices, and each alarm of the 72-hour clock is raised once across instances.

use sqlx::Row;

use crate::clock::UnixSeconds;
use crate::store::audit_chain::NewAuditEntry;
use crate::store::audit_store::append_audit;
use crate::store::db::{Db, on_db};
use crate::store::outbox_store::{Notice, insert_notices};
use crate::store::{StoreError, to_i64, to_u64};

/// A breach as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreachRow {
    pub id: String,
    pub recorded_at: UnixSeconds,
    pub recorded_by: String,
    pub aware_at: UnixSeconds,
    /// JSON text.
    pub facts: String,
    /// JSON text.
    pub answers: String,
    pub outcome: String,
    pub authority_notified_at: Option<UnixSeconds>,
    pub authority_reference: Option<String>,
    pub delay_reason: Option<String>,
    pub people_notified_at: Option<UnixSeconds>,
    pub wallets_notified: u64,
    pub alarms: u8,
    pub updated_at: UnixSeconds,
    /// Raised by every write.
    pub version: u64,
}

/// What the authority was told, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorityNotification {
    pub at: UnixSeconds,
    pub reference: String,
    pub delay_reason: Option<String>,
}

const COLUMNS: &str = "id, recorded_at, recorded_by, aware_at, facts, answers, outcome, authority_notified_at, \
     authority_reference, delay_reason, people_notified_at, wallets_notified, alarms, updated_at, version";
/// Outcomes under which the authority's clock runs (`BreachOutcome::clock_runs`).
const CLOCK_OUTCOMES: &str = "('undecided', 'notify_authority', 'notify_authority_and_people')";

#[derive(Debug, Clone)]
pub struct BreachStore {
    db: Db,
}

impl BreachStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Records a new breach with its audit entries and notices.
    pub async fn insert(&self, b: &BreachRow, audit: &[NewAuditEntry], notices: &[Notice]) -> Result<(), StoreError> {
        let (recorded_at, aware_at) = (to_i64(b.recorded_at, "recorded_at")?, to_i64(b.aware_at, "aware_at")?);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO breaches (id, recorded_at, recorded_by, aware_at, facts, answers, outcome, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $2)",
            )
            .bind(&b.id)
            .bind(recorded_at)
            .bind(&b.recorded_by)
            .bind(aware_at)
            .bind(&b.facts)
            .bind(&b.answers)
            .bind(&b.outcome)
            .execute(&mut *tx)
            .await?;
            append_audit!(tx, audit);
            insert_notices!(tx, notices);
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn by_id(&self, id: &str) -> Result<Option<BreachRow>, StoreError> {
        on_db!(&self.db, pool => {
            let row = sqlx::query(&format!("SELECT {COLUMNS} FROM breaches WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?;
            row.map(|r| read(&r)).transpose()
        })
    }

    /// Newest first, at most `limit`, recorded before the breach `before` when given.
    pub async fn list(&self, limit: u32, before: Option<&str>) -> Result<Vec<BreachRow>, StoreError> {
        let after_cursor = "WHERE (recorded_at, id) < (SELECT recorded_at, id FROM breaches WHERE id = $2)";
        let sql = format!(
            "SELECT {COLUMNS} FROM breaches {} ORDER BY recorded_at DESC, id DESC LIMIT $1",
            if before.is_some() { after_cursor } else { "" }
        );
        on_db!(&self.db, pool => {
            let mut query = sqlx::query(&sql).bind(i64::from(limit));
            if let Some(before) = before {
                query = query.bind(before);
            }
            let rows = query.fetch_all(pool).await?;
            rows.iter().map(read).collect()
        })
    }

    /// Replaces facts, answers and outcome, unless the breach is no longer at `version`;
    /// false then, and nothing is written.
    pub async fn update_assessment(
        &self,
        b: &BreachRow,
        version: u64,
        audit: &[NewAuditEntry],
    ) -> Result<bool, StoreError> {
        let (updated_at, version) = (to_i64(b.updated_at, "updated_at")?, to_i64(version, "version")?);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE breaches SET facts = $2, answers = $3, outcome = $4, updated_at = $5, version = version + 1
                 WHERE id = $1 AND version = $6",
            )
            .bind(&b.id)
            .bind(&b.facts)
            .bind(&b.answers)
            .bind(&b.outcome)
            .bind(updated_at)
            .bind(version)
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

    /// Records the authority's notification, once, of the breach at `version` while its
    /// outcome still calls for it; false otherwise.
    pub async fn record_authority_notified(
        &self,
        id: &str,
        version: u64,
        notified: &AuthorityNotification,
        now: UnixSeconds,
        audit: &[NewAuditEntry],
        notices: &[Notice],
    ) -> Result<bool, StoreError> {
        let (at, now, version) =
            (to_i64(notified.at, "notified_at")?, to_i64(now, "now")?, to_i64(version, "version")?);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(&format!(
                "UPDATE breaches SET authority_notified_at = $2, authority_reference = $3, delay_reason = $4,
                 updated_at = $5, version = version + 1 WHERE id = $1 AND authority_notified_at IS NULL
                 AND version = $6 AND outcome IN {CLOCK_OUTCOMES}"
            ))
            .bind(id)
            .bind(at)
            .bind(&notified.reference)
            .bind(&notified.delay_reason)
            .bind(now)
            .bind(version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                return Ok(false);
            }
            append_audit!(tx, audit);
            insert_notices!(tx, notices);
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Adds `wallets` to the breach's count of wallets told and writes their notices, if
    /// the breach is still at `version`; false otherwise, and nothing is sent.
    pub async fn record_people_notified(
        &self,
        id: &str,
        version: u64,
        wallets: u64,
        now: UnixSeconds,
        audit: &[NewAuditEntry],
        notices: &[Notice],
    ) -> Result<bool, StoreError> {
        let (wallets, now, version) = (to_i64(wallets, "wallets")?, to_i64(now, "now")?, to_i64(version, "version")?);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE breaches SET wallets_notified = wallets_notified + $2,
                 people_notified_at = COALESCE(people_notified_at, $3), updated_at = $3, version = version + 1
                 WHERE id = $1 AND version = $4",
            )
            .bind(id)
            .bind(wallets)
            .bind(now)
            .bind(version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                return Ok(false);
            }
            append_audit!(tx, audit);
            insert_notices!(tx, notices);
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Breaches whose authority was not notified, aware at or before `aware_before`, with
    /// fewer than three alarms raised: the candidates for the clock's next alarm.
    pub async fn clock_running(&self, aware_before: UnixSeconds, limit: u32) -> Result<Vec<BreachRow>, StoreError> {
        let aware_before = to_i64(aware_before, "aware_before")?;
        on_db!(&self.db, pool => {
            let rows = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM breaches WHERE authority_notified_at IS NULL AND outcome IN {CLOCK_OUTCOMES}
                 AND alarms < 3 AND aware_at <= $1 ORDER BY aware_at LIMIT $2"
            ))
            .bind(aware_before)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
            rows.iter().map(read).collect()
        })
    }

    /// Raises alarm `alarm` (1 to 3) of a breach with its notices, unless it, or a later
    /// one, was raised already (by this or another instance); false then.
    pub async fn raise_alarm(
        &self,
        id: &str,
        alarm: u8,
        audit: &[NewAuditEntry],
        notices: &[Notice],
    ) -> Result<bool, StoreError> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(&format!(
                "UPDATE breaches SET alarms = $2 WHERE id = $1 AND alarms < $2 AND authority_notified_at IS NULL
                 AND outcome IN {CLOCK_OUTCOMES}"
            ))
            .bind(id)
            .bind(i64::from(alarm))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                return Ok(false);
            }
            append_audit!(tx, audit);
            insert_notices!(tx, notices);
            tx.commit().await?;
            Ok(true)
        })
    }
}

fn read<'r, R>(row: &'r R) -> Result<BreachRow, StoreError>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let optional = |v: Option<i64>, what: &str| v.map(|v| to_u64(v, what)).transpose();
    let alarms: i64 = row.try_get("alarms")?;
    Ok(BreachRow {
        id: row.try_get("id")?,
        recorded_at: to_u64(row.try_get("recorded_at")?, "recorded_at")?,
        recorded_by: row.try_get("recorded_by")?,
        aware_at: to_u64(row.try_get("aware_at")?, "aware_at")?,
        facts: row.try_get("facts")?,
        answers: row.try_get("answers")?,
        outcome: row.try_get("outcome")?,
        authority_notified_at: optional(row.try_get("authority_notified_at")?, "authority_notified_at")?,
        authority_reference: row.try_get("authority_reference")?,
        delay_reason: row.try_get("delay_reason")?,
        people_notified_at: optional(row.try_get("people_notified_at")?, "people_notified_at")?,
        wallets_notified: to_u64(row.try_get("wallets_notified")?, "wallets_notified")?,
        alarms: u8::try_from(alarms).map_err(|_| StoreError::Corrupt("breaches.alarms".into()))?,
        updated_at: to_u64(row.try_get("updated_at")?, "updated_at")?,
        version: to_u64(row.try_get("version")?, "version")?,
    })
}
