//! The `/api/...` routes the page calls. Each checks the session first and takes the
//! subject_ref from it, so a browser can reach only its own customer's data.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::App;
use crate::gateway::pass_on;
use crate::problem::{self, Failure};
use crate::session::{self, Customer};

type Shared = State<Arc<App>>;

fn signed_in(app: &App, headers: &HeaderMap) -> Result<Customer, Failure> {
    app.sessions.customer(headers).ok_or_else(|| Box::new(problem::not_signed_in()))
}

/// Ids from the browser go into gateway paths: only plain id characters, so nothing can
/// climb out of the customer's own path (axum has already percent-decoded them).
fn plain_id(id: &str) -> Result<&str, Failure> {
    let ok =
        !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok { Ok(id) } else { Err(Box::new(problem::invalid("not an id"))) }
}

fn answer(result: Result<Response, Failure>) -> Response {
    result.unwrap_or_else(|error| *error)
}

pub async fn me(State(app): Shared, headers: HeaderMap) -> Response {
    answer(
        signed_in(&app, &headers).map(|c| Json(json!({"name": c.name, "subject_ref": c.subject_ref})).into_response()),
    )
}

/// Starts a pairing for the signed-in customer. The browser gets what it needs to show the
/// QR code and follow the state, scoped by the status token, and nothing that needs the
/// portal token: not `connect_uri` either, which only the QR code carries.
pub async fn start_pairing(State(app): Shared, headers: HeaderMap) -> Response {
    answer(
        async {
            let customer = signed_in(&app, &headers)?;
            let body = json!({"subject_ref": customer.subject_ref});
            let pairing = app.gateway.json(Method::POST, "/v1/pairings", Some(&body)).await?;
            let field = |name: &str| pairing.get(name).and_then(Value::as_str).map(str::to_owned);
            let (Some(id), Some(status_token)) = (field("pairing_id"), field("status_token")) else {
                return Err(Box::new(problem::problem(
                    StatusCode::BAD_GATEWAY,
                    "gateway_without_status_token",
                    "The gateway answered a pairing without a status_token: it predates status tokens, upgrade it.",
                )));
            };
            app.sessions.add_pairing(&headers, &id);
            let status_url = format!("{}/v1/pairings/{id}", app.gateway.base());
            Ok((
                StatusCode::CREATED,
                Json(json!({
                    "pairing_id": id,
                    "status_token": status_token,
                    "state": pairing.get("state"),
                    "status_url": status_url,
                    "qr_svg_url": pairing.get("qr_svg_url"),
                    "qr_png_url": pairing.get("qr_png_url"),
                    "events_url": pairing.get("events_url"),
                    "expires_at": pairing.get("expires_at"),
                    "attempts_left": pairing.get("attempts_left"),
                })),
            )
                .into_response())
        }
        .await,
    )
}

fn own_pairing<'a>(app: &App, headers: &HeaderMap, id: &'a str) -> Result<&'a str, Failure> {
    signed_in(app, headers)?;
    let id = plain_id(id)?;
    if app.sessions.owns_pairing(headers, id) {
        Ok(id)
    } else {
        Err(Box::new(problem::problem(StatusCode::NOT_FOUND, "pairing_not_found", "No such pairing in this session.")))
    }
}

#[derive(Deserialize)]
pub struct Code {
    code: String,
}

/// The code the customer typed: what binds the wallet to this signed-in customer.
pub async fn confirm(
    State(app): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
    code: Result<Json<Code>, JsonRejection>,
) -> Response {
    answer(
        async {
            let id = own_pairing(&app, &headers, &id)?;
            let Json(code) =
                code.map_err(|e| Box::new(problem::invalid(&format!("expected {{\"code\": \"123456\"}}: {e}"))))?;
            let body = json!({"code": code.code.trim()});
            let sent = app.gateway.send(Method::POST, &format!("/v1/pairings/{id}/confirm"), Some(&body)).await?;
            Ok(pass_on(sent))
        }
        .await,
    )
}

/// The pairing's state read with the portal token: the page's fallback when the gateway's
/// event stream cannot be reached from the browser.
pub async fn pairing(State(app): Shared, headers: HeaderMap, Path(id): Path<String>) -> Response {
    answer(
        async {
            let id = own_pairing(&app, &headers, &id)?;
            let mut view = app.gateway.json(Method::GET, &format!("/v1/pairings/{id}"), None).await?;
            if let Some(object) = view.as_object_mut() {
                object.remove("connect_uri");
            }
            Ok(Json(view).into_response())
        }
        .await,
    )
}

