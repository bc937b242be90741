//! RFC 9457 problem details: the one error body every HTTP API of ours answers with.

use serde::{Deserialize, Serialize};

/// Media type of a problem body.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Declares every error code once: variant, wire name, HTTP status and title. Each code
/// has exactly one status, so no table elsewhere can disagree with it.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])+ $variant:ident = $name:literal, $status:literal, $title:literal;)+) => {
        /// Stable, machine-readable error identifiers. Clients switch on these, never on `detail`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(Self::$variant,)+];

            /// The snake-case wire name, as in problem bodies and the OpenAPI schema.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)+
                }
            }

            /// The HTTP status every answer with this code carries.
            pub fn status(self) -> u16 {
                match self {
                    $(Self::$variant => $status,)+
                }
            }

            /// The problem's `title`: the same for every occurrence of the code.
            pub fn title(self) -> &'static str {
                match self {
                    $(Self::$variant => $title,)+
                }
            }

            /// The code with this wire name, if it is one of ours.
            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    /// The `Authorization` header is missing or not a bearer token.
    MissingBearerToken = "missing_bearer_token", 401, "Bearer token required";
    /// The bearer token is not one of the configured tokens, nor (on staff routes) a
    /// valid access token from the staff identity provider.
    InvalidBearerToken = "invalid_bearer_token", 401, "Bearer token not recognised";
    /// No route matches the path.
    NotFound = "not_found", 404, "Not found";
    /// The route exists but not for this method.
    MethodNotAllowed = "method_not_allowed", 405, "Method not allowed";
    /// The request target (path and query) is longer than the server reads.
    UriTooLong = "uri_too_long", 414, "Request target too long";
    /// The request headers are larger than the server reads.
    HeadersTooLarge = "headers_too_large", 431, "Request headers too large";
    /// The request body is larger than the route accepts.
    PayloadTooLarge = "payload_too_large", 413, "Request body too large";
    /// The request body is not the JSON the route expects.
    MalformedBody = "malformed_body", 400, "Malformed request body";
    /// The request line or a header could not be read as HTTP/1.1 (a raw NUL, a bad
    /// method or target); the connection is closed after the answer.
    MalformedRequest = "malformed_request", 400, "Malformed request";
    /// The `Content-Type` is not one the route accepts.
    UnsupportedMediaType = "unsupported_media_type", 415, "Unsupported media type";
    /// A path or query parameter is invalid.
    InvalidParameter = "invalid_parameter", 400, "Invalid parameter";
    /// The subject is unknown to this controller.
    SubjectNotFound = "subject_not_found", 404, "Subject not found";
    /// A category is unknown to the inventory.
    CategoryNotFound = "category_not_found", 404, "Category not found";
    /// A category was asked for with purpose `portability` but art. 20 does not apply to it.
    CategoryNotPortable = "category_not_portable", 422, "Category not portable";
    /// The data is too large for the compact JWS form; ask for `zip`.
    BundleTooLarge = "bundle_too_large", 422, "Too large for a compact JWS bundle";
    /// The bundle is not a well-formed compact JWS, zip package or v1 claims set.
    Malformed = "malformed", 422, "Malformed bundle";
    /// A JSON object in the bundle repeats a member name.
    DuplicateMember = "duplicate_member", 422, "Duplicate JSON member";
    /// The JWS header carries a member we refuse (`crit`, `b64`, `jku`, `x5u`, `x5c`, `jwk`, `zip`).
    ForbiddenHeader = "forbidden_header", 422, "Forbidden JWS header member";
    /// The JWS `alg` is not `EdDSA`.
    AlgNotAllowed = "alg_not_allowed", 422, "Algorithm not allowed";
    /// The JWS `typ` is missing or not `gdpr-bundle+jwt`.
    WrongTyp = "wrong_typ", 422, "Wrong or missing typ";
    /// No trusted key has the JWS `kid`.
    UnknownKid = "unknown_kid", 422, "Unknown signing key";
    /// The signature does not verify.
    SignatureInvalid = "signature_invalid", 422, "Signature invalid";
    /// The bundle was signed with a key the trust list gives to another controller than its `iss`.
    IssuerMismatch = "issuer_mismatch", 422, "Key not the issuer's";
    /// The claims are not a v1 bundle.
    InvalidClaims = "invalid_claims", 422, "Invalid bundle claims";
    /// A file of a zip package does not match its manifest digest.
    DigestMismatch = "digest_mismatch", 422, "Digest mismatch";
    /// A zip package that ends early, as an interrupted download does: nothing was checked.
    PackageTruncated = "package_truncated", 422, "Package truncated";
    /// Neither a zip package nor a compact JWS: nothing was checked.
    NotAPackage = "not_a_package", 422, "Not a package";
    /// Signed at a time outside the signing key's period of use (its `nbf`/`exp`).
    KeyNotInUse = "key_not_in_use", 422, "Key not in use at the signing time";
    /// The issuer's keys cannot be found by the key discovery rule (`verify --issuer-discovery`).
    IssuerUnknown = "issuer_unknown", 422, "Issuer's keys not found";
    /// The storage backend cannot be reached.
    StoreUnavailable = "store_unavailable", 503, "Storage unavailable";
    /// A source system (connector) failed: it answered an error or data we cannot read.
    UpstreamUnavailable = "upstream_unavailable", 502, "Source system unavailable";
    /// A source system cannot be reached, or is not where the configuration says (a file
    /// source's directory is missing): nothing can be said about what it holds.
    SourceUnavailable = "source_unavailable", 503, "Source system unreachable";
    /// The request has no valid `DPoP` proof (missing, malformed, badly signed, or for another request).
    InvalidProof = "invalid_proof", 401, "Request proof invalid";
    /// The proof's `iat` is more than 60 s from the relay's clock.
    StaleProof = "stale_proof", 401, "Request proof too old or too new";
    /// The proof's `jti` was used before.
    ProofReplayed = "proof_replayed", 401, "Request proof used before";
    /// The proof's key belongs to no controller in the trust list.
    NotAController = "not_a_controller", 403, "Key not in the trust list";
    /// No connect token has this value (or it was never registered).
    ConnectTokenUnknown = "connect_token_unknown", 404, "Connect token unknown";
    /// The connect token expired before it was redeemed.
    ConnectTokenExpired = "connect_token_expired", 410, "Connect token expired";
    /// The connect token was redeemed already; each token works once.
    ConnectTokenUsed = "connect_token_used", 409, "Connect token already used";
    /// A connect token with this digest is registered already.
    ConnectTokenExists = "connect_token_exists", 409, "Connect token already registered";
    /// The connection does not exist or is not the caller's.
    ConnectionNotFound = "connection_not_found", 404, "Connection not found";
    /// The connection was revoked; nothing more can travel on it.
    ConnectionRevoked = "connection_revoked", 410, "Connection revoked";
    /// The mailbox message does not exist, was acknowledged, or is not the caller's.
    MessageNotFound = "message_not_found", 404, "Message not found";
    /// The body is not a compact JWE (ECDH-ES, A256GCM); mailboxes carry nothing else.
    InvalidEnvelope = "invalid_envelope", 422, "Not a JWE envelope";
    /// The mailbox holds as many unacknowledged items as it may; acknowledge some first.
    MailboxFull = "mailbox_full", 429, "Mailbox full";
    /// Too many requests from this address or for this token; retry after `Retry-After`.
    RateLimited = "rate_limited", 429, "Too many requests";
    /// The trust list could not be loaded or has expired.
    TrustListUnavailable = "trust_list_unavailable", 503, "Trust list unavailable";
    /// A staff access token cannot be checked: the identity provider's keys could not be
    /// fetched and none are cached.
    IdentityProviderUnavailable = "identity_provider_unavailable", 503, "Identity provider unavailable";
    /// No pairing has this id.
    PairingNotFound = "pairing_not_found", 404, "Pairing not found";
    /// The pairing is not waiting for a code: the wallet has not scanned yet.
    PairingNotScanned = "pairing_not_scanned", 409, "Pairing not scanned yet";
    /// The pairing has ended (connected, expired or cancelled).
    PairingClosed = "pairing_closed", 409, "Pairing ended";
    /// The confirmation code is wrong; after three wrong codes the pairing is cancelled.
    WrongCode = "wrong_code", 422, "Wrong confirmation code";
    /// The relay could not be reached or refused the gateway's request.
    RelayUnavailable = "relay_unavailable", 502, "Relay unavailable";
    /// No controller with this id is in the trust list.
    ControllerNotListed = "controller_not_listed", 404, "Controller not in the trust list";
    /// The bundle's issuer is not in the trust list, so its signature cannot be trusted.
    IssuerNotTrusted = "issuer_not_trusted", 422, "Issuer not in the trust list";
    /// No import has this id.
    ImportNotFound = "import_not_found", 404, "Import not found";
    /// No rights request has this id, or none the caller may see.
    RequestNotFound = "request_not_found", 404, "Request not found";
    /// A rectification proposes a value for a field the inventory does not let people correct.
    FieldNotRectifiable = "field_not_rectifiable", 422, "Field cannot be rectified";
    /// A value a rectification proposes does not satisfy the JSON Schema the inventory
    /// gives the category; `detail` names the category, the field and the rule it breaks.
    ProposedValueInvalid = "proposed_value_invalid", 422, "Proposed value invalid";
    /// The caller's role may not do this (an auditor changing a request, a handler
    /// approving their own work).
    RoleNotPermitted = "role_not_permitted", 403, "Role not permitted";
    /// A request cannot leave its phase before these mandatory criteria are met; `detail`
    /// names them.
    CriteriaUnmet = "criteria_unmet", 409, "Mandatory criteria unmet";
    /// The request's current phase has no criterion of that name.
    CriterionNotInPhase = "criterion_not_in_phase", 409, "Criterion not in this phase";
    /// The request was closed or refused; it changes no more.
    RequestClosed = "request_closed", 409, "Request ended";
    /// The deadline was extended before, or the first month has passed (art. 12(3)).
    ExtensionNotAllowed = "extension_not_allowed", 409, "Extension not allowed";
    /// Another member moved the request first; read it again.
    RequestChanged = "request_changed", 409, "Request changed meanwhile";
    /// The request has no receipt: it is still open, or it ended before receipts were
    /// signed.
    ReceiptNotFound = "receipt_not_found", 404, "Receipt not found";
    /// The request cannot close while operations are pending at a source or wait for a
    /// handler; `detail` names them.
    OperationsPending = "operations_pending", 409, "Operations not yet settled";
    /// The request has no operation with this number.
    OperationNotFound = "operation_not_found", 404, "Operation not found";
    /// Only a task (an operation waiting for a handler) is settled by hand; this one is
    /// pending at its source or settled already.
    OperationNotATask = "operation_not_a_task", 409, "Operation is not a task";
    /// The person filed as many requests today as the organisation allows.
    RequestLimitReached = "request_limit_reached", 429, "Request limit reached for today";
    /// A written request's document is archived once and never replaced.
    DocumentAttached = "document_attached", 409, "Document already attached";
    /// The request has no document: it did not come in writing, or its retention ended.
    DocumentNotFound = "document_not_found", 404, "Document not found";
    /// The request's identity check was recorded before; it is not recorded twice.
    AlreadyIdentified = "already_identified", 409, "Identity already established";
    /// No breach with this id is in the register.
    BreachNotFound = "breach_not_found", 404, "Breach not found";
    /// The procedure's answers do not call for this notification (yet): see `outcome`
    /// and `next_question`.
    BreachNotNotifiable = "breach_not_notifiable", 409, "Notification not called for";
    /// The authority's notification was recorded already.
    AlreadyNotified = "already_notified", 409, "Already notified";
    /// A notification needs a fact the breach record lacks (likely consequences,
    /// measures), or, after 72 hours, the reasons for the delay (art. 33(1)).
    BreachFactsMissing = "breach_facts_missing", 422, "Breach facts missing";
    /// No legal hold with this id.
    LegalHoldNotFound = "legal_hold_not_found", 404, "Legal hold not found";
    /// The legal hold was lifted before; a hold is lifted once.
    LegalHoldLifted = "legal_hold_lifted", 409, "Legal hold already lifted";
    /// The breach record changed since the version given: read it again.
    BreachChanged = "breach_changed", 409, "Breach changed meanwhile";
    /// An unexpected internal failure; details are in the server log under the request id.
    Internal = "internal", 500, "Internal error";
}

