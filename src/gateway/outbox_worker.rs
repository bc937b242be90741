//! Delivers the outbox: claims the notices that are due, sends each (a sealed message to a
//! wallet, a signed POST to a webhook endpoint, an operation to a source system) and
//! records the attempt. A failure is tried
//! again on the Standard Webhooks schedule, about a day and a half in all, then abandoned
//! and left in the delivery log: a receiver down for hours loses nothing. Settled notices
//! leave the log after [`SETTLED_NOTICE_RETENTION_SECS`].

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};

use super::Gateway;
use super::action_runner::ACTION_TARGET;
use super::request_notices::{WALLET_TARGET, WEBHOOK_TARGET};
use crate::protocol::message::Body;
use crate::relay_client::is_transient;
use crate::store::StoreError;
use crate::store::outbox_store::{Attempt, Notice};

/// Pause after failed attempt 1, 2, …; after the last one the notice is abandoned.
pub const RETRY_AFTER_SECS: &[u64] = &[5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600];
/// Most notices claimed at once.
pub const CLAIM_BATCH: u32 = 32;
/// How often the outbox is looked at besides the wake-ups of this instance's own writes.
pub const OUTBOX_POLL: Duration = Duration::from_secs(1);
/// How long a webhook endpoint has to answer.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest error text kept per attempt.
const MAX_ERROR_CHARS: usize = 500;
/// How long delivered and abandoned notices stay in the delivery log: their payloads name
/// people, so they are not kept longer than an investigation needs.
pub const SETTLED_NOTICE_RETENTION_SECS: u64 = 30 * 24 * 3600;
/// How often the audit trail is looked at for a checkpoint that is due, and the breach
/// register for an alarm of the 72-hour clock.
const CHECKPOINT_LOOK_EVERY: Duration = Duration::from_secs(10);
/// How often settled notices past their retention are deleted.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// Delivers until `stop` fires.
pub(crate) async fn run(gateway: Arc<Gateway>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut swept: Option<std::time::Instant> = None;
    let mut looked: Option<std::time::Instant> = None;
    loop {
        if let Err(e) = gateway.deliver_due().await {
            tracing::warn!("outbox: {e}");
        }
        if swept.is_none_or(|at| at.elapsed() >= SWEEP_EVERY) {
            swept = Some(std::time::Instant::now());
            let before = gateway.clock.now().saturating_sub(SETTLED_NOTICE_RETENTION_SECS);
            match gateway.outbox.delete_settled(before).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!("outbox: deleted {n} settled notices past their retention");
                    gateway.audit_deletion("settled notices", n).await;
                }
                Err(e) => tracing::warn!("outbox: sweeping settled notices failed: {e}"),
            }
            match gateway.flag_unacknowledged_receipts().await {
                Ok(0) => {}
                Ok(n) => tracing::info!("receipts: flagged {n} no wallet acknowledged"),
                Err(e) => tracing::warn!("receipts: flagging unacknowledged ones failed: {e}"),
            }
            match gateway.forget_due().await {
                Ok(0) => {}
                Ok(n) => tracing::info!("erasures: forgot {n} people"),
                Err(e) => tracing::warn!("erasures: forgetting failed: {e}"),
            }
        }
        if looked.is_none_or(|at| at.elapsed() >= CHECKPOINT_LOOK_EVERY) {
            looked = Some(std::time::Instant::now());
            match gateway.checkpoint_audit().await {
                Ok(Some(c)) => tracing::info!("audit: signed a checkpoint at entry {}", c.seq),
                Ok(None) => {}
                Err(e) => tracing::warn!("audit: signing a checkpoint failed: {e}"),
            }
            match gateway.raise_breach_alarms().await {
                Ok(0) => {}
                Ok(n) => tracing::warn!("breaches: {n} alarms of the 72-hour clock raised"),
                Err(e) => tracing::warn!("breaches: raising the clock's alarms failed: {e}"),
            }
        }
        tokio::select! {
            _ = stop.changed() => return,
            () = gateway.outbox_wake.notified() => {}
            () = tokio::time::sleep(OUTBOX_POLL) => {}
        }
    }
}

/// How one attempt ended.
pub(super) enum Outcome {
    Delivered(Option<u16>),
    /// Worth another try later.
    Failed(Option<u16>, String),
    /// Never worth another try: the target is gone.
    Gone(String),
}

