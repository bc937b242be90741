//! `gdpr-gateway demo`: the product's story told on a real framework in one process. Two
//! energy suppliers run gateways behind one relay; Alice's wallet pairs with the first by
//! QR code, sees what it holds, downloads her data, checks it, and forwards it to the
//! second, whose portal then lists the import. Then she corrects her address from her
//! wallet (art. 16): the organisation's staff approve, its gateway corrects it at the
//! source, and her wallet receives the signed receipt, verifies it and acknowledges it.
//! Every step is real HTTP between real components; the output says what happened and why
//! it can be trusted.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};

use crate::clock::{Clock, SystemClock};
use crate::config::{self, Loaded, Origin, Overrides};
use crate::demo::framework::{self, Framework, Organisation};
use crate::protocol::Purpose;
use crate::protocol::rights::StaffRole;
use crate::wallet::{CorrectionProof, EventKind, FileKeyStore, RequestForm, TrackedRequest, Wallet};

/// Subject whose data the story moves.
pub const SUBJECT: &str = "alice";
/// How long the wallet waits for each answer.
pub const WAIT_SECS: u64 = 30;
/// Alice's new street, corrected from her wallet.
pub const NEW_STREET: &str = "Kerkstraat 2";
/// How often the story looks again for what the gateway does by itself.
const POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// What the story produced, for tests and the closing lines.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub bundle_path: PathBuf,
    pub bundle_id: String,
    pub import_id: String,
    /// The receiving portal's `GET /v1/imports` answer.
    pub imports: Value,
    /// Alice's rectification as her wallet tracks it at the end: closed, with its
    /// verified and acknowledged receipt.
    pub rectification: TrackedRequest,
    /// The fresh bundle that shows her corrected record, checked against the receipt.
    pub correction: CorrectionProof,
}

/// Runs the story, narrating to `out`; the framework's data lives in `work_dir`, the
/// bundle and what is needed to verify it offline go to `out_dir`.
pub async fn run(out: &mut dyn Write, work_dir: &Path, out_dir: &Path) -> Result<Outcome, String> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let organisations = vec![
        organisation(crate::config::builtin_demo::CONFIG, &work_dir.join("voorbeeld-energie"))?,
        organisation(crate::config::builtin_demo::RECEIVER_CONFIG, &work_dir.join("groene-stroom"))?,
    ];
    let framework = framework::start(work_dir, organisations, None, clock.clone()).await.map_err(|e| e.to_string())?;
    let told = tell(out, &framework, work_dir, out_dir, clock).await;
    framework.stop().await;
    told
}

/// Starts the same framework and keeps it running until `shutdown`, without telling the
/// story: for pairing a wallet of one's own, or a test in another language. Prints one
/// JSON line with the relay and each organisation's URL, id, portal token and staff tokens.
pub async fn serve(
    out: &mut dyn Write,
    work_dir: &Path,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), String> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let dirs = [work_dir.join("voorbeeld-energie"), work_dir.join("groene-stroom")];
    let organisations = vec![
        organisation(crate::config::builtin_demo::CONFIG, &dirs[0])?,
        organisation(crate::config::builtin_demo::RECEIVER_CONFIG, &dirs[1])?,
    ];
    let framework = framework::start(work_dir, organisations, None, clock).await.map_err(|e| e.to_string())?;
    let listed: Vec<Value> = framework
        .organisations
        .iter()
        .zip(&dirs)
        .map(|(o, dir)| {
            // The staff tokens demo mode wrote, by role, so a test can handle requests too.
            let staff: serde_json::Map<String, Value> = StaffRole::ALL
                .iter()
                .filter_map(|role| {
                    let token = std::fs::read_to_string(dir.join(crate::config::builtin_demo::staff_token_file(*role)));
                    token.ok().map(|t| (role.as_str().to_owned(), Value::String(t.trim().to_owned())))
                })
                .collect();
            json!({
                "id": o.gateway.notice().controller.id,
                "name": o.gateway.notice().controller.name,
                "url": o.url,
                "portal_token": o.portal_token,
                "staff_tokens": staff,
            })
        })
        .collect();
    let line = json!({ "relay_url": framework.relay_url, "organisations": listed });
    writeln!(out, "{line}").and_then(|()| out.flush()).map_err(|e| e.to_string())?;
    shutdown.await;
    framework.stop().await;
    Ok(())
}

