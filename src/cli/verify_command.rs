//! `gdpr-gateway verify FILE (--jwks FILE_OR_URL | --trust-list FILE_OR_URL --operator-jwks
//! FILE_OR_URL) [--at TIME] [--json]`: checks a bundle (compact JWS or zip package) or a
//! receipt (compact JWS) offline, with the same verifiers the gateway uses; a compact JWS
//! goes to the one its header's `typ` names. `--jwks` takes a JWKS or a signed key history
//! (`keys export-history`); `--at` judges archived keys at a past moment. Exit 0 valid; 1 checked and invalid (reason on stderr); 2 could not
//! check: a usage or I/O error, a truncated zip (`package_truncated`) or a file that is
//! neither a package nor a compact JWS (`not_a_package`).

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;

use super::issuer_discovery;
use crate::bundle::{self, BundleError, SignedKind, Summary, VerifiedReceipt, package};
use crate::clock::{Clock, SystemClock, UnixSeconds, rfc3339};
use crate::jose::Jwks;
use crate::jose::jws::JwsError;
use crate::protocol::ErrorCode;
use crate::protocol::key_history::{self, KeyHistory};
use crate::protocol::trust_list::{self, TrustList, TrustListError};

/// Largest JWKS read from a file or URL.
pub(super) const MAX_JWKS_BYTES: u64 = 1024 * 1024;
/// How far a trust list's `iat` may lie after the moment it is judged at (clock skew).
const TRUST_LIST_SKEW_SECS: UnixSeconds = 300;
/// Time limit for fetching a JWKS URL.
pub(super) const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(15);

/// Where the issuer's keys come from.
pub(super) enum KeySource<'a> {
    /// A JWKS the verifier pins itself.
    Jwks(&'a str),
    /// A trust list, checked against the operator's pinned JWKS.
    TrustList { list: &'a str, operator_jwks: &'a str },
    /// The issuer's own discovery document and JWKS, found from `iss` by the rule.
    IssuerDiscovery,
}

/// Checks `file` with the keys of `source`; `at` is the moment the keys are judged at (the
/// trust list must be valid then, and what is checked must have been signed by then),
/// default now.
pub(super) fn run(file: &Path, source: KeySource<'_>, json_output: bool, at: Option<UnixSeconds>) -> ExitCode {
    let mut opened = match std::fs::File::open(file) {
        Ok(opened) => opened,
        Err(e) => return usage_error(&format!("{}: {e}", file.display())),
    };
    let mut magic = [0u8; 4];
    let is_zip = opened.read(&mut magic).is_ok_and(|n| magic[..n] == package::LOCAL_HEADER_MAGIC);
    let (keys, anchor) = match load_keys(&source, at.unwrap_or_else(|| SystemClock.now()), file, is_zip) {
        Ok(loaded) => loaded,
        Err(KeyProblem::Usage(message)) => return usage_error(&message),
        Err(KeyProblem::Verdict(rejection)) => return refuse(&rejection, json_output),
    };
    let outcome = if is_zip {
        verify_zip(file, &keys).map(Verified::Bundle).map_err(Rejection::from)
    } else {
        match read_capped(file, bundle::MAX_JWT_BYTES as u64) {
            Ok(bytes) if looks_like_compact_jws(&bytes) => verify_compact(&bytes, &keys).map_err(Rejection::from),
            Ok(_) => Err(Rejection::Bundle(BundleError::NotAPackage("neither a zip package nor a compact JWS".into()))),
            Err(message) => return usage_error(&format!("{}: {message}", file.display())),
        }
    };
    // With a trust list, the key that verified must be listed under the claimed issuer;
    // with a key history, the issuer must be the history's controller.
    let outcome = outcome.and_then(|verified| match &anchor {
        Anchor::TrustList(list) => {
            list.check_issuer(verified.kid(), verified.issuer()).map(|()| verified).map_err(Rejection::Issuer)
        }
        Anchor::KeyHistory(history) if history.iss != verified.issuer() => {
            Err(Rejection::Issuer(TrustListError::IssuerMismatch {
                kid: verified.kid().to_owned(),
                owner: history.iss.clone(),
                issuer: verified.issuer().to_owned(),
            }))
        }
        Anchor::Discovered(iss) if iss != verified.issuer() => Err(Rejection::Issuer(TrustListError::IssuerMismatch {
            kid: verified.kid().to_owned(),
            owner: iss.clone(),
            issuer: verified.issuer().to_owned(),
        })),
        Anchor::KeyHistory(_) | Anchor::Discovered(_) | Anchor::Pinned => Ok(verified),
    });
    // Judged as of `at`, nothing signed later can be vouched for.
    let outcome = outcome.and_then(|verified| match at {
        Some(at) if verified.issued_at() > at => {
            let kid = verified.kid().to_owned();
            Err(Rejection::Bundle(BundleError::KeyNotInUse { kid, iat: verified.issued_at() }))
        }
        _ => Ok(verified),
    });
    match outcome {
        Ok(verified) => {
            match (&verified, json_output) {
                (Verified::Bundle(summary), true) => println!("{}", summary_json(summary)),
                (Verified::Bundle(summary), false) => print_summary(summary),
                (Verified::Receipt(receipt), true) => println!("{}", receipt_json(receipt)),
                (Verified::Receipt(receipt), false) => print_receipt(receipt),
            }
            ExitCode::SUCCESS
        }
        Err(e) => refuse(&e, json_output),
    }
}

