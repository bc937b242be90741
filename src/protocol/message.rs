//! Wallet↔controller messages: a JWS signed by the sender inside a JWE to the recipient
//! (`docs/protocol.md` § Messages). The relay carries only the outer JWE; the inner JWS
//! lets the recipient know who wrote a message, not just who can read it.

use serde::{Deserialize, Serialize};

use crate::clock::UnixSeconds;
use crate::jose::jwe::{self, JweError};
use crate::jose::jws::{self, JwsError, Policy};
use crate::jose::{EncryptionKeyPair, Jwks, OkpPublicJwk, SigningKeyPair, strict_json};
use crate::protocol::Purpose;
use crate::protocol::blob::BlobRef;
use crate::protocol::notice::PrivacyNotice;
use crate::protocol::relay_wire::MAX_ENVELOPE_BYTES;
use crate::protocol::rights::RequestStatus;

/// `typ` of the inner JWS, and `cty` of the JWE around it.
pub const TYP: &str = "gdpr-msg+jwt";
/// Oldest message accepted, by its `iat`: a mailbox keeps items at most this long.
pub const MAX_AGE_SECS: u64 = 7 * 24 * 3600;
/// How far in the future a message's `iat` may lie (clock skew).
pub const MAX_FUTURE_SECS: u64 = 60;

/// Longest request id a wallet may give a rights request (`request.submit`): the gateway
/// keeps it to recognise a retry.
pub const MAX_REQUEST_ID_CHARS: usize = 64;