fn organisation(text: &str, data_dir: &Path) -> Result<Loaded, String> {
    let overrides = Overrides { data_dir: Some(data_dir.to_owned()), ..Overrides::default() };
    config::from_text(Origin::BuiltInDemo, text, Vec::new(), overrides).map_err(|e| e.to_string())
}

async fn tell(
    out: &mut dyn Write,
    framework: &Framework,
    work_dir: &Path,
    out_dir: &Path,
    clock: Arc<dyn Clock>,
) -> Result<Outcome, String> {
    let [from, to] = &framework.organisations[..] else { return Err("the demo needs two organisations".into()) };
    let (from_name, to_name) = (&from.gateway.notice().controller.name, &to.gateway.notice().controller.name);
    let io = |e: std::io::Error| e.to_string();
    writeln!(out, "gdpr-gateway demo: two organisations, one relay, one wallet, all on this machine.\n").map_err(io)?;
    writeln!(out, "  {:<34} {}", "relay (sees only ciphertext)", framework.relay_url).map_err(io)?;
    writeln!(out, "  {from_name:<34} {}   holds Alice's data", from.url).map_err(io)?;
    writeln!(out, "  {to_name:<34} {}   Alice is moving here\n", to.url).map_err(io)?;

    step(out, 1, &format!("Alice logs in to {from_name}'s portal and asks to connect her wallet."))?;
    let pairing = portal(from, reqwest::Method::POST, "/v1/pairings", Some(json!({ "subject_ref": SUBJECT }))).await?;
    let uri = text(&pairing, "connect_uri")?;
    let pairing_id = text(&pairing, "pairing_id")?;
    let qr = crate::gateway::qr::terminal(&uri).map_err(|e| e.to_string())?;
    writeln!(out, "   The portal shows this QR code (also at /v1/pairings/{pairing_id}/qr.svg):\n\n{qr}")
        .map_err(io)?;
    writeln!(out, "   {uri}\n").map_err(io)?;

    step(out, 2, "Her wallet scans it: fresh keys for this connection, and the relay introduces the two.")?;
    writeln!(
        out,
        "   The code pins the trust list's operator, so the wallet checks the organisation's keys\n   \
         the relay hands it against the operator-signed list."
    )
    .map_err(io)?;
    let clock_now = clock.clone();
    let wallet =
        Wallet::with_clock(Arc::new(FileKeyStore::new(work_dir.join("wallet")).map_err(|e| e.to_string())?), clock);
    let pending = wallet.connect(uri).await.map_err(|e| e.to_string())?;
    writeln!(out, "   The wallet shows the code {} from {}.\n", pending.code, pending.controller_name).map_err(io)?;

    step(out, 3, "Alice types the code into the portal, which binds the connection to her account.")?;
    let path = format!("/v1/pairings/{pairing_id}/confirm");
    let confirmed = portal(from, reqwest::Method::POST, &path, Some(json!({ "code": pending.code }))).await?;
    wallet.wait_connected(pending.connection_id.clone(), WAIT_SECS).await.map_err(|e| e.to_string())?;
    writeln!(out, "   Pairing {}; the wallet is connected.\n", text(&confirmed, "state")?).map_err(io)?;

    step(out, 4, &format!("The wallet asks what {from_name} holds about her, and why (art. 15)."))?;
    let catalogue = wallet.catalogue(pending.connection_id.clone(), WAIT_SECS).await.map_err(|e| e.to_string())?;
    for category in &catalogue.categories {
        let portable = if category.portable { "portable" } else { "not portable" };
        writeln!(out, "   - {}: {}; kept {}; {portable}", category.name, category.legal_basis, category.retention)
            .map_err(io)?;
    }
    writeln!(out).map_err(io)?;

    step(out, 5, "She downloads what she may take with her (art. 20), signed by the organisation.")?;
    let connection = pending.connection_id.clone();
    let bundle =
        wallet.request_export(connection, Purpose::Portability, None, WAIT_SECS).await.map_err(|e| e.to_string())?;
    std::fs::create_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let bundle_path = out_dir.join(format!("{}.jwt", bundle.bundle_id));
    write(&bundle_path, bundle.token.as_bytes())?;
    let trust_list = framework.relay.trust.current().ok_or("the trust list has expired")?.token.clone();
    write(&out_dir.join("trust-list.jwt"), trust_list.as_bytes())?;
    let operator = serde_json::to_vec_pretty(&framework.operator_jwks).map_err(|e| e.to_string())?;
    write(&out_dir.join(framework::OPERATOR_JWKS_FILE), &operator)?;
    writeln!(
        out,
        "   Bundle {} ({} bytes) with {}; it verified in the wallet against {from_name}'s keys\n   \
         from the trust list, and names her account ({}). Saved as {}.\n",
        bundle.bundle_id,
        bundle.token.len(),
        bundle.categories.join(", "),
        bundle.subject,
        bundle_path.display()
    )
    .map_err(io)?;

    step(out, 6, "A copy changed by one character is refused before it leaves the phone.")?;
    let tampered = tamper(&bundle.token);
    let to_id = to.gateway.notice().controller.id.clone();
    match wallet.forward(tampered, to_id.clone(), WAIT_SECS).await {
        Err(e) => writeln!(out, "   Refused: {e}\n").map_err(io)?,
        Ok(_) => return Err("a tampered bundle was accepted".into()),
    }

    step(out, 7, &format!("She forwards the original to {to_name}, signature intact, through the relay."))?;
    let receipt = wallet.forward(bundle.token.clone(), to_id, WAIT_SECS).await.map_err(|e| e.to_string())?;
    writeln!(
        out,
        "   {} checked it against the trust list and stored it as import {}.\n",
        receipt.controller_name, receipt.import_id
    )
    .map_err(io)?;

    step(out, 8, &format!("{to_name}'s portal finds it in its import register (GET /v1/imports)."))?;
    let imports = portal(to, reqwest::Method::GET, "/v1/imports", None).await?;
    let entry = imports["imports"].get(0).ok_or("the import register is empty")?;
    writeln!(
        out,
        "   from {} about their customer {:?}: {}\n",
        text(entry, "issuer")?,
        text(entry, "issuer_subject")?,
        entry["categories"]
            .as_array()
            .map(|c| c.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    )
    .map_err(io)?;

    let staff = |role: StaffRole| {
        let file = work_dir.join("voorbeeld-energie").join(crate::config::builtin_demo::staff_token_file(role));
        std::fs::read_to_string(&file).map(|t| t.trim().to_owned()).map_err(|e| format!("{}: {e}", file.display()))
    };
    let (handler, approver) = (staff(StaffRole::Handler)?, staff(StaffRole::Approver)?);
    let (rectification, correction) =
        correct_address(out, from, &wallet, &pending.connection_id, &bundle.token, &handler, &approver).await?;

    // The trust list is valid for a day; judged as of now, the check keeps working after.
    writeln!(out, "Check the bundle yourself, with nothing of the demo running, today or years later:").map_err(io)?;
    writeln!(
        out,
        "   gdpr-gateway verify {} --trust-list {} --operator-jwks {} --at {}",
        bundle_path.display(),
        out_dir.join("trust-list.jwt").display(),
        out_dir.join(framework::OPERATOR_JWKS_FILE).display(),
        crate::clock::rfc3339(clock_now.now())
    )
    .map_err(io)?;
    Ok(Outcome {
        bundle_path,
        bundle_id: bundle.bundle_id,
        import_id: receipt.import_id,
        imports,
        rectification,
        correction,
    })
}

/// Steps 9-13: Alice corrects her address from the bundle in her wallet, staff approve, the
/// gateway corrects it at the source, her wallet verifies and acknowledges the receipt, and
/// a fresh bundle shows her the corrected record the receipt names.
async fn correct_address(
    out: &mut dyn Write,
    from: &Organisation,
    wallet: &Wallet,
    connection: &str,
    token: &str,
    handler: &str,
    approver: &str,
) -> Result<(TrackedRequest, CorrectionProof), String> {
    let from_name = &from.gateway.notice().controller.name;
    let io = |e: std::io::Error| e.to_string();
    step(out, 9, "Alice finds her old address in the bundle and corrects it from her wallet (art. 16).")?;
    let claims =
        crate::bundle::verify_jwt(token.as_bytes(), &from.gateway.keyring().jwks()).map_err(|e| e.to_string())?.claims;
    let contact =
        claims.bundle.categories.iter().find(|c| c.info.id == "contact").ok_or("the bundle has no contact")?;
    let record = contact.records.first().ok_or("the bundle holds no contact record")?;
    let old_street = record.get("address").and_then(|a| a.get("street")).and_then(Value::as_str).unwrap_or("?");
    let record_id = match record.get("id") {
        Some(Value::String(id)) => id.clone(),
        other => other.map(Value::to_string).unwrap_or_default(),
    };
    let change = [("address.street".to_owned(), Value::String(NEW_STREET.to_owned()))];
    let form = RequestForm::rectification("contact", record, "id", &change).map_err(|e| e.to_string())?;
    let filed = wallet.submit_request(connection.to_owned(), form, WAIT_SECS).await.map_err(|e| e.to_string())?;
    writeln!(
        out,
        "   Record {record_id} of her contact details: street {old_street:?} becomes {NEW_STREET:?}.\n   \
         {from_name} acknowledged request {}, due on {}.\n",
        filed.number, filed.due_on
    )
    .map_err(io)?;

    step(out, 10, &format!("{from_name}'s staff take it through: a handler checks it, the privacy officer approves."))?;
    let register = api(&from.url, handler, reqwest::Method::GET, "/v1/requests", None).await?;
    let id = register["requests"]
        .as_array()
        .and_then(|all| all.iter().find(|r| r["number"] == filed.number.as_str()))
        .map(|r| text(r, "id"))
        .ok_or("the register does not list the request")??;
    let path = |step: &str| format!("/v1/requests/{id}/{step}");
    let post = reqwest::Method::POST;
    api(&from.url, handler, post.clone(), &path("advance"), Some(json!({}))).await?;
    for criterion in ["scope_determined", "legal_holds_checked"] {
        let body = json!({ "criterion": criterion, "note": "checked against the request" });
        api(&from.url, handler, post.clone(), &path("criteria"), Some(body)).await?;
    }
    api(&from.url, handler, post.clone(), &path("advance"), Some(json!({}))).await?;
    api(&from.url, approver, post.clone(), &path("advance"), Some(json!({}))).await?;
    writeln!(out, "   Scope and legal holds checked by a handler; approved for execution by the privacy officer.\n")
        .map_err(io)?;

    step(out, 11, "The gateway corrects the record at its source by itself; the handler closes the request.")?;
    let detail = carried_out(&from.url, handler, &id).await?;
    for operation in detail["operations"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "   {}: {} {} at the source",
            operation["category"].as_str().unwrap_or("?"),
            operation["operation"].as_str().unwrap_or("?"),
            operation["status"].as_str().unwrap_or("?")
        )
        .map_err(io)?;
    }
    let note = json!({ "note": "your address is corrected in our customer records" });
    api(&from.url, handler, post, &path("advance"), Some(note)).await?;
    writeln!(out, "   Closed: the person is told, with the signed receipt.\n").map_err(io)?;

    step(
        out,
        12,
        &format!("Her wallet receives the receipt, verifies it against {from_name}'s keys, acknowledges it."),
    )?;
    let closed = receipt_arrived(wallet, &filed.number).await?;
    for o in &closed.outcomes {
        let digests = o.record_digests.iter().map(|d| format!("; the record is now {d}")).collect::<String>();
        writeln!(out, "   The receipt says {}: {} {}{digests}", o.category, o.operation, o.result).map_err(io)?;
    }
    let line = acknowledged(&from.url, handler, &id, wallet).await?;
    writeln!(
        out,
        "   The receipt verified in the wallet; {from_name}'s register notes \"{}\" by {}.\n",
        text(&line, "action")?,
        text(&line, "actor")?
    )
    .map_err(io)?;

    step(out, 13, "She sees the correction for herself, in a fresh signed bundle of her contact details.")?;
    let proof = wallet
        .confirm_correction(connection.to_owned(), filed.number.clone(), WAIT_SECS)
        .await
        .map_err(|e| e.to_string())?;
    for record in &proof.records {
        let shown = if record.shown { "holds" } else { "does NOT hold" };
        writeln!(out, "   Bundle {} {shown} her {} record {}.", proof.bundle.bundle_id, record.category, record.digest)
            .map_err(io)?;
    }
    if !proof.confirmed {
        return Err("the fresh bundle does not show the correction the receipt reports".to_owned());
    }
    writeln!(out, "   The receipt and the bundle are both signed by {from_name}; the digest ties them together.\n")
        .map_err(io)?;
    let tracked = wallet
        .requests()
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|r| r.number == filed.number)
        .ok_or_else(|| "the wallet lost the request".to_owned())?;
    Ok((tracked, proof))
}

