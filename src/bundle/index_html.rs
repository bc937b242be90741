//! `data/index.html` of the zip package: a page a person can read without tools: what we
//! hold, why, how long, who receives it, their rights, and how to complain.

use std::fmt::Write;

use crate::clock::{UnixSeconds, rfc3339};
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

/// `recipients` names who receives a category (by id), for "Who receives it".
pub(crate) fn render<'a>(
    notice: &PrivacyNotice,
    recipients: impl Fn(&str) -> Vec<RecipientLine<'a>>,
    subject: &SubjectRef,
    now: UnixSeconds,
    categories: &[(NoticeCategory, usize)],
) -> String {
    let e = escape;
    let c = &notice.controller;
    let mut html = String::new();
    // Writing to a String cannot fail; the results are ignored for that reason.
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Your data at {name}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}\
         section{{border-top:1px solid #ccc;padding:.5rem 0}}dt{{font-weight:600}}dd{{margin:0 0 .5rem 0}}</style></head><body>\n\
         <h1>Your personal data at {name}</h1>\n\
         <p>This package holds the personal data {name} keeps about you (reference <code>{subject}</code>), \
         as of {date}. It is signed: <code>signature.jwt</code> lets anyone check that it comes from {name} and is complete.</p>\n",
        name = e(&c.name),
        subject = e(subject.as_str()),
        date = e(&rfc3339(now)),
    );
    for (info, count) in categories {
        let _ = writeln!(
            html,
            "<section><h2>{name}</h2>{description}<dl>\
             <dt>Records</dt><dd>{count} (<a href=\"{id}.json\">JSON</a>, <a href=\"{id}.csv\">CSV</a>)</dd>\
             <dt>Why we hold it</dt><dd>{purposes}</dd>\
             <dt>Legal basis</dt><dd>{basis} ({article}){art9}</dd>\
             <dt>How long we keep it</dt><dd>{retention}</dd>\
             <dt>Who receives it</dt><dd>{recipients}</dd>\
             <dt>Where it comes from</dt><dd>{source}</dd>\
             <dt>Right to data portability</dt><dd>{portable}</dd></dl></section>",
            name = e(&info.name),
            description = info.description.as_deref().map(|d| format!("<p>{}</p>", e(d))).unwrap_or_default(),
            id = e(&info.id),
            purposes = e(&info.purposes.join("; ")),
            basis = e(&info.legal_basis_text),
            article = e(&info.legal_basis_article),
            art9 = info
                .art9_article
                .as_deref()
                .map(|a| format!("; special category of data, processed under {}", e(a)))
                .unwrap_or_default(),
            retention = e(&info.retention_text),
            recipients = recipients_html(&recipients(&info.id)),
            source = e(&info.source),
            portable = if info.portable { "Applies" } else { "Does not apply" },
        );
    }
    html.push_str("<section><h2>Your rights</h2><ul>\n");
    for right in &notice.rights {
        let _ = writeln!(html, "<li><strong>{}</strong>: {}</li>", e(&right.article), e(&right.description));
    }
    let _ = write!(
        html,
        "</ul><p>Questions about your data: {dpo}. If you are not satisfied, you can complain to \
         <a href=\"{url}\">{authority}</a>.</p></section>\n</body></html>\n",
        dpo = e(&c.dpo_contact),
        url = e(&c.supervisory_authority.url),
        authority = e(&c.supervisory_authority.name),
    );
    html
}

/// Each recipient by name; for a declared one, its role and country and the answers of
/// its sharing assessment, so the person sees why their data goes there.
fn recipients_html(lines: &[RecipientLine<'_>]) -> String {
    let e = escape;
    if lines.is_empty() {
        return "Nobody outside our organisation".to_owned();
    }
    let mut html = String::from("<ul>");
    for line in lines {
        let _ = write!(html, "<li><strong>{}</strong>", e(line.name));
        if let Some((role, country)) = line.role_and_country {
            let _ = write!(html, ", {}, in {}", e(role), e(country));
        }
        if let Some([when, why, risks, measures]) = line.assessment {
            let _ = write!(
                html,
                "<br>When: {}<br>Why that is allowed: {}<br>Risks: {}<br>Measures: {}",
                e(when),
                e(why),
                e(risks),
                e(measures)
            );
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