impl ErrorCode {
    /// The `type` URI of the problem: a stable identifier documented in the OpenAPI spec.
    pub fn type_uri(self) -> String {
        format!("urn:gdpr-gateway:error:{}", self.as_str())
    }
}

/// An error code as a client reads it from a server: one of ours, or one a newer server
/// added that this build does not know yet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RemoteErrorCode {
    Known(ErrorCode),
    Unknown(String),
}

impl RemoteErrorCode {
    pub fn parse(name: &str) -> Self {
        ErrorCode::parse(name).map_or_else(|| Self::Unknown(name.to_owned()), Self::Known)
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Known(code) => code.as_str(),
            Self::Unknown(name) => name,
        }
    }

    /// True when this is `code`.
    pub fn is(&self, code: ErrorCode) -> bool {
        *self == Self::Known(code)
    }
}

impl std::fmt::Display for RemoteErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An RFC 9457 problem body with our two extension members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Problem {
    /// `urn:gdpr-gateway:error:<error_code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short, human-readable summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// Human-readable explanation of this occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Stable machine-readable error identifier.
    pub error_code: ErrorCode,
    /// Identifier of the request, also in the `x-request-id` header and the server log.
    pub request_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_wire_name_a_status_and_a_title() {
        assert!(ErrorCode::ALL.len() > 20);
        for &code in ErrorCode::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, serde_json::Value::String(code.as_str().to_owned()));
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            assert_eq!(RemoteErrorCode::parse(code.as_str()), RemoteErrorCode::Known(code));
            assert!((400..=599).contains(&code.status()), "{code:?}");
            assert!(!code.title().is_empty() && code.title() != "Internal error" || code == ErrorCode::Internal);
            // Only a failure of ours answers 5xx; a client's mistake never does.
            let ours = [
                ErrorCode::Internal,
                ErrorCode::StoreUnavailable,
                ErrorCode::UpstreamUnavailable,
                ErrorCode::SourceUnavailable,
                ErrorCode::RelayUnavailable,
                ErrorCode::TrustListUnavailable,
                ErrorCode::IdentityProviderUnavailable,
            ];
            assert_eq!(code.status() >= 500, ours.contains(&code), "{code:?}");
        }
        assert_eq!(RemoteErrorCode::parse("from_the_future"), RemoteErrorCode::Unknown("from_the_future".into()));
    }
}