/// Reports a refusal: exit 1 when checked and invalid, 2 when it could not be checked.
fn refuse(e: &Rejection, json_output: bool) -> ExitCode {
    let (code, checked) = (e.code(), !e.is_unchecked());
    if json_output {
        let report = json!({"valid": false, "checked": checked, "error_code": code.as_str(), "reason": e.to_string()});
        println!("{report}");
    }
    if !checked {
        eprintln!("could not check: {} ({})", e, code.as_str());
        return ExitCode::from(2);
    }
    eprintln!("invalid: {} ({})", e, code.as_str());
    ExitCode::FAILURE
}

/// Why no keys: a usage or I/O problem (exit 2), or a verdict on what the file claims.
enum KeyProblem {
    Usage(String),
    Verdict(Rejection),
}

/// Whether `bytes` have the shape of a compact JWS (three base64url parts), so that a
/// broken one is reported as invalid and anything else (an HTML error page, a PDF) as not
/// a package at all.
fn looks_like_compact_jws(bytes: &[u8]) -> bool {
    let token = bytes.trim_ascii();
    let base64url = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    !token.is_empty() && token.iter().all(base64url) && token.iter().filter(|b| **b == b'.').count() == 2
}

/// What verified: a bundle (compact or packaged) or a receipt.
enum Verified {
    Bundle(Summary),
    Receipt(VerifiedReceipt),
}

impl Verified {
    fn kid(&self) -> &str {
        match self {
            Self::Bundle(summary) => &summary.kid,
            Self::Receipt(receipt) => &receipt.kid,
        }
    }

    fn issuer(&self) -> &str {
        match self {
            Self::Bundle(summary) => &summary.issuer,
            Self::Receipt(receipt) => &receipt.claims.iss,
        }
    }

    fn issued_at(&self) -> UnixSeconds {
        match self {
            Self::Bundle(summary) => summary.issued_at,
            Self::Receipt(receipt) => receipt.claims.iat,
        }
    }
}

/// What vouches for the keys beyond the signature: a trust list names each key's
/// controller; a key history names its one controller; a pinned JWKS says nothing more.
enum Anchor {
    Pinned,
    TrustList(TrustList),
    KeyHistory(KeyHistory),
    /// The keys the issuer's own discovery document named, for this issuer.
    Discovered(String),
}

/// A compact JWS, by the `typ` of its header: the verifier of that type then checks it all.
fn verify_compact(bytes: &[u8], keys: &Jwks) -> Result<Verified, BundleError> {
    match bundle::signed_kind(bytes)? {
        SignedKind::Bundle => bundle::verify_jwt(bytes, keys).map(|v| Verified::Bundle(Summary::from(&v))),
        SignedKind::Receipt => bundle::verify_receipt(bytes, keys).map(Verified::Receipt),
    }
}

/// Why a bundle or receipt was refused: by the verifier, or by the trust list's issuer rule.
enum Rejection {
    Bundle(BundleError),
    Issuer(TrustListError),
    /// The issuer's own site names no keys for it by the key discovery rule.
    Undiscoverable(String),
}

impl Rejection {
    fn is_unchecked(&self) -> bool {
        matches!(self, Self::Bundle(e) if e.is_unchecked())
    }

