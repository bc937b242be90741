//! The outbox: notices written in the transaction of the change they report, claimed by
//! one deliverer at a time (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer)
//! and delivered at least once, every attempt logged.

use sqlx::Row;

use crate::clock::UnixSeconds;
use crate::store::db::{Db, on_db};
use crate::store::{StoreError, to_i64, to_u64};

/// Something to tell someone, before it is first tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Unique; the `webhook-id` of a webhook, so receivers can drop redeliveries.
    pub id: String,
    /// `wallet:<connection id>` or `webhook:<endpoint id>`.
    pub target: String,
    /// `request.acknowledged`, `request.extended`, …
    pub event_type: String,
    /// What is delivered, as JSON text, the same on every attempt.
    pub payload: String,
    pub created_at: UnixSeconds,
}

/// A notice claimed for one attempt; `attempts` counts this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub notice: Notice,
    pub attempts: u32,
}

/// How one attempt went: the receiver's HTTP status, if it answered, and what failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub at: UnixSeconds,
    pub status: Option<u16>,
    pub error: Option<String>,
}

/// A notice with where its delivery stands, for the delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub notice: Notice,
    pub attempts: u32,
    pub next_at: UnixSeconds,
    pub delivered_at: Option<UnixSeconds>,
    /// Set when the retries ran out or the target is gone; never tried again.
    pub abandoned_at: Option<UnixSeconds>,
    pub last_error: Option<String>,
}

/// Adds notices inside a transaction another store opened, so they commit with its change.
macro_rules! insert_notices {
    ($tx:expr, $notices:expr) => {
        for notice in $notices {
            let created_at = $crate::store::to_i64(notice.created_at, "created_at")?;
            sqlx::query(
                "INSERT INTO outbox (id, target, event_type, payload, created_at, attempts, next_at)
                 VALUES ($1, $2, $3, $4, $5, 0, $5)",
            )
            .bind(&notice.id)
            .bind(&notice.target)
            .bind(&notice.event_type)
            .bind(&notice.payload)
            .bind(created_at)
            .execute(&mut *$tx)
            .await?;
        }
    };
}
pub(crate) use insert_notices;

const CLAIM: &str = "UPDATE outbox SET claimed_until = $1, attempts = attempts + 1
     WHERE id IN (SELECT id FROM outbox
                  WHERE delivered_at IS NULL AND abandoned_at IS NULL AND next_at <= $2
                    AND (claimed_until IS NULL OR claimed_until <= $2)
                  ORDER BY next_at LIMIT $3 {lock})
     RETURNING id, target, event_type, payload, created_at, attempts";

const DELIVERY_COLUMNS: &str =
    "id, target, event_type, payload, created_at, attempts, next_at, delivered_at, abandoned_at, last_error";

#[derive(Debug, Clone)]
pub struct OutboxStore {
    db: Db,
}

