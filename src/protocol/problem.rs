//! RFC 9457 problem details: the one error body every HTTP API of ours answers with.

use serde::{Deserialize, Serialize};

/// Media type of a problem body.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Stable, machine-readable error identifiers. Clients switch on these, never on `detail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The `Authorization` header is missing or not a bearer token.
    MissingBearerToken,
    /// The bearer token is not one of the configured portal clients' tokens.
    InvalidBearerToken,
    /// No route matches the path.
    NotFound,
    /// The route exists but not for this method.
    MethodNotAllowed,
    /// The request body is larger than the route accepts.
    PayloadTooLarge,
    /// The request body is not the JSON the route expects.
    MalformedBody,
    /// The `Content-Type` is not one the route accepts.
    UnsupportedMediaType,
    /// A path or query parameter is invalid.
    InvalidParameter,
    /// The subject is unknown to this controller.
    SubjectNotFound,
    /// A category is unknown to the inventory.
    CategoryNotFound,
    /// The storage backend cannot be reached.
    StoreUnavailable,
    /// A source system (connector) failed or is unreachable.
    UpstreamUnavailable,
    /// An unexpected internal failure; details are in the server log under the request id.
    Internal,
}

impl ErrorCode {
    /// The snake-case wire name, as in problem bodies and the OpenAPI schema.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingBearerToken => "missing_bearer_token",
            Self::InvalidBearerToken => "invalid_bearer_token",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::MalformedBody => "malformed_body",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::InvalidParameter => "invalid_parameter",
            Self::SubjectNotFound => "subject_not_found",
            Self::CategoryNotFound => "category_not_found",
            Self::StoreUnavailable => "store_unavailable",
            Self::UpstreamUnavailable => "upstream_unavailable",
            Self::Internal => "internal",
        }
    }

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
        for code in [
            ErrorCode::MissingBearerToken,
            ErrorCode::InvalidBearerToken,
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::PayloadTooLarge,
            ErrorCode::MalformedBody,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::InvalidParameter,
            ErrorCode::SubjectNotFound,
            ErrorCode::CategoryNotFound,
            ErrorCode::StoreUnavailable,
            ErrorCode::UpstreamUnavailable,
            ErrorCode::Internal,
        ] {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, serde_json::Value::String(code.as_str().to_owned()));
        }
    }
}