    fn code(&self) -> ErrorCode {
        match self {
            Self::Bundle(e) => e.error_code(),
            Self::Issuer(_) => ErrorCode::IssuerMismatch,
            Self::Undiscoverable(_) => ErrorCode::IssuerUnknown,
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bundle(e) => e.fmt(f),
            Self::Issuer(e) => e.fmt(f),
            Self::Undiscoverable(m) => write!(f, "the issuer's keys cannot be found by the key discovery rule: {m}"),
        }
    }
}

impl From<BundleError> for Rejection {
    fn from(e: BundleError) -> Self {
        Self::Bundle(e)
    }
}

/// The keys to verify with, and what vouches for them; a trust list is judged at `at`.
fn load_keys(source: &KeySource<'_>, at: UnixSeconds, file: &Path, is_zip: bool) -> Result<(Jwks, Anchor), KeyProblem> {
    match source {
        KeySource::IssuerDiscovery => {
            // What the file claims is the forger's to choose: a claim the rule cannot
            // follow is a verdict, and only an unreachable or failing server is no check.
            let iss = issuer_discovery::claimed_issuer(file, is_zip)
                .map_err(|m| KeyProblem::Verdict(Rejection::Bundle(BundleError::Jws(JwsError::Malformed(m)))))?;
            match issuer_discovery::keys_of(&iss) {
                Ok(keys) => Ok((keys, Anchor::Discovered(iss))),
                Err(e) if e.transient => Err(KeyProblem::Usage(format!("--issuer-discovery: {}", e.message))),
                Err(e) => Err(KeyProblem::Verdict(Rejection::Undiscoverable(e.message))),
            }
        }
        KeySource::Jwks(jwks) => {
            let bytes = load_bytes(jwks, MAX_JWKS_BYTES.max(key_history::MAX_BYTES as u64))
                .map_err(|m| KeyProblem::Usage(format!("--jwks {jwks}: {m}")))?;
            // A key history is a compact JWS; a JWKS is a JSON object.
            if bytes.trim_ascii_start().starts_with(b"{") {
                let keys = serde_json::from_slice(&bytes)
                    .map_err(|e| KeyProblem::Usage(format!("--jwks {jwks}: not a JWKS of OKP keys: {e}")))?;
                return Ok((keys, Anchor::Pinned));
            }
            let history = KeyHistory::verify(&bytes).map_err(|e| KeyProblem::Usage(format!("--jwks {jwks}: {e}")))?;
            Ok((history.keys.clone(), Anchor::KeyHistory(history)))
        }
        KeySource::TrustList { list, operator_jwks } => {
            let operator = load_jwks(operator_jwks)
                .map_err(|m| KeyProblem::Usage(format!("--operator-jwks {operator_jwks}: {m}")))?;
            let bytes = load_bytes(list, trust_list::MAX_BYTES as u64)
                .map_err(|m| KeyProblem::Usage(format!("--trust-list {list}: {m}")))?;
            let verified = TrustList::verify(&bytes, &operator, at)
                .map_err(|e| KeyProblem::Usage(format!("--trust-list {list}: {e}")))?;
            // Judged at `at`, a list signed later cannot speak for that moment.
            if verified.iat > at.saturating_add(TRUST_LIST_SKEW_SECS) {
                let signed = rfc3339(verified.iat);
                return Err(KeyProblem::Usage(format!(
                    "--trust-list {list}: signed at {signed}, after the moment judged"
                )));
            }
            Ok((verified.signing_keys(), Anchor::TrustList(verified)))
        }
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// Verifies a zip package, drawing a progress bar on stderr when stdout is a terminal.
fn verify_zip(path: &Path, keys: &Jwks) -> Result<Summary, BundleError> {
    let open = || std::fs::File::open(path).map_err(|e| BundleError::NotAPackage(e.to_string()));
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
        "kind": SignedKind::Bundle.as_str(),
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

/// The receipt's claims as signed, `receipt` whole (times as Unix seconds).
fn receipt_json(v: &VerifiedReceipt) -> serde_json::Value {
    json!({
        "valid": true,
        "kind": SignedKind::Receipt.as_str(),
        "kid": v.kid,
        "iss": v.claims.iss,
        "sub": v.claims.sub,
        "jti": v.claims.jti,
        "iat": v.claims.iat,
        "receipt": v.claims.receipt,
    })
}

fn print_receipt(v: &VerifiedReceipt) {
    let r = &v.claims.receipt;
    println!("valid receipt");
    println!("  issuer          {}", printable(&v.claims.iss));
    println!("  kid             {}", v.kid);
    println!("  issued at       {}", rfc3339(v.claims.iat));
    println!("  subject         {}", printable(&v.claims.sub));
    println!("  request id      {}", printable(&v.claims.jti));
    println!("  request number  {}", printable(&r.request_number));
    println!("  type            {}", r.kind.as_str());
    println!("  state           {}", r.state.as_str());
    println!("  received        {}", rfc3339(r.received_at));
    println!("  due             {}", rfc3339(r.due_at));
    println!("  completed       {}", rfc3339(r.completed_at));
    if let Some(detail) = &r.detail {
        println!("  detail          {}", printable(detail));
    }
    println!("  outcomes");
    if r.outcomes.is_empty() {
        println!("    (none)");
    }
    for o in &r.outcomes {
        let mut line =
            format!("    {:<24} {:<16} {:<8}", printable(&o.category), printable(&o.operation), o.result.as_str());
        if let Some(note) = &o.note {
            line.push_str(&format!("  note: {}", printable(note)));
        }
        let evidence = evidence_text(&o.evidence);
        if !evidence.is_empty() {
            line.push_str(&format!("  evidence: {evidence}"));
        }
        println!("{}", line.trim_end());
    }
}

fn evidence_text(e: &bundle::Evidence) -> String {
    let mut parts = Vec::new();
    if let Some(n) = e.records {
        parts.push(format!("{n} {}", if n == 1 { "record" } else { "records" }));
    }
    if let Some(confirmation) = &e.confirmation {
        parts.push(format!("confirmation {}", printable(confirmation)));
    }
    if !e.record_digests.is_empty() {
        let digests: Vec<String> = e.record_digests.iter().map(|d| printable(d)).collect();
        parts.push(format!("record digests {}", digests.join(" ")));
    }
    if let Some(bundle) = &e.bundle {
        parts.push(format!("bundle {}", printable(bundle)));
    }
    parts.join(", ")
}

/// A signed text as a terminal should show it: control characters (escape sequences, line
/// breaks) escaped, so a note cannot rewrite what is on the screen.
pub(super) fn printable(text: &str) -> String {
    text.chars().flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] }).collect()
}

