//! `verify --issuer-discovery`: from a bundle's `iss` to the keys that may have signed it,
//! by the one rule of `docs/bundle-format.md` § Key discovery: the discovery document at
//! `{iss}/.well-known/gdpr-gateway`, whose `id` must be `iss`, and the JWKS at the
//! `jwks_uri` it names. Nothing else is fetched: no `jku`, no redirect followed.

use std::io::Read;
use std::path::Path;

use serde::Deserialize;

use crate::bundle::package;
use crate::jose::{Jwks, b64};

use super::verify_command::{MAX_JWKS_BYTES, fetch_answer};

/// Where a controller publishes its discovery document, relative to its id.
pub(super) const DISCOVERY_PATH: &str = "/.well-known/gdpr-gateway";
/// Largest discovery document read (it carries the privacy notice).
const MAX_DISCOVERY_BYTES: u64 = 4 * 1024 * 1024;

/// The members of the discovery document the rule reads; the rest is ignored.
#[derive(Deserialize)]
struct Discovery {
    id: String,
    endpoints: Endpoints,
}

#[derive(Deserialize)]
struct Endpoints {
    jwks_uri: String,
}

/// Why the rule found no keys: `transient` when a server could not be reached or failed
/// (try again later: nothing was checked); otherwise the issuer's own site does not vouch
/// for keys under that name, which is a verdict on the bundle.
#[derive(Debug)]
pub(super) struct NotFound {
    pub(super) transient: bool,
    pub(super) message: String,
}

impl NotFound {
    fn verdict(message: String) -> Self {
        Self { transient: false, message }
    }
}

/// The keys of the controller `iss` claims to be, found by the rule.
pub(super) fn keys_of(iss: &str) -> Result<Jwks, NotFound> {
    let id = checked_url(iss).map_err(|m| NotFound::verdict(format!("the issuer {iss:?} {m}")))?;
    let discovery_url = format!("{}{DISCOVERY_PATH}", id.as_str().trim_end_matches('/'));
    let get = |url: &str, limit: u64| {
        fetch_answer(url, limit).map_err(|e| NotFound { transient: e.is_transient(), message: format!("{url}: {e}") })
    };
    let bytes = get(&discovery_url, MAX_DISCOVERY_BYTES)?;
    let document: Discovery = serde_json::from_slice(&bytes)
        .map_err(|e| NotFound::verdict(format!("{discovery_url}: not a discovery document: {e}")))?;
    if document.id != iss {
        return Err(NotFound::verdict(format!("{discovery_url} is the document of {:?}, not of {iss:?}", document.id)));
    }
    let jwks_uri = &document.endpoints.jwks_uri;
    let keys_at =
        checked_url(jwks_uri).map_err(|m| NotFound::verdict(format!("{discovery_url}: jwks_uri {jwks_uri:?} {m}")))?;
    // A site on the public internet may not send the verifier into its own network.
    if !is_loopback(&id) && is_internal(&keys_at) {
        return Err(NotFound::verdict(format!("{discovery_url}: jwks_uri {jwks_uri:?} is an internal address")));
    }
    let bytes = get(jwks_uri, MAX_JWKS_BYTES)?;
    serde_json::from_slice(&bytes).map_err(|e| NotFound::verdict(format!("{jwks_uri}: not a JWKS of OKP keys: {e}")))
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    }
}

/// An address literal of this machine or a private network (names are not resolved here).
fn is_internal(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => {
            ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified() || ip.is_broadcast()
        }
        Some(url::Host::Ipv6(ip)) => {
            let unique_local = (ip.segments()[0] & 0xfe00) == 0xfc00;
            let link_local = (ip.segments()[0] & 0xffc0) == 0xfe80;
            ip.is_loopback() || ip.is_unspecified() || unique_local || link_local
        }
        Some(url::Host::Domain(name)) => name == "localhost",
        None => true,
    }
}

/// An https URL without user, query or fragment; plain http only on the loopback
/// interface, where no one else can be in the middle (a verifier's own test set-up).
pub(super) fn checked_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text).map_err(|e| format!("is not a URL: {e}"))?;
    if url.scheme() != "https" && !(url.scheme() == "http" && is_loopback(&url)) {
        return Err("is not an https URL".into());
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.fragment().is_some() {
        return Err("has a user, query or fragment".into());
    }
    Ok(url)
}

/// The `iss` a file claims, read without verifying it: from a compact JWS's payload, or from
/// a zip package's `signature.jwt`. Only to know whose keys to look for; the signature is
/// checked with them afterwards.
pub(super) fn claimed_issuer(file: &Path, is_zip: bool) -> Result<String, String> {
    let token = if is_zip {
        let opened = std::fs::File::open(file).map_err(|e| e.to_string())?;
        let mut zip = zip::ZipArchive::new(opened).map_err(|e| format!("not a zip package: {e}"))?;
        let entry = zip.by_name(package::SIGNATURE_FILE).map_err(|e| format!("{}: {e}", package::SIGNATURE_FILE))?;
        let mut text = String::new();
        entry.take(package::MAX_TAG_FILE_BYTES).read_to_string(&mut text).map_err(|e| e.to_string())?;
        text
    } else {
        let mut text = String::new();
        std::fs::File::open(file)
            .and_then(|f| f.take(crate::bundle::MAX_JWT_BYTES as u64).read_to_string(&mut text))
            .map_err(|e| e.to_string())?;
        text
    };
    let payload = token.trim().split('.').nth(1).ok_or("not a compact JWS")?;
    let payload = b64::decode(payload).map_err(|e| format!("payload: {e}"))?;
    #[derive(Deserialize)]
    struct Issuer {
        iss: String,
    }
    let claims: Issuer = serde_json::from_slice(&payload).map_err(|e| format!("no issuer: {e}"))?;
    Ok(claims.iss)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_urls_without_extras_are_followed() {
        for good in
            ["https://energie.example", "https://energie.example/nl/", "http://127.0.0.1:8080", "http://localhost:1"]
        {
            assert!(checked_url(good).is_ok(), "{good}");
        }
        for bad in [
            "http://energie.example",
            "https://user@energie.example",
            "https://energie.example/?a=1",
            "https://energie.example/#x",
            "ftp://energie.example",
            "energie.example",
            "http://10.0.0.1",
        ] {
            assert!(checked_url(bad).is_err(), "{bad}");
        }
        let internal = |u: &str| is_internal(&url::Url::parse(u).unwrap());
        for inside in
            ["https://10.1.2.3/k", "https://192.168.0.1/k", "https://[fd00::1]/k", "https://169.254.169.254/k"]
        {
            assert!(internal(inside), "{inside}");
        }
        assert!(!internal("https://keys.energie.example/jwks.json") && !internal("https://8.8.8.8/k"));
    }
}
