//! Rights requests filed by the portal, over real HTTP on the demo (SQLite, or PostgreSQL
//! when CI sets the URL): acknowledged at once with a number, a due date in the
//! organisation's calendar and the contact; validated against the inventory; limited per
//! person per day; listed newest first in pages.

use gdpr_gateway::views::RequestView;
use serde_json::json;

use crate::common::{TestGateway, assert_problem};

/// 2027-01-31T23:30:00Z: already 1 February in the demo's zone (UTC+1).
const LAST_OF_JANUARY_LATE: u64 = 1_801_438_200;
/// 2026-12-31T12:00:00Z.
const NEW_YEARS_EVE: u64 = 1_798_718_400;

#[tokio::test]
async fn a_filed_request_is_acknowledged_with_number_due_date_and_contact() {
    let gw = TestGateway::demo().await;
    let portal = gw.portal_client();
    gw.clock.set(NEW_YEARS_EVE);
    let filed = portal.file_request("alice", &json!({"type": "access"})).await.unwrap();
    assert_eq!(filed.number, "2026-000001");
    assert_eq!((filed.state.as_str(), filed.phase.as_str(), filed.channel.as_str()), ("open", "intake", "portal"));
    assert_eq!(filed.received_at, "2026-12-31T12:00:00Z");
    // One month is 31 January 2027, a Sunday: due the next working day.
    assert_eq!((filed.due_on.as_str(), filed.due_at.as_str()), ("2027-02-01", "2027-02-01T23:59:59+01:00"));
    assert_eq!(filed.contact, "privacy@voorbeeld-energie.example");
    assert_eq!(filed.identification, "portal session");
    assert!(filed.categories.is_empty(), "no categories named means all");

    // Late on 31 January UTC is 1 February in Amsterdam: received then, due 1 March
    // (28 February 2027 is a Sunday), and numbered in 2027.
    gw.clock.set(LAST_OF_JANUARY_LATE);
    let body = json!({"type": "erasure", "categories": ["service_notes"], "details": "please remove my notes"});
    let erasure = portal.file_request("alice", &body).await.unwrap();
    assert_eq!(erasure.number, "2027-000001");
    assert_eq!(erasure.due_on, "2027-03-01");
    assert_eq!(erasure.details.as_deref(), Some("please remove my notes"));

    let listed = portal.requests("alice", "").await.unwrap();
    let numbers: Vec<&str> = listed.requests.iter().map(|r| r.number.as_str()).collect();
    assert_eq!(numbers, ["2027-000001", "2026-000001"], "newest first");
    assert_eq!(listed.requests[1], filed, "the register shows what the acknowledgement said");
    assert!(portal.requests("bob", "").await.unwrap().requests.is_empty());
    gw.stop().await.unwrap();
}

#[tokio::test]
async fn every_right_is_one_model_and_bad_requests_are_named() {
    let gw = TestGateway::demo().await;
    let portal = gw.portal_client();
    for kind in ["access", "erasure", "restriction", "portability", "objection", "human_review", "information"] {
        let filed: RequestView = portal.file_request("bob", &json!({"type": kind})).await.unwrap();
        assert_eq!(serde_json::to_value(filed.kind).unwrap(), kind);
    }
    let fix = json!({"type": "rectification", "categories": ["contact"],
                     "proposed": {"contact": {"address.street": "Kerkstraat 2", "email": "bob@example.org"}}});
    let rectification = portal.file_request("carol", &fix).await.unwrap();
    assert_eq!(rectification.proposed.unwrap()["contact"]["address.street"], "Kerkstraat 2");

    let refusals = [
        (json!({"type": "forgetting"}), 400, "malformed_body"),
        (json!({"type": "access", "categories": ["horoscope"]}), 404, "category_not_found"),
        (json!({"type": "access", "categories": ["contact", "contact"]}), 400, "invalid_parameter"),
        (json!({"type": "access", "categories": []}), 400, "invalid_parameter"),
        (json!({"type": "access", "details": "é".repeat(4001)}), 400, "invalid_parameter"),
        (json!({"type": "access", "details": "nul\u{0}byte"}), 400, "invalid_parameter"),
        (json!({"type": "rectification"}), 400, "invalid_parameter"),
        (json!({"type": "erasure", "proposed": {"contact": {"email": "x@example.org"}}}), 400, "invalid_parameter"),
        (json!({"type": "rectification", "proposed": {"payments": {"amount": 0}}}), 422, "field_not_rectifiable"),
        (json!({"type": "rectification", "proposed": {"contact": {"iban": "NL00"}}}), 422, "field_not_rectifiable"),
        (
            json!({"type": "rectification", "categories": ["contracts"], "proposed": {"contact": {"email": "x"}}}),
            400,
            "invalid_parameter",
        ),
        (json!({"type": "rectification", "proposed": {"contact": {}}}), 400, "invalid_parameter"),
        (json!({"type": "access", "extra": 1}), 400, "malformed_body"),
    ];
    for (body, status, code) in refusals {
        let response = portal.request(reqwest::Method::POST, "/v1/subjects/dave/requests").json(&body).send().await;
        assert_problem(response.unwrap(), status, code).await;
    }
    assert!(portal.requests("dave", "").await.unwrap().requests.is_empty(), "nothing refused was stored");
    let unauthenticated = gw.get("/v1/subjects/dave/requests").send().await.unwrap();
    assert_problem(unauthenticated, 401, "missing_bearer_token").await;
    let bad_subject = portal.request(reqwest::Method::GET, "/v1/subjects/.x/requests").send().await.unwrap();
    assert_problem(bad_subject, 400, "invalid_parameter").await;
    gw.stop().await.unwrap();
}

