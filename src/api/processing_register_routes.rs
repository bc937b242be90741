//! Staff route: the art. 30 record of processing activities, as JSON, as CSV for a
//! spreadsheet, or as a page to print, chosen by `Accept`.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::staff_auth::StaffMember;
use crate::bundle::csv::write_row;
use crate::bundle::index_html::escape;
use crate::http::ApiError;
use crate::http::problem_responses::problems;
use crate::inventory::processing_register::{ProcessingActivity, ProcessingRegister};
use crate::protocol::ErrorCode;

problems!(ProcessingRegisterProblems: MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted);

/// The record of processing activities (art. 30(1) GDPR), generated from the inventory:
/// the controller and DPO, one activity per category (purposes, data subjects, data,
/// recipients, third-country transfers, retention), every recipient with its sharing
/// assessment, the security measures, and the `gaps` the configuration leaves. `Accept:
/// text/csv` gives one line per activity; `Accept: text/html` a printable page.
#[utoipa::path(
    get, path = "/v1/register/processing", tag = "staff",
    security(("staff_token" = [])),
    responses(
        (status = 200, description = "the register", content(
            (ProcessingRegister = "application/json"),
            (String = "text/csv"),
            (String = "text/html"),
        )),
        ProcessingRegisterProblems
    )
)]
pub(crate) async fn get_processing_register(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let register = state
        .gateway
        .processing_register(&member.caller())
        .ok_or_else(|| ApiError::new(ErrorCode::RoleNotPermitted, "the register is for staff"))?;
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    Ok(match preferred(accept) {
        Format::Csv => ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv(register)).into_response(),
        Format::Html => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html(register)).into_response(),
        Format::Json => Json(register).into_response(),
    })
}

pub(super) enum Format {
    Json,
    Csv,
    Html,
}

/// The first of CSV, HTML or JSON the `Accept` header names; JSON for anything else.
pub(super) fn preferred(accept: &str) -> Format {
    for media in accept.split(',').map(|m| m.split(';').next().unwrap_or("").trim()) {
        match media.to_ascii_lowercase().as_str() {
            "text/csv" => return Format::Csv,
            "text/html" => return Format::Html,
            "application/json" => return Format::Json,
            _ => {}
        }
    }
    Format::Json
}

const CSV_HEADER: &str = "category,name,purposes,legal_basis,art9_ground,data_subjects,recipients,\
third_country_transfers,retention,source,controller,controller_contact,dpo_contact,security_measures\r\n";

/// One line per activity; the controller and the measures repeat on each, so every line
/// stands on its own in a spreadsheet.
fn csv(register: &ProcessingRegister) -> String {
    let c = &register.controller;
    let mut out = String::from(CSV_HEADER);
    for a in &register.activities {
        let fields = [
            a.category.clone(),
            a.name.clone(),
            a.purposes.join("; "),
            a.legal_basis_article.clone(),
            a.art9_article.clone().unwrap_or_default(),
            a.data_subjects.join("; "),
            a.recipients.join("; "),
            transfers(a),
            a.retention.clone(),
            a.source.clone(),
            c.name.clone(),
            c.contact.clone().unwrap_or_default(),
            c.dpo_contact.clone(),
            register.security_measures.join("; "),
        ];
        write_row(fields.iter().map(String::as_str), &mut out);
    }
    out
}

fn transfers(a: &ProcessingActivity) -> String {
    let one = |t: &crate::inventory::processing_register::ThirdCountryTransfer| {
        format!("{} ({}): {}", t.recipient, t.country, t.safeguards.as_deref().unwrap_or("no safeguard documented"))
    };
    a.third_country_transfers.iter().map(one).collect::<Vec<_>>().join("; ")
}

fn list(items: &[String], empty: &str) -> String {
    if items.is_empty() {
        return format!("<em>{}</em>", escape(empty));
    }
    let items: Vec<String> = items.iter().map(|i| format!("<li>{}</li>", escape(i))).collect();
    format!("<ul>{}</ul>", items.concat())
}

