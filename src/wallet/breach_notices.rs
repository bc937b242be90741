//! Breach notices on the wallet's side (art. 34 GDPR): a notice an organisation sends is
//! verified against its pinned keys and checked to be about this connection's account
//! before it is kept and shown; one that does not verify is an event, never kept.

use super::stored::Stored;
use super::{EventKind, Wallet, WalletError, WalletEvent};
use crate::bundle::{BreachNoticeClaims, verify_breach_notice};
use crate::clock::Timestamp;

/// Most breach notices kept per connection; the oldest go first.
pub const MAX_BREACH_NOTICES: usize = 50;

/// A breach notice that verified: what happened, what it may mean for the person, what
/// the organisation does about it and whom to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreachNoticeView {
    pub connection_id: String,
    pub controller_id: String,
    pub controller_name: String,
    pub breach_id: String,
    pub nature: String,
    /// The person's kinds of data involved.
    pub categories: Vec<String>,
    pub likely_consequences: String,
    pub measures: String,
    pub contact: String,
    /// When the organisation became aware of the breach, and when it told the person.
    pub aware_at: Timestamp,
    pub notified_at: Timestamp,
    /// The signed notice itself (`gdpr-breach-notice+jwt`), to keep or show anyone.
    pub token: String,
}

impl BreachNoticeView {
    fn of(stored: &Stored, claims: BreachNoticeClaims, token: String) -> Self {
        let b = claims.breach;
        Self {
            connection_id: stored.connection_id.clone(),
            controller_id: claims.iss,
            controller_name: b.controller,
            breach_id: b.breach_id,
            nature: b.nature,
            categories: b.categories,
            likely_consequences: b.likely_consequences,
            measures: b.measures,
            contact: b.contact,
            aware_at: Timestamp(b.aware_at),
            notified_at: Timestamp(claims.iat),
            token,
        }
    }
}

/// Verifies `token` with the organisation's pinned keys and checks that it is the
/// organisation's and about the connection's account.
fn check(stored: &Stored, token: &str) -> Result<BreachNoticeClaims, String> {
    let claims = verify_breach_notice(token.as_bytes(), &stored.controller.jwks).map_err(|e| e.to_string())?;
    if claims.iss != stored.controller.id {
        return Err(format!("it is issued by {:?}, not {:?}", claims.iss, stored.controller.id));
    }
    if stored.subject.as_deref() != Some(claims.sub.as_str()) {
        return Err(format!("it is about {:?}, not this connection's account", claims.sub));
    }
    Ok(claims)
}

impl Wallet {
    /// Keeps a breach notice that verifies and tells the person; refuses one that does not.
    pub(super) fn breach_notice_arrived(&self, stored: &Stored, token: String) {
        let event = |kind, detail| WalletEvent { connection_id: stored.connection_id.clone(), kind, detail };
        let claims = match check(stored, &token) {
            Ok(claims) => claims,
            Err(problem) => {
                let detail = format!("a breach notice did not verify and was not kept: {problem}");
                return self.log(event(EventKind::Refused, detail));
            }
        };
        let detail = format!("{} reports a data breach: {}", claims.breach.controller, claims.breach.nature);
        let mut fresh = false;
        let kept = self.update(&stored.connection_id, |s| {
            // Delivery is at least once and in any order: per notice (`jti`) the latest
            // signed is kept, and a copy of one kept is no news.
            let mut notices = std::mem::take(&mut s.breach_notices);
            let same = |t: &String| check(s, t).ok().filter(|c| c.jti == claims.jti);
            if !notices.iter().any(|t| same(t).is_some_and(|c| c.iat >= claims.iat)) {
                notices.retain(|t| same(t).is_none());
                notices.push(token);
                let excess = notices.len().saturating_sub(MAX_BREACH_NOTICES);
                notices.drain(..excess);
                fresh = true;
            }
            s.breach_notices = notices;
        });
        match kept {
            Ok(()) if fresh => self.log(event(EventKind::Breach, detail)),
            Ok(()) => {}
            Err(e) => self.log(event(EventKind::Unreachable, e.to_string())),
        }
    }

    /// Every breach notice the person's organisations sent, verified, newest first.
    pub fn breach_notices(&self) -> Result<Vec<BreachNoticeView>, WalletError> {
        let mut all: Vec<BreachNoticeView> = self
            .all_stored()?
            .iter()
            .flat_map(|stored| {
                stored.breach_notices.iter().filter_map(move |token| {
                    check(stored, token).ok().map(|claims| BreachNoticeView::of(stored, claims, token.clone()))
                })
            })
            .collect();
        all.sort_by(|a, b| (b.notified_at, &b.breach_id).cmp(&(a.notified_at, &a.breach_id)));
        Ok(all)
    }
}
