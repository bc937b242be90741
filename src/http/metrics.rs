//! Request metrics in the OpenMetrics text format: counts by route template and status,
//! and latency histograms. Route templates, not raw paths, keep label sets bounded.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DaysLabels {
    days: u32,
}

fn latency_histogram() -> Histogram {
    // 1 ms to ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    rights_open: Gauge,
    rights_overdue: Gauge,
    rights_due_within: Family<DaysLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("gdpr_gateway");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register("http_request_duration_seconds", "Time to answer an HTTP request", latency.clone());
        let (rights_open, rights_overdue) = (Gauge::default(), Gauge::default());
        let rights_due_within = Family::<DaysLabels, Gauge>::default();
        registry.register("rights_requests_open", "Rights requests not yet closed or refused", rights_open.clone());
        registry.register(
            "rights_requests_overdue",
            "Open rights requests past their deadline",
            rights_overdue.clone(),
        );
        registry.register(
            "rights_requests_due_within_days",
            "Open rights requests due within this many days, not yet overdue",
            rights_due_within.clone(),
        );
        Self { registry, requests, latency, rights_open, rights_overdue, rights_due_within }
    }
}

impl Metrics {
    /// Sets the rights-request gauges: open requests, overdue ones, and for each warning
    /// distance in days those due within it.
    pub fn set_request_gauges(&self, open: u64, overdue: u64, due_within: &[(u32, u64)]) {
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.rights_open.set(count(open));
        self.rights_overdue.set(count(overdue));
        for &(days, n) in due_within {
            self.rights_due_within.get_or_create(&DaysLabels { days }).set(count(n));
        }
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Counts and times every request; mount with `from_fn_with_state(metrics, middleware)`.
pub(crate) async fn middleware(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let m = &metrics;
    m.requests.get_or_create(&RequestLabels { method, route: route.clone(), status: response.status().as_u16() }).inc();
    m.latency.get_or_create(&RouteLabels { route }).observe(started.elapsed().as_secs_f64());
    response
}
