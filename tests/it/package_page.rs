//! `data/index.html` of a downloaded zip package, as the person reads it: the records as
//! tables (escaped, long categories cut with a line saying so), dates in words, how to check
//! the signature, and the configured language.

use std::io::{Read, Write};

use serde_json::json;

use crate::common::TestGateway;

async fn zip_export(gw: &TestGateway, subject: &str) -> Vec<u8> {
    let response = reqwest::Client::new()
        .post(format!("{}/v1/subjects/{subject}/exports", gw.url))
        .bearer_auth(&gw.token)
        .json(&json!({"format": "zip", "purpose": "access"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.bytes().await.unwrap().to_vec()
}

fn entry(package: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(package)).unwrap();
    let mut text = String::new();
    zip.by_name(name).unwrap().read_to_string(&mut text).unwrap();
    text
}

/// Appends JSON Lines to a demo subject's category file, which the file source reads on
/// every export.
fn append(gw: &TestGateway, file: &str, lines: impl IntoIterator<Item = String>) {
    let path = gw.dir.join(gdpr_gateway::config::builtin_demo::DATA_DIR).join(file);
    let mut out = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    for line in lines {
        writeln!(out, "{line}").unwrap();
    }
}

#[tokio::test]
async fn the_page_shows_the_records_with_dates_in_words_and_how_to_check_the_signature() {
    let gw = TestGateway::demo().await;
    let note = json!({"date": "2026-11-29T14:05:00Z", "channel": "web", "note": "<script>alert(1)</script>"});
    append(&gw, "alice/service_notes.jsonl", [note.to_string()]);
    // 250 more readings: 255 in all, over the page's 200 rows.
    append(
        &gw,
        "alice/meter_readings.jsonl",
        (0..250).map(|i| json!({"meter": "E-8712", "date": "2026-08-01", "kwh": 20_000 + i}).to_string()),
    );
    let package = zip_export(&gw, "alice").await;
    let page = entry(&package, "data/index.html");
    for expected in [
        "<html lang=\"en\">",
        "as of 22 November 2026, 00:00 UTC.",
        // The contact record, its address compact on one line.
        "<td>Alice de Vries</td><td>alice@example.org</td><td>+31 6 12345678</td>\
         <td>street: Keizersgracht 1, postcode: 1015 CJ, city: Amsterdam</td><td>C-1001</td>",
        // Dates in words; numbers, and text that only looks like a number, as written.
        "<td>C-2024-0113</td><td>Green electricity, variable</td><td>1 February 2024</td><td></td><td>0.27</td>",
        "<td>E-8712</td><td>1 January 2026</td><td>10412</td>",
        "<td>29 November 2026, 14:05 UTC</td><td>web</td><td>&lt;script&gt;alert(1)&lt;/script&gt;</td>",
        "Showing 200 of 255 records; the full set is in <a href=\"meter_readings.csv\">meter_readings.csv</a> / \
         <a href=\"meter_readings.json\">meter_readings.json</a>.",
        "<h2>How to check the signature</h2>",
        "<code>https://demo.gdpr-gateway.example/.well-known/gdpr-gateway</code>",
        "<pre><code>gdpr-gateway verify --issuer-discovery package.zip</code></pre>",
        "Under the GDPR you have these rights over your personal data:",
        "<dt>Who receives it</dt><dd>Nobody outside our organisation</dd>",
    ] {
        assert!(page.contains(expected), "{expected} missing from index.html:\n{page}");
    }
    assert!(!page.contains("<script>"), "a record's markup reached the page unescaped");
    assert_eq!(page.matches("<td>E-8712</td>").count() + page.matches("<td>G-3310</td>").count(), 200);
    assert!(!page.contains("<td>20249</td>"), "the 255th reading is past the page's limit");
    // The files keep every record, as before.
    let csv = entry(&package, "data/meter_readings.csv");
    assert_eq!(csv.lines().count(), 1 + 255);
    assert!(csv.contains("\r\nE-8712,2026-08-01,20249,\r\n"), "{csv}");
    let notes = entry(&package, "data/service_notes.json");
    assert!(notes.contains(r#""note":"<script>alert(1)</script>""#), "{notes}");
}

#[tokio::test]
async fn with_language_nl_the_page_is_dutch_and_the_organisations_texts_stay_as_written() {
    let gw = TestGateway::demo_with_top_level("language = \"nl\"").await;
    let page = entry(&zip_export(&gw, "bob").await, "data/index.html");
    for expected in [
        "<html lang=\"nl\">",
        "<title>Uw gegevens bij Voorbeeld Energie B.V. (demo)</title>",
        "zoals op 22 november 2026, 00:00 UTC.",
        "<td>E-1199</td><td>1 juli 2026</td><td>3018</td>",
        "<td>street: Oudegracht 200, postcode: 3511 NS, city: Utrecht</td>",
        "<dt>Wie het ontvangt</dt><dd>Niemand buiten onze organisatie</dd>",
        "<dd>Van toepassing</dd>",
        "We bewaren geen gegevens van deze soort over u.",
        "Volgens de AVG heeft u deze rechten over uw persoonsgegevens:",
        "<h2>Zo controleert u de handtekening</h2>",
        "gdpr-gateway verify --issuer-discovery pakket.zip",
        // The retention period and a recipient's role, from the config's values.
        "<dd>7 jaar</dd>",
        "<dd>2 jaar</dd>",
        "<strong>Grid operator</strong>, zelfstandig verwerkingsverantwoordelijke, in NL",
        // The organisation's own texts, as configured.
        "<h2>Meter readings</h2>",
        "<strong>Grid operator</strong>",
    ] {
        assert!(page.contains(expected), "{expected} missing from index.html:\n{page}");
    }
    for english in ["Why we hold it", "Nobody outside", "How to check", "Applies", "November", "independent controller"]
    {
        assert!(!page.contains(english), "{english} on the Dutch page:\n{page}");
    }
}
