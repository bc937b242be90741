//! The audit trail's table group: entries appended one writer at a time (the head row is
//! locked first, in this process and across instances), read back in pages or in order for
//! the walk, and the signed checkpoints over the head.

use sqlx::Row;

use crate::clock::UnixSeconds;
use crate::store::audit_chain::{AuditEntry, ChainWalk, Finding, NewAuditEntry, Walked};
use crate::store::db::{Db, on_db};
use crate::store::outbox_store::{Notice, insert_notices};
use crate::store::{MAX_PAGE, StoreError, to_i64, to_u64};

/// The action of the entry that records a pruning.
pub const PRUNED_ACTION: &str = "audit.pruned";

/// The object an `audit.pruned` entry names: the checkpoint that now anchors the chain.
pub fn pruned_object(anchor: u64) -> String {
    format!("audit_checkpoint:{anchor}")
}

/// Entries read per query by [`AuditStore::walk`].
const WALK_BATCH: i64 = 1000;

/// Appends `$entries` (`&[NewAuditEntry]`) to the chain inside transaction `$tx`, after
/// locking the head row: the chain never forks, and the entries commit with the change
/// they record, or not at all.
macro_rules! append_audit {
    ($tx:expr, $entries:expr) => {{
        let entries: &[$crate::store::audit_chain::NewAuditEntry] = $entries;
        if !entries.is_empty() {
            // Locks the head row and reads it in one statement.
            let head = sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
                .fetch_one(&mut *$tx)
                .await?;
            let mut seq: i64 = head.try_get("seq")?;
            let mut prev: String = head.try_get("hash")?;
            for entry in entries {
                seq += 1;
                let sealed =
                    $crate::store::audit_chain::AuditEntry::seal(entry, $crate::store::to_u64(seq, "seq")?, &prev);
                let objects = serde_json::to_string(&sealed.objects)
                    .map_err(|e| $crate::store::StoreError::Corrupt(e.to_string()))?;
                sqlx::query(
                    "INSERT INTO audit_entries (seq, at, actor, action, objects, subject, detail, prev, hash)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(seq)
                .bind($crate::store::to_i64(sealed.at, "at")?)
                .bind(&sealed.actor)
                .bind(&sealed.action)
                .bind(&objects)
                .bind(&sealed.subject)
                .bind(&sealed.detail)
                .bind(&sealed.prev)
                .bind(&sealed.hash)
                .execute(&mut *$tx)
                .await?;
                prev = sealed.hash;
            }
            sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                .bind(seq)
                .bind(&prev)
                .execute(&mut *$tx)
                .await?;
        }
    }};
}
pub(crate) use append_audit;

/// Which entries a page holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub actor: Option<String>,
    /// The subject's keyed hash.
    pub subject: Option<String>,
    pub since: Option<UnixSeconds>,
    pub until: Option<UnixSeconds>,
    /// Entries after this number (the previous page's last).
    pub after: Option<u64>,
}

/// A signed checkpoint as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: u64,
    pub hash: String,
    pub at: UnixSeconds,
    pub token: String,
}

#[derive(Debug, Clone)]
pub struct AuditStore {
    db: Db,
}

