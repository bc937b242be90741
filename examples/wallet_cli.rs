//! A wallet on the command line, built on the wallet SDK (`mobile-sdk`, crate gdpr-wallet),
//! to walk the whole flow by hand:
//!
//! ```sh
//! cargo run -p gdpr-wallet --example wallet_cli -- connect 'http://127.0.0.1:8080/relay/c/<token>'
//! cargo run -p gdpr-wallet --example wallet_cli -- list
//! cargo run -p gdpr-wallet --example wallet_cli -- catalogue <connection_id>
//! cargo run -p gdpr-wallet --example wallet_cli -- export <connection_id> --out alice.jwt
//! cargo run -p gdpr-wallet --example wallet_cli -- export <connection_id> --format zip --out alice.zip
//! cargo run -p gdpr-wallet --example wallet_cli -- verify <connection_id> alice.jwt   # or alice.zip
//! cargo run -p gdpr-wallet --example wallet_cli -- forward alice.jwt --to https://other.example
//! cargo run -p gdpr-wallet --example wallet_cli -- request <connection_id> erasure --categories contact --details 'please'
//! cargo run -p gdpr-wallet --example wallet_cli -- request <connection_id> rectification --proposed '{"contact":{"id":"C-1001","email":"a@b.example"}}'
//! cargo run -p gdpr-wallet --example wallet_cli -- rectify <connection_id> contact C-1001 address.street='Kerkstraat 2'
//! cargo run -p gdpr-wallet --example wallet_cli -- requests
//! cargo run -p gdpr-wallet --example wallet_cli -- confirm <connection_id> <request_number>
//! cargo run -p gdpr-wallet --example wallet_cli -- revoke <connection_id>
//! ```
//!
//! `rectify` names the record by its id (`--id-field` when the category's id field is not
//! `id`) and takes `FIELD=TEXT` for text, `FIELD:=JSON` for any other value (`meters:=2`).
//! `requests` reads what arrived first, so it shows each request's latest state and, once
//! it ended, its signed receipt: verified or not, acknowledged, and what was done.
//! `confirm` downloads a fresh bundle of what a rectification's receipt says was corrected
//! and checks it holds each corrected record the receipt names (exit 1 when it does not).
//!
//! Keys live in `./wallet-data` (0600 files; `--store DIR` to change). Exit codes: 0
//! success, 1 failure (the reason on stderr), 2 usage error.

use std::process::ExitCode;
use std::sync::Arc;

use gdpr_wallet::{ExportPurpose as Purpose, FileKeyStore, RequestForm, RequestKind, Wallet, rectification_form};

/// How long to wait for the portal to confirm the code, or for a bundle, in seconds.
const WAIT: std::time::Duration = std::time::Duration::from_secs(600);
const USAGE: &str = "usage: wallet_cli [--store DIR] (connect URI | list | catalogue ID | export ID \
                     [--purpose access|portability] [--format jwt|zip] [--out FILE] | verify ID FILE | forward FILE --to CONTROLLER_ID \
                     | request ID TYPE [--categories A,B] [--details TEXT] [--proposed JSON] \
                     | rectify ID CATEGORY RECORD_ID FIELD=TEXT|FIELD:=JSON... [--id-field FIELD] [--details TEXT] \
                     | requests | confirm ID REQUEST_NUMBER | revoke ID)";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let store = take_option(&mut args, "--store").unwrap_or_else(|| "wallet-data".to_owned());
    let purpose = match take_option(&mut args, "--purpose").as_deref() {
        None | Some("access") => Purpose::Access,
        Some("portability") => Purpose::Portability,
        Some(other) => return usage(&format!("unknown purpose {other:?}")),
    };
    let out = take_option(&mut args, "--out");
    let to = take_option(&mut args, "--to");
    let categories: Vec<String> = take_option(&mut args, "--categories")
        .map(|list| list.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    let details = take_option(&mut args, "--details");
    let id_field = take_option(&mut args, "--id-field").unwrap_or_else(|| "id".to_owned());
    let proposed_json = take_option(&mut args, "--proposed");
    let zip = match take_option(&mut args, "--format").as_deref() {
        None | Some("jwt") => false,
        Some("zip") => true,
        Some(other) => return usage(&format!("unknown format {other:?}")),
    };
    let wallet = match FileKeyStore::new(&store) {
        Ok(keys) => Wallet::new(Arc::new(keys)),
        Err(e) => return fail(&e.to_string()),
    };
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["connect", uri] => connect(&wallet, uri).await,
        ["list"] => list(&wallet),
        ["catalogue", id] => catalogue(&wallet, id).await,
        ["export", id] if zip => package(&wallet, id, purpose, out.as_deref()).await,
        ["export", id] => export(&wallet, id, purpose, out.as_deref()).await,
        ["verify", id, file] => verify(&wallet, id, file),
        ["forward", file] => match &to {
            Some(to) => forward(&wallet, file, to).await,
            None => return usage("forward needs --to CONTROLLER_ID"),
        },
        ["request", id, kind] => {
            let Some(kind) = RequestKind::parse(kind) else {
                return usage(&format!(
                    "unknown request type {kind:?}; one of access, rectification, erasure, \
                                       restriction, portability, objection, human_review, information"
                ));
            };
            let form = RequestForm { kind, categories, details, proposed_json };
            submit(&wallet, id, form).await
        }
        ["rectify", id, category, record_id, changes @ ..] if !changes.is_empty() => {
            let form = match rectification(category, record_id, &id_field, changes, details) {
                Ok(form) => form,
                Err(message) => return usage(&message),
            };
            submit(&wallet, id, form).await
        }
        ["requests"] => requests(&wallet).await,
        ["confirm", id, number] => confirm(&wallet, id, number).await,
        ["revoke", id] => {
            wallet.revoke(id.to_string()).await.map(|()| println!("revoked {id}")).map_err(|e| e.to_string())
        }
        _ => return usage("unknown command"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(&message),
    }
}

