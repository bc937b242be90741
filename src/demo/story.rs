//! `gdpr-gateway demo`: the product's story told on a real framework in one process. Two
//! energy suppliers run gateways behind one relay; Alice's wallet pairs with the first by
//! QR code, sees what it holds, downloads her data, checks it, and forwards it to the
//! second, whose portal then lists the import. Every step is real HTTP between real
//! components; the output says what happened and why it can be trusted.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};

use crate::clock::{Clock, SystemClock};
use crate::config::{self, Loaded, Origin, Overrides};
use crate::demo::framework::{self, Framework, Organisation};
use crate::protocol::Purpose;
use crate::protocol::rights::StaffRole;
use crate::wallet::{FileKeyStore, Wallet};

/// Subject whose data the story moves.
pub const SUBJECT: &str = "alice";
/// How long the wallet waits for each answer.
pub const WAIT_SECS: u64 = 30;

/// What the story produced, for tests and the closing lines.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub bundle_path: PathBuf,
    pub bundle_id: String,
    pub import_id: String,
    /// The receiving portal's `GET /v1/imports` answer.
    pub imports: Value,
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

    writeln!(out, "Check the bundle yourself, with nothing of the demo running:").map_err(io)?;
    writeln!(
        out,
        "   gdpr-gateway verify {} --trust-list {} --operator-jwks {}",
        bundle_path.display(),
        out_dir.join("trust-list.jwt").display(),
        out_dir.join(framework::OPERATOR_JWKS_FILE).display()
    )
    .map_err(io)?;
    Ok(Outcome { bundle_path, bundle_id: bundle.bundle_id, import_id: receipt.import_id, imports })
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
    let mut request =
        reqwest::Client::new().request(method, format!("{}{path}", org.url)).bearer_auth(&org.portal_token);
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