/// A page to print or save as PDF. Everything from the config is escaped.
fn html(register: &ProcessingRegister) -> String {
    let e = escape;
    let c = &register.controller;
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Record of processing activities: {name}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.4}}\
         section{{border-top:1px solid #999;padding:.5rem 0;break-inside:avoid}}dt{{font-weight:600}}dd{{margin:0 0 .4rem 0}}\
         .gap{{color:#a00}}@media print{{body{{margin:0;max-width:none}}}}</style></head><body>\n\
         <h1>Record of processing activities</h1><p>Art. 30(1) GDPR, generated from the data inventory of {name}.</p>\n\
         <section><h2>(a) Controller</h2><dl><dt>Name</dt><dd>{name} ({id})</dd><dt>Contact</dt><dd>{contact}</dd>\
         <dt>Representative</dt><dd>{representative}</dd><dt>Joint controllers</dt><dd>{joint}</dd>\
         <dt>Data protection officer</dt><dd>{dpo}</dd></dl></section>\n",
        name = e(&c.name),
        id = e(&c.id),
        contact = c.contact.as_deref().map_or_else(|| "<em class=\"gap\">not given</em>".to_owned(), e),
        representative = c.representative.as_deref().map_or_else(|| "None (established in the Union)".to_owned(), e),
        joint = list(&c.joint_controllers, "None"),
        dpo = e(&c.dpo_contact),
    );
    for a in &register.activities {
        let transfers: Vec<String> = a
            .third_country_transfers
            .iter()
            .map(|t| format!("{} ({}): {}", t.recipient, t.country, t.safeguards.as_deref().unwrap_or("NO SAFEGUARD")))
            .collect();
        let _ = writeln!(
            out,
            "<section><h2>{name}</h2><dl>\
             <dt>(b) Purposes</dt><dd>{purposes}</dd><dt>Legal basis</dt><dd>{basis}{art9}</dd>\
             <dt>(c) Data subjects</dt><dd>{subjects}</dd><dt>(c) Personal data</dt><dd>{data}</dd>\
             <dt>(d) Recipients</dt><dd>{recipients}</dd><dt>(e) Third-country transfers</dt><dd>{transfers}</dd>\
             <dt>(f) Erased after</dt><dd>{retention} ({iso})</dd><dt>Held in</dt><dd>{source}</dd></dl></section>",
            name = e(&a.name),
            purposes = list(&a.purposes, ""),
            basis = e(&a.legal_basis_article),
            art9 = a.art9_article.as_deref().map(|g| format!("; special category under {}", e(g))).unwrap_or_default(),
            subjects = list(&a.data_subjects, "not given"),
            data = e(a.description.as_deref().unwrap_or(&a.name)),
            recipients = list(&a.recipients, "Nobody outside the organisation"),
            transfers = list(&transfers, "None"),
            retention = e(&a.retention_text),
            iso = e(&a.retention),
            source = e(&a.source),
        );
    }
    out.push_str("<section><h2>Recipients and sharing assessments</h2>\n");
    for r in &register.recipients {
        let assessment = match &r.assessment {
            Some(a) => format!(
                "<dt>1. Where in the process</dt><dd>{}</dd><dt>2. Lawfulness</dt><dd>{}</dd>\
                 <dt>3. Risks</dt><dd>{}</dd><dt>4. Measures</dt><dd>{}</dd><dt>Assessed</dt><dd>{}{}</dd>",
                e(&a.moment),
                e(&a.lawfulness),
                e(&a.risks),
                e(&a.measures),
                e(&a.assessed_on),
                a.assessed_by.as_deref().map(|b| format!(" by {}", e(b))).unwrap_or_default(),
            ),
            None => "<dt>Assessment</dt><dd class=\"gap\">none recorded</dd>".to_owned(),
        };
        let _ = writeln!(
            out,
            "<h3>{}</h3><dl><dt>Role</dt><dd>{}</dd><dt>Country</dt><dd>{}</dd>{}</dl>",
            e(&r.name),
            e(r.role.describe()),
            e(&r.country),
            assessment
        );
    }
    let _ = writeln!(
        out,
        "</section><section><h2>(g) Security measures</h2>{}</section>",
        list(&register.security_measures, "not described")
    );
    if !register.gaps.is_empty() {
        let _ = writeln!(out, "<section class=\"gap\"><h2>Gaps</h2>{}</section>", list(&register.gaps, ""));
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_picks_the_first_known_format() {
        assert!(matches!(preferred("text/csv"), Format::Csv));
        assert!(matches!(preferred("text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"), Format::Html));
        assert!(matches!(preferred("application/json, text/csv"), Format::Json));
        assert!(matches!(preferred("TEXT/CSV; charset=utf-8"), Format::Csv));
        assert!(matches!(preferred("*/*"), Format::Json));
        assert!(matches!(preferred(""), Format::Json));
    }
}
