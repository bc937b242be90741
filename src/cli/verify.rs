//! `gdpr-gateway verify FILE --jwks FILE_OR_URL [--json]`: checks a bundle (compact JWS or
//! zip package) offline, with the same verifier the gateway uses. Exit 0 valid, 1 invalid (reason on stderr), 2 usage
//! or I/O error.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;

use crate::api::error::verification_code;
use std::io::IsTerminal;

use crate::bundle::{self, BundleError, Summary, package};
use crate::clock::rfc3339;
use crate::jose::Jwks;
use crate::jose::jws::JwsError;

/// Largest JWKS read from a file or URL.
pub const MAX_JWKS_BYTES: u64 = 1024 * 1024;
/// Time limit for fetching a JWKS URL.
pub const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(15);

pub fn run(file: &Path, jwks: &str, json_output: bool) -> ExitCode {
    let keys = match load_jwks(jwks) {
        Ok(keys) => keys,
        Err(message) => return usage_error(&format!("--jwks {jwks}: {message}")),
    };
    let is_zip = match std::fs::File::open(file).and_then(|mut f| {
        let mut magic = [0u8; 4];
        f.read(&mut magic).map(|n| magic[..n] == *b"PK\x03\x04")
    }) {
        Ok(is_zip) => is_zip,
        Err(e) => return usage_error(&format!("{}: {e}", file.display())),
    };
    let outcome = if is_zip {
        verify_zip(file, &keys)
    } else {
        match read_capped(file, bundle::MAX_JWT_BYTES as u64) {
            Ok(bytes) => bundle::verify_jwt(&bytes, &keys).map(|v| Summary::from(&v)),
            Err(message) => return usage_error(&format!("{}: {message}", file.display())),
        }
    };
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
            let code = verification_code(&e);
            if json_output {
                println!("{}", json!({"valid": false, "error_code": code.as_str(), "reason": e.to_string()}));
            }
            eprintln!("invalid: {} ({})", e, code.as_str());
            ExitCode::FAILURE
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
fn load_jwks(source: &str) -> Result<Jwks, String> {
    let bytes = if source.starts_with("https://") || source.starts_with("http://") {
        fetch(source)?
    } else {
        read_capped(Path::new(source), MAX_JWKS_BYTES)?
    };
    serde_json::from_slice(&bytes).map_err(|e| format!("not a JWKS of OKP keys: {e}"))
}

fn fetch(url: &str) -> Result<Vec<u8>, String> {
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
            if bytes.len() as u64 > MAX_JWKS_BYTES {
                return Err(format!("larger than {MAX_JWKS_BYTES} bytes"));
            }
        }
        Ok(bytes)
    })
}
