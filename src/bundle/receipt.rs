//! Signed receipts (`docs/receipt-format.md`): what the organisation did about a rights
//! request, per category, with the evidence it can honestly show. Signed once, when the
//! request ends, with the key that signs bundles; verified by the same strict rules.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::BundleError;
use crate::clock::UnixSeconds;
use crate::jose::jws::{self, JwsError, Policy};
use crate::jose::{Jwks, SigningKeyPair, strict_json};
use crate::protocol::notice::PrivacyNotice;
use crate::protocol::rights::{RequestKind, RequestState};

/// `typ` of every receipt JWS.
pub const RECEIPT_TYP: &str = "gdpr-receipt+jwt";
/// Largest receipt a verifier reads: a receipt names categories and digests, never data.
pub const MAX_RECEIPT_BYTES: usize = 256 * 1024;

/// The JWT claims of a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptClaims {
    /// Controller id (an https URL).
    pub iss: String,
    /// The controller's reference for the data subject.
    pub sub: String,
    /// The request id.
    pub jti: String,
    pub iat: UnixSeconds,
    pub receipt: Receipt,
}

/// What was asked, when, and what came of it.
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// `2026-000123`, as the person was told on filing.
    pub request_number: String,
    #[serde(rename = "type")]
    pub kind: RequestKind,
    /// `closed` (carried out) or `refused`.
    pub state: RequestState,
    pub received_at: UnixSeconds,
    pub due_at: UnixSeconds,
    pub completed_at: UnixSeconds,
    /// What was done per category, in inventory order; empty for requests about no data
    /// (information, a refusal of the whole request).
    pub outcomes: Vec<CategoryOutcome>,
    /// The closing note or the reason of a refusal, as the person was told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For an information request (art. 13-15): the answer itself, signed with the
    /// receipt: who the controller is, and for each category asked about (all when none
    /// was named) its purposes, legal basis, retention, recipients and source, and the
    /// person's rights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub information: Option<Box<PrivacyNotice>>,
}

/// One category's outcome.
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryOutcome {
    pub category: String,
    /// `rectify`, `erase`, `restrict`, `lift_restriction`, `object`, `review` (a person
    /// reviewed an automated decision; category `*`) or `provide` (a copy of the category
    /// went to the person in the bundle `evidence.bundle` names). Verifiers accept other names, so a
    /// later operation does not make older verifiers refuse a receipt.
    pub operation: String,
    /// For an objection: the purpose objected to; a category has one outcome per purpose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    pub result: OutcomeResult,
    /// Why it was refused (a refusal ground, e.g. the art. 17(3) exception), or what a
    /// member of staff did by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Evidence::is_empty")]
    pub evidence: Evidence,
}

/// How a category's operation ended.
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeResult {
    /// Carried out at the source by the gateway.
    Done,
    /// Not carried out, for the ground in `note`.
    Refused,
    /// Carried out by a member of staff, who described it in `note`.
    Manual,
}

/// What can be shown of an operation without showing the data.
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// Records the source reported as affected (erased, restricted, corrected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<u64>,
    /// The source's own id for the operation, to quote to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<String>,
    /// `sha256:<hex>` of each corrected record as the source holds it now (its JSON with
    /// keys sorted, no whitespace).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub record_digests: Vec<String>,
    /// The `jti` of a signed bundle that shows the result (the corrected category, the
    /// copy asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<String>,
}

impl Evidence {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Signs `claims` with header `{"alg":"EdDSA","kid":…,"typ":"gdpr-receipt+jwt"}`.
pub fn sign_receipt(claims: &ReceiptClaims, key: &SigningKeyPair) -> Result<String, serde_json::Error> {
    let payload = serde_json::to_vec(claims)?;
    Ok(jws::sign(key, RECEIPT_TYP, &payload))
}

/// The header members a receipt has, and no others.
const HEADER_MEMBERS: [&str; 3] = ["alg", "kid", "typ"];

/// A receipt whose signature and claims verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedReceipt {
    pub kid: String,
    pub claims: ReceiptClaims,
}

