//! The relay's wire types (`docs/protocol.md`): connect URIs and tokens, the bodies of the
//! relay HTTP API, and mailbox items. Shared by the relay server, the gateway and wallets.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::UnixSeconds;
use crate::jose::{OkpPublicJwk, b64};
use crate::protocol::trust_list::Entry;

/// Bytes of entropy in a connect token (256 bits, from the OS RNG).
pub const CONNECT_TOKEN_BYTES: usize = 32;
/// The path segment of the universal-link form: `<relay>/c/<token>`.
pub const CONNECT_PATH: &str = "/c/";
/// The scheme of the app-link form: `gdpr-wallet://connect?relay=…&token=…`.
pub const APP_SCHEME: &str = "gdpr-wallet://connect";
/// Longest connect URI accepted.
pub const MAX_CONNECT_URI_LEN: usize = 2048;
/// Longest `?wait=` a long-poll may ask for, in seconds.
pub const MAX_WAIT_SECS: u64 = 30;
/// Largest JWE envelope a mailbox accepts.
pub const MAX_ENVELOPE_BYTES: usize = 256 * 1024;
/// Most items one mailbox read returns.
pub const MAX_ITEMS_PER_READ: u32 = 100;
/// Media type of an envelope posted to a mailbox.
pub const JOSE_MEDIA_TYPE: &str = "application/jose";

/// Length of the ids the relay and the gateway mint (connections, messages, pairings).
pub const ID_LEN: usize = 32;

/// Whether `id` has the shape of an id we mint (32 lowercase hex digits). Anything else
/// cannot exist, so it is answered "not found" before it reaches a database.
pub fn is_valid_id(id: &str) -> bool {
    id.len() == ID_LEN && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Why a connect URI or token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectUriError {
    #[error("the connect URI is longer than {MAX_CONNECT_URI_LEN} characters")]
    TooLong,
    #[error("not a connect URI: expected https://<relay>/c/<token> or {APP_SCHEME}?relay=…&token=…")]
    NotAConnectUri,
    #[error("the relay URL must be http(s) without query or fragment")]
    BadRelay,
    #[error("the connect token is not {CONNECT_TOKEN_BYTES} bytes of unpadded base64url")]
    BadToken,
    #[error("the operator pin `op` is not a key thumbprint (32 bytes of unpadded base64url)")]
    BadOperator,
}

/// A connect token: 256 random bits. The relay and the gateway keep only its SHA-256.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectToken([u8; CONNECT_TOKEN_BYTES]);

impl ConnectToken {
    pub fn generate() -> Self {
        use rand_core::{OsRng, RngCore};
        let mut bytes = [0u8; CONNECT_TOKEN_BYTES];
        OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub fn parse(text: &str) -> Result<Self, ConnectUriError> {
        b64::decode_array(text).map(Self).ok_or(ConnectUriError::BadToken)
    }

    /// The base64url text that travels in URIs and `POST /v1/connect`.
    pub fn encode(&self) -> String {
        b64::encode(self.0)
    }

    /// SHA-256 of the 32 token bytes, lowercase hex: what is stored and registered.
    pub fn sha256_hex(&self) -> String {
        hex::encode(Sha256::digest(self.0))
    }
}

impl std::fmt::Debug for ConnectToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectToken([redacted])")
    }
}

/// What a QR code carries: where the relay is, the token to redeem there, and the
/// thumbprint of the operator key that signs the relay's trust list. The organisation's
/// portal shows the code, so the pin reaches the wallet without passing the relay: with it
/// the wallet checks every controller entry the relay hands it against the signed list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectUri {
    /// The relay's base URL, without a trailing slash (`https://relay.example`).
    pub relay: String,
    pub token: ConnectToken,
    /// `op`: RFC 7638 thumbprint of the trust list operator's Ed25519 key.
    pub operator: Option<String>,
}

impl ConnectUri {
    /// The universal-link form, `<relay>/c/<token>`: a phone camera opens it, and the
    /// relay's page for it points to the wallet app; it claims nothing by itself.
    pub fn to_link(&self) -> String {
        match &self.operator {
            Some(op) => format!("{}{CONNECT_PATH}{}?op={op}", self.relay, self.token.encode()),
            None => format!("{}{CONNECT_PATH}{}", self.relay, self.token.encode()),
        }
    }

