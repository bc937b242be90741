//! Reading a connection's mailbox: messages opened and checked against the organisation's
//! keys, replays dropped, answers matched to the request that waits for them (others parked
//! or logged as events); and sending sealed messages.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::catalogue::answer_to;
use super::stored::Stored;
use super::{EventKind, MAX_EVENTS, MAX_PARKED, MAX_SEEN_IDS, PARKED_RECHECK, Wallet, WalletError, WalletEvent};
use crate::jose::EncryptionKeyPair;
use crate::protocol::RemoteErrorCode;
use crate::protocol::message::{self, Body, Message};
use crate::protocol::relay_wire::{ItemKind, MAX_WAIT_SECS, MailboxItem};
use crate::relay_client::blob_transfer::{self};

pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(super) fn new_request_id() -> String {
    use rand_core::{OsRng, RngCore};
    let mut id = [0u8; 16];
    OsRng.fill_bytes(&mut id);
    hex::encode(id)
}

/// A request some call waits for the answer to, until dropped: also when an app cancels the
/// call (a coroutine or task cancelled drops its future), so nothing is parked for it later.
/// An answer parked for it by then is reported as an event, as a later one would be.
struct Awaiting<'w> {
    wallet: &'w Wallet,
    stored: &'w Stored,
    request_id: &'w str,
}

impl Drop for Awaiting<'_> {
    fn drop(&mut self) {
        lock(&self.wallet.waiting).remove(self.request_id);
        let unclaimed = lock(&self.wallet.parked).remove(self.request_id);
        if let Some(body) = unclaimed {
            let detail = format!("{} arrived after its call ended", body.type_name());
            let connection_id = self.stored.connection_id.clone();
            self.wallet.log(WalletEvent { connection_id, kind: EventKind::Unexpected, detail });
        }
    }
}

/// A message opened but not yet acknowledged at the relay. A call that ends before the
/// acknowledgement is through (cancelled, or the relay failed) hands the message to
/// whoever waits for it, or reports it as an event, rather than losing it: once the relay
/// has its acknowledgement it never delivers the message again.
struct Unacked<'a> {
    wallet: &'a Wallet,
    stored: &'a Stored,
    body: Option<Body>,
}

impl Unacked<'_> {
    /// The message, now that the relay took the acknowledgement.
    fn into_body(mut self) -> Option<Body> {
        self.body.take()
    }
}

impl Drop for Unacked<'_> {
    fn drop(&mut self) {
        if let Some(body) = self.body.take() {
            self.wallet.park_or_log(self.stored, body);
        }
    }
}

impl Wallet {
    /// Waits for the answer to `request_id`: what `pick` takes from it, or the refusal.
    pub(super) async fn answer<T>(
        &self,
        stored: &Stored,
        request_id: &str,
        timeout_secs: u64,
        pick: impl Fn(Body) -> Option<T>,
    ) -> Result<T, WalletError> {
        lock(&self.waiting).insert(request_id.to_owned());
        let _awaiting = Awaiting { wallet: self, stored, request_id };
        self.wait_for(stored, request_id, timeout_secs, pick).await
    }

    pub(super) async fn wait_for<T>(
        &self,
        stored: &Stored,
        request_id: &str,
        timeout_secs: u64,
        pick: impl Fn(Body) -> Option<T>,
    ) -> Result<T, WalletError> {
        let deadline = Instant::now() + Duration::from_secs(timeout_secs);
        loop {
            // Another reader of this mailbox (`events`, another call) parks answers it is
            // not waiting for; look there between short polls.
            let parked = lock(&self.parked).remove(request_id);
            let body = match parked {
                Some(body) => body,
                None => {
                    let poll = deadline.min(Instant::now() + PARKED_RECHECK);
                    match self.next_message(stored, poll).await {
                        Ok(body) => body,
                        Err(WalletError::Timeout) if Instant::now() < deadline => continue,
                        Err(e) => return Err(e),
                    }
                }
            };
            match &body {
                Body::RequestRefused { request_id: id, error_code, detail } if id == request_id => {
                    let code = RemoteErrorCode::parse(error_code);
                    return Err(WalletError::Refused { code, detail: detail.clone() });
                }
                Body::ConnectionRevoked {} => {
                    // A single-use connection was never saved; nothing to mark.
                    return Err(match self.load(&stored.connection_id) {
                        Ok(saved) => self.ended(saved, WalletError::Revoked),
                        Err(_) => WalletError::Revoked,
                    });
                }
                _ => {}
            }
            if answer_to(&body) == Some(request_id) {
                let kind = body.type_name();
                match pick(body) {
                    Some(found) => return Ok(found),
                    None => {
                        let detail = format!("{kind} is no answer to request {request_id}");
                        let connection_id = stored.connection_id.clone();
                        self.log(WalletEvent { connection_id, kind: EventKind::Unexpected, detail });
                    }
                }
            } else {
                self.park_or_log(stored, body);
            }
        }
    }