async fn connect(wallet: &Wallet, uri: &str) -> Result<(), String> {
    let pending = wallet.connect(uri.to_owned()).await.map_err(|e| e.to_string())?;
    println!("connecting to {} ({})", pending.controller_name, pending.controller_id);
    println!("confirmation code: {}  (type it into the portal)", pending.code);
    wallet.wait_connected(pending.connection_id.clone(), WAIT).await.map_err(|e| e.to_string())?;
    println!("connected: {}", pending.connection_id);
    Ok(())
}

fn list(wallet: &Wallet) -> Result<(), String> {
    for c in wallet.connections().map_err(|e| e.to_string())? {
        println!(
            "{}  {:<10}  {} ({})",
            c.connection_id,
            format!("{:?}", c.state).to_lowercase(),
            c.controller_name,
            c.controller_id
        );
    }
    Ok(())
}

async fn export(wallet: &Wallet, id: &str, purpose: Purpose, out: Option<&str>) -> Result<(), String> {
    let bundle = wallet.request_export(id.to_owned(), purpose, None, WAIT).await.map_err(|e| e.to_string())?;
    let path = out.map_or_else(|| format!("gdpr-bundle-{}.jwt", bundle.bundle_id), str::to_owned);
    std::fs::write(&path, &bundle.token).map_err(|e| format!("{path}: {e}"))?;
    println!(
        "verified bundle {} from {} ({}) written to {path}",
        bundle.bundle_id,
        bundle.issuer,
        bundle.categories.join(", ")
    );
    Ok(())
}

async fn package(wallet: &Wallet, id: &str, purpose: Purpose, out: Option<&str>) -> Result<(), String> {
    let path = out.map_or_else(|| format!("gdpr-package-{id}.zip"), str::to_owned);
    let package = wallet.download_package(id.to_owned(), purpose, None, path, WAIT).await.map_err(|e| e.to_string())?;
    println!(
        "verified package {} from {} ({}) written to {}",
        package.bundle_id,
        package.issuer,
        package.categories.join(", "),
        package.path
    );
    Ok(())
}

/// A compact JWS or, by its first bytes, a zip package.
fn verify(wallet: &Wallet, id: &str, file: &str) -> Result<(), String> {
    let bytes = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    if bytes.starts_with(b"PK\x03\x04") {
        let package = wallet.verify_package(id.to_owned(), file.to_owned()).map_err(|e| e.to_string())?;
        println!(
            "valid: package {} signed by {}: {}",
            package.bundle_id,
            package.issuer,
            package.categories.join(", ")
        );
        return Ok(());
    }
    let token = String::from_utf8(bytes).map_err(|_| format!("{file}: neither a zip package nor a compact JWS"))?;
    let bundle = wallet.verify(id.to_owned(), token.trim().to_owned()).map_err(|e| e.to_string())?;
    println!("valid: bundle {} signed by {}", bundle.bundle_id, bundle.issuer);
    Ok(())
}

async fn catalogue(wallet: &Wallet, id: &str) -> Result<(), String> {
    let catalogue = wallet.catalogue(id.to_owned(), WAIT).await.map_err(|e| e.to_string())?;
    println!("{} ({}) holds:", catalogue.controller_name, catalogue.controller_id);
    for c in &catalogue.categories {
        let portable = if c.portable { "portable" } else { "not portable" };
        println!("  {:<20} {}: {}; kept {}; {portable}", c.id, c.name, c.legal_basis, c.retention);
        println!("  {:<20} purposes: {}; recipients: {}", "", c.purposes.join("; "), c.recipients.join("; "));
    }
    println!("data protection officer: {}", catalogue.dpo_contact);
    println!("complaints: {} ({})", catalogue.supervisory_authority, catalogue.supervisory_authority_url);
    Ok(())
}

