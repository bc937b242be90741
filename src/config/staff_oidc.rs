//! The `[staff_oidc]` section: staff sign in with access tokens from the organisation's
//! identity provider (OIDC), so members and roles are managed there rather than as token
//! digests in this file. Only what identifies the provider and maps its roles is required;
//! the cache and clock limits have defaults.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::protocol::rights::StaffRole;

/// Claim naming the member's roles at the provider when `role_claim` is not set.
pub(crate) const DEFAULT_ROLE_CLAIM: &str = "roles";
/// Claim naming the member when `id_claim` is not set.
pub(crate) const DEFAULT_ID_CLAIM: &str = "sub";
/// How long a fetched key set is used before it is fetched again: an hour, as providers
/// announce new keys well ahead of signing with them.
pub(crate) const DEFAULT_JWKS_CACHE_SECONDS: u64 = 3600;
/// Least time between two fetches caused by tokens with a `kid` we do not know, so a
/// stream of made-up kids cannot make us hammer the provider.
pub(crate) const DEFAULT_JWKS_REFETCH_SECONDS: u64 = 60;
/// Clock difference tolerated between the provider and us for `exp`, `nbf` and `iat`.
pub(crate) const DEFAULT_CLOCK_LEEWAY_SECONDS: u64 = 60;
/// How long one fetch of the key set may take.
pub(crate) const DEFAULT_JWKS_TIMEOUT_SECONDS: u64 = 10;
/// Longest a fetched key set may be kept before it must be fetched again.
pub(crate) const MAX_JWKS_CACHE_SECONDS: u64 = 7 * 24 * 3600;
/// Largest clock leeway: more would keep expired tokens alive.
pub(crate) const MAX_CLOCK_LEEWAY_SECONDS: u64 = 300;
/// Longest fetch timeout and refetch interval accepted.
pub(crate) const MAX_JWKS_WAIT_SECONDS: u64 = 3600;
/// Longest claim name or dotted path accepted for `role_claim` and `id_claim`.
const MAX_CLAIM_PATH_LEN: usize = 256;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffOidcConfig {
    /// The provider's issuer identifier; a token's `iss` must equal it exactly.
    pub issuer: String,
    /// This gateway as the provider names it; a token's `aud` must be or contain it.
    pub audience: String,
    /// Where the provider publishes its signing keys (its `jwks_uri`).
    pub jwks_url: String,
    /// Claim holding the member's roles at the provider: a string or an array of strings;
    /// a dotted path (`realm_access.roles`) walks into objects.
    #[serde(default = "default_role_claim")]
    pub role_claim: String,
    /// Claim naming the member; the register records them as `staff:<value>`.
    #[serde(default = "default_id_claim")]
    pub id_claim: String,
    /// The provider's role values and the gateway role each one grants.
    pub roles: BTreeMap<String, StaffRole>,
    #[serde(default = "default_cache")]
    pub jwks_cache_seconds: u64,
    #[serde(default = "default_refetch")]
    pub jwks_refetch_seconds: u64,
    #[serde(default = "default_leeway")]
    pub clock_leeway_seconds: u64,
    #[serde(default = "default_timeout")]
    pub jwks_timeout_seconds: u64,
}

fn default_role_claim() -> String {
    DEFAULT_ROLE_CLAIM.to_owned()
}

fn default_id_claim() -> String {
    DEFAULT_ID_CLAIM.to_owned()
}

fn default_cache() -> u64 {
    DEFAULT_JWKS_CACHE_SECONDS
}

fn default_refetch() -> u64 {
    DEFAULT_JWKS_REFETCH_SECONDS
}

fn default_leeway() -> u64 {
    DEFAULT_CLOCK_LEEWAY_SECONDS
}

fn default_timeout() -> u64 {
    DEFAULT_JWKS_TIMEOUT_SECONDS
}

