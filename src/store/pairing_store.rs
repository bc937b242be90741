//! The gateway's pairing and connection tables, written once for both backends.

use sqlx::Row;

use crate::clock::UnixSeconds;
use crate::jose::OkpPublicJwk;
use crate::store::audit_chain::NewAuditEntry;
use crate::store::audit_store::append_audit;
use crate::store::db::{Db, on_db};
use crate::store::{StoreError, to_i64, to_u64};

/// Where a pairing is in its life (`docs/protocol.md` § State machines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PairingState {
    /// The QR code is shown; no wallet has redeemed the token.
    Pending,
    /// A wallet redeemed the token and was sent the code; waiting for the portal to confirm.
    Scanned,
    /// The code was right: the connection is bound to the subject.
    Connected,
    /// Nobody finished in time.
    Expired,
    /// The portal cancelled, or three wrong codes were typed.
    Cancelled,
}

impl PairingState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Scanned => "scanned",
            Self::Connected => "connected",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        Ok(match text {
            "pending" => Self::Pending,
            "scanned" => Self::Scanned,
            "connected" => Self::Connected,
            "expired" => Self::Expired,
            "cancelled" => Self::Cancelled,
            other => return Err(StoreError::Corrupt(format!("pairings.state {other:?}"))),
        })
    }

    /// Connected, expired and cancelled pairings never change again.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Connected | Self::Expired | Self::Cancelled)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pairing {
    pub id: String,
    pub client_id: String,
    pub subject_ref: String,
    pub token_sha256: String,
    /// The connect token, JWE-sealed to this gateway's own key, while the QR may be shown.
    pub sealed_token: Option<String>,
    /// SHA-256 (hex) of the status token a browser may read this pairing with.
    pub status_sha256: Option<String>,
    pub state: PairingState,
    pub code_sha256: Option<String>,
    /// Codes tried so far (right or wrong); at the maximum the pairing is cancelled.
    pub failed_attempts: u32,
    pub connection_id: Option<String>,
    pub wallet_signing_jwk: Option<OkpPublicJwk>,
    pub wallet_encryption_jwk: Option<OkpPublicJwk>,
    pub created_at: UnixSeconds,
    pub expires_at: UnixSeconds,
    pub updated_at: UnixSeconds,
}

/// A wallet connection bound to a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub id: String,
    pub subject_ref: String,
    pub pairing_id: String,
    pub wallet_signing_jwk: OkpPublicJwk,
    pub wallet_encryption_jwk: OkpPublicJwk,
    pub active: bool,
    pub created_at: UnixSeconds,
    pub revoked_at: Option<UnixSeconds>,
}

const PAIRING_COLUMNS: &str = "id, client_id, subject_ref, token_sha256, sealed_token, status_sha256, state, code_sha256, \
    failed_attempts, connection_id, wallet_signing_jwk, wallet_encryption_jwk, created_at, expires_at, updated_at";
const CONNECTION_COLUMNS: &str =
    "id, subject_ref, pairing_id, wallet_signing_jwk, wallet_encryption_jwk, state, created_at, revoked_at";

#[derive(Debug, Clone)]
pub struct PairingStore {
    db: Db,
}

