//! Self-service download, end to end (`docs/benchmarks.md`): the gateway as its own
//! process (all-in-one, SQLite, a file source), the core wallet in this one. For each size
//! of subject data and form: the time from the wallet's request until it holds a verified
//! bundle (export, sign, blob upload through the relay, download, open, verify), and the
//! peak resident memory of each process during it. The compact JWS (`request_export`)
//! holds records up to 32 MiB; beyond that the zip package (`download_package`) streams
//! through files on both sides.
//!
//! Run: `cargo bench --bench wallet_export` (Linux: peak memory is /proc's VmHWM, reset
//! before each download).

// A measurement script: any failure is a broken run, and aborting with its message is the
// report.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gdpr_gateway::protocol::Purpose;
use gdpr_gateway::wallet::{FileKeyStore, Wallet};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Subject data sizes measured, in MiB of JSON Lines records, and the form.
/// Packages first: peak RSS is reset to the current RSS before each run, and heap the
/// allocator kept from a large JWS would otherwise show up as the packages' peak.
const RUNS_BY_SIZE: &[(usize, Form)] =
    &[(1, Form::Zip), (30, Form::Zip), (100, Form::Zip), (1, Form::Jwt), (10, Form::Jwt), (30, Form::Jwt)];

#[derive(Clone, Copy, PartialEq)]
enum Form {
    Jwt,
    Zip,
}
/// Downloads per size; the median is reported.
const RUNS: usize = 3;
const WAIT_SECS: u64 = 600;
const TOKEN: &str = "bench-portal-token-0123456789abcdef";

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    for &(mib, form) in RUNS_BY_SIZE {
        if form == Form::Jwt || !RUNS_BY_SIZE.contains(&(mib, Form::Jwt)) {
            write_readings(&dir.path().join("data").join(format!("s{mib}")), mib << 20);
        }
    }
    let config = dir.path().join("bench.toml");
    std::fs::write(&config, config_text(&dir.path().join("data"))).expect("config");
    let (mut gateway, base) = start_gateway(&config, &dir.path().join("gw"));
    let http = reqwest::Client::new();
    let wallet = Wallet::new(Arc::new(FileKeyStore::new(dir.path().join("wallet")).expect("key store")));

    println!(
        "| subject data | form | bundle | request → verified (median of {RUNS}) | MiB/s | baseline: portal download | ratio | gateway peak RSS | wallet peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut run = 0;
    for &(mib, form) in RUNS_BY_SIZE {
        let connection = pair(&http, &base, &wallet, &format!("s{mib}")).await;
        let mut times = Vec::new();
        let (mut gateway_peak, mut wallet_peak, mut bundle_len) = (0, 0, 0);
        for _ in 0..RUNS {
            reset_peak(std::process::id());
            reset_peak(gateway.id());
            let started = Instant::now();
            bundle_len = match form {
                Form::Jwt => {
                    let bundle = wallet.request_export(connection.clone(), Purpose::Portability, None, WAIT_SECS);
                    bundle.await.expect("export").token.len() as u64
                }
                Form::Zip => {
                    run += 1;
                    let path = dir.path().join(format!("package-{run}.zip")).display().to_string();
                    let package = wallet.download_package(
                        connection.clone(),
                        Purpose::Portability,
                        None,
                        path.clone(),
                        WAIT_SECS,
                    );
                    package.await.expect("package");
                    let len = std::fs::metadata(&path).expect("package file").len();
                    std::fs::remove_file(&path).expect("remove package");
                    len
                }
            };
            times.push(started.elapsed());
            gateway_peak = gateway_peak.max(peak_kib(gateway.id()));
            wallet_peak = wallet_peak.max(peak_kib(std::process::id()));
        }
        times.sort();
        let median = times[RUNS / 2];
        let direct = direct_download(&http, &base, &format!("s{mib}"), form).await;
        println!(
            "| {mib} MiB | {} | {:.1} MiB | {:.0} ms | {:.1} | {:.0} ms | {:.2}× | {:.0} MiB | {:.0} MiB |",
            if form == Form::Jwt { "JWS" } else { "zip" },
            bundle_len as f64 / f64::from(1 << 20),
            median.as_secs_f64() * 1000.0,
            mib as f64 / median.as_secs_f64(),
            direct.as_secs_f64() * 1000.0,
            median.as_secs_f64() / direct.as_secs_f64(),
            gateway_peak as f64 / 1024.0,
            wallet_peak as f64 / 1024.0
        );
    }
    gateway.kill().ok();
    gateway.wait().ok();
}