#[tokio::test]
async fn requests_per_person_per_day_are_limited_and_listed_in_pages() {
    let gw = TestGateway::demo().await;
    let portal = gw.portal_client();
    gw.clock.set(NEW_YEARS_EVE);
    for _ in 0..10 {
        portal.file_request("erin", &json!({"type": "information"})).await.unwrap();
    }
    let over = portal.request(reqwest::Method::POST, "/v1/subjects/erin/requests").json(&json!({"type": "access"}));
    assert_problem(over.send().await.unwrap(), 429, "request_limit_reached").await;
    portal.file_request("frank", &json!({"type": "access"})).await.expect("the limit is per person");
    // The next day in the organisation's zone: 23:00 UTC is midnight in Amsterdam.
    gw.clock.set(NEW_YEARS_EVE + 11 * 3600);
    portal.file_request("erin", &json!({"type": "access"})).await.expect("a new day");

    let first = portal.requests("erin", "?limit=4").await.unwrap();
    assert_eq!(first.requests.len(), 4);
    let mut seen: Vec<String> = first.requests.iter().map(|r| r.number.clone()).collect();
    let mut before = first.next_before.clone();
    while let Some(id) = before {
        let page = portal.requests("erin", &format!("?limit=4&before={id}")).await.unwrap();
        seen.extend(page.requests.iter().map(|r| r.number.clone()));
        before = page.next_before;
    }
    assert_eq!(seen.len(), 11);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(seen, sorted, "pages run newest first without gaps or repeats");
    for query in ["?limit=0", "?limit=1001", "?before=nope"] {
        let response = portal.request(reqwest::Method::GET, &format!("/v1/subjects/erin/requests{query}")).send();
        assert_problem(response.await.unwrap(), 400, "invalid_parameter").await;
    }
    gw.stop().await.unwrap();
}

/// The value of the metric line starting with `name` (labels included) in `text`.
fn gauge(text: &str, name: &str) -> u64 {
    let line = text.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("{name} in {text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn open_due_soon_and_overdue_requests_are_in_the_metrics() {
    let gw = TestGateway::demo().await;
    let portal = gw.portal_client();
    // Received on 22 November 2026 (the test clock's start), due 22 December; one more a
    // week later, due 29 December.
    let first = portal.file_request("alice", &json!({"type": "access"})).await.unwrap();
    gw.clock.advance(7 * 86_400);
    portal.file_request("bob", &json!({"type": "erasure"})).await.unwrap();
    let scrape = || async { gw.get("/metrics").send().await.unwrap().text().await.unwrap() };

    let now = scrape().await;
    assert_eq!(gauge(&now, "gdpr_gateway_rights_requests_open"), 2);
    assert_eq!(gauge(&now, "gdpr_gateway_rights_requests_overdue"), 0);
    assert_eq!(gauge(&now, "gdpr_gateway_rights_requests_due_within_days{days=\"7\"}"), 0);

    // 22 December: the first is due today (within 2 days), the second on the 29th (within 7).
    gw.clock.set(gdpr_gateway::calendar::Date::parse("2026-12-22").unwrap().start(0));
    let soon = scrape().await;
    assert_eq!(gauge(&soon, "gdpr_gateway_rights_requests_due_within_days{days=\"2\"}"), 1);
    assert_eq!(gauge(&soon, "gdpr_gateway_rights_requests_due_within_days{days=\"7\"}"), 2);

    // 23 December: the first is overdue, and the register lists it as such.
    gw.clock.set(gdpr_gateway::calendar::Date::parse("2026-12-23").unwrap().start(0));
    let late = scrape().await;
    assert_eq!(gauge(&late, "gdpr_gateway_rights_requests_overdue"), 1);
    assert_eq!(gauge(&late, "gdpr_gateway_rights_requests_due_within_days{days=\"7\"}"), 1);
    let staff = gw.staff_client(gdpr_gateway::protocol::rights::StaffRole::Auditor);
    let overdue = staff.register("?state=open&due_before=2026-12-23").await.unwrap();
    assert_eq!(overdue.requests.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [first.id.as_str()]);
    gw.stop().await.unwrap();
}
