//! A typed client of the staff API, as one member in one role, reading answers into the
//! API's views and refusals into problem bodies.

use gdpr_gateway::protocol::Problem;
use gdpr_gateway::protocol::rights::ActionStatus;
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

    /// Waits for the gateway to carry the request out at the sources, settles what is
    /// left for a person by hand, meets `carried_out` where there was nothing to do, and
    /// answers once it is met.
    pub async fn carried_out(&self, id: &str) -> RequestDetail {
        for _ in 0..200 {
            let detail = self.rights_request(id).await.unwrap();
            if detail.workflow.criteria.iter().any(|c| c.id == "carried_out" && c.met) {
                return detail;
            }
            for task in detail.operations.iter().filter(|o| o.status == ActionStatus::Task) {
                let body = serde_json::json!({"result": "done", "note": "done by hand"});
                self.step(id, &format!("operations/{}", task.seq), body).await.unwrap();
            }
            if detail.operations.is_empty() {
                return self.meet(id, &["carried_out"]).await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("request {id} was not carried out within 10 s");
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
