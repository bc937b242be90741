//! The relay's tables, written once for both backends: connect tokens by digest,
//! connections, mailboxes of JWE envelopes, and spent proof ids.

use sqlx::Row;

use crate::clock::UnixSeconds;
use crate::jose::OkpPublicJwk;
use crate::protocol::relay_wire::{ConnectionInfo, ConnectionOrigin, ConnectionState, ItemKind, MailboxItem};
use crate::store::db::{Db, on_db};
use crate::store::{StoreError, to_i64, to_u64};

/// Which side of a connection a mailbox delivers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Wallet,
    Controller,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wallet => "wallet",
            Self::Controller => "controller",
        }
    }

    pub fn other(self) -> Self {
        match self {
            Self::Wallet => Self::Controller,
            Self::Controller => Self::Wallet,
        }
    }
}

/// Why a redemption failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedeemRefused {
    Unknown,
    Expired,
    Used,
}

/// The controller that registered a connect token, and whether it may still be redeemed.
pub type TokenHolder = (String, Result<(), RedeemRefused>);

/// A new connection, as redemption creates it.
#[derive(Debug, Clone)]
pub struct NewConnection<'a> {
    pub id: &'a str,
    pub token_sha256: &'a str,
    pub wallet_signing_jwk: &'a OkpPublicJwk,
    pub wallet_encryption_jwk: &'a OkpPublicJwk,
    pub notice_id: &'a str,
    pub now: UnixSeconds,
    pub notice_expires_at: UnixSeconds,
}

#[derive(Debug, Clone)]
pub struct RelayStore {
    db: Db,
}

const CONNECTION_COLUMNS: &str = "id, controller_id, token_sha256, origin, wallet_signing_jwk, \
                                  wallet_encryption_jwk, state, created_at";