    /// Parses either form.
    pub fn parse(uri: &str) -> Result<Self, ConnectUriError> {
        if uri.len() > MAX_CONNECT_URI_LEN {
            return Err(ConnectUriError::TooLong);
        }
        if let Some(query) = uri.strip_prefix(APP_SCHEME).and_then(|rest| rest.strip_prefix('?')) {
            let (mut relay, mut token, mut operator) = (None, None, None);
            for pair in query.split('&') {
                match pair.split_once('=') {
                    Some(("relay", v)) if relay.is_none() => relay = Some(percent_decode(v)?),
                    Some(("token", v)) if token.is_none() => token = Some(ConnectToken::parse(v)?),
                    Some(("op", v)) if operator.is_none() => operator = Some(operator_pin(v)?),
                    _ => return Err(ConnectUriError::NotAConnectUri),
                }
            }
            let (Some(relay), Some(token)) = (relay, token) else {
                return Err(ConnectUriError::NotAConnectUri);
            };
            return Ok(Self { relay: relay_base(&relay)?, token, operator });
        }
        let (relay, rest) = uri.rsplit_once(CONNECT_PATH).ok_or(ConnectUriError::NotAConnectUri)?;
        let (token, operator) = match rest.split_once('?') {
            None => (rest, None),
            Some((token, query)) => {
                let op = query.strip_prefix("op=").ok_or(ConnectUriError::NotAConnectUri)?;
                (token, Some(operator_pin(op)?))
            }
        };
        Ok(Self { relay: relay_base(relay)?, token: ConnectToken::parse(token)?, operator })
    }
}

/// An operator pin: a key thumbprint, 32 bytes of unpadded base64url.
pub fn operator_pin(text: &str) -> Result<String, ConnectUriError> {
    b64::decode_array::<32>(text).map(|_| text.to_owned()).ok_or(ConnectUriError::BadOperator)
}

fn relay_base(url: &str) -> Result<String, ConnectUriError> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")).ok_or(ConnectUriError::BadRelay)?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() || url.contains(['?', '#', ' ', '@']) || url.chars().any(char::is_control) {
        return Err(ConnectUriError::BadRelay);
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// Decodes `%XX` escapes (the only escaping a relay URL needs in the app-link form).
fn percent_decode(text: &str) -> Result<String, ConnectUriError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let pair = text.get(i + 1..i + 3).ok_or(ConnectUriError::BadRelay)?;
            out.push(u8::from_str_radix(pair, 16).map_err(|_| ConnectUriError::BadRelay)?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ConnectUriError::BadRelay)
}

/// `POST /v1/connect-tokens` (controller): registers a token by its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "server", schema(example = super::wire_examples::register_token))]
pub struct RegisterToken {
    /// SHA-256 of the 32 token bytes, lowercase hex.
    #[cfg_attr(feature = "server", schema(pattern = "^[0-9a-f]{64}$"))]
    pub token_sha256: String,
    /// After this the token cannot be redeemed: later than now, at most a day ahead.
    pub expires_at: UnixSeconds,
}

/// `POST /v1/connect` (wallet): redeems a token. The wallet's signing key is the one in
/// the request's proof; its encryption key travels here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "server", schema(example = super::wire_examples::connect_request))]
pub struct ConnectRequest {
    /// The connect token from the URI: 32 bytes, base64url.
    #[cfg_attr(feature = "server", schema(pattern = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$"))]
    pub token: String,
    /// The wallet's fresh X25519 key for this connection.
    pub encryption_jwk: OkpPublicJwk,
}

/// `POST /v1/connections` (wallet): opens a connection to a listed controller without a
/// connect token, to send it something (a forwarded bundle). The controller learns no
/// account from it; such a connection is never bound to one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "server", schema(example = super::wire_examples::open_connection))]
pub struct OpenConnection {
    /// The controller's id, as in the trust list.
    pub controller_id: String,
    /// The wallet's fresh X25519 key for this connection.
    pub encryption_jwk: OkpPublicJwk,
}

/// How a connection came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ConnectionOrigin {
    /// A wallet redeemed the controller's connect token (QR pairing).
    #[default]
    Token,
    /// A wallet opened it to a listed controller (`POST /v1/connections`).
    Wallet,
}

impl ConnectionOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Wallet => "wallet",
        }
    }
}

/// The answer to a successful redemption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "server", schema(example = super::wire_examples::connected))]
pub struct Connected {
    pub connection_id: String,
    /// The controller's entry from the trust list: who the wallet is now talking to.
    #[cfg_attr(feature = "server", schema(value_type = Object))]
    pub controller: Entry,
}

/// A relay connection as its controller sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "server", schema(example = super::wire_examples::connection_info))]
pub struct ConnectionInfo {
    pub connection_id: String,
    pub controller_id: String,
    /// The digest of the token that was redeemed: how the controller finds its pairing.
    /// For a connection the wallet opened, a random value that matches no token.
    pub token_sha256: String,
    #[serde(default)]
    pub origin: ConnectionOrigin,
    pub wallet_signing_jwk: OkpPublicJwk,
    pub wallet_encryption_jwk: OkpPublicJwk,
    pub state: ConnectionState,
    pub created_at: UnixSeconds,
}

