//! External test vectors from `../shared/vectors/` (see its README): Wycheproof and CCTV
//! for Ed25519 under our `verify_strict` policy, and Wycheproof's JWS header attacks
//! against our verifier's header rules. Missing vector files fail the test.

use std::path::PathBuf;

use gdpr_gateway::jose::jws::{self, JwsError, Policy};
use gdpr_gateway::jose::{Jwks, SigningKeyPair, danger};
use serde_json::Value;

fn vectors(file: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors").join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("test vectors {} are required and could not be read: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn hex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

#[test]
fn wycheproof_ed25519_valid_accepted_invalid_rejected() {
    let doc = vectors("wycheproof/ed25519_test.json");
    let (mut valid, mut invalid) = (0, 0);
    for group in doc["testGroups"].as_array().unwrap() {
        let public = hex(&group["publicKey"]["pk"]);
        for test in group["tests"].as_array().unwrap() {
            let outcome = jws::verify_ed25519(&public, &hex(&test["msg"]), &hex(&test["sig"]));
            match test["result"].as_str().unwrap() {
                "valid" => {
                    assert_eq!(outcome, Ok(()), "tcId {}", test["tcId"]);
                    valid += 1;
                }
                _ => {
                    assert_eq!(outcome, Err(JwsError::SignatureInvalid), "tcId {}", test["tcId"]);
                    invalid += 1;
                }
            }
        }
    }
    assert_eq!(valid + invalid, doc["numberOfTests"].as_u64().unwrap());
    assert!(valid > 0 && invalid > 0);
}

/// Policy: reject every vector flagged `low_order_A`, `low_order_R`, `non_canonical_A`,
/// `non_canonical_R` or `low_order_residue`; the rest follow `verify_strict`. The counts
/// are pinned so that a change of policy (or of ed25519-dalek) shows up here.
#[test]
fn cctv_ed25519_follows_the_strict_policy() {
    let doc = vectors("cctv-ed25519/ed25519vectors.json");
    const ALWAYS_REJECT: &[&str] =
        &["low_order_A", "low_order_R", "non_canonical_A", "non_canonical_R", "low_order_residue"];
    let (mut accepted, mut rejected) = (0, 0);
    for v in doc.as_array().unwrap() {
        let flags: Vec<&str> =
            v["flags"].as_array().map_or(vec![], |f| f.iter().map(|x| x.as_str().unwrap()).collect());
        let outcome = jws::verify_ed25519(&hex(&v["key"]), v["msg"].as_str().unwrap().as_bytes(), &hex(&v["sig"]));
        if flags.iter().any(|f| ALWAYS_REJECT.contains(f)) {
            assert!(outcome.is_err(), "vector {} with {flags:?} must be rejected", v["number"]);
        }
        if outcome.is_ok() { accepted += 1 } else { rejected += 1 }
    }
    assert_eq!((accepted, rejected), (CCTV_ACCEPTED, CCTV_REJECTED));
}

const CCTV_ACCEPTED: usize = 43;
const CCTV_REJECTED: usize = 871;

/// Wycheproof's JWS and JWK files hold no EdDSA case; every token in them (alg confusion,
/// `none`, embedded `jwk`, `jku`, MAC algorithms, JSON serialization) must be refused by
/// the header rules, before any signature check.
#[test]
fn wycheproof_jws_header_attacks_are_rejected_by_header_rules() {
    let ours = SigningKeyPair::generate();
    let keys = Jwks { keys: vec![ours.public_jwk().clone()] };
    let policy = Policy { typ: "gdpr-bundle+jwt", max_bytes: 1 << 20 };
    let mut checked = 0;
    for file in ["wycheproof/json_web_signature_test.json", "wycheproof/json_web_key_test.json"] {
        for group in vectors(file)["testGroups"].as_array().unwrap() {
            for test in group["tests"].as_array().unwrap() {
                let Some(token) = test.get("jws") else { continue };
                let token = match token {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let err = jws::verify(token.as_bytes(), &keys, policy).unwrap_err();
                assert!(
                    !matches!(err, JwsError::SignatureInvalid | JwsError::UnknownKid(_)),
                    "{file} tcId {}: reached key lookup or crypto: {err:?}",
                    test["tcId"]
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 400, "only {checked} tokens found");
}

/// X25519 as our JWE decrypter uses it: every shared secret matches Wycheproof's, except
/// all-zero ones (low-order public keys), which are refused.
#[test]
fn wycheproof_x25519_agreement_refuses_zero_secrets() {
    let doc = vectors("wycheproof/x25519_test.json");
    let (mut agreed, mut refused) = (0, 0);
    for group in doc["testGroups"].as_array().unwrap() {
        for test in group["tests"].as_array().unwrap() {
            let private: [u8; 32] = hex(&test["private"]).try_into().unwrap();
            let public: [u8; 32] = hex(&test["public"]).try_into().unwrap();
            let shared = hex(&test["shared"]);
            match danger::agree(&private, &public) {
                Ok(ours) => {
                    assert_eq!(ours.as_slice(), shared, "tcId {}", test["tcId"]);
                    agreed += 1;
                }
                Err(_) => {
                    assert!(shared.iter().all(|b| *b == 0), "tcId {} refused a non-zero secret", test["tcId"]);
                    refused += 1;
                }
            }
        }
    }
    assert_eq!((agreed, refused), (487, 31));
}

/// The JWK form: invalid public keys are refused when parsed, and zero secrets as above.
#[test]
fn wycheproof_x25519_jwk_invalid_keys_refused() {
    use gdpr_gateway::jose::{OkpPublicJwk, jwe};
    let doc = vectors("wycheproof/x25519_jwk_test.json");
    let (mut invalid, mut agreed) = (0, 0);
    for group in doc["testGroups"].as_array().unwrap() {
        for test in group["tests"].as_array().unwrap() {
            let public: Result<OkpPublicJwk, _> = serde_json::from_value(with_kid(&test["public"]));
            let key = public.ok().and_then(|jwk| jwe::x25519_public(&jwk).ok());
            let private = gdpr_gateway::jose::b64::decode_array::<32>(test["private"]["d"].as_str().unwrap()).unwrap();
            let outcome = key.ok_or(()).and_then(|k| danger::agree(&private, k.as_bytes()).map_err(|_| ()));
            match test["result"].as_str().unwrap() {
                "invalid" => {
                    assert!(outcome.is_err(), "tcId {} accepted an invalid key", test["tcId"]);
                    invalid += 1;
                }
                _ => match outcome {
                    Ok(shared) => {
                        assert_eq!(shared.as_slice(), hex(&test["shared"]), "tcId {}", test["tcId"]);
                        agreed += 1;
                    }
                    Err(()) => assert!(hex(&test["shared"]).iter().all(|b| *b == 0), "tcId {}", test["tcId"]),
                },
            }
        }
    }
    assert_eq!((invalid, agreed), (13, 487));
}

/// Wycheproof's JWKs carry `kid: "none"` and no `use`/`alg`; fill in what our public JWK
/// type requires so only the key material is under test.
fn with_kid(jwk: &Value) -> Value {
    let mut jwk = jwk.clone();
    if let Some(map) = jwk.as_object_mut() {
        map.entry("use").or_insert("enc".into());
        map.entry("alg").or_insert("ECDH-ES".into());
    }
    jwk
}

/// Envelopes between our JWE and jwcrypto's, both ways (`tests/interop/jwe_vectors.py`
/// checks the other half): ours opens what jwcrypto sealed with `kid`, and refuses what it
/// sealed without one. With `UPDATE_VECTORS=1` it writes a fresh key and an envelope of
/// ours instead, for the Python script to seal its own to.
#[test]
fn jwe_interop_vector() {
    use gdpr_gateway::jose::{EncryptionKeyPair, PrivateOkpJwk, jwe};
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/jwe_interop.json");
    const PLAINTEXT: &str = r#"{"type":"catalogue.request","request_id":"c1"}"#;
    if std::env::var_os("UPDATE_VECTORS").is_some() {
        let key = EncryptionKeyPair::generate();
        let mut recipient = serde_json::to_value(key.to_jwk()).unwrap();
        recipient["kid"] = key.kid().into();
        let ours = jwe::encrypt(key.public_jwk(), "application/json", PLAINTEXT.as_bytes()).unwrap();
        let doc = serde_json::json!({
            "description": "A wallet envelope (docs/protocol.md) sealed by gdpr-gateway (`ours`) and by jwcrypto (`jwcrypto`, with and without kid) to one X25519 key",
            "recipient": recipient, "plaintext": PLAINTEXT, "ours": ours,
            "jwcrypto": {"with_kid": "", "without_kid": ""},
        });
        std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
        return;
    }
    let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let mut recipient = doc["recipient"].clone();
    let kid = recipient.as_object_mut().unwrap().remove("kid").unwrap();
    let private: PrivateOkpJwk = serde_json::from_value(recipient).unwrap();
    let key = EncryptionKeyPair::from_jwk(&private).unwrap();
    assert_eq!(key.kid(), kid);
    let open = |name: &str| jwe::decrypt(name.as_bytes(), &[&key], 1 << 20);
    for token in [&doc["ours"], &doc["jwcrypto"]["with_kid"]] {
        let opened = open(token.as_str().unwrap()).unwrap();
        assert_eq!(opened.plaintext.as_slice(), PLAINTEXT.as_bytes());
    }
    let err = open(doc["jwcrypto"]["without_kid"].as_str().unwrap()).unwrap_err();
    assert!(matches!(&err, jwe::JweError::Malformed(m) if m.contains("kid")), "{err:?}");
}