    /// Keeps an answer to a request another call waits for; logs anything else.
    pub(super) fn park_or_log(&self, stored: &Stored, body: Body) {
        if let Some(request_id) = answer_to(&body).filter(|id| lock(&self.waiting).contains(*id)).map(str::to_owned) {
            let mut parked = lock(&self.parked);
            if parked.len() < MAX_PARKED {
                parked.insert(request_id, body);
                return;
            }
        }
        match body {
            Body::RequestStatus { status, .. } => return self.status_arrived(stored, &status),
            Body::BreachNotice { notice } => return self.breach_notice_arrived(stored, notice),
            _ => {}
        }
        let detail = format!("{} arrived unasked", body.type_name());
        self.log(WalletEvent { connection_id: stored.connection_id.clone(), kind: EventKind::Unexpected, detail });
    }

    /// Offers a bundle for import, in the message or, when too large, as a blob.
    pub(super) async fn offer(&self, stored: &Stored, request_id: String, bundle: String) -> Result<(), WalletError> {
        if message::bundle_fits(bundle.len()) {
            return self.send(stored, Body::ImportOffer { request_id, bundle }).await;
        }
        let blob = blob_transfer::send(&self.client(stored)?, &stored.connection_id, bundle.into_bytes()).await?;
        self.send(stored, Body::ImportOfferBlob { request_id, blob }).await
    }

    pub(super) async fn send(&self, stored: &Stored, body: Body) -> Result<(), WalletError> {
        let signing = self.signing(stored)?;
        let to =
            stored.controller.encryption_jwks.keys.first().ok_or_else(|| {
                WalletError::Protocol("the organisation's trust-list entry has no encryption key".into())
            })?;
        let message = Message::new(&stored.connection_id, self.clock.now(), body);
        let sealed = message::seal(&signing, to, &message).map_err(|e| WalletError::Storage(e.to_string()))?;
        self.client(stored)?.post(&stored.connection_id, &sealed).await?;
        Ok(())
    }