/// A relay connection's life: open until either side revokes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ConnectionState {
    Open,
    Revoked,
}

impl ConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Revoked => "revoked",
        }
    }
}

/// What a mailbox item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ItemKind {
    /// A JWE envelope from the other side (`body`).
    Envelope,
    /// The relay's own notice to a controller: a wallet redeemed one of its tokens
    /// (`connection`).
    Connected,
    /// The relay's own notice to a controller: the wallet revoked the connection.
    Revoked,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Envelope => "envelope",
            Self::Connected => "connected",
            Self::Revoked => "revoked",
        }
    }
}

/// One mailbox item, as a long-poll, the SSE stream and the controller inbox deliver it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct MailboxItem {
    /// Acknowledge with `DELETE …/messages/{id}`.
    pub id: String,
    pub connection_id: String,
    pub kind: ItemKind,
    /// The compact JWE, for `envelope` items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The connection, for `connected` and `revoked` items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<ConnectionInfo>,
    pub created_at: UnixSeconds,
    pub expires_at: UnixSeconds,
}

/// The body of a long-poll answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "server", schema(example = super::wire_examples::mailbox_items))]
pub struct MailboxItems {
    pub items: Vec<MailboxItem>,
}

/// The answer to a blob upload: the relay's own count and hash of what it stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "server", schema(example = super::wire_examples::stored_blob))]
pub struct StoredBlob {
    pub blob_id: String,
    pub size: u64,
    /// SHA-256 of the stored bytes, lowercase hex.
    pub sha256: String,
}

/// The answer to a post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "server", schema(example = super::wire_examples::posted))]
pub struct Posted {
    pub id: String,
    pub expires_at: UnixSeconds,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_parse_to_the_same_connect_uri() {
        let token = ConnectToken::generate();
        let link = ConnectUri { relay: "https://relay.example/base".into(), token: token.clone(), operator: None };
        assert_eq!(ConnectUri::parse(&link.to_link()).unwrap(), link);
        let app = format!("{APP_SCHEME}?relay=https%3A%2F%2Frelay.example%2Fbase&token={}", token.encode());
        assert_eq!(ConnectUri::parse(&app).unwrap(), link);
        let op = crate::jose::b64::encode([9u8; 32]);
        let pinned = ConnectUri { operator: Some(op.clone()), ..link };
        assert_eq!(ConnectUri::parse(&pinned.to_link()).unwrap(), pinned);
        assert_eq!(ConnectUri::parse(&format!("{app}&op={op}")).unwrap(), pinned);
        let bad = format!("https://relay.example/base/c/{}?op=short", token.encode());
        assert_eq!(ConnectUri::parse(&bad).unwrap_err(), ConnectUriError::BadOperator);
    }

    #[test]
    fn malformed_uris_are_refused() {
        let token = ConnectToken::generate().encode();
        for (uri, expected) in [
            ("https://relay.example/x/abc".to_owned(), ConnectUriError::NotAConnectUri),
            (format!("ftp://relay.example/c/{token}"), ConnectUriError::BadRelay),
            (format!("https://relay.example?q=1/c/{token}"), ConnectUriError::BadRelay),
            (format!("https://user@relay.example/c/{token}"), ConnectUriError::BadRelay),
            ("https://relay.example/c/short".to_owned(), ConnectUriError::BadToken),
            (format!("https://relay.example/c/{token}="), ConnectUriError::BadToken),
            (
                format!("{APP_SCHEME}?relay=https%3A%2F%2Fr.example&token={token}&token={token}"),
                ConnectUriError::NotAConnectUri,
            ),
            (format!("{APP_SCHEME}?relay=https%3A%2F%2Fr.example&token={token}&x=1"), ConnectUriError::NotAConnectUri),
            (format!("{APP_SCHEME}?relay=%ZZ&token={token}"), ConnectUriError::BadRelay),
            (format!("https://r.example/c/{}", "A".repeat(MAX_CONNECT_URI_LEN)), ConnectUriError::TooLong),
        ] {
            assert_eq!(ConnectUri::parse(&uri).unwrap_err(), expected, "{uri}");
        }
    }

    #[test]
    fn token_debug_is_redacted_and_digest_is_of_the_bytes() {
        let token = ConnectToken([7u8; 32]);
        assert!(!format!("{token:?}").contains(&token.encode()));
        assert_eq!(token.sha256_hex(), hex::encode(Sha256::digest([7u8; 32])));
    }
}
