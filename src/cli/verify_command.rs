//! `gdpr-gateway verify FILE (--jwks FILE_OR_URL | --trust-list FILE_OR_URL --operator-jwks
//! FILE_OR_URL) [--json]`: checks a bundle (compact JWS or zip package) offline, with the same
//! verifier the gateway uses. Exit 0 valid, 1 invalid (reason on stderr), 2 usage
//! or I/O error.

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;

use crate::bundle::{self, BundleError, Summary, package};
use crate::clock::{Clock, SystemClock, rfc3339};
use crate::jose::Jwks;
use crate::jose::jws::JwsError;
use crate::protocol::ErrorCode;
use crate::protocol::trust_list::{self, TrustList, TrustListError};

/// Largest JWKS read from a file or URL.
pub(super) const MAX_JWKS_BYTES: u64 = 1024 * 1024;
/// Time limit for fetching a JWKS URL.
pub(super) const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(15);

/// Where the issuer's keys come from.
pub(super) enum KeySource<'a> {
    /// A JWKS the verifier pins itself.
    Jwks(&'a str),
    /// A trust list, checked against the operator's pinned JWKS.
    TrustList { list: &'a str, operator_jwks: &'a str },
}

pub(super) fn run(file: &Path, source: KeySource<'_>, json_output: bool) -> ExitCode {
    let (keys, trust_list) = match load_keys(&source) {
        Ok(loaded) => loaded,
        Err(message) => return usage_error(&message),
    };
    let is_zip = match std::fs::File::open(file).and_then(|mut f| {
        let mut magic = [0u8; 4];
        f.read(&mut magic).map(|n| magic[..n] == *b"PK\x03\x04")
    }) {
        Ok(is_zip) => is_zip,
        Err(e) => return usage_error(&format!("{}: {e}", file.display())),
    };
    let outcome = if is_zip {
        verify_zip(file, &keys).map_err(Rejection::from)
    } else {
        match read_capped(file, bundle::MAX_JWT_BYTES as u64) {
            Ok(bytes) => bundle::verify_jwt(&bytes, &keys).map(|v| Summary::from(&v)).map_err(Rejection::from),
            Err(message) => return usage_error(&format!("{}: {message}", file.display())),
        }
    };
    // With a trust list, the key that verified must be listed under the claimed issuer.
    let outcome = outcome.and_then(|summary| match &trust_list {
        Some(list) => list.check_issuer(&summary.kid, &summary.issuer).map(|()| summary).map_err(Rejection::Issuer),
        None => Ok(summary),
    });
    match outcome {
        Ok(verified) => {
            if json_output {
                println!("{}", summary_json(&verified));
            } else {
                print_summary(&verified);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let code = e.code();
            if json_output {
                println!("{}", json!({"valid": false, "error_code": code.as_str(), "reason": e.to_string()}));
            }
            eprintln!("invalid: {} ({})", e, code.as_str());
            ExitCode::FAILURE
        }
    }
}

/// Why a bundle was refused: by the verifier, or by the trust list's issuer rule.
enum Rejection {
    Bundle(BundleError),
    Issuer(TrustListError),
}

impl Rejection {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Bundle(e) => e.error_code(),
            Self::Issuer(_) => ErrorCode::IssuerMismatch,
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bundle(e) => e.fmt(f),
            Self::Issuer(e) => e.fmt(f),
        }
    }
}

impl From<BundleError> for Rejection {
    fn from(e: BundleError) -> Self {
        Self::Bundle(e)
    }
}

/// The keys to verify with, and the trust list when they come from one.
fn load_keys(source: &KeySource<'_>) -> Result<(Jwks, Option<TrustList>), String> {
    match source {
        KeySource::Jwks(jwks) => Ok((load_jwks(jwks).map_err(|m| format!("--jwks {jwks}: {m}"))?, None)),
        KeySource::TrustList { list, operator_jwks } => {
            let operator = load_jwks(operator_jwks).map_err(|m| format!("--operator-jwks {operator_jwks}: {m}"))?;
            let bytes =
                load_bytes(list, trust_list::MAX_BYTES as u64).map_err(|m| format!("--trust-list {list}: {m}"))?;
            let list = TrustList::verify(&bytes, &operator, SystemClock.now())
                .map_err(|e| format!("--trust-list {list}: {e}"))?;
            Ok((list.signing_keys(), Some(list)))
        }
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// Verifies a zip package, drawing a progress bar on stderr when stdout is a terminal.
fn verify_zip(path: &Path, keys: &Jwks) -> Result<Summary, BundleError> {
    let open = || std::fs::File::open(path).map_err(|e| BundleError::Jws(JwsError::Malformed(e.to_string())));
    let total = open().ok().and_then(package::payload_size).unwrap_or(0).max(1);
    let interactive = std::io::stdout().is_terminal();
    let mut last = u64::MAX;
    let mut progress = |done: u64| {
        let percent = done * 100 / total;
        if interactive && percent != last {
            last = percent;
            let filled = (percent / 5) as usize;
            eprint!("\rverifying [{}{}] {percent:>3}%", "#".repeat(filled), " ".repeat(20 - filled.min(20)));
        }
    };
    let result = package::verify_package(open()?, keys, &mut progress);
    if interactive {
        eprintln!();
    }
    result.map(|v| Summary::from(&v))
}

fn summary_json(v: &Summary) -> serde_json::Value {
    json!({
        "valid": true,
        "issuer": v.issuer,
        "kid": v.kid,
        "issued_at": rfc3339(v.issued_at),
        "subject": v.subject,
        "bundle_id": v.bundle_id,
        "purpose": v.purpose,
        "categories": v.categories,
    })
}

fn print_summary(v: &Summary) {
    println!("valid bundle");
    println!("  issuer     {}", v.issuer);
    println!("  kid        {}", v.kid);
    println!("  issued at  {}", rfc3339(v.issued_at));
    println!("  subject    {}", v.subject);
    println!("  bundle id  {}", v.bundle_id);
    println!("  purpose    {}", v.purpose.as_str());
    println!("  categories");
    for c in &v.categories {
        let unit = if c.records == 1 { "record" } else { "records" };
        println!("    {:<24} {:>6} {unit}  {}", c.id, c.records, c.name);
    }
}

fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if bytes.len() as u64 > limit {
        return Err(format!("larger than {limit} bytes"));
    }
    Ok(bytes)
}

/// Reads a JWKS from a file or an http(s) URL (no redirects, size- and time-capped).
pub(super) fn load_jwks(source: &str) -> Result<Jwks, String> {
    let bytes = load_bytes(source, MAX_JWKS_BYTES)?;
    serde_json::from_slice(&bytes).map_err(|e| format!("not a JWKS of OKP keys: {e}"))
}

fn load_bytes(source: &str, limit: u64) -> Result<Vec<u8>, String> {
    if source.starts_with("https://") || source.starts_with("http://") {
        fetch(source, limit)
    } else {
        read_capped(Path::new(source), limit)
    }
}

fn fetch(url: &str, limit: u64) -> Result<Vec<u8>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(JWKS_FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        let mut response = client.get(url).send().await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status().as_u16()));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > limit {
                return Err(format!("larger than {limit} bytes"));
            }
        }
        Ok(bytes)
    })
}