/// True for 1 to [`MAX_REQUEST_ID_CHARS`] letters, digits, `_` and `-`.
pub fn is_valid_request_id(id: &str) -> bool {
    (1..=MAX_REQUEST_ID_CHARS).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// What a message says. New types are added as the protocol grows; a recipient refuses
/// types it does not know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "body", deny_unknown_fields)]
#[non_exhaustive]
pub enum Body {
    /// Controller → wallet, after the scan: the code the person types into the portal.
    #[serde(rename = "pairing.code")]
    PairingCode { code: String, expires_at: UnixSeconds },
    /// Controller → wallet: the code was right; the connection is bound to the account
    /// whose subject reference is `subject`, the `sub` of every bundle sent on it.
    #[serde(rename = "pairing.confirmed")]
    PairingConfirmed { subject: String },
    /// Controller → wallet: the pairing ended without binding (wrong codes, expiry, the
    /// portal cancelled). The relay connection is revoked right after.
    #[serde(rename = "pairing.cancelled")]
    PairingCancelled { reason: String },
    /// Controller → wallet: the organisation ended the connection.
    #[serde(rename = "connection.revoked")]
    ConnectionRevoked {},
    /// Wallet → controller: send me my data, signed. `categories` narrows the selection
    /// (all the purpose allows when absent); `format` picks the form (`jwt` when absent).
    #[serde(rename = "export.request")]
    ExportRequest {
        request_id: String,
        purpose: Purpose,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        categories: Option<Vec<String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        format: Option<BundleForm>,
    },
    /// Controller → wallet: the bundle, a compact JWS (`typ` `gdpr-bundle+jwt`).
    #[serde(rename = "export.bundle")]
    ExportBundle { request_id: String, bundle: String },
    /// Wallet → controller: what do you hold about people, and why (art. 15 information)?
    #[serde(rename = "catalogue.request")]
    CatalogueRequest { request_id: String },
    /// Controller → wallet: its privacy notice, categories with their art. 15 information.
    #[serde(rename = "catalogue")]
    Catalogue { request_id: String, notice: Box<PrivacyNotice> },
    /// Wallet → controller: a bundle another controller issued to the person, forwarded
    /// as it was signed, for the receiver to import.
    #[serde(rename = "import.offer")]
    ImportOffer { request_id: String, bundle: String },
    /// Controller → wallet: the bundle verified and was stored as import `import_id`.
    #[serde(rename = "import.accepted")]
    ImportAccepted { request_id: String, import_id: String },
    /// Controller → wallet: the bundle, too large for a message, as a blob at the relay
    /// whose plaintext is the compact JWS.
    #[serde(rename = "export.bundle_blob")]
    ExportBundleBlob { request_id: String, blob: BlobRef },
    /// Controller → wallet: the zip package (`format: zip`) as a blob at the relay.
    #[serde(rename = "export.package_blob")]
    ExportPackageBlob { request_id: String, blob: BlobRef },
    /// Wallet → controller: [`Body::ImportOffer`] with the bundle as a blob.
    #[serde(rename = "import.offer_blob")]
    ImportOfferBlob { request_id: String, blob: BlobRef },
    /// Controller → wallet: the request was not carried out, with a stable `error_code`.
    #[serde(rename = "request.refused")]
    RequestRefused { request_id: String, error_code: String, detail: String },
    /// Wallet → controller: a rights request (art. 15-22 GDPR) for the connection's
    /// account. `request_id` is the wallet's own: sent again, it files nothing twice.
    #[serde(rename = "request.submit")]
    RequestSubmit {
        request_id: String,
        /// A [`RequestKind`]'s wire name, as text: a type this gateway does not know is
        /// refused by name, not dropped as an unreadable message.
        #[serde(rename = "type")]
        kind: String,
        /// The categories concerned; all when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        categories: Option<Vec<String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        details: Option<String>,
        /// For a rectification: `{"<category>": {"<field>": <correct value>}}`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        proposed: Option<serde_json::Value>,
    },
    /// Controller → wallet: where one of the person's rights requests stands, on every
    /// change; `request_id` echoes the wallet's id on the acknowledgement of its own
    /// `request.submit`.
    #[serde(rename = "request.status")]
    RequestStatus {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
        status: Box<RequestStatus>,
    },
    /// Wallet → controller: the receipt of request `receipt_id` (its `jti`) arrived and
    /// verified; the register records when.
    #[serde(rename = "receipt.ack")]
    ReceiptAck { receipt_id: String },
    /// Controller → wallet: a personal data breach touched the person's data (art. 34);
    /// `notice` is a signed breach notice (`typ` `gdpr-breach-notice+jwt`).
    #[serde(rename = "breach.notice")]
    BreachNotice { notice: String },
}

impl Body {
    /// The `type` on the wire, for logs and events, without serializing the body.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::PairingCode { .. } => "pairing.code",
            Self::PairingConfirmed { .. } => "pairing.confirmed",
            Self::PairingCancelled { .. } => "pairing.cancelled",
            Self::ConnectionRevoked {} => "connection.revoked",
            Self::ExportRequest { .. } => "export.request",
            Self::ExportBundle { .. } => "export.bundle",
            Self::CatalogueRequest { .. } => "catalogue.request",
            Self::Catalogue { .. } => "catalogue",
            Self::ImportOffer { .. } => "import.offer",
            Self::ImportAccepted { .. } => "import.accepted",
            Self::ExportBundleBlob { .. } => "export.bundle_blob",
            Self::ExportPackageBlob { .. } => "export.package_blob",
            Self::ImportOfferBlob { .. } => "import.offer_blob",
            Self::RequestRefused { .. } => "request.refused",
            Self::RequestSubmit { .. } => "request.submit",
            Self::RequestStatus { .. } => "request.status",
            Self::ReceiptAck { .. } => "receipt.ack",
            Self::BreachNotice { .. } => "breach.notice",
        }
    }
}

/// The form a bundle is asked for in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BundleForm {
    /// A compact JWS, inline or as a blob (records up to 32 MiB).
    Jwt,
    /// The BagIt zip package with its detached signature, as a blob: for large data.
    Zip,
}

impl BundleForm {
    /// The wire name, as in the export register.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jwt => "jwt",
            Self::Zip => "zip",
        }
    }
}

