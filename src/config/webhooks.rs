//! `[[webhooks]]`: the portal's and staff tools' endpoints told of request events, each
//! signed per Standard Webhooks with the endpoint's own secret.

use serde::Deserialize;

use super::Secret;
use crate::protocol::rights::REQUEST_EVENTS;

/// The event a witness subscribes to: every signed audit checkpoint (docs/audit.md).
pub const AUDIT_CHECKPOINT_EVENT: &str = "audit.checkpoint";
/// Events of the breach register (docs/breaches.md); sent only to endpoints that name
/// them, or `breach.*`.
pub const BREACH_EVENTS: [&str; 5] = [
    "breach.recorded",
    "breach.deadline_warning",
    "breach.overdue",
    "breach.authority_notified",
    "breach.people_notified",
];
/// Deletions by retention within the warning period (docs/retention.md); sent only to
/// endpoints that name it.
pub const RETENTION_UPCOMING_EVENT: &str = "retention.upcoming";
/// Records at a source coming past retention within the warning period; sent only to
/// endpoints that name it.
pub const SOURCE_RETENTION_UPCOMING_EVENT: &str = "retention.source_upcoming";
/// The prefix Standard Webhooks gives secrets; the rest is base64.
pub const SECRET_PREFIX: &str = "whsec_";
/// Shortest and longest secret accepted, in bytes after base64.
pub const MIN_SECRET_BYTES: usize = 24;
pub const MAX_SECRET_BYTES: usize = 64;
/// Most endpoints one gateway tells.
pub const MAX_WEBHOOKS: usize = 16;
/// Longest endpoint id, in characters.
const MAX_WEBHOOK_ID_CHARS: usize = 64;

/// One receiver of request events.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpoint {
    /// Names the endpoint in the delivery log: letters, digits, `.`, `_`, `-`.
    pub id: String,
    pub url: String,
    /// `whsec_` and the base64 of 24 to 64 random bytes, shared with the receiver.
    pub secret: Secret,
    /// The event types sent, or `request.*`; every request event when empty.
    #[serde(default)]
    pub events: Vec<String>,
}

impl WebhookEndpoint {
    /// The HMAC key: the secret's bytes after the prefix.
    pub fn key(&self) -> Result<Vec<u8>, String> {
        use base64::Engine as _;
        let encoded = self.secret.expose().strip_prefix(SECRET_PREFIX).ok_or("must start with `whsec_`")?;
        let key = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| "is not base64 after `whsec_`".to_owned())?;
        if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&key.len()) {
            return Err(format!("must hold {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes, not {}", key.len()));
        }
        Ok(key)
    }

    /// True when the endpoint subscribed to `event`. No list means every request event;
    /// audit checkpoints go only to endpoints that name them (witnesses).
    pub fn wants(&self, event: &str) -> bool {
        self.events.iter().any(|e| e == event)
            || (event.starts_with("breach.") && self.events.iter().any(|e| e == "breach.*"))
            || (event.starts_with("request.")
                && (self.events.is_empty() || self.events.iter().any(|e| e == "request.*")))
    }
}

/// Checks ids, URLs, secrets and event names; errors name the key.
pub(super) fn check_webhooks(endpoints: &[WebhookEndpoint]) -> Result<(), (String, String)> {
    if endpoints.len() > MAX_WEBHOOKS {
        return Err(("webhooks".to_owned(), format!("at most {MAX_WEBHOOKS} endpoints")));
    }
    for (i, endpoint) in endpoints.iter().enumerate() {
        let key = |field: &str| format!("webhooks[{i}].{field}");
        let id_ok = (1..=MAX_WEBHOOK_ID_CHARS).contains(&endpoint.id.len())
            && endpoint.id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !id_ok {
            let message = format!("1 to {MAX_WEBHOOK_ID_CHARS} letters, digits, '.', '_' or '-'");
            return Err((key("id"), message));
        }
        if endpoints[..i].iter().any(|o| o.id == endpoint.id) {
            return Err((key("id"), format!("duplicate webhook id {:?}", endpoint.id)));
        }
        super::check_https_or_loopback(&endpoint.url).map_err(|m| (key("url"), m))?;
        endpoint.key().map_err(|m| (key("secret"), m))?;
        for event in &endpoint.events {
            let known = [
                "request.*",
                "breach.*",
                AUDIT_CHECKPOINT_EVENT,
                RETENTION_UPCOMING_EVENT,
                SOURCE_RETENTION_UPCOMING_EVENT,
            ]
            .contains(&event.as_str())
                || REQUEST_EVENTS.contains(&event.as_str())
                || BREACH_EVENTS.contains(&event.as_str());
            if !known {
                return Err((
                    key("events"),
                    format!(
                        "unknown event {event:?}; known: request.*, breach.*, {AUDIT_CHECKPOINT_EVENT}, {RETENTION_UPCOMING_EVENT}, {REQUEST_EVENTS:?} or {BREACH_EVENTS:?}"
                    ),
                ));
            }
        }
    }
    Ok(())
}
