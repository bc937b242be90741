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

pub(crate) fn render(
    notice: &PrivacyNotice,
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
            recipients = if info.recipients.is_empty() {
                "Nobody outside our organisation".to_owned()
            } else {
                e(&info.recipients.join("; "))
            },
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

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(super::escape(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