/// Waits for the gateway to carry the request out (`carried_out` met); the request then.
async fn carried_out(url: &str, handler: &str, id: &str) -> Result<Value, String> {
    for _ in 0..300 {
        let detail = api(url, handler, reqwest::Method::GET, &format!("/v1/requests/{id}"), None).await?;
        let criteria = detail["workflow"]["criteria"].as_array().cloned().unwrap_or_default();
        if criteria.iter().any(|c| c["id"] == "carried_out" && c["met"] == true) {
            return Ok(detail);
        }
        tokio::time::sleep(POLL).await;
    }
    Err(format!("request {id} was not carried out in time"))
}

/// Reads the wallet until the request closed with a verified receipt.
async fn receipt_arrived(wallet: &Wallet, number: &str) -> Result<TrackedRequest, String> {
    for _ in 0..300 {
        for event in wallet.events().await.map_err(|e| e.to_string())? {
            if event.kind == EventKind::Unexpected {
                return Err(event.detail);
            }
        }
        let requests = wallet.requests().map_err(|e| e.to_string())?;
        if let Some(r) = requests.into_iter().find(|r| r.number == number && r.receipt.is_some()) {
            return match r.receipt_verified {
                true => Ok(r),
                false => Err(format!("the receipt does not verify: {}", r.receipt_problem.unwrap_or_default())),
            };
        }
        tokio::time::sleep(POLL).await;
    }
    Err(format!("no receipt for request {number} arrived in time"))
}

