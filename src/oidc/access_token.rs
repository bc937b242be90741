//! An access token from the identity provider, read as narrowly as our bundles are: compact
//! JWS only, capped before decoding, duplicate JSON members refused, no header member that
//! could choose or carry a key, `alg` from our three; then the claims: `iss` exactly,
//! `aud`, `exp` required, `nbf` and `iat` within the leeway, and the member's id and roles.

use serde_json::{Map, Value};

use super::signing_keys::{Alg, MAX_KID_LEN};
use crate::clock::UnixSeconds;
use crate::config::StaffOidcConfig;
use crate::jose::b64;
use crate::jose::jws::{FORBIDDEN_HEADER_MEMBERS, MAX_HEADER_B64_LEN};
use crate::jose::strict_json;
use crate::protocol::rights::StaffRole;

/// Largest access token read: providers' tokens with many roles stay under 8 KiB; the
/// header limit of the server (32 KiB) is far above it.
pub(crate) const MAX_ACCESS_TOKEN_BYTES: usize = 16 * 1024;
/// `typ` values an access token may carry (RFC 9068 `at+jwt`, and the common `JWT`); any
/// other names another kind of token (a proof, a logout token, a bundle).
const ACCEPTED_TYPS: &[&str] = &["jwt", "at+jwt"];

/// Why a token was refused; the variant decides the answer's status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum TokenError {
    /// Not a token we accept, or not valid now: 401.
    #[error("{0}")]
    Invalid(String),
    /// A valid token whose roles grant no single gateway role: 403.
    #[error("{0}")]
    NoRole(String),
}

fn invalid(message: impl Into<String>) -> TokenError {
    TokenError::Invalid(message.into())
}

/// A token whose form and header passed, before its signature is checked.
#[derive(Debug)]
pub(crate) struct UnverifiedToken<'a> {
    pub alg: Alg,
    pub kid: String,
    /// `header.payload`, the bytes the signature covers.
    pub signing_input: &'a str,
    pub signature: Vec<u8>,
    payload_b64: &'a str,
}

impl<'a> UnverifiedToken<'a> {
    pub(crate) fn parse(token: &'a str) -> Result<Self, TokenError> {
        if token.len() > MAX_ACCESS_TOKEN_BYTES {
            return Err(invalid(format!("the token is longer than {MAX_ACCESS_TOKEN_BYTES} bytes")));
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid("not a compact JWS"));
        };
        if header_b64.len() > MAX_HEADER_B64_LEN {
            return Err(invalid("the token's header is too long"));
        }
        let header = decode_object(header_b64, "header")?;
        if let Some(name) = FORBIDDEN_HEADER_MEMBERS.iter().find(|m| header.contains_key(**m)) {
            return Err(invalid(format!("header member {name:?} is not allowed")));
        }
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or_default();
        let alg = Alg::parse(alg).ok_or_else(|| invalid(format!("algorithm {alg:?} is not accepted")))?;
        if let Some(typ) = header.get("typ") {
            let typ = typ.as_str().map(str::to_ascii_lowercase).unwrap_or_default();
            let typ = typ.strip_prefix("application/").unwrap_or(&typ);
            if !ACCEPTED_TYPS.contains(&typ) {
                return Err(invalid(format!("a token of typ {typ:?} is not an access token")));
            }
        }
        let kid = match header.get("kid") {
            Some(Value::String(kid)) if !kid.is_empty() && kid.len() <= MAX_KID_LEN => kid.clone(),
            _ => return Err(invalid("the header needs a \"kid\" naming the provider's key")),
        };
        let signature = b64::decode(signature_b64).map_err(|_| invalid("the signature is not base64url"))?;
        let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
        Ok(Self { alg, kid, signing_input, signature, payload_b64 })
    }

    /// The claims; call only once the signature verified.
    pub(crate) fn claims(&self) -> Result<Map<String, Value>, TokenError> {
        decode_object(self.payload_b64, "payload")
    }
}

fn decode_object(text: &str, what: &str) -> Result<Map<String, Value>, TokenError> {
    let bytes = b64::decode(text).map_err(|_| invalid(format!("the {what} is not base64url")))?;
    strict_json::parse_object(&bytes).map_err(|e| invalid(format!("the {what}: {e}")))
}

/// The member a verified token names, with the one gateway role it grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StaffIdentity {
    pub id: String,
    pub role: StaffRole,
}