impl AuditStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Appends `entries` in a transaction of their own.
    pub async fn append(&self, entries: &[NewAuditEntry]) -> Result<(), StoreError> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            append_audit!(tx, entries);
            tx.commit().await?;
            Ok(())
        })
    }

    /// The head: the last entry's number and hash (0 and the genesis hash when empty).
    pub async fn head(&self) -> Result<(u64, String), StoreError> {
        on_db!(&self.db, pool => {
            let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(pool).await?;
            Ok((to_u64(row.try_get("seq")?, "seq")?, row.try_get("hash")?))
        })
    }

    /// A page of entries matching `filter`, oldest first, at most `limit` (capped at
    /// [`MAX_PAGE`]).
    pub async fn page(&self, filter: &AuditFilter, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let since = filter.since.map(|t| to_i64(t, "since")).transpose()?;
        let until = filter.until.map(|t| to_i64(t, "until")).transpose()?;
        let after = filter.after.map(|s| to_i64(s, "after")).transpose()?.unwrap_or(0);
        on_db!(&self.db, pool => {
            let rows = sqlx::query(
                "SELECT seq, at, actor, action, objects, subject, detail, prev, hash FROM audit_entries
                 WHERE seq > $1 AND ($2 IS NULL OR action = $2) AND ($3 IS NULL OR actor = $3)
                   AND ($4 IS NULL OR subject = $4) AND ($5 IS NULL OR at >= $5) AND ($6 IS NULL OR at <= $6)
                 ORDER BY seq LIMIT $7",
            )
            .bind(after)
            .bind(&filter.action)
            .bind(&filter.actor)
            .bind(&filter.subject)
            .bind(since)
            .bind(until)
            .bind(i64::from(limit.min(MAX_PAGE)))
            .fetch_all(pool)
            .await?;
            rows.iter().map(entry_from_row).collect()
        })
    }

    /// Every entry after number `after`, in order, handed to `visit` a batch at a time.
    pub async fn walk(&self, after: u64, visit: &mut (dyn FnMut(AuditEntry) + Send)) -> Result<(), StoreError> {
        let mut after = to_i64(after, "after")?;
        loop {
            let batch: Vec<AuditEntry> = on_db!(&self.db, pool => {
                let rows = sqlx::query(
                    "SELECT seq, at, actor, action, objects, subject, detail, prev, hash FROM audit_entries
                     WHERE seq > $1 ORDER BY seq LIMIT $2",
                )
                .bind(after)
                .bind(WALK_BATCH)
                .fetch_all(pool)
                .await?;
                rows.iter().map(entry_or_unreadable).collect::<Result<_, StoreError>>()
            })?;
            let Some(last) = batch.last() else { return Ok(()) };
            after = to_i64(last.seq, "seq")?;
            batch.into_iter().for_each(&mut *visit);
        }
    }

    /// Walks the whole chain, checking each entry, the hashes `checkpoints` name (kept and
    /// witnessed ones alike), the head, and that no row lies outside the chain.
    /// With `anchor`, the walk starts after that signed checkpoint (older entries pruned).
    pub async fn verify(
        &self,
        checkpoints: Vec<(u64, String)>,
        anchor: Option<(u64, String)>,
    ) -> Result<Walked, StoreError> {
        // Read first: entries appended meanwhile would otherwise run past it. A head row
        // that is gone reads as an empty chain's, which the entries then contradict.
        let (head_seq, head_hash) = self.head().await.unwrap_or((0, String::new()));
        let mut walk = match anchor {
            Some((seq, hash)) => ChainWalk::after_checked(seq, hash, checkpoints),
            None => ChainWalk::from_start(checkpoints),
        };
        let mut beyond: Option<u64> = None;
        let mut visit = |entry: AuditEntry| {
            if entry.seq <= head_seq {
                walk.push(entry);
            } else if beyond.is_none() {
                beyond = Some(entry.seq);
            }
        };
        self.walk(0, &mut visit).await?;
        let mut walked = walk.finish(head_seq, &head_hash);
        if walked.finding.is_none() {
            // An append moves the head in its own transaction, so a row past the head as it
            // is now was never appended.
            let (head_now, _) = self.head().await?;
            let below: Option<i64> = on_db!(&self.db, pool => {
                sqlx::query("SELECT MIN(seq) AS low FROM audit_entries WHERE seq < 1")
                    .fetch_one(pool)
                    .await?
                    .try_get("low")?
            });
            walked.finding = match (below, beyond.filter(|seq| *seq > head_now)) {
                (Some(low), _) => Some(Finding::Foreign { seq: low }),
                (None, Some(seq)) => Some(Finding::Foreign { seq: to_i64(seq, "seq")? }),
                (None, None) => None,
            };
        }
        Ok(walked)
    }

    /// Deletes the entries through the newest signed checkpoint all of whose entries were
    /// made at or before `through`, and the checkpoints before it; that checkpoint then
    /// anchors the chain. Appends `record(checkpoint seq, entries deleted)` in the same
    /// transaction, under the chain's lock. Answers the checkpoint and count, `None` when
    /// nothing was due.
    pub async fn prune(
        &self,
        through: UnixSeconds,
        record: impl FnOnce(u64, u64) -> NewAuditEntry + Send,
    ) -> Result<Option<(u64, u64)>, StoreError> {
        let through = to_i64(through, "through")?;
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            // The chain's lock first, as every append takes it.
            sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1").execute(&mut *tx).await?;
            let anchor: Option<i64> = sqlx::query(
                "SELECT MAX(c.seq) AS anchor FROM audit_checkpoints c
                 WHERE c.seq < COALESCE((SELECT MIN(seq) FROM audit_entries WHERE at > $1),
                                        (SELECT seq + 1 FROM audit_head WHERE id = 1))
                   AND EXISTS (SELECT 1 FROM audit_entries e WHERE e.seq <= c.seq)",
            )
            .bind(through)
            .fetch_one(&mut *tx)
            .await?
            .try_get("anchor")?;
            let Some(anchor) = anchor else { return Ok(None) };
            let deleted = sqlx::query("DELETE FROM audit_entries WHERE seq <= $1")
                .bind(anchor)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query("DELETE FROM audit_checkpoints WHERE seq < $1").bind(anchor).execute(&mut *tx).await?;
            let anchor = to_u64(anchor, "seq")?;
            append_audit!(tx, &[record(anchor, deleted)]);
            tx.commit().await?;
            Ok(Some((anchor, deleted)))
        })
    }

    /// Where the chain starts: after the signed checkpoint that anchors it once older
    /// entries were pruned, if they were: `(checkpoint seq, whether an `audit.pruned`
    /// entry records that pruning)`. `None` when entry 1 is still there, or nothing is.
    pub async fn pruned_below(&self) -> Result<Option<(u64, bool)>, StoreError> {
        on_db!(&self.db, pool => {
            let low: Option<i64> =
                sqlx::query("SELECT MIN(seq) AS low FROM audit_entries WHERE seq >= 1").fetch_one(pool).await?.try_get("low")?;
            let Some(low) = low.filter(|low| *low > 1) else { return Ok(None) };
            let objects = serde_json::to_string(&[pruned_object(to_u64(low - 1, "seq")?)])
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let recorded = sqlx::query("SELECT 1 FROM audit_entries WHERE action = $1 AND objects = $2 LIMIT 1")
                .bind(PRUNED_ACTION)
                .bind(objects)
                .fetch_optional(pool)
                .await?
                .is_some();
            Ok(Some((to_u64(low - 1, "seq")?, recorded)))
        })
    }

    /// Walks the entries after number `seq` (whose hash is `hash`) to the head `head`.
    pub async fn verify_since(&self, seq: u64, hash: &str, head: (u64, &str)) -> Result<Walked, StoreError> {
        let mut walk = ChainWalk::after(seq, hash.to_owned());
        let mut visit = |entry: AuditEntry| {
            if entry.seq <= head.0 {
                walk.push(entry);
            }
        };
        self.walk(seq, &mut visit).await?;
        Ok(walk.finish(head.0, head.1))
    }

    /// Keeps a signed checkpoint, with the `notices` that send it to the witnesses; false
    /// when another instance kept one at the same entry first, and then nothing is written.
    pub async fn add_checkpoint(&self, checkpoint: &Checkpoint, notices: &[Notice]) -> Result<bool, StoreError> {
        let (seq, at) = (to_i64(checkpoint.seq, "seq")?, to_i64(checkpoint.at, "at")?);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "INSERT INTO audit_checkpoints (seq, hash, at, token) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (seq) DO NOTHING",
            )
            .bind(seq)
            .bind(&checkpoint.hash)
            .bind(at)
            .bind(&checkpoint.token)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Ok(false);
            }
            insert_notices!(tx, notices);
            tx.commit().await?;
            Ok(true)
        })
    }

    /// The newest checkpoint.
    pub async fn last_checkpoint(&self) -> Result<Option<Checkpoint>, StoreError> {
        on_db!(&self.db, pool => {
            let row = sqlx::query("SELECT seq, hash, at, token FROM audit_checkpoints ORDER BY seq DESC LIMIT 1")
                .fetch_optional(pool)
                .await?;
            row.map(|row| checkpoint_from_row(&row)).transpose()
        })
    }

    /// Every checkpoint, oldest first.
    pub async fn checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError> {
        on_db!(&self.db, pool => {
            let rows = sqlx::query("SELECT seq, hash, at, token FROM audit_checkpoints ORDER BY seq")
                .fetch_all(pool)
                .await?;
            rows.iter().map(checkpoint_from_row).collect()
        })
    }
}