impl OutboxStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Adds notices on their own, for changes that have no transaction of their own.
    pub async fn insert(&self, notices: &[Notice]) -> Result<(), StoreError> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            insert_notices!(tx, notices);
            tx.commit().await?;
            Ok(())
        })
    }

    /// Claims up to `limit` notices due at `now` until `until`: no other deliverer takes
    /// them before then, so a deliverer that dies mid-attempt only delays them.
    pub async fn claim(&self, now: UnixSeconds, until: UnixSeconds, limit: u32) -> Result<Vec<Claimed>, StoreError> {
        let (now, until) = (to_i64(now, "now")?, to_i64(until, "until")?);
        // SQLite has one writer at a time; PostgreSQL instances skip what another holds.
        let lock = if self.db.is_shared() { "FOR UPDATE SKIP LOCKED" } else { "" };
        let sql = CLAIM.replace("{lock}", lock);
        let rows: Vec<Claimed> = on_db!(&self.db, pool => {
            let rows = sqlx::query(&sql).bind(until).bind(now).bind(i64::from(limit)).fetch_all(pool).await?;
            rows.iter().map(claimed_from_row).collect::<Result<_, StoreError>>()?
        });
        let mut claimed = rows;
        claimed.sort_by(|a, b| (a.notice.created_at, &a.notice.id).cmp(&(b.notice.created_at, &b.notice.id)));
        Ok(claimed)
    }

    /// Records attempt number `attempt_no` of claimed notice `id`: delivered, or failed
    /// and tried again at `retry_at`, or failed for good when `retry_at` is `None`. Only
    /// while the notice is still that attempt's and unsettled: a deliverer whose lease ran
    /// out, and whose notice another took over, changes nothing (false).
    pub async fn record(
        &self,
        id: &str,
        attempt_no: u32,
        attempt: &Attempt,
        delivered: bool,
        retry_at: Option<UnixSeconds>,
    ) -> Result<bool, StoreError> {
        let at = to_i64(attempt.at, "at")?;
        let retry_at = retry_at.map(|t| to_i64(t, "retry_at")).transpose()?;
        let status = attempt.status.map(i64::from);
        let (delivered_at, abandoned_at) = match (delivered, retry_at) {
            (true, _) => (Some(at), None),
            (false, Some(_)) => (None, None),
            (false, None) => (None, Some(at)),
        };
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let settled = sqlx::query(
                "UPDATE outbox SET claimed_until = NULL, delivered_at = $1, abandoned_at = $2, last_error = $3,
                     next_at = COALESCE($4, next_at)
                 WHERE id = $5 AND attempts = $6 AND delivered_at IS NULL AND abandoned_at IS NULL",
            )
            .bind(delivered_at)
            .bind(abandoned_at)
            .bind(&attempt.error)
            .bind(retry_at)
            .bind(id)
            .bind(i64::from(attempt_no))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if settled == 0 {
                return Ok(false);
            }
            sqlx::query("INSERT INTO outbox_attempts (outbox_id, seq, at, status, error) VALUES ($1, $2, $3, $4, $5)")
                .bind(id)
                .bind(i64::from(attempt_no))
                .bind(at)
                .bind(status)
                .bind(&attempt.error)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Deletes notices delivered or abandoned before `before`, with their attempts;
    /// answers how many. Pending ones stay whatever their age.
    pub async fn delete_settled(&self, before: UnixSeconds) -> Result<u64, StoreError> {
        let before = to_i64(before, "before")?;
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let settled = "SELECT id FROM outbox WHERE COALESCE(delivered_at, abandoned_at) < $1";
            sqlx::query(&format!("DELETE FROM outbox_attempts WHERE outbox_id IN ({settled})"))
                .bind(before)
                .execute(&mut *tx)
                .await?;
            let done = sqlx::query("DELETE FROM outbox WHERE COALESCE(delivered_at, abandoned_at) < $1")
                .bind(before)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(done.rows_affected())
        })
    }

    /// The delivery log, newest first: at most `limit` notices, only those to `target`
    /// when given, strictly older than notice `before` when given.
    pub async fn deliveries(
        &self,
        target: Option<&str>,
        limit: u32,
        before: Option<&str>,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut conditions = Vec::new();
        let mut texts = Vec::new();
        if let Some(target) = target {
            texts.push(target.to_owned());
            conditions.push(format!("target = ${}", texts.len() + 1));
        }
        if let Some(before) = before {
            texts.push(before.to_owned());
            conditions.push(format!(
                "(created_at, id) < (SELECT created_at, id FROM outbox WHERE id = ${})",
                texts.len() + 1
            ));
        }
        let clause = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM outbox {clause} ORDER BY created_at DESC, id DESC LIMIT $1");
        on_db!(&self.db, pool => {
            let mut query = sqlx::query(&sql).bind(i64::from(limit));
            for text in &texts {
                query = query.bind(text);
            }
            query.fetch_all(pool).await?.iter().map(delivery_from_row).collect()
        })
    }

    /// Every attempt at notice `id`, oldest first.
    pub async fn attempts(&self, id: &str) -> Result<Vec<Attempt>, StoreError> {
        Ok(self.attempts_of(&[id.to_owned()]).await?.into_iter().map(|(_, a)| a).collect())
    }

    /// Every attempt at each of notices `ids`, in one query: by notice, oldest first.
    pub async fn attempts_of(&self, ids: &[String]) -> Result<Vec<(String, Attempt)>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT outbox_id, at, status, error FROM outbox_attempts WHERE outbox_id IN ({}) ORDER BY outbox_id, seq",
            placeholders.join(", ")
        );
        on_db!(&self.db, pool => {
            let mut query = sqlx::query(&sql);
            for id in ids {
                query = query.bind(id);
            }
            query
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| {
                    let status: Option<i64> = row.try_get("status")?;
                    let attempt = Attempt {
                        at: to_u64(row.try_get("at")?, "at")?,
                        status: status.and_then(|s| u16::try_from(s).ok()),
                        error: row.try_get("error")?,
                    };
                    Ok((row.try_get("outbox_id")?, attempt))
                })
                .collect()
        })
    }
}

fn notice_from_row<'r, R>(row: &'r R) -> Result<Notice, StoreError>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(Notice {
        id: row.try_get("id")?,
        target: row.try_get("target")?,
        event_type: row.try_get("event_type")?,
        payload: row.try_get("payload")?,
        created_at: to_u64(row.try_get("created_at")?, "created_at")?,
    })
}

fn claimed_from_row<'r, R>(row: &'r R) -> Result<Claimed, StoreError>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let attempts = to_u64(row.try_get("attempts")?, "attempts")?;
    Ok(Claimed { notice: notice_from_row(row)?, attempts: u32::try_from(attempts).unwrap_or(u32::MAX) })
}

fn delivery_from_row<'r, R>(row: &'r R) -> Result<Delivery, StoreError>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let optional = |column: &'static str| -> Result<Option<UnixSeconds>, StoreError> {
        let value: Option<i64> = row.try_get(column)?;
        value.map(|v| to_u64(v, "time")).transpose()
    };
    let attempts = to_u64(row.try_get("attempts")?, "attempts")?;
    Ok(Delivery {
        notice: notice_from_row(row)?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_at: to_u64(row.try_get("next_at")?, "next_at")?,
        delivered_at: optional("delivered_at")?,
        abandoned_at: optional("abandoned_at")?,
        last_error: row.try_get("last_error")?,
    })
}