/// Verifies a compact JWS receipt against pinned keys: the JWS rules bundles follow
/// (`docs/bundle-format.md` § Verifier rules) with `typ` `gdpr-receipt+jwt` and at most
/// [`MAX_RECEIPT_BYTES`], a header of exactly `alg`, `kid` and `typ`, then the claims
/// read strictly (no duplicate or unknown member) and checked as `docs/receipt-format.md`
/// says.
pub fn verify_receipt(token: &[u8], keys: &Jwks) -> Result<VerifiedReceipt, BundleError> {
    let verified = jws::verify(token, keys, Policy { typ: RECEIPT_TYP, max_bytes: MAX_RECEIPT_BYTES })?;
    if let Some(extra) = verified.header.keys().find(|k| !HEADER_MEMBERS.contains(&k.as_str())) {
        return Err(JwsError::ForbiddenHeader(extra.clone()).into());
    }
    // Duplicate members are refused as in bundles: a reader must never see other values
    // than the verifier did.
    let value = strict_json::parse(&verified.payload).map_err(JwsError::from)?;
    // An absent member is left out, never `null`: one way to write each receipt.
    if let Some(path) = null_member(&value, "") {
        return Err(BundleError::InvalidClaims(format!("{path} is null; leave an absent member out")));
    }
    let claims: ReceiptClaims = serde_json::from_value(value).map_err(|e| BundleError::InvalidClaims(e.to_string()))?;
    check_claims(&claims).map_err(BundleError::InvalidClaims)?;
    super::verify::check_key_in_use(keys, &verified.kid, claims.iat)?;
    Ok(VerifiedReceipt { kid: verified.kid, claims })
}

/// The path of the first member whose value is `null`, at any depth.
fn null_member(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::Null => Some(if path.is_empty() { "the payload".to_owned() } else { path.to_owned() }),
        Value::Object(map) => map.iter().find_map(|(k, v)| null_member(v, &format!("{path}/{k}"))),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| null_member(v, &format!("{path}/{i}"))),
        _ => None,
    }
}

/// The rules of a receipt's claims beyond their shape.
fn check_claims(claims: &ReceiptClaims) -> Result<(), String> {
    if claims.jti.is_empty() {
        return Err("jti is empty".into());
    }
    let receipt = &claims.receipt;
    if receipt.state == RequestState::Open {
        return Err("state is open: a receipt is signed when a request has ended (closed or refused)".into());
    }
    if receipt.completed_at < receipt.received_at {
        return Err(format!("completed_at {} is before received_at {}", receipt.completed_at, receipt.received_at));
    }
    let mut seen = BTreeSet::new();
    for outcome in &receipt.outcomes {
        if !seen.insert((outcome.category.as_str(), outcome.operation.as_str(), outcome.purpose.as_deref())) {
            return Err(format!(
                "category {:?} has more than one {} outcome{}",
                outcome.category,
                outcome.operation,
                outcome.purpose.as_deref().map(|p| format!(" for purpose {p:?}")).unwrap_or_default()
            ));
        }
        let needs_note = matches!(outcome.result, OutcomeResult::Refused | OutcomeResult::Manual);
        if needs_note && outcome.note.as_deref().is_none_or(|n| n.trim().is_empty()) {
            return Err(format!(
                "the {} outcome of category {:?} has no note",
                outcome.result.as_str(),
                outcome.category
            ));
        }
    }
    Ok(())
}

impl OutcomeResult {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Refused => "refused",
            Self::Manual => "manual",
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::bundle::{SignedKind, TYP, signed_kind};
    use crate::jose::jws::sign_with_header;
    use crate::jose::{Curve, PrivateOkpJwk};
    use crate::protocol::ErrorCode;

    fn claims() -> ReceiptClaims {
        let outcome = |category: &str, result, note: Option<&str>, evidence| CategoryOutcome {
            category: category.into(),
            operation: "erase".into(),
            purpose: None,
            result,
            note: note.map(str::to_owned),
            evidence,
        };
        ReceiptClaims {
            iss: "https://energie.example".into(),
            sub: "alice".into(),
            jti: "6f1c2b1e-4d7a-4a51-9a43-0c6f0f6f9d11".into(),
            // 2026-06-20T10:30:00Z: in the past, as PyJWT wants `iat` to be.
            iat: 1_781_951_400,
            receipt: Receipt {
                request_number: "2026-000123".into(),
                kind: RequestKind::Erasure,
                state: RequestState::Closed,
                received_at: 1_780_272_000,
                due_at: 1_782_950_399,
                completed_at: 1_781_951_400,
                outcomes: vec![
                    outcome(
                        "contact",
                        OutcomeResult::Done,
                        None,
                        Evidence { records: Some(1), confirmation: Some("crm-del-8812".into()), ..Evidence::default() },
                    ),
                    outcome(
                        "payments",
                        OutcomeResult::Refused,
                        Some("Art. 17(3)(b) GDPR: invoices are kept 7 years under tax law"),
                        Evidence::default(),
                    ),
                ],
                detail: Some("Your contact details were erased; invoices are kept until 2033.".into()),
                information: None,
            },
        }
    }

    fn keys(key: &SigningKeyPair) -> Jwks {
        Jwks { keys: vec![key.public_jwk().clone()] }
    }

    /// Signs `payload` (any JSON) as a receipt, under the usual header.
    fn sign_json(key: &SigningKeyPair, payload: &Value) -> String {
        jws::sign(key, RECEIPT_TYP, payload.to_string().as_bytes())
    }

