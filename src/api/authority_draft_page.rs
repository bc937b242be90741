//! The authority's notification as a page to print or save as PDF and send: the same
//! content as the JSON draft, every text from the record escaped.

use std::fmt::Write as _;

use crate::bundle::index_html::escape;
use crate::gateway::AuthorityNotificationDraft;

pub(super) fn render(d: &AuthorityNotificationDraft) -> String {
    let e = escape;
    let or_missing = |v: Option<&str>| v.map_or_else(|| "<em class=\"missing\">not recorded yet</em>".to_owned(), e);
    let number =
        |n: Option<u64>| n.map_or_else(|| "<em class=\"missing\">not recorded yet</em>".to_owned(), |n| n.to_string());
    let categories: Vec<String> = d
        .categories
        .iter()
        .map(|c| {
            let special = if c.special_category { " (special category, art. 9)" } else { "" };
            let about = if c.data_subjects.is_empty() {
                String::new()
            } else {
                format!(", about {}", e(&c.data_subjects.join(", ")))
            };
            format!("<li>{}{special}{about}</li>", e(&c.name))
        })
        .collect();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Notification of a personal data breach: {controller}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;line-height:1.45}}\
         dt{{font-weight:600;margin-top:.6rem}}.missing{{color:#a00}}@media print{{body{{margin:0;max-width:none}}}}</style>\
         </head><body>\n<h1>Notification of a personal data breach</h1>\
         <p>Art. 33 GDPR. {controller} ({controller_id}), reference {id}.</p><dl>\
         <dt>Became aware</dt><dd>{aware}</dd><dt>Deadline (72 hours)</dt><dd>{deadline}{late}</dd>\
         <dt>(a) Nature of the breach</dt><dd>{nature}</dd>\
         <dt>(a) Categories of data concerned</dt><dd>{categories}</dd>\
         <dt>(a) Approximate number of people</dt><dd>{subjects}</dd>\
         <dt>(a) Approximate number of records</dt><dd>{records}</dd>\
         <dt>(b) Contact for more information</dt><dd>{contact}</dd>\
         <dt>(c) Likely consequences</dt><dd>{consequences}</dd>\
         <dt>(d) Measures taken or proposed</dt><dd>{measures}</dd>\
         <dt>The people concerned</dt><dd>{people}</dd>{delay}</dl>\n",
        controller = e(&d.controller_name),
        controller_id = e(&d.controller_id),
        id = e(&d.breach_id),
        aware = e(&d.aware_at),
        deadline = e(&d.deadline_at),
        late = if d.late { " <strong>(passed: state the reasons for the delay)</strong>" } else { "" },
        nature = e(&d.nature),
        categories = if categories.is_empty() { or_missing(None) } else { format!("<ul>{}</ul>", categories.concat()) },
        subjects = number(d.approximate_subjects),
        records = number(d.approximate_records),
        contact = e(&d.contact),
        consequences = or_missing(d.likely_consequences.as_deref()),
        measures = or_missing(d.measures.as_deref()),
        people = if d.people_to_be_notified {
            "are told as well (art. 34): a high risk to them is likely"
        } else {
            "are not to be told on the answers so far"
        },
        delay = d
            .delay_reason
            .as_deref()
            .map(|r| format!("<dt>Reasons for the delay</dt><dd>{}</dd>", e(r)))
            .unwrap_or_default(),
    );
    if !d.missing.is_empty() {
        let items: Vec<String> = d.missing.iter().map(|m| format!("<li>{}</li>", e(m))).collect();
        let _ = write!(out, "<section class=\"missing\"><h2>Still to record</h2><ul>{}</ul></section>", items.concat());
    }
    out.push_str("</body></html>\n");
    out
}
