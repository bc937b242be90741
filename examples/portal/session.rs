//! Demo sign-in sessions: a random id in an HttpOnly, SameSite=Strict cookie. This stands
//! in for the portal's real login; what matters is that the subject_ref comes from the
//! session, never from the browser.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use base64::Engine;
use rand_core::{OsRng, RngCore};

pub const COOKIE_NAME: &str = "portal_session";
const LIFETIME: Duration = Duration::from_secs(8 * 3600);

/// The demo's customers: who may sign in, and their reference at the gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Customer {
    pub subject_ref: &'static str,
    pub name: &'static str,
}

pub const CUSTOMERS: [Customer; 2] =
    [Customer { subject_ref: "alice", name: "Alice" }, Customer { subject_ref: "bob", name: "Bob" }];

pub fn customer(subject_ref: &str) -> Option<Customer> {
    CUSTOMERS.iter().copied().find(|c| c.subject_ref == subject_ref)
}

struct Session {
    customer: Customer,
    started: Instant,
    /// Pairings this session started: only these may be confirmed or cancelled from it.
    pairings: HashSet<String>,
}

#[derive(Default)]
pub struct Sessions {
    inner: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Starts a session and answers its id.
    pub fn start(&self, customer: Customer) -> String {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let mut sessions = self.lock();
        sessions.retain(|_, s| s.started.elapsed() < LIFETIME);
        sessions.insert(id.clone(), Session { customer, started: Instant::now(), pairings: HashSet::new() });
        id
    }

    pub fn end(&self, headers: &HeaderMap) {
        if let Some(id) = session_id(headers) {
            self.lock().remove(&id);
        }
    }

    /// The signed-in customer, from the request's cookie.
    pub fn customer(&self, headers: &HeaderMap) -> Option<Customer> {
        let id = session_id(headers)?;
        let sessions = self.lock();
        let session = sessions.get(&id)?;
        (session.started.elapsed() < LIFETIME).then_some(session.customer)
    }

    pub fn add_pairing(&self, headers: &HeaderMap, pairing_id: &str) {
        let Some(id) = session_id(headers) else { return };
        if let Some(session) = self.lock().get_mut(&id) {
            session.pairings.insert(pairing_id.to_owned());
        }
    }

    pub fn owns_pairing(&self, headers: &HeaderMap, pairing_id: &str) -> bool {
        session_id(headers)
            .and_then(|id| self.lock().get(&id).map(|s| s.pairings.contains(pairing_id)))
            .unwrap_or(false)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic while holding the lock leaves plain data behind, still consistent.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
}

/// The Set-Cookie value for a session. No `Secure` here because the demo runs on plain
/// http://127.0.0.1; a deployed portal adds it (and the `__Host-` prefix).
pub fn cookie(id: &str) -> String {
    format!("{COOKIE_NAME}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}", LIFETIME.as_secs())
}

pub fn cleared_cookie() -> String {
    format!("{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// True when the browser says another site made this request (`Sec-Fetch-Site`). The
/// cookie's SameSite=Strict does not cover pages of the same site on another port or
/// subdomain, so a sign-in and a download (a GET that creates an export) check this too.
pub fn from_another_origin(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site != "same-origin" && site != "none")
}