    fn code(token: &str, key: &SigningKeyPair) -> ErrorCode {
        verify_receipt(token.as_bytes(), &keys(key)).unwrap_err().error_code()
    }

    #[test]
    fn a_signed_receipt_verifies_to_its_claims() {
        let key = SigningKeyPair::generate();
        let token = sign_receipt(&claims(), &key).unwrap();
        let verified = verify_receipt(token.as_bytes(), &keys(&key)).unwrap();
        assert_eq!(verified, VerifiedReceipt { kid: key.kid().to_owned(), claims: claims() });
        assert_eq!(signed_kind(token.as_bytes()), Ok(SignedKind::Receipt));
        let header = crate::jose::b64::decode(token.split('.').next().unwrap()).unwrap();
        let expected = format!(r#"{{"alg":"EdDSA","kid":"{}","typ":"gdpr-receipt+jwt"}}"#, key.kid());
        assert_eq!(String::from_utf8(header).unwrap(), expected);
    }

    #[test]
    fn tampering_another_key_or_another_typ_is_refused() {
        let key = SigningKeyPair::generate();
        let token = sign_receipt(&claims(), &key).unwrap();
        let [h, p, s]: [&str; 3] = token.split('.').collect::<Vec<_>>().try_into().unwrap();
        let mut payload = crate::jose::b64::decode(p).unwrap();
        let at = payload.windows(5).position(|w| w == b"alice").unwrap();
        payload[at] = b'b';
        let tampered = format!("{h}.{}.{s}", crate::jose::b64::encode(&payload));
        assert_eq!(code(&tampered, &key), ErrorCode::SignatureInvalid);
        assert_eq!(code(&token, &SigningKeyPair::generate()), ErrorCode::UnknownKid);

        // A bundle is not a receipt, though the same key signed it.
        let bundle = jws::sign(&key, TYP, serde_json::to_string(&claims()).unwrap().as_bytes());
        assert_eq!(code(&bundle, &key), ErrorCode::WrongTyp);
        assert_eq!(signed_kind(bundle.as_bytes()), Ok(SignedKind::Bundle));
        let other = jws::sign(&key, "application/JWT", b"{}");
        assert_eq!(signed_kind(other.as_bytes()).unwrap_err().error_code(), ErrorCode::WrongTyp);
        // What cannot be peeked at goes to the bundle verifier, which says why.
        for garbage in [&b"garbage"[..], b"%%%.e30.AA", b"", b"\xff.\xff.\xff"] {
            assert_eq!(signed_kind(garbage), Ok(SignedKind::Bundle), "{garbage:?}");
        }
        let loose =
            jws::sign(&key, "Application/GDPR-Receipt+JWT", serde_json::to_string(&claims()).unwrap().as_bytes());
        assert_eq!(signed_kind(loose.as_bytes()), Ok(SignedKind::Receipt));
        assert!(verify_receipt(loose.as_bytes(), &keys(&key)).is_ok());
    }

    #[test]
    fn the_header_is_exactly_alg_kid_typ() {
        let key = SigningKeyPair::generate();
        let payload = serde_json::to_vec(&claims()).unwrap();
        let kid = key.kid();
        for (header, expected) in [
            (
                format!(r#"{{"alg":"EdDSA","kid":"{kid}","typ":"{RECEIPT_TYP}","cty":"json"}}"#),
                ErrorCode::ForbiddenHeader,
            ),
            (
                format!(r#"{{"alg":"EdDSA","kid":"{kid}","typ":"{RECEIPT_TYP}","jku":"https://x"}}"#),
                ErrorCode::ForbiddenHeader,
            ),
            (
                format!(r#"{{"alg":"EdDSA","kid":"{kid}","typ":"{RECEIPT_TYP}","typ":"{RECEIPT_TYP}"}}"#),
                ErrorCode::DuplicateMember,
            ),
            (format!(r#"{{"alg":"none","kid":"{kid}","typ":"{RECEIPT_TYP}"}}"#), ErrorCode::AlgNotAllowed),
            (format!(r#"{{"alg":"EdDSA","kid":"{kid}"}}"#), ErrorCode::WrongTyp),
        ] {
            let token = sign_with_header(key.signing_key(), header.as_bytes(), &payload);
            assert_eq!(code(&token, &key), expected, "{header}");
        }
    }

    /// Correctly signed payloads that are not a valid receipt: each refused, and why.
    #[test]
    fn claims_are_read_strictly_and_checked() {
        let key = SigningKeyPair::generate();
        let good = serde_json::to_value(claims()).unwrap();
        let with = |change: &dyn Fn(&mut Value)| {
            let mut value = good.clone();
            change(&mut value);
            sign_json(&key, &value)
        };
        let duplicate = {
            let text = good.to_string().replacen(r#""sub":"alice""#, r#""sub":"alice","sub":"mallory""#, 1);
            jws::sign(&key, RECEIPT_TYP, text.as_bytes())
        };
        assert_eq!(code(&duplicate, &key), ErrorCode::DuplicateMember);
        let cases: Vec<(&str, String)> = vec![
            ("unknown claim", with(&|v| v["aud"] = json!("x"))),
            ("unknown receipt member", with(&|v| v["receipt"]["extra"] = json!(1))),
            ("unknown evidence member", with(&|v| v["receipt"]["outcomes"][0]["evidence"]["rows"] = json!(1))),
            ("unknown result", with(&|v| v["receipt"]["outcomes"][0]["result"] = json!("partial"))),
            ("missing completed_at", with(&|v| drop(v["receipt"].as_object_mut().unwrap().remove("completed_at")))),
            ("open", with(&|v| v["receipt"]["state"] = json!("open"))),
            ("empty jti", with(&|v| v["jti"] = json!(""))),
            ("completed before received", with(&|v| v["receipt"]["completed_at"] = json!(1_780_271_999))),
            (
                "refused without note",
                with(&|v| drop(v["receipt"]["outcomes"][1].as_object_mut().unwrap().remove("note"))),
            ),
            ("blank note", with(&|v| v["receipt"]["outcomes"][1]["note"] = json!("  "))),
            ("manual without note", with(&|v| v["receipt"]["outcomes"][0]["result"] = json!("manual"))),
            ("category twice", with(&|v| v["receipt"]["outcomes"][1]["category"] = json!("contact"))),
            ("not an object", sign_json(&key, &json!([]))),
            ("null note", with(&|v| v["receipt"]["outcomes"][0]["note"] = Value::Null)),
            ("null detail", with(&|v| v["receipt"]["detail"] = Value::Null)),
        ];
        for (case, token) in cases {
            let err = verify_receipt(token.as_bytes(), &keys(&key)).unwrap_err();
            assert!(matches!(err, BundleError::InvalidClaims(_)), "{case}: {err:?}");
        }
        // A refused request with no outcome at all, and a manual one with its note, are fine.
        let refused = with(&|v| {
            v["receipt"]["state"] = json!("refused");
            v["receipt"]["outcomes"] = json!([]);
        });
        assert!(verify_receipt(refused.as_bytes(), &keys(&key)).is_ok());
        let manual = with(&|v| {
            v["receipt"]["outcomes"][0]["result"] = json!("manual");
            v["receipt"]["outcomes"][0]["note"] = json!("erased by hand in the old CRM");
        });
        assert!(verify_receipt(manual.as_bytes(), &keys(&key)).is_ok());
    }

    #[test]
    fn a_receipt_over_the_cap_is_refused_before_parsing() {
        let key = SigningKeyPair::generate();
        let mut big = claims();
        big.receipt.detail = Some("x".repeat(MAX_RECEIPT_BYTES));
        let token = sign_receipt(&big, &key).unwrap();
        assert_eq!(
            verify_receipt(token.as_bytes(), &keys(&key)).unwrap_err(),
            BundleError::Jws(JwsError::TooLarge { limit: MAX_RECEIPT_BYTES })
        );
        assert_eq!(code(&token, &key), ErrorCode::PayloadTooLarge);
    }

    /// `tests/vectors/receipt.json` is what `sign_receipt` makes of its claims with the
    /// RFC 8037 A.1 key, byte for byte (Ed25519 is deterministic); the interop script
    /// verifies it with PyJWT and the vector's JWKS alone. `UPDATE_VECTORS=1` rewrites it.
    #[test]
    fn the_committed_receipt_vector_is_ours() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/receipt.json");
        let key = SigningKeyPair::from_jwk(&PrivateOkpJwk {
            kty: "OKP".into(),
            crv: Curve::Ed25519,
            x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo".into(),
            d: "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A".into(),
        })
        .unwrap();
        let token = sign_receipt(&claims(), &key).unwrap();
        let generated = json!({
            "description": "A receipt signed by gdpr-gateway's sign_receipt with the RFC 8037 A.1 Ed25519 key: \
                verify `token` with `jwks` alone; its claims are `claims`.",
            "jwks": keys(&key),
            "claims": claims(),
            "token": token,
        });
        let text = serde_json::to_string_pretty(&generated).unwrap() + "\n";
        if std::env::var_os("UPDATE_VECTORS").is_some() {
            std::fs::write(path, &text).unwrap();
        }
        let committed: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(committed, generated, "run UPDATE_VECTORS=1 cargo test --lib receipt");
        let jwks: Jwks = serde_json::from_value(committed["jwks"].clone()).unwrap();
        let verified = verify_receipt(committed["token"].as_str().unwrap().as_bytes(), &jwks).unwrap();
        assert_eq!(serde_json::to_value(verified.claims).unwrap(), committed["claims"]);
    }
}
