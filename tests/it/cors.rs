//! CORS as a browser meets it, over real HTTP: any page may read the public documents; a
//! portal's page may call the portal routes only from an origin in `[cors] portal_origins`
//! (none by default); no page may call the staff routes.

use reqwest::Method;
use reqwest::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN,
};

use crate::common::TestGateway;

const PORTAL: &str = "https://portal.energie.example";

/// A browser's preflight for `method path` from `origin`: the origin it may use, if any.
async fn preflight(gw: &TestGateway, method: &str, path: &str, origin: &str) -> Option<String> {
    let response = reqwest::Client::new()
        .request(Method::OPTIONS, format!("{}{path}", gw.url))
        .header(ORIGIN, origin)
        .header(ACCESS_CONTROL_REQUEST_METHOD, method)
        .header(ACCESS_CONTROL_REQUEST_HEADERS, "authorization,content-type")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{path}: {}", response.status());
    let allowed = response.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).map(|v| v.to_str().unwrap().to_owned());
    if allowed.is_some() {
        let headers = response.headers()[ACCESS_CONTROL_ALLOW_HEADERS].to_str().unwrap().to_ascii_lowercase();
        assert!(headers.contains("authorization") && headers.contains("content-type"), "{headers}");
    }
    allowed
}

#[tokio::test]
async fn portal_routes_answer_only_the_listed_origins_and_public_documents_anyone() {
    let gw = TestGateway::demo_with(&format!("[cors]\nportal_origins = [\"{PORTAL}\"]\n")).await;
    assert_eq!(preflight(&gw, "POST", "/v1/pairings", PORTAL).await.as_deref(), Some(PORTAL));
    assert_eq!(preflight(&gw, "GET", "/v1/subjects/alice/exports", PORTAL).await.as_deref(), Some(PORTAL));
    assert_eq!(preflight(&gw, "POST", "/v1/pairings", "https://evil.example").await, None);
    assert_eq!(preflight(&gw, "GET", "/v1/requests", PORTAL).await, None, "staff routes are for no page");
    assert_eq!(
        preflight(&gw, "POST", "/v1/verify", "https://anyone.example").await.as_deref(),
        Some("https://anyone.example")
    );

    // The real request: the portal's page reads the answer, and the download's name.
    let response = gw
        .portal(Method::POST, "/v1/subjects/alice/exports")
        .header(ORIGIN, PORTAL)
        .json(&serde_json::json!({"format": "zip", "purpose": "access"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], PORTAL);
    let exposed = response.headers()[ACCESS_CONTROL_EXPOSE_HEADERS].to_str().unwrap().to_ascii_lowercase();
    assert!(exposed.contains("content-disposition"), "{exposed}");
    let keys = gw.get("/.well-known/jwks.json").header(ORIGIN, "https://verifier.example").send().await.unwrap();
    assert_eq!(keys.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "https://verifier.example");
    gw.stop().await.unwrap();
}

#[tokio::test]
async fn without_listed_origins_no_page_may_call_the_portal_routes() {
    let gw = TestGateway::demo().await;
    assert_eq!(preflight(&gw, "POST", "/v1/pairings", PORTAL).await, None);
    let response = gw.portal(Method::GET, "/v1/subjects/alice/exports").header(ORIGIN, PORTAL).send().await.unwrap();
    assert!(response.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    let discovery = gw.get("/.well-known/gdpr-gateway").header(ORIGIN, PORTAL).send().await.unwrap();
    assert_eq!(discovery.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], PORTAL);
    gw.stop().await.unwrap();
}