/// Checks the claims of a token whose signature verified, at `now`.
pub(crate) fn check_claims(
    claims: &Map<String, Value>,
    config: &StaffOidcConfig,
    now: UnixSeconds,
) -> Result<StaffIdentity, TokenError> {
    if claims.get("iss").and_then(Value::as_str) != Some(config.issuer.as_str()) {
        return Err(invalid("the token is from another issuer"));
    }
    let for_us = match claims.get("aud") {
        Some(Value::String(aud)) => *aud == config.audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(config.audience.as_str())),
        _ => false,
    };
    if !for_us {
        return Err(invalid("the token is for another audience"));
    }
    let leeway = config.clock_leeway_seconds;
    let exp = numeric_date(claims, "exp")?.ok_or_else(|| invalid("the token has no \"exp\""))?;
    if now >= exp.saturating_add(leeway) {
        return Err(invalid("the token has expired"));
    }
    if numeric_date(claims, "nbf")?.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
        return Err(invalid("the token is not valid yet (\"nbf\")"));
    }
    if numeric_date(claims, "iat")?.is_some_and(|iat| iat > now.saturating_add(leeway)) {
        return Err(invalid("the token was issued in the future (\"iat\")"));
    }
    let id = claim(claims, &config.id_claim).and_then(Value::as_str).unwrap_or_default();
    if !crate::config::is_staff_id(id) {
        return Err(invalid(format!(
            "claim {:?} must name the member in 1 to 128 letters, digits, '.', '_', '-' or '@'",
            config.id_claim
        )));
    }
    let role = staff_role(claim(claims, &config.role_claim), config)?;
    Ok(StaffIdentity { id: id.to_owned(), role })
}

/// A claim by name, or by a dotted path into objects (`realm_access.roles`). A name that
/// is itself a claim wins, since namespaced claims are URLs full of dots.
fn claim<'a>(claims: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(value) = claims.get(path) {
        return Some(value);
    }
    let mut segments = path.split('.');
    let first = claims.get(segments.next()?)?;
    segments.try_fold(first, |value, name| value.as_object()?.get(name))
}

/// A NumericDate (RFC 7519 §2): seconds, possibly fractional, never negative.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<UnixSeconds>, TokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => match (n.as_u64(), n.as_f64()) {
            (Some(seconds), _) => Ok(Some(seconds)),
            // Truncation is the intent: a fraction of a second changes no decision.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            (None, Some(f)) if f.is_finite() && f >= 0.0 => Ok(Some(f as u64)),
            _ => Err(invalid(format!("\"{name}\" must be a date in seconds"))),
        },
        Some(_) => Err(invalid(format!("\"{name}\" must be a date in seconds"))),
    }
}