fn checkpoint_from_row<'r, R>(row: &'r R) -> Result<Checkpoint, StoreError>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(Checkpoint {
        seq: to_u64(row.try_get("seq")?, "seq")?,
        hash: row.try_get("hash")?,
        at: to_u64(row.try_get("at")?, "at")?,
        token: row.try_get("token")?,
    })
}

/// A row as the walk reads it: one whose columns no longer decode (a negative time, objects
/// that are no JSON) was changed in the database, and is read as an entry whose hash
/// matches nothing, so the walk names it as edited instead of giving up.
fn entry_or_unreadable<'r, R>(row: &'r R) -> Result<AuditEntry, StoreError>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    match entry_from_row(row) {
        Ok(entry) => Ok(entry),
        Err(_) => {
            let seq: i64 = row.try_get("seq")?;
            Ok(AuditEntry {
                seq: u64::try_from(seq).unwrap_or(0),
                at: 0,
                actor: String::new(),
                action: String::new(),
                objects: Vec::new(),
                subject: None,
                detail: None,
                prev: String::new(),
                hash: String::from("unreadable"),
            })
        }
    }
}

fn entry_from_row<'r, R>(row: &'r R) -> Result<AuditEntry, StoreError>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let objects: String = row.try_get("objects")?;
    Ok(AuditEntry {
        seq: to_u64(row.try_get("seq")?, "seq")?,
        at: to_u64(row.try_get("at")?, "at")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        objects: serde_json::from_str(&objects).map_err(|e| StoreError::Corrupt(format!("audit objects: {e}")))?,
        subject: row.try_get("subject")?,
        detail: row.try_get("detail")?,
        prev: row.try_get("prev")?,
        hash: row.try_get("hash")?,
    })
}
