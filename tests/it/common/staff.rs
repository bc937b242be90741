//! A typed client of the staff API, as one member in one role, reading answers into the
//! API's views and refusals into problem bodies.

use gdpr_gateway::protocol::Problem;
use gdpr_gateway::views::{RequestDetail, RequestList};
use reqwest::{Method, RequestBuilder};

use super::portal::expect;

#[derive(Debug, Clone)]
pub struct StaffClient {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl StaffClient {
    pub fn new(url: &str, token: &str) -> Self {
        Self { http: reqwest::Client::new(), url: url.trim_end_matches('/').to_owned(), token: token.to_owned() }
    }

    /// Any request with this member's token.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.url)).bearer_auth(&self.token)
    }

    /// `GET /v1/requests` with `query` (`?state=open&…` or empty).
    pub async fn register(&self, query: &str) -> Result<RequestList, Problem> {
        expect(self.request(Method::GET, &format!("/v1/requests{query}")).send().await.unwrap(), 200).await
    }

    pub async fn rights_request(&self, id: &str) -> Result<RequestDetail, Problem> {
        expect(self.request(Method::GET, &format!("/v1/requests/{id}")).send().await.unwrap(), 200).await
    }

    /// `POST /v1/requests/{id}/{step}` (`criteria`, `advance`, `extension`, `refusal`).
    pub async fn step(&self, id: &str, step: &str, body: serde_json::Value) -> Result<RequestDetail, Problem> {
        let request = self.request(Method::POST, &format!("/v1/requests/{id}/{step}")).json(&body);
        expect(request.send().await.unwrap(), 200).await
    }

    /// Records each of `criteria` of the request's current phase.
    pub async fn meet(&self, id: &str, criteria: &[&str]) -> RequestDetail {
        let mut last = None;
        for criterion in criteria {
            let body = serde_json::json!({"criterion": criterion, "note": format!("checked {criterion}")});
            last = Some(self.step(id, "criteria", body).await.unwrap());
        }
        last.expect("at least one criterion")
    }

    pub async fn advance(&self, id: &str) -> Result<RequestDetail, Problem> {
        self.step(id, "advance", serde_json::json!({})).await
    }

    /// `GET /v1/requests.csv` with `query`: the CSV text.
    pub async fn register_csv(&self, query: &str) -> String {
        let response = self.request(Method::GET, &format!("/v1/requests.csv{query}")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
        response.text().await.unwrap()
    }
}