impl StaffOidcConfig {
    /// The first key that is wrong, with what it must be.
    pub(crate) fn check(&self) -> Result<(), (String, String)> {
        let key = |field: &str| format!("staff_oidc.{field}");
        super::check_https_or_loopback(&self.issuer).map_err(|m| (key("issuer"), m))?;
        super::check_https_or_loopback(&self.jwks_url).map_err(|m| (key("jwks_url"), m))?;
        if self.audience.trim().is_empty() {
            return Err((key("audience"), "must not be empty".to_owned()));
        }
        for (field, path) in [("role_claim", &self.role_claim), ("id_claim", &self.id_claim)] {
            let segments_ok = path.split('.').all(|s| !s.trim().is_empty());
            if path.len() > MAX_CLAIM_PATH_LEN || !segments_ok {
                return Err((
                    key(field),
                    format!("a claim name, or names joined by '.', up to {MAX_CLAIM_PATH_LEN} characters"),
                ));
            }
        }
        if self.roles.is_empty() {
            return Err((key("roles"), "map at least one provider role to a gateway role".to_owned()));
        }
        if let Some(empty) = self.roles.keys().find(|r| r.trim().is_empty()) {
            return Err((key("roles"), format!("provider role {empty:?} is empty")));
        }
        let ranges = [
            ("jwks_cache_seconds", self.jwks_cache_seconds, 1, MAX_JWKS_CACHE_SECONDS),
            ("jwks_refetch_seconds", self.jwks_refetch_seconds, 1, MAX_JWKS_WAIT_SECONDS),
            ("clock_leeway_seconds", self.clock_leeway_seconds, 0, MAX_CLOCK_LEEWAY_SECONDS),
            ("jwks_timeout_seconds", self.jwks_timeout_seconds, 1, MAX_JWKS_WAIT_SECONDS),
        ];
        for (field, value, low, high) in ranges {
            if !(low..=high).contains(&value) {
                return Err((key(field), format!("must be {low} to {high} seconds")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "issuer = \"https://idp.example/realms/a\"\naudience = \"gw\"\n\
                        jwks_url = \"https://idp.example/certs\"\n";

    /// Checks the base section with `from` replaced by `to`, and `extra` keys added.
    fn section_with(from: &str, to: &str, extra: &str, roles: &str) -> Result<(), (String, String)> {
        let text = format!("{}{extra}\n[roles]\n{roles}\n", BASE.replace(from, to));
        toml::from_str::<StaffOidcConfig>(&text).map_err(|e| ("parse".to_owned(), e.to_string()))?.check()
    }

    fn section(extra: &str) -> Result<(), (String, String)> {
        section_with("", "", extra, "dpo = \"approver\"")
    }

    #[test]
    fn defaults_hold_and_bad_values_name_their_key() {
        assert_eq!(section(""), Ok(()));
        let parsed: StaffOidcConfig = toml::from_str(
            "issuer = \"http://127.0.0.1:1\"\naudience = \"gw\"\njwks_url = \"http://[::1]:2/k\"\n[roles]\nx = \"admin\"",
        )
        .unwrap();
        assert_eq!((parsed.role_claim.as_str(), parsed.id_claim.as_str()), (DEFAULT_ROLE_CLAIM, DEFAULT_ID_CLAIM));
        assert_eq!(parsed.check(), Ok(()));
        for (extra, key) in [
            ("jwks_cache_seconds = 0", "staff_oidc.jwks_cache_seconds"),
            ("clock_leeway_seconds = 301", "staff_oidc.clock_leeway_seconds"),
            ("jwks_timeout_seconds = 0", "staff_oidc.jwks_timeout_seconds"),
            ("jwks_refetch_seconds = 0", "staff_oidc.jwks_refetch_seconds"),
            ("role_claim = \"realm_access..roles\"", "staff_oidc.role_claim"),
            ("id_claim = \"\"", "staff_oidc.id_claim"),
            ("colour = \"blue\"", "parse"),
        ] {
            assert_eq!(section(extra).unwrap_err().0, key, "{extra}");
        }
    }

    #[test]
    fn audience_issuer_and_role_map_are_required() {
        let err = |from, to, roles| section_with(from, to, "", roles).unwrap_err();
        assert_eq!(err("\"gw\"", "\" \"", "a = \"admin\"").0, "staff_oidc.audience");
        assert_eq!(
            err("https://idp.example/realms", "http://idp.example/realms", "a = \"admin\"").0,
            "staff_oidc.issuer"
        );
        assert_eq!(err("https://idp.example/certs", "idp.example/certs", "a = \"admin\"").0, "staff_oidc.jwks_url");
        assert_eq!(err("", "", "").0, "staff_oidc.roles");
        assert_eq!(err("", "", "\"\" = \"admin\"").0, "staff_oidc.roles");
        let (key, message) = err("", "", "dpo = \"superuser\"");
        assert!(key == "parse" && message.contains("superuser") && message.contains("approver"), "{message}");
    }

    #[test]
    fn provider_urls_are_https_or_loopback() {
        for ok in ["https://idp.example", "http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]/x"] {
            assert_eq!(crate::config::check_https_or_loopback(ok), Ok(()), "{ok}");
        }
        for bad in ["http://idp.example/certs", "ftp://idp.example", "not a url", "http://10.0.0.1/certs"] {
            assert!(crate::config::check_https_or_loopback(bad).is_err(), "{bad}");
        }
    }
}