/// The baseline: the same bundle straight from the portal API over loopback, no relay, no
/// end-to-end encryption, no verification (median of [`RUNS`]).
async fn direct_download(http: &reqwest::Client, base: &str, subject: &str, form: Form) -> Duration {
    let format = if form == Form::Jwt { "jwt" } else { "zip" };
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let mut response = http
            .post(format!("{base}/v1/subjects/{subject}/exports"))
            .bearer_auth(TOKEN)
            .json(&json!({ "format": format, "purpose": "portability" }))
            .send()
            .await
            .expect("portal export");
        assert_eq!(response.status(), 200);
        while response.chunk().await.expect("body").is_some() {}
        times.push(started.elapsed());
    }
    times.sort();
    times[RUNS / 2]
}

fn config_text(data: &std::path::Path) -> String {
    let digest = hex::encode(Sha256::digest(TOKEN.as_bytes()));
    format!(
        r#"
[controller]
id = "https://bench.gdpr-gateway.example"
name = "Bench B.V."
dpo_contact = "privacy@bench.example"

[controller.supervisory_authority]
name = "Autoriteit Persoonsgegevens"
url = "https://autoriteitpersoonsgegevens.nl"

[[sources]]
id = "meters"
type = "file"
name = "Smart meter archive"
path = "{}"

[[categories]]
id = "readings"
name = "Smart meter readings"
purposes = ["Billing"]
legal_basis = "contract"
retention = "P2Y"
source = "meters"
portable = true

[[portal_clients]]
id = "bench"
token_sha256 = "{digest}"
"#,
        data.display()
    )
}

/// About `bytes` of quarter-hourly meter readings as JSON Lines.
fn write_readings(subject_dir: &std::path::Path, bytes: usize) {
    std::fs::create_dir_all(subject_dir).expect("data dir");
    let mut text = String::with_capacity(bytes + 128);
    let mut n = 0u64;
    while text.len() < bytes {
        text.push_str(&format!(
            "{{\"meter\":\"E0012345678\",\"at\":{},\"kwh_in\":{}.{:03},\"kwh_out\":0.{:03}}}\n",
            1_700_000_000 + n * 900,
            n % 7,
            n % 1000,
            n % 97
        ));
        n += 1;
    }
    std::fs::write(subject_dir.join("readings.jsonl"), text).expect("write readings");
}

fn start_gateway(config: &std::path::Path, data_dir: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gdpr-gateway"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .arg("--data-dir")
        .arg(data_dir)
        .env("GDPR_GATEWAY_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the gateway");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let base = loop {
        let line = lines.next().expect("the gateway stopped").expect("read");
        if let Some(at) = line.find("listening on http://") {
            break line[at + "listening on ".len()..].trim().to_owned();
        }
    };
    // Keep draining its log so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, base)
}

async fn pair(http: &reqwest::Client, base: &str, wallet: &Wallet, subject: &str) -> String {
    let pairing: Value = http
        .post(format!("{base}/v1/pairings"))
        .bearer_auth(TOKEN)
        .json(&json!({ "subject_ref": subject }))
        .send()
        .await
        .expect("pairing")
        .json()
        .await
        .expect("pairing body");
    let pending = wallet.connect(pairing["connect_uri"].as_str().expect("uri").to_owned()).await.expect("connect");
    let confirm = format!("{base}/v1/pairings/{}/confirm", pairing["pairing_id"].as_str().expect("id"));
    let confirmed = http.post(confirm).bearer_auth(TOKEN).json(&json!({ "code": pending.code })).send().await;
    assert_eq!(confirmed.expect("confirm").status(), 200);
    wallet.wait_connected(pending.connection_id.clone(), 30).await.expect("connected");
    tokio::time::sleep(Duration::from_millis(50)).await;
    pending.connection_id
}

/// Resets a process's peak resident set (VmHWM) to its current size.
fn reset_peak(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

/// A process's peak resident set since the last reset, in KiB.
fn peak_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