pub(super) fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
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

/// A file, or an http(s) URL fetched without redirects; capped at `limit` bytes either way.
pub(super) fn load_bytes(source: &str, limit: u64) -> Result<Vec<u8>, String> {
    if source.starts_with("https://") || source.starts_with("http://") {
        fetch(source, limit)
    } else {
        read_capped(Path::new(source), limit)
    }
}

/// GETs `url` without following redirects, capped at `limit` bytes and [`JWKS_FETCH_TIMEOUT`].
pub(super) fn fetch(url: &str, limit: u64) -> Result<Vec<u8>, String> {
    fetch_answer(url, limit).map_err(|e| e.to_string())
}

/// Why a fetch failed: the server answered (a status, or too much), or it could not be
/// reached at all, which may pass.
#[derive(Debug, thiserror::Error)]
pub(super) enum FetchError {
    #[error("HTTP {0}")]
    Status(u16),
    #[error("larger than {0} bytes")]
    TooLarge(u64),
    #[error("{0}")]
    Unreachable(String),
}

impl FetchError {
    /// Whether trying again later may succeed: no answer, a 5xx, 408 or 429.
    pub(super) fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable(_) => true,
            Self::Status(status) => *status >= 500 || matches!(status, 408 | 429),
            Self::TooLarge(_) => false,
        }
    }
}

/// [`fetch`], telling an answer from no answer.
pub(super) fn fetch_answer(url: &str, limit: u64) -> Result<Vec<u8>, FetchError> {
    let unreachable = |e: &dyn std::fmt::Display| FetchError::Unreachable(e.to_string());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| unreachable(&e))?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(JWKS_FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| unreachable(&e))?;
        let mut response = client.get(url).send().await.map_err(|e| unreachable(&e))?;
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| unreachable(&e))? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > limit {
                return Err(FetchError::TooLarge(limit));
            }
        }
        Ok(bytes)
    })
}