pub async fn cancel_pairing(State(app): Shared, headers: HeaderMap, Path(id): Path<String>) -> Response {
    answer(
        async {
            let id = own_pairing(&app, &headers, &id)?;
            let mut view = app.gateway.json(Method::DELETE, &format!("/v1/pairings/{id}"), None).await?;
            if let Some(object) = view.as_object_mut() {
                object.remove("connect_uri");
            }
            Ok(Json(view).into_response())
        }
        .await,
    )
}

pub async fn connections(State(app): Shared, headers: HeaderMap) -> Response {
    answer(
        async {
            let customer = signed_in(&app, &headers)?;
            let path = format!("/v1/subjects/{}/connections", customer.subject_ref);
            Ok(pass_on(app.gateway.send(Method::GET, &path, None).await?))
        }
        .await,
    )
}

pub async fn revoke(State(app): Shared, headers: HeaderMap, Path(id): Path<String>) -> Response {
    answer(
        async {
            let customer = signed_in(&app, &headers)?;
            let path = format!("/v1/subjects/{}/connections/{}", customer.subject_ref, plain_id(&id)?);
            Ok(pass_on(app.gateway.send(Method::DELETE, &path, None).await?))
        }
        .await,
    )
}

/// "Download my data": a GET, so a plain link with `download` works; SameSite=Strict keeps
/// other sites from triggering it. The bundle streams through as the gateway sends it.
pub async fn download(State(app): Shared, headers: HeaderMap, Path(format): Path<String>) -> Response {
    answer(
        async {
            let customer = signed_in(&app, &headers)?;
            if session::from_another_origin(&headers) {
                return Err(Box::new(problem::problem(
                    StatusCode::FORBIDDEN,
                    "cross_origin",
                    "downloads start from this portal's own page",
                )));
            }
            let extension = match format.as_str() {
                "jwt" => "jwt",
                "zip" => "zip",
                _ => return Err(Box::new(problem::invalid("format is jwt or zip"))),
            };
            let body = json!({"format": extension, "purpose": "access"});
            let path = format!("/v1/subjects/{}/exports", customer.subject_ref);
            let sent = app.gateway.send(Method::POST, &path, Some(&body)).await?;
            let ok = sent.status().is_success();
            let mut response = pass_on(sent);
            if ok {
                let name = format!("attachment; filename=\"{}-data.{extension}\"", customer.subject_ref);
                if let Ok(value) = HeaderValue::from_str(&name) {
                    response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
                }
            }
            Ok(response)
        }
        .await,
    )
}

/// Bundles other organisations sent here for this customer. The register has no subject
/// filter, so the backend pages through it and keeps the customer's own entries; a bounded
/// number of pages, newest first, so one call never walks a huge register.
pub async fn imports(State(app): Shared, headers: HeaderMap) -> Response {
    const PAGES: usize = 10;
    answer(
        async {
            let customer = signed_in(&app, &headers)?;
            let mut own = Vec::new();
            let mut before: Option<String> = None;
            for _ in 0..PAGES {
                let path = match &before {
                    Some(cursor) => format!(
                        "/v1/imports?limit=100&before={}",
                        url::form_urlencoded::byte_serialize(cursor.as_bytes()).collect::<String>()
                    ),
                    None => "/v1/imports?limit=100".to_owned(),
                };
                let page = app.gateway.json(Method::GET, &path, None).await?;
                let entries = page.get("imports").and_then(Value::as_array).cloned().unwrap_or_default();
                own.extend(
                    entries
                        .into_iter()
                        .filter(|i| i.get("subject_ref").and_then(Value::as_str) == Some(customer.subject_ref)),
                );
                before = page.get("next_before").and_then(Value::as_str).map(str::to_owned);
                if before.is_none() {
                    break;
                }
            }
            Ok(Json(json!({"imports": own})).into_response())
        }
        .await,
    )
}

pub async fn requests(State(app): Shared, headers: HeaderMap) -> Response {
    answer(
        async {
            let customer = signed_in(&app, &headers)?;
            let path = format!("/v1/subjects/{}/requests?limit=50", customer.subject_ref);
            Ok(pass_on(app.gateway.send(Method::GET, &path, None).await?))
        }
        .await,
    )
}

pub async fn receipt(State(app): Shared, headers: HeaderMap, Path(id): Path<String>) -> Response {
    answer(
        async {
            let customer = signed_in(&app, &headers)?;
            let id = plain_id(&id)?;
            let path = format!("/v1/subjects/{}/requests/{id}/receipt", customer.subject_ref);
            let sent = app.gateway.send(Method::GET, &path, None).await?;
            let ok = sent.status().is_success();
            let mut response = pass_on(sent);
            if ok {
                let name = format!("attachment; filename=\"receipt-{id}.jwt\"");
                if let Ok(value) = HeaderValue::from_str(&name) {
                    response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
                }
            }
            Ok(response)
        }
        .await,
    )
}