    /// The next message from the organisation on this connection. Items that do not open,
    /// do not verify, or were seen before are acknowledged and skipped. Each is opened
    /// before it is acknowledged (see [`Unacked`]).
    pub(super) async fn next_message(&self, stored: &Stored, deadline: Instant) -> Result<Body, WalletError> {
        let client = self.client(stored)?;
        let encryption =
            EncryptionKeyPair::from_jwk(&stored.encryption).map_err(|e| WalletError::Storage(e.to_string()))?;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(WalletError::Timeout);
            }
            let wait = left.as_secs().clamp(1, MAX_WAIT_SECS);
            for item in client.messages(&stored.connection_id, wait).await? {
                let id = item.id.clone();
                let opened = Unacked { wallet: self, stored, body: self.accept(stored, &encryption, item) };
                client.ack(&stored.connection_id, &id).await?;
                if let Some(body) = opened.into_body() {
                    return Ok(body);
                }
            }
        }
    }

    /// Opens one mailbox item; what cannot be trusted is logged as a refusal and skipped.
    pub(super) fn accept(&self, stored: &Stored, encryption: &EncryptionKeyPair, item: MailboxItem) -> Option<Body> {
        let refuse = |detail: String| {
            self.log(WalletEvent { connection_id: stored.connection_id.clone(), kind: EventKind::Refused, detail });
            None
        };
        let Some(envelope) = item.body.filter(|_| item.kind == ItemKind::Envelope) else {
            return refuse(format!("the relay delivered a {:?} item where a message belongs", item.kind.as_str()));
        };
        let now = self.clock.now();
        let opened =
            message::open(envelope.as_bytes(), &[encryption], &stored.controller.jwks, &stored.connection_id, now);
        match opened {
            Err(e) => refuse(format!("a message that cannot be trusted: {e}")),
            Ok(message) if !self.first_sight(&message.jti) => {
                refuse(format!("a message seen before was dropped (jti {:?}): a replay or a redelivery", message.jti))
            }
            Ok(message) => Some(message.body),
        }
    }

    pub(super) fn log(&self, event: WalletEvent) {
        let mut log = self.events.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if log.len() >= MAX_EVENTS {
            log.pop_front();
        }
        log.push_back(event);
    }

    pub(super) fn first_sight(&self, jti: &str) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() >= MAX_SEEN_IDS {
            seen.clear();
        }
        seen.insert(jti.to_owned())
    }

    /// Reads what waits on one connection without waiting; trouble with it is an event,
    /// never a reason to skip the other connections.
    pub(super) async fn drain(&self, stored: &Stored) {
        let connection_id = stored.connection_id.clone();
        let event = |kind, detail: String| WalletEvent { connection_id: connection_id.clone(), kind, detail };
        let read = async {
            let client = self.client(stored)?;
            let encryption =
                EncryptionKeyPair::from_jwk(&stored.encryption).map_err(|e| WalletError::Storage(e.to_string()))?;
            for item in client.messages(&stored.connection_id, 0).await? {
                let id = item.id.clone();
                let opened = Unacked { wallet: self, stored, body: self.accept(stored, &encryption, item) };
                client.ack(&stored.connection_id, &id).await?;
                match opened.into_body() {
                    Some(Body::ConnectionRevoked {}) => return Err(WalletError::Revoked),
                    Some(body) => self.park_or_log(stored, body),
                    None => {}
                }
            }
            Ok(())
        };
        match read.await {
            Ok(()) => {}
            // Told by the organisation, or by the relay once the last word was read.
            Err(WalletError::Revoked) => {
                let ended = self.load(&connection_id).map(|saved| self.ended(saved, WalletError::Revoked));
                match ended {
                    Ok(WalletError::Revoked) => {
                        self.log(event(EventKind::Revoked, "the organisation ended the connection".into()));
                    }
                    Ok(e) | Err(e) => self.log(event(EventKind::Unreachable, e.to_string())),
                }
            }
            Err(e) => self.log(event(EventKind::Unreachable, e.to_string())),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::time::Duration;

    use super::lock;
    use crate::wallet::receipts::tests::{CONNECTION, fixture};

    /// An app cancels a call while the relay is slow to answer: the request is no longer
    /// awaited, so a late answer is reported rather than parked for nobody.
    #[tokio::test]
    async fn a_cancelled_call_leaves_nothing_awaited() {
        // A relay that accepts connections and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let relay = format!("http://{}", listener.local_addr().unwrap());
        let silent = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let fixture = fixture();
        let wallet = &fixture.wallet;
        let mut stored = wallet.load(CONNECTION).unwrap();
        stored.relay = relay;
        let call = wallet.answer(&stored, "req-1", 30, |_| Some(()));
        let cancelled = tokio::time::timeout(Duration::from_millis(200), call).await;
        assert!(cancelled.is_err(), "the call was still waiting");
        assert!(lock(&wallet.waiting).is_empty());
        assert!(lock(&wallet.parked).is_empty());
        silent.abort();
    }

    /// The relay hands over an answer and then never confirms its acknowledgement, and the
    /// app cancels meanwhile: the answer was opened first, so it is reported (or parked for
    /// a call waiting for it), not lost with an acknowledgement the relay may have taken.
    #[tokio::test]
    async fn a_message_whose_acknowledgement_never_returns_is_not_lost() {
        use axum::http::Method;
        use axum::response::IntoResponse;

        use crate::jose::EncryptionKeyPair;
        use crate::protocol::message::{self, Body, Message};
        use crate::protocol::relay_wire::{ItemKind, MailboxItem, MailboxItems};
        use crate::wallet::EventKind;

        let fixture = fixture();
        let wallet = &fixture.wallet;
        let mut stored = wallet.load(CONNECTION).unwrap();
        let to = EncryptionKeyPair::from_jwk(&stored.encryption).unwrap().public_jwk().clone();
        let refused = Body::RequestRefused {
            request_id: "req-1".into(),
            error_code: "category_not_found".into(),
            detail: "no such category".into(),
        };
        let sealed =
            message::seal(&fixture.organisation, &to, &Message::new(CONNECTION, 1_795_305_600, refused)).unwrap();
        let item = MailboxItem {
            id: "m1".into(),
            connection_id: CONNECTION.into(),
            kind: ItemKind::Envelope,
            body: Some(sealed),
            connection: None,
            created_at: 1_795_305_600,
            expires_at: 1_795_400_000,
        };
        // A relay that delivers the item and then leaves every acknowledgement hanging.
        let relay = axum::Router::new().fallback(move |method: Method| {
            let items = MailboxItems { items: vec![item.clone()] };
            async move {
                if method != Method::GET {
                    std::future::pending::<()>().await;
                }
                axum::Json(items).into_response()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        stored.relay = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move { axum::serve(listener, relay).await });

        let call = wallet.answer(&stored, "req-1", 30, |_| Some(()));
        let cancelled = tokio::time::timeout(Duration::from_millis(500), call).await;
        assert!(cancelled.is_err(), "the acknowledgement never returned, so the call was still waiting");
        let parked = lock(&wallet.parked).contains_key("req-1");
        let reported = wallet
            .events
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.kind == EventKind::Unexpected && e.detail.contains("request.refused"));
        let events: Vec<String> =
            wallet.events.lock().unwrap().iter().map(|e| format!("{:?}: {}", e.kind, e.detail)).collect();
        assert!(parked || reported, "the opened answer was lost; events: {events:?}");
        server.abort();
    }
}
