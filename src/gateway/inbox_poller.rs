//! The gateway's side of the relay: one long-poll of the controller inbox, handling each
//! item and then acknowledging it, so nothing is lost if the gateway stops in between.
//! Between polls it ends overdue pairings and deletes documents whose retention ended.

use std::sync::Arc;
use std::time::Duration;

use super::{Gateway, wallet_messages};
use crate::protocol::relay_wire::{ItemKind, MAX_WAIT_SECS};
use crate::relay_client::is_transient;

/// First pause after a failed poll; doubles up to [`MAX_BACKOFF`].
pub(crate) const MIN_BACKOFF: Duration = Duration::from_millis(250);
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How often retention is swept and its warnings sent: a write, so not every poll.
pub(crate) const RETENTION_SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// Polls until `stop` fires.
pub(crate) async fn run(gateway: Arc<Gateway>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut backoff = MIN_BACKOFF;
    let mut swept: Option<std::time::Instant> = None;
    loop {
        if let Err(e) = gateway.expire_overdue().await {
            tracing::warn!("inbox poller: expiring pairings failed: {e}");
        }
        if swept.is_none_or(|at| at.elapsed() >= RETENTION_SWEEP_EVERY) {
            swept = Some(std::time::Instant::now());
            match gateway.warn_of_retention().await {
                Ok(0) => {}
                Ok(n) => tracing::info!("retention: warned of coming deletions of {n} kinds"),
                Err(e) => tracing::warn!("retention: warning failed: {e}"),
            }
            match gateway.sweep_retention().await {
                Ok(0) => {}
                Ok(n) => tracing::info!("retention: deleted {n} records whose retention ended"),
                Err(e) => tracing::warn!("retention: sweeping failed: {e}"),
            }
            match gateway.sweep_source_retention().await {
                Ok(0) => {}
                Ok(n) => tracing::info!("retention: erased {n} records past their retention at the sources"),
                Err(e) => tracing::warn!("retention at the sources: sweeping failed: {e}"),
            }
        }
        let poll = tokio::select! {
            _ = stop.changed() => return,
            poll = gateway.relay.inbox(MAX_WAIT_SECS) => poll,
        };
        match poll {
            Ok(items) => {
                let mut all_handled = true;
                for item in items {
                    all_handled &= handle(&gateway, &item).await;
                }
                if all_handled {
                    backoff = MIN_BACKOFF;
                    continue;
                }
                // What failed comes back at once: pause rather than spin on it.
                tokio::select! {
                    _ = stop.changed() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            Err(e) => {
                if is_transient(&e) {
                    tracing::debug!("inbox poller: {e}; retrying in {backoff:?}");
                } else {
                    tracing::warn!("inbox poller: {e}; retrying in {backoff:?}");
                }
                tokio::select! {
                    _ = stop.changed() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Handles and acknowledges one item; false when it must be tried again.
async fn handle(gateway: &Arc<Gateway>, item: &crate::protocol::relay_wire::MailboxItem) -> bool {
    let handled = match (item.kind, &item.connection) {
        (ItemKind::Connected, Some(connection)) => gateway.on_connected(connection).await.map_err(|e| e.to_string()),
        (ItemKind::Revoked, Some(connection)) => {
            gateway.on_revoked(&connection.connection_id).await.map_err(|e| e.to_string())
        }
        (ItemKind::Connected | ItemKind::Revoked, None) => Ok(()),
        (_, _) => wallet_messages::on_envelope(gateway, item).await.map_err(|e| e.to_string()),
    };
    if let Err(e) = handled {
        // Leave it unacknowledged: the relay delivers it again on the next poll.
        tracing::warn!(item = %item.id, "inbox poller: handling failed: {e}");
        return false;
    }
    if let Err(e) = gateway.relay.ack(&item.connection_id, &item.id).await {
        tracing::warn!(item = %item.id, "inbox poller: acknowledging failed: {e}");
        return false;
    }
    true
}