/// The signed claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Unique per message: recipients drop a `jti` they have seen.
    pub jti: String,
    pub iat: UnixSeconds,
    /// The relay connection the message belongs to; a message is refused on any other.
    pub connection_id: String,
    #[serde(flatten)]
    pub body: Body,
}

impl Message {
    pub fn new(connection_id: &str, iat: UnixSeconds, body: Body) -> Self {
        use rand_core::{OsRng, RngCore};
        let mut jti = [0u8; 16];
        OsRng.fill_bytes(&mut jti);
        Self { jti: crate::jose::b64::encode(jti), iat, connection_id: connection_id.to_owned(), body }
    }
}

/// Why a message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    #[error("envelope: {0}")]
    Envelope(#[from] JweError),
    #[error("the envelope must carry cty {TYP:?}")]
    WrongContentType,
    #[error("signature: {0}")]
    Signature(#[from] JwsError),
    #[error("not a known message: {0}")]
    Invalid(String),
    #[error("the message is for connection {found:?}, not {expected:?}")]
    WrongConnection { expected: String, found: String },
    #[error("the message's iat {0} is outside the accepted window")]
    Stale(UnixSeconds),
    #[error("the key {0} was not in use when the message says it was signed")]
    KeyNotInUse(String),
}

/// Whether a message carrying a bundle of `len` bytes fits the mailbox cap: the JWS and
/// the JWE around it each grow it by a third (base64url), plus headers. Larger bundles go
/// as blobs ([`Body::ExportBundleBlob`], [`Body::ImportOfferBlob`]).
pub fn bundle_fits(len: usize) -> bool {
    len.saturating_mul(16) / 9 + 4096 <= MAX_ENVELOPE_BYTES
}

/// Signs `message` with the sender's key and encrypts it to the recipient's X25519 key.
pub fn seal(sender: &SigningKeyPair, recipient: &OkpPublicJwk, message: &Message) -> Result<String, MessageError> {
    let claims = serde_json::to_vec(message).map_err(|e| MessageError::Invalid(e.to_string()))?;
    let signed = jws::sign(sender, TYP, &claims);
    Ok(jwe::encrypt(recipient, TYP, signed.as_bytes())?)
}

/// Decrypts with one of `keys`, verifies the signature against the sender's pinned keys,
/// and checks the connection and the age.
pub fn open(
    envelope: &[u8],
    keys: &[&EncryptionKeyPair],
    sender_keys: &Jwks,
    connection_id: &str,
    now: UnixSeconds,
) -> Result<Message, MessageError> {
    let decrypted = jwe::decrypt(envelope, keys, MAX_ENVELOPE_BYTES)?;
    if decrypted.header.get("cty").and_then(serde_json::Value::as_str) != Some(TYP) {
        return Err(MessageError::WrongContentType);
    }
    let verified = jws::verify(&decrypted.plaintext, sender_keys, Policy { typ: TYP, max_bytes: MAX_ENVELOPE_BYTES })?;
    let value = strict_json::parse(&verified.payload).map_err(JwsError::from)?;
    let message: Message = serde_json::from_value(value).map_err(|e| MessageError::Invalid(e.to_string()))?;
    if message.connection_id != connection_id {
        return Err(MessageError::WrongConnection { expected: connection_id.to_owned(), found: message.connection_id });
    }
    if message.iat > now.saturating_add(MAX_FUTURE_SECS) || now.saturating_sub(message.iat) > MAX_AGE_SECS {
        return Err(MessageError::Stale(message.iat));
    }
    // A retired key signs nothing new, here as in bundles.
    if !sender_keys.find(&verified.kid).is_some_and(|k| k.was_in_use_at(message.iat)) {
        return Err(MessageError::KeyNotInUse(verified.kid));
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_messages_open_only_for_the_right_reader_writer_and_connection() {
        let (controller, wallet_enc, stranger) =
            (SigningKeyPair::generate(), EncryptionKeyPair::generate(), SigningKeyPair::generate());
        let controller_keys = Jwks { keys: vec![controller.public_jwk().clone()] };
        let message = Message::new("c1", 1000, Body::PairingCode { code: "123456".into(), expires_at: 1600 });
        let sealed = seal(&controller, wallet_enc.public_jwk(), &message).unwrap();
        assert_eq!(open(sealed.as_bytes(), &[&wallet_enc], &controller_keys, "c1", 1010).unwrap(), message);

        let forged = seal(&stranger, wallet_enc.public_jwk(), &message).unwrap();
        let err = open(forged.as_bytes(), &[&wallet_enc], &controller_keys, "c1", 1010).unwrap_err();
        assert!(matches!(err, MessageError::Signature(JwsError::UnknownKid(_))), "{err:?}");
        let err = open(sealed.as_bytes(), &[&wallet_enc], &controller_keys, "c2", 1010).unwrap_err();
        assert!(matches!(err, MessageError::WrongConnection { .. }), "{err:?}");
        let err = open(sealed.as_bytes(), &[&wallet_enc], &controller_keys, "c1", 1000 + MAX_AGE_SECS + 1).unwrap_err();
        assert_eq!(err, MessageError::Stale(1000));
        let other_reader = EncryptionKeyPair::generate();
        let err = open(sealed.as_bytes(), &[&other_reader], &controller_keys, "c1", 1010).unwrap_err();
        assert!(matches!(err, MessageError::Envelope(JweError::UnknownKid(_))), "{err:?}");
    }

    fn blob() -> BlobRef {
        BlobRef { blob_id: "b".into(), size: 1, sha256: "h".into(), key: "k".into(), nonce_prefix: "n".into() }
    }

    #[test]
    fn type_names_are_the_wire_types() {
        for body in [
            Body::PairingCode { code: "123456".into(), expires_at: 1 },
            Body::PairingConfirmed { subject: "s".into() },
            Body::PairingCancelled { reason: "r".into() },
            Body::ConnectionRevoked {},
            Body::ExportRequest { request_id: "r".into(), purpose: Purpose::Access, categories: None, format: None },
            Body::ExportBundle { request_id: "r".into(), bundle: "b".into() },
            Body::ImportOffer { request_id: "r".into(), bundle: "b".into() },
            Body::ExportBundleBlob { request_id: "r".into(), blob: blob() },
            Body::ExportPackageBlob { request_id: "r".into(), blob: blob() },
            Body::ImportOfferBlob { request_id: "r".into(), blob: blob() },
            Body::CatalogueRequest { request_id: "r".into() },
            Body::ImportAccepted { request_id: "r".into(), import_id: "i".into() },
            Body::RequestRefused { request_id: "r".into(), error_code: "c".into(), detail: "d".into() },
        ] {
            assert_eq!(serde_json::to_value(&body).unwrap()["type"], body.type_name());
        }
    }

    #[test]
    fn unknown_types_and_extra_members_are_refused() {
        let (controller, wallet_enc) = (SigningKeyPair::generate(), EncryptionKeyPair::generate());
        let keys = Jwks { keys: vec![controller.public_jwk().clone()] };
        for claims in [
            r#"{"jti":"j","iat":1000,"connection_id":"c1","type":"export.unknown","body":{}}"#,
            r#"{"jti":"j","iat":1000,"connection_id":"c1","type":"pairing.confirmed","body":{"x":1}}"#,
            r#"{"jti":"j","iat":1000,"connection_id":"c1","connection_id":"c2","type":"pairing.confirmed","body":{}}"#,
        ] {
            let signed = jws::sign(&controller, TYP, claims.as_bytes());
            let sealed = jwe::encrypt(wallet_enc.public_jwk(), TYP, signed.as_bytes()).unwrap();
            assert!(open(sealed.as_bytes(), &[&wallet_enc], &keys, "c1", 1000).is_err(), "{claims}");
        }
    }
}
