//! The router, the static page and the demo sign-in form.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};

use crate::session::{self, CUSTOMERS};
use crate::{App, api};

const SIGN_IN_HTML: &str = include_str!("static/signin.html");
const PORTAL_HTML: &str = include_str!("static/portal.html");
const PORTAL_JS: &str = include_str!("static/portal.js");
const PORTAL_CSS: &str = include_str!("static/portal.css");

#[allow(clippy::disallowed_methods)] // the example's own routes, not the gateway's: no OpenAPI document to keep whole
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/portal.js", get(|| async { asset("text/javascript; charset=utf-8", PORTAL_JS) }))
        .route("/portal.css", get(|| async { asset("text/css; charset=utf-8", PORTAL_CSS) }))
        .route("/signin", post(sign_in))
        .route("/signout", post(sign_out))
        .route("/api/me", get(api::me))
        .route("/api/pairings", post(api::start_pairing))
        .route("/api/pairings/{id}", get(api::pairing).delete(api::cancel_pairing))
        .route("/api/pairings/{id}/confirm", post(api::confirm))
        .route("/api/connections", get(api::connections))
        .route("/api/connections/{id}", delete(api::revoke))
        .route("/api/exports/{format}", get(api::download))
        .route("/api/imports", get(api::imports))
        .route("/api/requests", get(api::requests))
        .route("/api/requests/{id}/receipt", get(api::receipt))
        .layer(axum::middleware::map_response(no_store))
        .with_state(app)
}

/// Everything here is one customer's personal data: no cache keeps a copy.
async fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn asset(content_type: &'static str, text: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], text).into_response()
}

async fn home(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let html = if app.sessions.customer(&headers).is_some() { PORTAL_HTML } else { SIGN_IN_HTML };
    let gateway = origin(app.gateway.base());
    // The page may load images (the QR code) and open event streams at the gateway, and
    // nothing else off this origin.
    let policy = format!(
        "default-src 'self'; img-src 'self' {gateway}; connect-src 'self' {gateway}; \
         frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    );
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

fn origin(base: &str) -> String {
    url::Url::parse(base).map(|u| u.origin().ascii_serialization()).unwrap_or_default()
}

/// The demo sign-in: a form posting `customer=alice`. A real portal has its own login here.
async fn sign_in(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    if session::from_another_origin(&headers) {
        return (StatusCode::FORBIDDEN, "sign in from this portal's own page").into_response();
    }
    let chosen = url::form_urlencoded::parse(&body).find(|(k, _)| k == "customer").map(|(_, v)| v.into_owned());
    let Some(customer) = chosen.as_deref().and_then(session::customer) else {
        let names: Vec<&str> = CUSTOMERS.iter().map(|c| c.subject_ref).collect();
        return (StatusCode::BAD_REQUEST, format!("choose one of: {}", names.join(", "))).into_response();
    };
    let id = app.sessions.start(customer);
    redirect_home(&session::cookie(&id))
}

async fn sign_out(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    app.sessions.end(&headers);
    redirect_home(&session::cleared_cookie())
}

fn redirect_home(cookie: &str) -> Response {
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}