async fn forward(wallet: &Wallet, file: &str, to: &str) -> Result<(), String> {
    let token = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    let receipt = wallet.forward(token.trim().to_owned(), to.to_owned(), WAIT).await.map_err(|e| e.to_string())?;
    println!("{} ({}) imported it as {}", receipt.controller_name, receipt.controller_id, receipt.import_id);
    Ok(())
}

async fn submit(wallet: &Wallet, id: &str, form: RequestForm) -> Result<(), String> {
    let request = wallet.submit_request(id.to_owned(), form, WAIT).await.map_err(|e| e.to_string())?;
    println!("request {} ({}) acknowledged by {}", request.number, request.kind.as_str(), request.controller_name);
    println!("due on {}; contact {}", request.due_on, request.contact);
    Ok(())
}

/// A rectification of record `record_id` of `category`: `FIELD=TEXT` or `FIELD:=JSON` each.
fn rectification(
    category: &str,
    record_id: &str,
    id_field: &str,
    changes: &[&str],
    details: Option<String>,
) -> Result<RequestForm, String> {
    let mut fields = serde_json::Map::new();
    for change in changes {
        // The first `=` ends the field; `:=` before it says the value is JSON.
        let Some((field, value)) = change.split_once('=') else {
            return Err(format!("{change:?} is not FIELD=TEXT or FIELD:=JSON"));
        };
        let (field, value) = match field.strip_suffix(':') {
            Some(field) => {
                let json =
                    serde_json::from_str(value).map_err(|e| format!("{change:?}: the value is not JSON: {e}"))?;
                (field, json)
            }
            None => (field, serde_json::Value::String(value.to_owned())),
        };
        fields.insert(field.to_owned(), value);
    }
    let record = serde_json::json!({ id_field: record_id }).to_string();
    let changes = serde_json::Value::Object(fields).to_string();
    let form = rectification_form(category.to_owned(), record, id_field.to_owned(), changes);
    let form = form.map_err(|e| e.to_string())?;
    Ok(RequestForm { details, ..form })
}

/// Shows whether a fresh bundle holds each record the rectification's receipt names.
async fn confirm(wallet: &Wallet, id: &str, number: &str) -> Result<(), String> {
    let _ = wallet.events().await.map_err(|e| e.to_string())?;
    let proof = wallet.confirm_correction(id.to_owned(), number.to_owned(), WAIT).await.map_err(|e| e.to_string())?;
    for record in &proof.records {
        let shown = if record.shown { "shown" } else { "NOT shown" };
        println!("{} {}: {shown} in bundle {}", record.category, record.digest, proof.bundle.bundle_id);
    }
    if proof.confirmed {
        Ok(())
    } else {
        Err("the fresh bundle does not show every record the receipt says was corrected".to_owned())
    }
}

async fn requests(wallet: &Wallet) -> Result<(), String> {
    // Read what the organisations sent since, so each request shows its latest state.
    for event in wallet.events().await.map_err(|e| e.to_string())? {
        println!("event: {}", event.detail);
    }
    for r in wallet.requests().map_err(|e| e.to_string())? {
        let detail = r.detail.map(|d| format!(": {d}")).unwrap_or_default();
        println!(
            "{}  {:<14} {:<8} due {}  {} ({}){detail}",
            r.number,
            r.kind.as_str(),
            r.state.as_str(),
            r.due_on,
            r.controller_name,
            r.update.as_str()
        );
        if let Some(remedies) = r.remedies {
            println!(
                "    complain to {} ({}); {}",
                remedies.supervisory_authority, remedies.complaint_url, remedies.judicial_remedy
            );
        }
        match (&r.receipt, &r.receipt_problem) {
            (None, _) => {}
            (Some(_), Some(problem)) => println!("    receipt: unverified, not acknowledged: {problem}"),
            (Some(_), None) => {
                let told = if r.receipt_acknowledged { "acknowledged" } else { "not acknowledged yet" };
                println!("    receipt: verified against {}'s keys, {told}", r.controller_name);
            }
        }
        for o in &r.outcomes {
            let note = o.note.as_deref().map(|n| format!(": {n}")).unwrap_or_default();
            let purpose = o.purpose.as_deref().map(|p| format!(" (for {p})")).unwrap_or_default();
            println!("    {:<20} {:<8} {}{purpose}{note}", o.category, o.operation, o.result);
            if let Some(records) = o.records {
                println!("    {:<20} {records} record(s)", "");
            }
            if let Some(confirmation) = &o.confirmation {
                println!("    {:<20} confirmation {confirmation}", "");
            }
            for digest in &o.record_digests {
                println!("    {:<20} now {digest}", "");
            }
        }
    }
    Ok(())
}

fn take_option(args: &mut Vec<String>, name: &str) -> Option<String> {
    let at = args.iter().position(|a| a == name)?;
    if at + 1 >= args.len() {
        return None;
    }
    let value = args.remove(at + 1);
    args.remove(at);
    Some(value)
}

fn usage(message: &str) -> ExitCode {
    eprintln!("{message}\n{USAGE}");
    ExitCode::from(2)
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}