/// Waits until the register's history of request `id` notes the receipt's acknowledgement.
async fn acknowledged(url: &str, handler: &str, id: &str, wallet: &Wallet) -> Result<Value, String> {
    for _ in 0..300 {
        let detail = api(url, handler, reqwest::Method::GET, &format!("/v1/requests/{id}"), None).await?;
        let history = detail["history"].as_array().cloned().unwrap_or_default();
        if let Some(line) = history.into_iter().find(|h| h["action"] == "receipt acknowledged") {
            return Ok(line);
        }
        // An acknowledgement that could not be sent goes on the next read.
        wallet.events().await.map_err(|e| e.to_string())?;
        tokio::time::sleep(POLL).await;
    }
    Err(format!("the register never noted the receipt of request {id}"))
}

fn step(out: &mut dyn Write, n: u32, what: &str) -> Result<(), String> {
    writeln!(out, "{n}. {what}").map_err(|e| e.to_string())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn text(value: &Value, key: &str) -> Result<String, String> {
    value[key].as_str().map(str::to_owned).ok_or_else(|| format!("the answer has no {key:?}: {value}"))
}

/// The bundle with one payload character changed: a different, still well-formed token.
fn tamper(token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let middle = token.find('.').map_or(0, |dot| dot + 10);
    if let Some(b) = bytes.get_mut(middle) {
        *b = if *b == b'A' { b'B' } else { b'A' };
    }
    String::from_utf8(bytes).unwrap_or_default()
}

/// A request to an organisation's portal API with its demo token.
async fn portal(org: &Organisation, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, String> {
    api(&org.url, &org.portal_token, method, path, body).await
}

/// A request to an organisation's API with `token` (the portal's, or a member of staff's).
async fn api(
    url: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let mut request = reqwest::Client::new().request(method, format!("{url}{path}")).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.map_err(|e| format!("{path}: {e}"))?;
    let status = response.status();
    let value: Value = response.json().await.map_err(|e| format!("{path}: {e}"))?;
    if !status.is_success() {
        return Err(format!("{path}: HTTP {status}: {value}"));
    }
    Ok(value)
}