impl RelayStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Registers a token digest for `controller_id`; a digest registered before is a `Conflict`.
    pub async fn register_token(
        &self,
        token_sha256: &str,
        controller_id: &str,
        now: UnixSeconds,
        expires_at: UnixSeconds,
    ) -> Result<(), StoreError> {
        let (now, expires_at) = (to_i64(now, "now")?, to_i64(expires_at, "expires_at")?);
        on_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO relay_connect_tokens (token_sha256, controller_id, created_at, expires_at)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(token_sha256)
            .bind(controller_id)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Who registered the token `token_sha256` and whether it can still be redeemed at `now`
    /// (`Err` says why not); `None` for a digest never registered. The connect page shows it.
    pub async fn token_holder(&self, token_sha256: &str, now: UnixSeconds) -> Result<Option<TokenHolder>, StoreError> {
        let now = to_i64(now, "now")?;
        let row: Option<(String, i64, Option<i64>)> = on_db!(&self.db, pool => {
            sqlx::query_as("SELECT controller_id, expires_at, redeemed_at FROM relay_connect_tokens WHERE token_sha256 = $1")
                .bind(token_sha256)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(controller_id, expires_at, redeemed_at)| match (redeemed_at, expires_at > now) {
            (Some(_), _) => (controller_id, Err(RedeemRefused::Used)),
            (None, false) => (controller_id, Err(RedeemRefused::Expired)),
            (None, true) => (controller_id, Ok(())),
        }))
    }

    /// Spends the token and creates the connection with its `connected` notice, in one
    /// transaction. The spending `UPDATE` is conditional, so of any number of concurrent
    /// redemptions exactly one changes a row; the others learn why they lost.
    pub async fn redeem(&self, new: &NewConnection<'_>) -> Result<Result<String, RedeemRefused>, StoreError> {
        self.create(new, None).await
    }

    /// Creates a connection a wallet opened to `controller_id`, with its `connected`
    /// notice; `new.token_sha256` must be a fresh random value.
    pub async fn open_direct(&self, new: &NewConnection<'_>, controller_id: &str) -> Result<(), StoreError> {
        match self.create(new, Some(controller_id)).await? {
            Ok(_) => Ok(()),
            Err(refused) => Err(StoreError::Corrupt(format!("opening a connection: {refused:?}"))),
        }
    }

    /// Redeems `new.token_sha256` when `direct` is `None`; else opens to that controller.
    async fn create(
        &self,
        new: &NewConnection<'_>,
        direct: Option<&str>,
    ) -> Result<Result<String, RedeemRefused>, StoreError> {
        let now = to_i64(new.now, "now")?;
        let signing = json(new.wallet_signing_jwk)?;
        let encryption = json(new.wallet_encryption_jwk)?;
        let notice_expires = to_i64(new.notice_expires_at, "expires_at")?;
        let origin = if direct.is_some() { ConnectionOrigin::Wallet } else { ConnectionOrigin::Token };
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let controller_id = if let Some(controller_id) = direct {
                controller_id.to_owned()
            } else {
                let spent = sqlx::query(
                    "UPDATE relay_connect_tokens SET redeemed_at = $1
                     WHERE token_sha256 = $2 AND redeemed_at IS NULL AND expires_at > $1
                     RETURNING controller_id",
                )
                .bind(now)
                .bind(new.token_sha256)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = spent else {
                    let found = sqlx::query("SELECT redeemed_at, expires_at FROM relay_connect_tokens WHERE token_sha256 = $1")
                        .bind(new.token_sha256)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let refused = match found {
                        None => RedeemRefused::Unknown,
                        Some(row) if row.try_get::<Option<i64>, _>("redeemed_at")?.is_some() => RedeemRefused::Used,
                        Some(_) => RedeemRefused::Expired,
                    };
                    return Ok(Err(refused));
                };
                row.try_get::<String, _>("controller_id")?
            };
            sqlx::query(
                "INSERT INTO relay_connections (id, controller_id, token_sha256, wallet_jkt, wallet_signing_jwk,
                     wallet_encryption_jwk, wallet_encryption_kid, state, created_at, origin)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9)",
            )
            .bind(new.id)
            .bind(&controller_id)
            .bind(new.token_sha256)
            .bind(&new.wallet_signing_jwk.kid)
            .bind(&signing)
            .bind(&encryption)
            .bind(&new.wallet_encryption_jwk.kid)
            .bind(now)
            .bind(origin.as_str())
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO relay_messages (id, connection_id, controller_id, recipient, kind, created_at, expires_at)
                 VALUES ($1, $2, $3, 'controller', 'connected', $4, $5)",
            )
            .bind(new.notice_id)
            .bind(new.id)
            .bind(&controller_id)
            .bind(now)
            .bind(notice_expires)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Ok(controller_id))
        })
    }

    /// The connection and the wallet key thumbprint that owns it.
    pub async fn connection(&self, id: &str) -> Result<Option<(ConnectionInfo, String)>, StoreError> {
        let sql = format!("SELECT {CONNECTION_COLUMNS}, wallet_jkt FROM relay_connections WHERE id = $1");
        on_db!(&self.db, pool => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
            match row {
                None => Ok(None),
                Some(row) => {
                    let jkt: String = row.try_get("wallet_jkt")?;
                    Ok(Some((connection_from_row(&row)?, jkt)))
                }
            }
        })
    }

    /// Marks the connection revoked. Items already posted stay readable until acknowledged
    /// or expired, so a last word (why it ended) still reaches the other side; nothing new
    /// can be posted. Returns false when it was revoked already.
    pub async fn revoke(&self, id: &str, now: UnixSeconds) -> Result<bool, StoreError> {
        self.revoke_with_notice(id, now, None).await
    }

    /// Revokes and, in the same transaction, leaves the controller a `revoked` notice
    /// `(notice_id, expires_at)`: how a gateway learns that the wallet ended it.
    pub async fn revoke_with_notice(
        &self,
        id: &str,
        now: UnixSeconds,
        notice: Option<(&str, UnixSeconds)>,
    ) -> Result<bool, StoreError> {
        let now = to_i64(now, "now")?;
        let notice = notice.map(|(id, expires)| to_i64(expires, "expires_at").map(|e| (id, e))).transpose()?;
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE relay_connections SET state = 'revoked', revoked_at = $1 WHERE id = $2 AND state = 'open'",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if let (1, Some((notice_id, expires_at))) = (changed, notice) {
                sqlx::query(
                    "INSERT INTO relay_messages (id, connection_id, controller_id, recipient, kind, created_at, expires_at)
                     SELECT $1, id, controller_id, 'controller', 'revoked', $2, $3 FROM relay_connections WHERE id = $4",
                )
                .bind(notice_id)
                .bind(now)
                .bind(expires_at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(changed == 1)
        })
    }

    /// Adds an item unless the mailbox already holds `max_pending`; returns whether it did.
    #[allow(clippy::too_many_arguments)]
    pub async fn post(
        &self,
        id: &str,
        connection: &ConnectionInfo,
        recipient: Side,
        body: &str,
        now: UnixSeconds,
        expires_at: UnixSeconds,
        max_pending: u32,
    ) -> Result<bool, StoreError> {
        let (now_i, expires_at) = (to_i64(now, "now")?, to_i64(expires_at, "expires_at")?);
        on_db!(&self.db, pool => {
            let inserted = sqlx::query(
                "INSERT INTO relay_messages (id, connection_id, controller_id, recipient, kind, body, created_at, expires_at)
                 SELECT $1, $2, $3, $4, 'envelope', $5, $6, $7
                 WHERE (SELECT COUNT(*) FROM relay_messages
                        WHERE connection_id = $2 AND recipient = $4 AND expires_at > $6) < $8",
            )
            .bind(id)
            .bind(&connection.connection_id)
            .bind(&connection.controller_id)
            .bind(recipient.as_str())
            .bind(body)
            .bind(now_i)
            .bind(expires_at)
            .bind(i64::from(max_pending))
            .execute(pool)
            .await?
            .rows_affected();
            Ok(inserted == 1)
        })
    }

    /// Unexpired, unacknowledged items for one side of one connection, oldest first.
    pub async fn mailbox(
        &self,
        connection_id: &str,
        recipient: Side,
        now: UnixSeconds,
        limit: u32,
    ) -> Result<Vec<MailboxItem>, StoreError> {
        self.items("m.connection_id = $1 AND m.recipient = $2", connection_id, recipient, now, limit).await
    }

    /// Unexpired, unacknowledged items for a controller across its connections, oldest first.
    pub async fn inbox(
        &self,
        controller_id: &str,
        now: UnixSeconds,
        limit: u32,
    ) -> Result<Vec<MailboxItem>, StoreError> {
        self.items("m.controller_id = $1 AND m.recipient = $2", controller_id, Side::Controller, now, limit).await
    }

    async fn items(
        &self,
        filter: &str,
        key: &str,
        recipient: Side,
        now: UnixSeconds,
        limit: u32,
    ) -> Result<Vec<MailboxItem>, StoreError> {
        let sql = format!(
            "SELECT m.id AS item_id, m.kind, m.body, m.created_at AS item_created_at, m.expires_at,
                    c.id, c.controller_id, c.token_sha256, c.origin, c.wallet_signing_jwk, c.wallet_encryption_jwk, c.state,
                    c.created_at
             FROM relay_messages m JOIN relay_connections c ON c.id = m.connection_id
             WHERE {filter} AND m.expires_at > $3
             ORDER BY m.seq LIMIT $4"
        );
        let now = to_i64(now, "now")?;
        on_db!(&self.db, pool => {
            let rows = sqlx::query(&sql)
                .bind(key)
                .bind(recipient.as_str())
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|row| {
                    let connection = connection_from_row(row)?;
                    let kind: String = row.try_get("kind")?;
                    let kind = match kind.as_str() {
                        "envelope" => ItemKind::Envelope,
                        "connected" => ItemKind::Connected,
                        "revoked" => ItemKind::Revoked,
                        other => return Err(StoreError::Corrupt(format!("relay_messages.kind {other:?}"))),
                    };
                    Ok(MailboxItem {
                        id: row.try_get("item_id")?,
                        connection_id: connection.connection_id.clone(),
                        kind,
                        body: row.try_get("body")?,
                        connection: (kind != ItemKind::Envelope).then_some(connection),
                        created_at: to_u64(row.try_get("item_created_at")?, "created_at")?,
                        expires_at: to_u64(row.try_get("expires_at")?, "expires_at")?,
                    })
                })
                .collect()
        })
    }

    /// Deletes one item addressed to `recipient` on `connection_id`; false when there is none.
    pub async fn ack(&self, connection_id: &str, recipient: Side, id: &str) -> Result<bool, StoreError> {
        on_db!(&self.db, pool => {
            let done = sqlx::query("DELETE FROM relay_messages WHERE id = $1 AND connection_id = $2 AND recipient = $3")
                .bind(id)
                .bind(connection_id)
                .bind(recipient.as_str())
                .execute(pool)
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Records a proof id; false when `(jkt, jti)` was seen before (a replay).
    pub async fn spend_proof(&self, jkt: &str, jti: &str, expires_at: UnixSeconds) -> Result<bool, StoreError> {
        let expires_at = to_i64(expires_at, "expires_at")?;
        on_db!(&self.db, pool => {
            let done = sqlx::query(
                "INSERT INTO relay_proof_ids (jkt, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(jkt)
            .bind(jti)
            .bind(expires_at)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Deletes expired items, tokens and proof ids; returns how many rows went.
    /// Revoked connections go once their mailboxes are empty and `keep_revoked_secs` have
    /// passed, so a late request still learns `connection_revoked` for a while.
    /// Uploads begun more than `abandoned_upload_secs` ago and never finished are deleted.
    pub async fn sweep(
        &self,
        now: UnixSeconds,
        keep_revoked_secs: u64,
        abandoned_upload_secs: u64,
    ) -> Result<u64, StoreError> {
        let revoked_before = to_i64(now.saturating_sub(keep_revoked_secs), "cutoff")?;
        let abandoned_before = to_i64(now.saturating_sub(abandoned_upload_secs), "cutoff")?;
        let now = to_i64(now, "now")?;
        let mut deleted = 0;
        for (sql, cutoff) in [
            ("DELETE FROM relay_messages WHERE expires_at <= $1", now),
            ("DELETE FROM relay_proof_ids WHERE expires_at <= $1", now),
            ("DELETE FROM relay_connect_tokens WHERE expires_at <= $1", now),
            ("DELETE FROM relay_blob_chunks WHERE blob_id IN (SELECT id FROM relay_blobs WHERE expires_at <= $1)", now),
            ("DELETE FROM relay_blobs WHERE expires_at <= $1", now),
            // Uploads a crash cut off never completed; they would hold quota until expiry.
            (
                "DELETE FROM relay_blob_chunks WHERE blob_id IN
                 (SELECT id FROM relay_blobs WHERE size IS NULL AND created_at <= $1)",
                abandoned_before,
            ),
            ("DELETE FROM relay_blobs WHERE size IS NULL AND created_at <= $1", abandoned_before),
            (
                "DELETE FROM relay_connections WHERE state = 'revoked' AND revoked_at <= $1
                 AND NOT EXISTS (SELECT 1 FROM relay_messages m WHERE m.connection_id = relay_connections.id)",
                revoked_before,
            ),
        ] {
            deleted += on_db!(&self.db, pool => sqlx::query(sql).bind(cutoff).execute(pool).await?.rows_affected());
        }
        Ok(deleted)
    }
}

/// A blob's row: who may fetch it, and once uploaded, its size and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub recipient: Side,
    /// `None` while the upload is still running (or was cut off).
    pub complete: Option<(u64, String)>,
}

impl RelayStore {
    /// Starts a blob of at most `declared` bytes for `recipient` on `connection_id`, unless
    /// the connection already holds `max_blobs` or all blobs for that kind of recipient
    /// together would claim more than `max_total` bytes; false then. Both caps are checked in the insert itself; on
    /// PostgreSQL concurrent uploads may pass them by their number, as with mailboxes.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_blob(
        &self,
        id: &str,
        connection_id: &str,
        recipient: Side,
        declared: u64,
        (max_blobs, max_total): (u32, u64),
        now: UnixSeconds,
        expires_at: UnixSeconds,
    ) -> Result<bool, StoreError> {
        let (now, expires_at) = (to_i64(now, "now")?, to_i64(expires_at, "expires_at")?);
        let (declared, max_total) = (to_i64(declared, "declared")?, to_i64(max_total, "max_total")?);
        on_db!(&self.db, pool => {
            let done = sqlx::query(
                "INSERT INTO relay_blobs (id, connection_id, recipient, declared, created_at, expires_at)
                 SELECT $1, $2, $3, $4, $5, $6
                 WHERE (SELECT COUNT(*) FROM relay_blobs WHERE connection_id = $2 AND expires_at > $5) < $7
                   AND (SELECT COALESCE(SUM(declared), 0) FROM relay_blobs WHERE recipient = $3 AND expires_at > $5)
                       + $4 <= $8",
            )
            .bind(id)
            .bind(connection_id)
            .bind(recipient.as_str())
            .bind(declared)
            .bind(now)
            .bind(expires_at)
            .bind(i64::from(max_blobs))
            .bind(max_total)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    pub async fn put_blob_chunk(&self, blob_id: &str, seq: u32, data: &[u8]) -> Result<(), StoreError> {
        on_db!(&self.db, pool => {
            sqlx::query("INSERT INTO relay_blob_chunks (blob_id, seq, data) VALUES ($1, $2, $3)")
                .bind(blob_id)
                .bind(i64::from(seq))
                .bind(data)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Marks the upload done: from now on the recipient can fetch it.
    pub async fn complete_blob(&self, blob_id: &str, size: u64, sha256: &str) -> Result<(), StoreError> {
        let size = to_i64(size, "size")?;
        on_db!(&self.db, pool => {
            sqlx::query("UPDATE relay_blobs SET size = $1, sha256 = $2 WHERE id = $3")
                .bind(size)
                .bind(sha256)
                .bind(blob_id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The blob `id` of `connection_id`, unexpired.
    pub async fn blob(&self, connection_id: &str, id: &str, now: UnixSeconds) -> Result<Option<BlobInfo>, StoreError> {
        let now = to_i64(now, "now")?;
        on_db!(&self.db, pool => {
            let row = sqlx::query(
                "SELECT recipient, size, sha256 FROM relay_blobs WHERE id = $1 AND connection_id = $2 AND expires_at > $3",
            )
            .bind(id)
            .bind(connection_id)
            .bind(now)
            .fetch_optional(pool)
            .await?;
            let Some(row) = row else { return Ok(None) };
            let recipient: String = row.try_get("recipient")?;
            let recipient = match recipient.as_str() {
                "wallet" => Side::Wallet,
                "controller" => Side::Controller,
                other => return Err(StoreError::Corrupt(format!("relay_blobs.recipient {other:?}"))),
            };
            let size: Option<i64> = row.try_get("size")?;
            let sha256: Option<String> = row.try_get("sha256")?;
            let complete = match (size, sha256) {
                (Some(size), Some(sha256)) => Some((to_u64(size, "size")?, sha256)),
                _ => None,
            };
            Ok(Some(BlobInfo { recipient, complete }))
        })
    }

    /// Chunk `seq` of a blob, `None` past the last.
    pub async fn blob_chunk(&self, blob_id: &str, seq: u32) -> Result<Option<Vec<u8>>, StoreError> {
        on_db!(&self.db, pool => {
            let row = sqlx::query("SELECT data FROM relay_blob_chunks WHERE blob_id = $1 AND seq = $2")
                .bind(blob_id)
                .bind(i64::from(seq))
                .fetch_optional(pool)
                .await?;
            row.map(|row| row.try_get::<Vec<u8>, _>("data")).transpose().map_err(StoreError::from)
        })
    }

    pub async fn delete_blob(&self, blob_id: &str) -> Result<bool, StoreError> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM relay_blob_chunks WHERE blob_id = $1").bind(blob_id).execute(&mut *tx).await?;
            let done = sqlx::query("DELETE FROM relay_blobs WHERE id = $1").bind(blob_id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(done.rows_affected() == 1)
        })
    }
}

fn json(jwk: &OkpPublicJwk) -> Result<String, StoreError> {
    serde_json::to_string(jwk).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn connection_from_row<'r, R>(row: &'r R) -> Result<ConnectionInfo, StoreError>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let jwk = |column: &'r str| -> Result<OkpPublicJwk, StoreError> {
        let text: String = row.try_get(column)?;
        serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("relay_connections.{column}: {e}")))
    };
    let state_text: String = row.try_get("state")?;
    let state = if state_text == ConnectionState::Open.as_str() {
        ConnectionState::Open
    } else if state_text == ConnectionState::Revoked.as_str() {
        ConnectionState::Revoked
    } else {
        return Err(StoreError::Corrupt(format!("relay_connections.state {state_text:?}")));
    };
    let origin_text: String = row.try_get("origin")?;
    let origin = [ConnectionOrigin::Token, ConnectionOrigin::Wallet]
        .into_iter()
        .find(|o| o.as_str() == origin_text)
        .ok_or_else(|| StoreError::Corrupt(format!("relay_connections.origin {origin_text:?}")))?;
    Ok(ConnectionInfo {
        connection_id: row.try_get("id")?,
        controller_id: row.try_get("controller_id")?,
        token_sha256: row.try_get("token_sha256")?,
        origin,
        wallet_signing_jwk: jwk("wallet_signing_jwk")?,
        wallet_encryption_jwk: jwk("wallet_encryption_jwk")?,
        state,
        created_at: to_u64(row.try_get("created_at")?, "created_at")?,
    })
}