impl Gateway {
    /// Tries every notice due now once; answers how many were tried.
    pub async fn deliver_due(&self) -> Result<usize, StoreError> {
        let now = self.clock.now();
        // Ours alone for longer than any attempt takes: a source operation is cut at its
        // timeout, the relay and webhooks at theirs (shorter, see the config's minimum).
        let lease = 2 * self.request_rules.operation_timeout.as_secs();
        let claimed = self.outbox.claim(now, now + lease, CLAIM_BATCH).await?;
        let outcomes = futures_util::future::join_all(claimed.iter().map(|c| self.deliver(&c.notice))).await;
        for (claimed, outcome) in claimed.iter().zip(outcomes) {
            let at = self.clock.now();
            let (status, error, delivered, retry_at) = match outcome {
                Outcome::Delivered(status) => (status, None, true, None),
                Outcome::Failed(status, error) => {
                    let pause = RETRY_AFTER_SECS.get(claimed.attempts.saturating_sub(1) as usize);
                    (status, Some(error), false, pause.map(|p| at + p))
                }
                Outcome::Gone(error) => (None, Some(error), false, None),
            };
            if !delivered {
                let after = if retry_at.is_some() { "will retry" } else { "abandoned" };
                tracing::warn!(notice = %claimed.notice.id, target = %claimed.notice.target, "outbox: attempt {} failed, {after}", claimed.attempts);
            }
            let error: Option<String> = error.map(|e| e.chars().take(MAX_ERROR_CHARS).collect());
            if !delivered && retry_at.is_none() {
                if let Some(operation) = claimed.notice.target.strip_prefix(ACTION_TARGET) {
                    self.give_up_operation(operation, error.as_deref().unwrap_or("no answer")).await;
                }
            }
            let attempt = Attempt { at, status, error };
            let (id, attempt_no) = (&claimed.notice.id, claimed.attempts);
            if !self.outbox.record(id, attempt_no, &attempt, delivered, retry_at).await? {
                tracing::info!(notice = %id, "outbox: attempt {attempt_no} outlived its lease; another deliverer has it");
            }
        }
        Ok(claimed.len())
    }

    async fn deliver(&self, notice: &Notice) -> Outcome {
        if let Some(connection) = notice.target.strip_prefix(WALLET_TARGET) {
            self.deliver_to_wallet(connection, notice).await
        } else if let Some(endpoint) = notice.target.strip_prefix(WEBHOOK_TARGET) {
            self.deliver_to_webhook(endpoint, notice).await
        } else if let Some(operation) = notice.target.strip_prefix(ACTION_TARGET) {
            self.carry_out(operation).await
        } else {
            Outcome::Gone(format!("unknown target {:?}", notice.target))
        }
    }

    async fn deliver_to_wallet(&self, connection_id: &str, notice: &Notice) -> Outcome {
        let body: Body = match serde_json::from_str(&notice.payload) {
            Ok(body) => body,
            Err(e) => return Outcome::Gone(format!("unreadable payload: {e}")),
        };
        let connection = match self.pairings.connection(connection_id).await {
            Ok(Some(connection)) if connection.active => connection,
            Ok(_) => return Outcome::Gone("the connection was revoked".to_owned()),
            Err(e) => return Outcome::Failed(None, e.to_string()),
        };
        match self.send(connection_id, &connection.wallet_encryption_jwk, body).await {
            Ok(()) => Outcome::Delivered(None),
            Err(super::PairingError::Relay(e)) if !is_transient(&e) => Outcome::Gone(e.to_string()),
            Err(e) => Outcome::Failed(None, e.to_string()),
        }
    }

    async fn deliver_to_webhook(&self, endpoint_id: &str, notice: &Notice) -> Outcome {
        let Some(endpoint) = self.webhooks.iter().find(|e| e.id == endpoint_id) else {
            return Outcome::Gone(format!("no webhook endpoint {endpoint_id:?} is configured now"));
        };
        let key = match endpoint.key() {
            Ok(key) => key,
            Err(e) => return Outcome::Gone(format!("the endpoint's secret {e}")),
        };
        let timestamp = self.clock.now().to_string();
        let signature = sign(&key, &notice.id, &timestamp, &notice.payload);
        let sent = self
            .webhook_client
            .post(&endpoint.url)
            .header("content-type", "application/json")
            .header("webhook-id", &notice.id)
            .header("webhook-timestamp", &timestamp)
            .header("webhook-signature", signature)
            .body(notice.payload.clone())
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => Outcome::Delivered(Some(response.status().as_u16())),
            Ok(response) => {
                let status = response.status();
                Outcome::Failed(Some(status.as_u16()), format!("the endpoint answered {status}"))
            }
            // Never the URL or body: the error's kind is enough to act on.
            Err(e) if e.is_timeout() => Outcome::Failed(None, format!("no answer within {WEBHOOK_TIMEOUT:?}")),
            Err(e) if e.is_connect() => Outcome::Failed(None, "the endpoint could not be reached".to_owned()),
            Err(e) => Outcome::Failed(None, format!("sending failed: {}", e.without_url())),
        }
    }
}

/// The `webhook-signature` value: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`.
pub fn sign(key: &[u8], id: &str, timestamp: &str, body: &str) -> String {
    use base64::Engine as _;
    // HMAC takes keys of any length; were that ever to change, no receiver would verify.
    let Ok(mut mac) = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key) else { return "v1,".to_owned() };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification (its reference libraries'
    /// test vector).
    #[test]
    fn signs_like_the_standard_webhooks_reference() {
        use base64::Engine as _;
        let key = base64::engine::general_purpose::STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = r#"{"test": 2432232314}"#;
        let signature = sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