/// The one gateway role the token's provider roles grant. Roles the map does not name are
/// ignored. Admin includes every other role and every role includes the auditor's reading,
/// so with admin the member is admin and an auditor role beside another adds nothing. The
/// handler and approver roles are kept apart (an approver signs off a handler's work), so a
/// token granting both is refused rather than silently narrowed or combined.
fn staff_role(value: Option<&Value>, config: &StaffOidcConfig) -> Result<StaffRole, TokenError> {
    let values: Vec<&str> = match value {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let mut granted: Vec<StaffRole> = Vec::new();
    for role in values.iter().filter_map(|v| config.roles.get(*v)) {
        if !granted.contains(role) {
            granted.push(*role);
        }
    }
    if granted.contains(&StaffRole::Admin) {
        return Ok(StaffRole::Admin);
    }
    if granted.len() > 1 {
        granted.retain(|r| *r != StaffRole::Auditor);
    }
    match granted.as_slice() {
        [one] => Ok(*one),
        [] => Err(TokenError::NoRole(format!(
            "the token's {:?} claim names no role mapped in [staff_oidc.roles]",
            config.role_claim
        ))),
        _ => Err(TokenError::NoRole(
            "the token grants both the handler and the approver role, which are kept apart; \
             give the account one of them at the identity provider"
                .to_owned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> StaffOidcConfig {
        toml::from_str(
            "issuer = \"https://idp.example/r\"\naudience = \"gw\"\njwks_url = \"https://idp.example/k\"\n\
             role_claim = \"realm_access.roles\"\n[roles]\nh = \"handler\"\na = \"approver\"\n\
             au = \"auditor\"\nad = \"admin\"\n",
        )
        .unwrap()
    }

    fn claims(extra: Value) -> Map<String, Value> {
        let mut base = json!({"iss": "https://idp.example/r", "aud": "gw", "sub": "m1", "exp": 1000,
                              "realm_access": {"roles": ["h"]}});
        base.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        base.as_object().unwrap().clone()
    }

    fn role_of(roles: Value) -> Result<StaffRole, TokenError> {
        check_claims(&claims(json!({"realm_access": {"roles": roles}})), &config(), 500).map(|m| m.role)
    }

    #[test]
    fn role_precedence_is_the_documented_rule() {
        assert_eq!(role_of(json!(["h", "offline_access"])), Ok(StaffRole::Handler));
        assert_eq!(role_of(json!("a")), Ok(StaffRole::Approver));
        assert_eq!(role_of(json!(["au", "h"])), Ok(StaffRole::Handler));
        assert_eq!(role_of(json!(["a", "h", "ad"])), Ok(StaffRole::Admin));
        assert_eq!(role_of(json!(["au", "au"])), Ok(StaffRole::Auditor));
        for none in [json!([]), json!(["x"]), json!(42), json!([{"h": 1}])] {
            assert!(matches!(role_of(none), Err(TokenError::NoRole(_))));
        }
        assert!(matches!(role_of(json!(["h", "a"])), Err(TokenError::NoRole(m)) if m.contains("kept apart")));
    }

    #[test]
    fn time_issuer_audience_and_id_are_checked() {
        let config = config();
        let check = |extra: Value, now| check_claims(&claims(extra), &config, now);
        assert_eq!(check(json!({}), 500).unwrap().id, "m1");
        assert!(check(json!({}), 1059).is_ok(), "within the leeway");
        for (extra, now) in [
            (json!({}), 1060),
            (json!({"exp": null}), 500),
            (json!({"exp": -1}), 0),
            (json!({"exp": "1000"}), 500),
            (json!({"nbf": 561}), 500),
            (json!({"iat": 561}), 500),
            (json!({"iss": "https://idp.example/r/"}), 500),
            (json!({"aud": ["other"]}), 500),
            (json!({"aud": null}), 500),
            (json!({"sub": "has space"}), 500),
            (json!({"sub": 7}), 500),
        ] {
            assert!(matches!(check(extra.clone(), now), Err(TokenError::Invalid(_))), "{extra} at {now}");
        }
        assert!(check(json!({"aud": ["x", "gw"], "nbf": 560, "iat": 1.5, "exp": 1000.9}), 500).is_ok());
    }

    #[test]
    fn namespaced_claims_and_paths_are_found() {
        let claims = claims(json!({"https://example.com/roles": ["a"], "a": {"b": {"c": "x"}}}));
        assert_eq!(claim(&claims, "https://example.com/roles"), Some(&json!(["a"])));
        assert_eq!(claim(&claims, "a.b.c"), Some(&json!("x")));
        assert_eq!(claim(&claims, "a.b.d"), None);
        assert_eq!(claim(&claims, "sub.x"), None);
    }

    #[test]
    fn headers_are_read_narrowly() {
        let token = |header: Value| format!("{}.{}.{}", b64::encode(header.to_string()), b64::encode("{}"), "AAAA");
        assert!(UnverifiedToken::parse(&token(json!({"alg": "RS256", "kid": "k", "typ": "at+jwt"}))).is_ok());
        assert!(UnverifiedToken::parse(&token(json!({"alg": "EdDSA", "kid": "k"}))).is_ok());
        for header in [
            json!({"alg": "none", "kid": "k"}),
            json!({"alg": "HS256", "kid": "k"}),
            json!({"kid": "k"}),
            json!({"alg": "RS256"}),
            json!({"alg": "RS256", "kid": ""}),
            json!({"alg": "RS256", "kid": "k", "typ": "dpop+jwt"}),
            json!({"alg": "RS256", "kid": "k", "jku": "https://evil.example"}),
            json!({"alg": "RS256", "kid": "k", "crit": ["exp"]}),
        ] {
            assert!(UnverifiedToken::parse(&token(header.clone())).is_err(), "{header}");
        }
        let dup = format!("{}.e30.AAAA", b64::encode(r#"{"alg":"RS256","kid":"k","kid":"j"}"#));
        for bad in [dup.as_str(), "a.b", "a.b.c.d", "{\"payload\":\"e30\"}", "e30.e30.A+A"] {
            assert!(UnverifiedToken::parse(bad).is_err(), "{bad}");
        }
        assert!(UnverifiedToken::parse(&"a".repeat(MAX_ACCESS_TOKEN_BYTES + 1)).is_err());
    }
}
