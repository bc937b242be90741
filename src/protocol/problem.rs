//! RFC 9457 problem details: the one error body every HTTP API of ours answers with.

use serde::{Deserialize, Serialize};

/// Media type of a problem body.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Declares the error codes once: variant, wire name and documentation.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])+ $variant:ident = $name:literal,)+) => {
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
        }
    };
}

error_codes! {
    /// The `Authorization` header is missing or not a bearer token.
    MissingBearerToken = "missing_bearer_token",
    /// The bearer token is not one of the configured portal clients' tokens.
    InvalidBearerToken = "invalid_bearer_token",
    /// No route matches the path.
    NotFound = "not_found",
    /// The route exists but not for this method.
    MethodNotAllowed = "method_not_allowed",
    /// The request body is larger than the route accepts.
    PayloadTooLarge = "payload_too_large",
    /// The request body is not the JSON the route expects.
    MalformedBody = "malformed_body",
    /// The `Content-Type` is not one the route accepts.
    UnsupportedMediaType = "unsupported_media_type",
    /// A path or query parameter is invalid.
    InvalidParameter = "invalid_parameter",
    /// The subject is unknown to this controller.
    SubjectNotFound = "subject_not_found",
    /// A category is unknown to the inventory.
    CategoryNotFound = "category_not_found",
    /// A category was asked for with purpose `portability` but art. 20 does not apply to it.
    CategoryNotPortable = "category_not_portable",
    /// The data is too large for the compact JWS form; ask for `zip`.
    BundleTooLarge = "bundle_too_large",
    /// The bundle is not a well-formed compact JWS, zip package or v1 claims set.
    Malformed = "malformed",
    /// A JSON object in the bundle repeats a member name.
    DuplicateMember = "duplicate_member",
    /// The JWS header carries a member we refuse (`crit`, `b64`, `jku`, `x5u`, `x5c`, `jwk`, `zip`).
    ForbiddenHeader = "forbidden_header",
    /// The JWS `alg` is not `EdDSA`.
    AlgNotAllowed = "alg_not_allowed",
    /// The JWS `typ` is missing or not `gdpr-bundle+jwt`.
    WrongTyp = "wrong_typ",
    /// No trusted key has the JWS `kid`.
    UnknownKid = "unknown_kid",
    /// The signature does not verify.
    SignatureInvalid = "signature_invalid",
    /// The bundle was signed with a key the trust list gives to another controller than its `iss`.
    IssuerMismatch = "issuer_mismatch",
    /// The claims are not a v1 bundle.
    InvalidClaims = "invalid_claims",
    /// A file of a zip package does not match its manifest digest.
    DigestMismatch = "digest_mismatch",
    /// The storage backend cannot be reached.
    StoreUnavailable = "store_unavailable",
    /// A source system (connector) failed or is unreachable.
    UpstreamUnavailable = "upstream_unavailable",
    /// The request has no valid `DPoP` proof (missing, malformed, badly signed, or for another request).
    InvalidProof = "invalid_proof",
    /// The proof's `iat` is more than 60 s from the relay's clock.
    StaleProof = "stale_proof",
    /// The proof's `jti` was used before.
    ProofReplayed = "proof_replayed",
    /// The proof's key belongs to no controller in the trust list.
    NotAController = "not_a_controller",
    /// No connect token has this value (or it was never registered).
    ConnectTokenUnknown = "connect_token_unknown",
    /// The connect token expired before it was redeemed.
    ConnectTokenExpired = "connect_token_expired",
    /// The connect token was redeemed already; each token works once.
    ConnectTokenUsed = "connect_token_used",
    /// A connect token with this digest is registered already.
    ConnectTokenExists = "connect_token_exists",
    /// The connection does not exist or is not the caller's.
    ConnectionNotFound = "connection_not_found",
    /// The connection was revoked; nothing more can travel on it.
    ConnectionRevoked = "connection_revoked",
    /// The mailbox message does not exist, was acknowledged, or is not the caller's.
    MessageNotFound = "message_not_found",
    /// The body is not a compact JWE (ECDH-ES, A256GCM); mailboxes carry nothing else.
    InvalidEnvelope = "invalid_envelope",
    /// The mailbox holds as many unacknowledged items as it may; acknowledge some first.
    MailboxFull = "mailbox_full",
    /// Too many requests from this address or for this token; retry after `Retry-After`.
    RateLimited = "rate_limited",
    /// The trust list could not be loaded or has expired.
    TrustListUnavailable = "trust_list_unavailable",
    /// No pairing has this id.
    PairingNotFound = "pairing_not_found",
    /// The pairing is not waiting for a code: the wallet has not scanned yet.
    PairingNotScanned = "pairing_not_scanned",
    /// The pairing has ended (connected, expired or cancelled).
    PairingClosed = "pairing_closed",
    /// The confirmation code is wrong; after three wrong codes the pairing is cancelled.
    WrongCode = "wrong_code",
    /// The relay could not be reached or refused the gateway's request.
    RelayUnavailable = "relay_unavailable",
    /// No controller with this id is in the trust list.
    ControllerNotListed = "controller_not_listed",
    /// The bundle's issuer is not in the trust list, so its signature cannot be trusted.
    IssuerNotTrusted = "issuer_not_trusted",
    /// No import has this id.
    ImportNotFound = "import_not_found",
    /// An unexpected internal failure; details are in the server log under the request id.
    Internal = "internal",
}

impl ErrorCode {
    /// The `type` URI of the problem: a stable identifier documented in the OpenAPI spec.
    pub fn type_uri(self) -> String {
        format!("urn:gdpr-gateway:error:{}", self.as_str())
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
    fn as_str_matches_serde_name() {
        assert!(ErrorCode::ALL.len() > 20);
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, serde_json::Value::String(code.as_str().to_owned()));
        }
    }
}
