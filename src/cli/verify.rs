//! `gdpr-gateway verify FILE --jwks FILE_OR_URL [--json]`: checks a bundle offline, with
//! the same verifier the gateway uses. Exit 0 valid, 1 invalid (reason on stderr), 2 usage
//! or I/O error.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;

use crate::api::error::verification_code;
use crate::bundle::{self, VerifiedBundle};
use crate::clock::rfc3339;
use crate::jose::Jwks;

/// Largest JWKS read from a file or URL.
pub const MAX_JWKS_BYTES: u64 = 1024 * 1024;
/// Time limit for fetching a JWKS URL.
pub const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(15);

pub fn run(file: &Path, jwks: &str, json_output: bool) -> ExitCode {
    let keys = match load_jwks(jwks) {
        Ok(keys) => keys,
        Err(message) => return usage_error(&format!("--jwks {jwks}: {message}")),
    };
    let bytes = match read_capped(file, bundle::MAX_JWT_BYTES as u64) {
        Ok(bytes) => bytes,
        Err(message) => return usage_error(&format!("{}: {message}", file.display())),
    };
    match bundle::verify_jwt(&bytes, &keys) {
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

fn summary_json(v: &VerifiedBundle) -> serde_json::Value {
    json!({
        "valid": true,
        "issuer": v.issuer(),
        "kid": v.kid,
        "issued_at": rfc3339(v.issued_at()),
        "subject": v.subject(),
        "bundle_id": v.claims.jti,
        "purpose": v.claims.bundle.purpose,
        "categories": v.categories(),
    })
}

fn print_summary(v: &VerifiedBundle) {
    println!("valid bundle");
    println!("  issuer     {}", v.issuer());
    println!("  kid        {}", v.kid);
    println!("  issued at  {}", rfc3339(v.issued_at()));
    println!("  subject    {}", v.subject());
    println!("  bundle id  {}", v.claims.jti);
    println!("  purpose    {}", v.claims.bundle.purpose.as_str());
    println!("  categories");
    for c in v.categories() {
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
