//! A typed client of the portal API, reading answers into the API's own views
//! (`gdpr_gateway::views`) and refusals into problem bodies.

use gdpr_gateway::protocol::Problem;
use gdpr_gateway::views::{
    ConnectionList, ExportList, ExportRequest, ImportDetail, ImportList, PairingView, RequestList, RequestView,
};
use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde_json::json;

/// One portal backend, with its bearer token.
#[derive(Debug, Clone)]
pub struct PortalClient {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl PortalClient {
    pub fn new(url: &str, token: &str) -> Self {
        Self { http: reqwest::Client::new(), url: url.trim_end_matches('/').to_owned(), token: token.to_owned() }
    }

    /// Any request with this client's token, for what the typed calls do not cover.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.url)).bearer_auth(&self.token)
    }

    /// `POST /v1/pairings`; a refusal fails the test.
    pub async fn create_pairing(&self, subject_ref: &str) -> PairingView {
        let response = self.request(Method::POST, "/v1/pairings").json(&json!({ "subject_ref": subject_ref }));
        expect(response.send().await.unwrap(), 201).await.unwrap()
    }

    pub async fn pairing(&self, id: &str) -> Result<PairingView, Problem> {
        expect(self.request(Method::GET, &format!("/v1/pairings/{id}")).send().await.unwrap(), 200).await
    }

    pub async fn confirm(&self, id: &str, code: &str) -> Result<PairingView, Problem> {
        let request = self.request(Method::POST, &format!("/v1/pairings/{id}/confirm")).json(&json!({ "code": code }));
        expect(request.send().await.unwrap(), 200).await
    }

    pub async fn cancel(&self, id: &str) -> Result<PairingView, Problem> {
        expect(self.request(Method::DELETE, &format!("/v1/pairings/{id}")).send().await.unwrap(), 200).await
    }

    pub async fn connections(&self, subject_ref: &str) -> Result<ConnectionList, Problem> {
        let path = format!("/v1/subjects/{subject_ref}/connections");
        expect(self.request(Method::GET, &path).send().await.unwrap(), 200).await
    }

    pub async fn exports(&self, subject_ref: &str) -> Result<ExportList, Problem> {
        let path = format!("/v1/subjects/{subject_ref}/exports");
        expect(self.request(Method::GET, &path).send().await.unwrap(), 200).await
    }

    /// `POST /v1/subjects/{subject_ref}/exports`: the raw answer, a bundle or a problem.
    pub async fn export(&self, subject_ref: &str, request: &ExportRequest) -> Response {
        let path = format!("/v1/subjects/{subject_ref}/exports");
        self.request(Method::POST, &path).json(request).send().await.unwrap()
    }

    /// `POST /v1/subjects/{subject_ref}/requests` with `body` as given (a `FileRequest`,
    /// or something that should not be one).
    pub async fn file_request(&self, subject_ref: &str, body: &serde_json::Value) -> Result<RequestView, Problem> {
        let path = format!("/v1/subjects/{subject_ref}/requests");
        expect(self.request(Method::POST, &path).json(body).send().await.unwrap(), 201).await
    }

    /// `GET /v1/subjects/{subject_ref}/requests` with `query` (`?limit=…&before=…` or empty).
    pub async fn requests(&self, subject_ref: &str, query: &str) -> Result<RequestList, Problem> {
        let path = format!("/v1/subjects/{subject_ref}/requests{query}");
        expect(self.request(Method::GET, &path).send().await.unwrap(), 200).await
    }

    pub async fn imports(&self) -> Result<ImportList, Problem> {
        expect(self.request(Method::GET, "/v1/imports").send().await.unwrap(), 200).await
    }

    pub async fn import(&self, id: &str) -> Result<ImportDetail, Problem> {
        expect(self.request(Method::GET, &format!("/v1/imports/{id}")).send().await.unwrap(), 200).await
    }
}

/// The body as `T` when the status is `status`, else the problem body (which must be one).
pub(super) async fn expect<T: DeserializeOwned>(response: Response, status: u16) -> Result<T, Problem> {
    if response.status().as_u16() == status {
        return Ok(response.json().await.unwrap());
    }
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/problem+json", "status {}", response.status());
    Err(response.json().await.unwrap())
}