impl PairingStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Adds a pairing, with its `audit` entries in the same transaction.
    pub async fn insert(&self, p: &Pairing, audit: &[NewAuditEntry]) -> Result<(), StoreError> {
        let (created, expires) = (to_i64(p.created_at, "created_at")?, to_i64(p.expires_at, "expires_at")?);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO pairings (id, client_id, subject_ref, token_sha256, sealed_token, status_sha256,
                     state, failed_attempts, created_at, expires_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $9, $6, 0, $7, $8, $7)",
            )
            .bind(&p.id)
            .bind(&p.client_id)
            .bind(&p.subject_ref)
            .bind(&p.token_sha256)
            .bind(&p.sealed_token)
            .bind(p.state.as_str())
            .bind(created)
            .bind(expires)
            .bind(&p.status_sha256)
            .execute(&mut *tx)
            .await?;
            append_audit!(tx, audit);
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn by_id(&self, id: &str) -> Result<Option<Pairing>, StoreError> {
        self.one("id", id).await
    }

    pub async fn by_token(&self, token_sha256: &str) -> Result<Option<Pairing>, StoreError> {
        self.one("token_sha256", token_sha256).await
    }

    pub async fn by_connection(&self, connection_id: &str) -> Result<Option<Pairing>, StoreError> {
        self.one("connection_id", connection_id).await
    }

    async fn one(&self, column: &str, value: &str) -> Result<Option<Pairing>, StoreError> {
        let sql = format!("SELECT {PAIRING_COLUMNS} FROM pairings WHERE {column} = $1");
        on_db!(&self.db, pool => {
            let row = sqlx::query(&sql).bind(value).fetch_optional(pool).await?;
            row.as_ref().map(pairing_from_row).transpose()
        })
    }

    /// pending → scanned, only from `pending` and before expiry. False when another
    /// change came first.
    pub async fn mark_scanned(
        &self,
        id: &str,
        connection_id: &str,
        code_sha256: &str,
        signing: &OkpPublicJwk,
        encryption: &OkpPublicJwk,
        now: UnixSeconds,
    ) -> Result<bool, StoreError> {
        let now = to_i64(now, "now")?;
        let (signing, encryption) = (json(signing)?, json(encryption)?);
        on_db!(&self.db, pool => {
            let done = sqlx::query(
                "UPDATE pairings SET state = 'scanned', connection_id = $1, code_sha256 = $2,
                     wallet_signing_jwk = $3, wallet_encryption_jwk = $4, updated_at = $5
                 WHERE id = $6 AND state = 'pending' AND expires_at > $5",
            )
            .bind(connection_id)
            .bind(code_sha256)
            .bind(&signing)
            .bind(&encryption)
            .bind(now)
            .bind(id)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Spends one code attempt before the code is compared, atomically: of any number of
    /// concurrent confirmations at most `max_attempts` get one. Returns the attempts used,
    /// or `None` when the pairing is not `scanned` or has none left.
    pub async fn take_attempt(&self, id: &str, max_attempts: u32, now: UnixSeconds) -> Result<Option<u32>, StoreError> {
        let now = to_i64(now, "now")?;
        on_db!(&self.db, pool => {
            let row = sqlx::query(
                "UPDATE pairings SET failed_attempts = failed_attempts + 1, updated_at = $1
                 WHERE id = $2 AND state = 'scanned' AND failed_attempts < $3 AND expires_at > $1
                 RETURNING failed_attempts",
            )
            .bind(now)
            .bind(id)
            .bind(i64::from(max_attempts))
            .fetch_optional(pool)
            .await?;
            match row {
                None => Ok(None),
                Some(row) => {
                    let used: i64 = row.try_get("failed_attempts")?;
                    Ok(Some(u32::try_from(used).map_err(|_| StoreError::Corrupt("failed_attempts".into()))?))
                }
            }
        })
    }

    /// A new code for a `scanned` pairing whose first one may not have reached the wallet.
    pub async fn replace_code(
        &self,
        id: &str,
        connection_id: &str,
        code_sha256: &str,
        now: UnixSeconds,
    ) -> Result<bool, StoreError> {
        let now = to_i64(now, "now")?;
        on_db!(&self.db, pool => {
            let done = sqlx::query(
                "UPDATE pairings SET code_sha256 = $1, updated_at = $2
                 WHERE id = $3 AND connection_id = $4 AND state = 'scanned' AND expires_at > $2",
            )
            .bind(code_sha256)
            .bind(now)
            .bind(id)
            .bind(connection_id)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// scanned → connected and the connection row, in one transaction. False when the
    /// pairing left `scanned` first.
    pub async fn bind(
        &self,
        pairing: &Pairing,
        connection: &Connection,
        now: UnixSeconds,
        audit: &[NewAuditEntry],
    ) -> Result<bool, StoreError> {
        let now = to_i64(now, "now")?;
        let (signing, encryption) = (json(&connection.wallet_signing_jwk)?, json(&connection.wallet_encryption_jwk)?);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE pairings SET state = 'connected', sealed_token = NULL, code_sha256 = NULL, updated_at = $1
                 WHERE id = $2 AND state = 'scanned' AND expires_at > $1",
            )
            .bind(now)
            .bind(&pairing.id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO connections (id, subject_ref, pairing_id, wallet_signing_jwk, wallet_encryption_jwk,
                     state, created_at)
                 VALUES ($1, $2, $3, $4, $5, 'active', $6)",
            )
            .bind(&connection.id)
            .bind(&connection.subject_ref)
            .bind(&connection.pairing_id)
            .bind(&signing)
            .bind(&encryption)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            append_audit!(tx, audit);
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Ends a pairing that is not final yet (`expired` or `cancelled`), with its `audit`
    /// entries; false when it was, and then nothing is written.
    pub async fn close(
        &self,
        id: &str,
        to: PairingState,
        now: UnixSeconds,
        audit: &[NewAuditEntry],
    ) -> Result<bool, StoreError> {
        let now = to_i64(now, "now")?;
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE pairings SET state = $1, sealed_token = NULL, code_sha256 = NULL, updated_at = $2
                 WHERE id = $3 AND state IN ('pending', 'scanned')",
            )
            .bind(to.as_str())
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Ok(false);
            }
            append_audit!(tx, audit);
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Ids of open pairings past their expiry.
    pub async fn overdue(&self, now: UnixSeconds, limit: u32) -> Result<Vec<String>, StoreError> {
        let now = to_i64(now, "now")?;
        on_db!(&self.db, pool => {
            let rows = sqlx::query(
                "SELECT id FROM pairings WHERE state IN ('pending', 'scanned') AND expires_at <= $1 LIMIT $2",
            )
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
            rows.iter().map(|r| r.try_get::<String, _>("id").map_err(StoreError::from)).collect()
        })
    }

    pub async fn connection(&self, id: &str) -> Result<Option<Connection>, StoreError> {
        let sql = format!("SELECT {CONNECTION_COLUMNS} FROM connections WHERE id = $1");
        on_db!(&self.db, pool => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(connection_from_row).transpose()
        })
    }

    /// The subject's connections, newest first.
    pub async fn connections_of(&self, subject_ref: &str, limit: u32) -> Result<Vec<Connection>, StoreError> {
        let sql = format!(
            "SELECT {CONNECTION_COLUMNS} FROM connections WHERE subject_ref = $1 ORDER BY created_at DESC, id LIMIT $2"
        );
        on_db!(&self.db, pool => {
            let rows = sqlx::query(&sql).bind(subject_ref).bind(i64::from(limit)).fetch_all(pool).await?;
            rows.iter().map(connection_from_row).collect()
        })
    }

    /// Records a message id acted on; false when it was seen before (a replay).
    pub async fn spend_message_id(
        &self,
        connection_id: &str,
        jti: &str,
        expires_at: UnixSeconds,
    ) -> Result<bool, StoreError> {
        let expires_at = to_i64(expires_at, "expires_at")?;
        on_db!(&self.db, pool => {
            let done = sqlx::query(
                "INSERT INTO message_ids (connection_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(connection_id)
            .bind(jti)
            .bind(expires_at)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Forgets a message id whose handling failed and will be tried again.
    pub async fn unspend_message_id(&self, connection_id: &str, jti: &str) -> Result<(), StoreError> {
        on_db!(&self.db, pool => {
            sqlx::query("DELETE FROM message_ids WHERE connection_id = $1 AND jti = $2")
                .bind(connection_id)
                .bind(jti)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// active → revoked, with its `audit` entries; false when it was revoked already, and
    /// then nothing is written.
    pub async fn revoke_connection(
        &self,
        id: &str,
        now: UnixSeconds,
        audit: &[NewAuditEntry],
    ) -> Result<bool, StoreError> {
        let now = to_i64(now, "now")?;
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE connections SET state = 'revoked', revoked_at = $1 WHERE id = $2 AND state = 'active'",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Ok(false);
            }
            append_audit!(tx, audit);
            tx.commit().await?;
            Ok(true)
        })
    }
}

fn json(jwk: &OkpPublicJwk) -> Result<String, StoreError> {
    serde_json::to_string(jwk).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn parse_jwk(text: &str, column: &str) -> Result<OkpPublicJwk, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

fn pairing_from_row<'r, R>(row: &'r R) -> Result<Pairing, StoreError>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let jwk = |column: &'r str| -> Result<Option<OkpPublicJwk>, StoreError> {
        let text: Option<String> = row.try_get(column)?;
        text.map(|t| parse_jwk(&t, column)).transpose()
    };
    let attempts: i64 = row.try_get("failed_attempts")?;
    Ok(Pairing {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        subject_ref: row.try_get("subject_ref")?,
        token_sha256: row.try_get("token_sha256")?,
        sealed_token: row.try_get("sealed_token")?,
        status_sha256: row.try_get("status_sha256")?,
        state: PairingState::parse(&row.try_get::<String, _>("state")?)?,
        code_sha256: row.try_get("code_sha256")?,
        failed_attempts: u32::try_from(attempts).map_err(|_| StoreError::Corrupt("failed_attempts".into()))?,
        connection_id: row.try_get("connection_id")?,
        wallet_signing_jwk: jwk("wallet_signing_jwk")?,
        wallet_encryption_jwk: jwk("wallet_encryption_jwk")?,
        created_at: to_u64(row.try_get("created_at")?, "created_at")?,
        expires_at: to_u64(row.try_get("expires_at")?, "expires_at")?,
        updated_at: to_u64(row.try_get("updated_at")?, "updated_at")?,
    })
}

fn connection_from_row<'r, R>(row: &'r R) -> Result<Connection, StoreError>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let revoked_at: Option<i64> = row.try_get("revoked_at")?;
    Ok(Connection {
        id: row.try_get("id")?,
        subject_ref: row.try_get("subject_ref")?,
        pairing_id: row.try_get("pairing_id")?,
        wallet_signing_jwk: parse_jwk(&row.try_get::<String, _>("wallet_signing_jwk")?, "wallet_signing_jwk")?,
        wallet_encryption_jwk: parse_jwk(&row.try_get::<String, _>("wallet_encryption_jwk")?, "wallet_encryption_jwk")?,
        active: row.try_get::<String, _>("state")? == "active",
        created_at: to_u64(row.try_get("created_at")?, "created_at")?,
        revoked_at: revoked_at.map(|t| to_u64(t, "revoked_at")).transpose()?,
    })
}
