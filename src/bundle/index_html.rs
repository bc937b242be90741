//! `data/index.html` of the zip package: a page a person can read without tools: what we
//! hold (the records themselves, as tables), why, how long, who receives it, their rights,
//! how to complain, and how to check the signature; in the configured language.

use std::fmt::Write;

use serde_json::{Map, Value};

pub(crate) use super::index_table::INDEX_MAX_ROWS_PER_CATEGORY;
use super::index_table::{self, human_instant};
use super::index_wording::Wording;
use crate::clock::UnixSeconds;
use crate::protocol::notice::{NoticeCategory, PrivacyNotice};
use crate::protocol::subject::SubjectRef;

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One recipient under "Who receives it", with the answers of its sharing assessment.
pub(crate) struct RecipientLine<'a> {
    pub name: &'a str,
    /// Role and country, for a declared recipient.
    pub role_and_country: Option<(&'a str, &'a str)>,
    /// When, why that is allowed, risks, measures.
    pub assessment: Option<[&'a str; 4]>,
}

/// A category on the page: what the notice says of it, how many records it holds, and the
/// first of them (at most [`INDEX_MAX_ROWS_PER_CATEGORY`]) to show as a table.
pub(crate) struct CategoryPage {
    pub info: NoticeCategory,
    pub count: usize,
    pub records: Vec<Map<String, Value>>,
}

/// Phones get the page's width, and wide tables scroll inside their wrapper instead.
const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;line-height:1.5}\
section{border-top:1px solid #ccc;padding:.5rem 0}dt{font-weight:600}dd{margin:0 0 .5rem 0}\
.table{overflow-x:auto;margin:.5rem 0}table{border-collapse:collapse;font-size:.9rem}\
th,td{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}th{background:#f4f4f4}\
pre{overflow-x:auto;background:#f4f4f4;padding:.5rem}";

/// `recipients` names who receives a category (by id), for "Who receives it"; `w` is the
/// wording in the configured language.
pub(crate) fn render<'a>(
    notice: &PrivacyNotice,
    recipients: impl Fn(&str) -> Vec<RecipientLine<'a>>,
    subject: &SubjectRef,
    now: UnixSeconds,
    categories: &[CategoryPage],
    w: &Wording,
) -> String {
    let e = escape;
    let c = &notice.controller;
    let name = e(&c.name);
    let mut html = String::new();
    // Writing to a String cannot fail; the results are ignored for that reason.
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body>\n<h1>{heading}</h1>\n<p>{intro}</p>\n",
        lang = w.lang,
        title = (w.title)(&name),
        heading = (w.heading)(&name),
        intro = (w.intro)(&name, &e(subject.as_str()), &e(&human_instant(now, w))),
    );
    for CategoryPage { info, count, records } in categories {
        let _ = writeln!(
            html,
            "<section><h2>{name}</h2>{description}<dl>\
             <dt>{records_label}</dt><dd>{count} (<a href=\"{id}.json\">JSON</a>, <a href=\"{id}.csv\">CSV</a>)</dd>\
             <dt>{why}</dt><dd>{purposes}</dd>\
             <dt>{basis_label}</dt><dd>{basis} ({article}){art9}</dd>\
             <dt>{how_long}</dt><dd>{retention}</dd>\
             <dt>{who}</dt><dd>{recipients}</dd>\
             <dt>{source_label}</dt><dd>{source}</dd>\
             <dt>{portability}</dt><dd>{portable}</dd></dl>{table}</section>",
            name = e(&info.name),
            description = info.description.as_deref().map(|d| format!("<p>{}</p>", e(d))).unwrap_or_default(),
            records_label = w.records,
            id = e(&info.id),
            why = w.why,
            purposes = e(&info.purposes.join("; ")),
            basis_label = w.legal_basis,
            basis = e((w.basis)(info.legal_basis)),
            article = e(&info.legal_basis_article),
            art9 = info.art9_article.as_deref().map(|a| (w.special_category)(&e(a))).unwrap_or_default(),
            how_long = w.how_long,
            retention = e(&info.retention_text),
            who = w.who_receives,
            recipients = recipients_html(&recipients(&info.id), w),
            source_label = w.source,
            source = e(&info.source),
            portability = w.portability,
            portable = if info.portable { w.applies } else { w.does_not_apply },
            table = index_table::table(&info.id, records, *count, w),
        );
    }
    let _ = writeln!(html, "<section><h2>{}</h2><p>{}</p><ul>", w.rights, w.rights_intro);
    for right in &notice.rights {
        let _ = writeln!(html, "<li><strong>{}</strong>: {}</li>", e(&right.article), e(&(w.right)(right, notice)));
    }
    let authority = format!("<a href=\"{}\">{}</a>", e(&c.supervisory_authority.url), e(&c.supervisory_authority.name));
    let _ = writeln!(html, "</ul><p>{}</p></section>", (w.questions)(&e(&c.dpo_contact), &authority));
    let discovery = format!("{}/.well-known/gdpr-gateway", c.id.trim_end_matches('/'));
    let _ = write!(
        html,
        "<section><h2>{heading}</h2><p>{check}</p>\
         <pre><code>gdpr-gateway verify --issuer-discovery {file}</code></pre></section>\n</body></html>\n",
        heading = w.check_heading,
        check = (w.check)(&name, &e(&discovery)),
        file = w.package_file,
    );
    html
}

/// Each recipient by name; for a declared one, its role and country and the answers of
/// its sharing assessment, so the person sees why their data goes there.
fn recipients_html(lines: &[RecipientLine<'_>], w: &Wording) -> String {
    let e = escape;
    if lines.is_empty() {
        return w.nobody_outside.to_owned();
    }
    let mut html = String::from("<ul>");
    for line in lines {
        let _ = write!(html, "<li><strong>{}</strong>", e(line.name));
        if let Some((role, country)) = line.role_and_country {
            let _ = write!(html, ", {}, {} {}", e(role), w.located_in, e(country));
        }
        if let Some(answers) = line.assessment {
            for (label, answer) in w.assessment.iter().zip(answers) {
                let _ = write!(html, "<br>{label}: {}", e(answer));
            }
        }
        html.push_str("</li>");
    }
    html.push_str("</ul>");
    html
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(super::escape(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
