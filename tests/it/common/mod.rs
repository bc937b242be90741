//! The testkit every integration test uses (and `mobile-sdk/tests`, which includes it):
//! the single-gateway fixture, the two-organisation framework fixture, a typed portal
//! client over the API's own views, PostgreSQL schemas, and the problem-body check.

// Each test binary that includes the kit uses a part of it.
#![allow(dead_code, unused_imports)]

mod pg;
mod portal;
mod staff;
mod test_gateway;
pub mod two_organisations;

pub use pg::PgSchema;
pub use portal::PortalClient;
pub use staff::StaffClient;
pub use test_gateway::TestGateway;
pub use two_organisations::TwoOrganisations;

/// Set to a PostgreSQL URL to run the store suites and the gateways on it.
pub const PG_ENV: &str = "GDPR_GATEWAY_TEST_DATABASE_URL";

/// The test clock's start: 2026-11-22T00:00:00Z.
pub const T0: u64 = 1_795_305_600;

/// Asserts an RFC 9457 problem response and returns its body.
pub async fn assert_problem(response: reqwest::Response, status: u16, error_code: &str) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/problem+json");
    let header_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error_code"], error_code, "{body}");
    assert_eq!(body["status"], status);
    assert_eq!(body["type"], format!("urn:gdpr-gateway:error:{error_code}"));
    assert_eq!(body["request_id"], header_id.as_str());
    body
}
