//! josekit, the JOSE library the design card names, as an independent check of ours: its
//! EdDSA verifier accepts the bundles the gateway signs; its ECDH-ES (X25519) + A256GCM
//! JWE opens our envelopes and we open its own, with `kid` (without one we refuse, as
//! `docs/protocol.md` requires); request proofs in the DPoP shape verify both ways. The
//! product itself stays on ed25519-dalek and its own narrow JOSE layer.

use gdpr_gateway::jose::{EncryptionKeyPair, Jwks, SigningKeyPair, dpop, jwe};
use josekit::jwe::{ECDH_ES, JweHeader};
use josekit::jwk::Jwk;
use josekit::jws::{EdDSA, JwsHeader};
use serde_json::{Value, json};

use crate::common::TestGateway;

/// A JWK of ours (public or private) as josekit reads it.
fn josekit_jwk(value: &impl serde::Serialize) -> Jwk {
    Jwk::from_bytes(serde_json::to_vec(value).unwrap()).unwrap()
}

#[tokio::test]
async fn josekit_verifies_the_bundles_we_sign() {
    let gw = TestGateway::demo().await;
    let request = serde_json::from_value(json!({"format": "jwt", "purpose": "access"})).unwrap();
    let token = gw.portal_client().export("alice", &request).await.text().await.unwrap();
    let published: Jwks = gw.get("/.well-known/jwks.json").send().await.unwrap().json().await.unwrap();
    let verifier = EdDSA.verifier_from_jwk(&josekit_jwk(&published.keys[0])).unwrap();
    let (payload, header) = josekit::jws::deserialize_compact(&token, &verifier).unwrap();
    assert_eq!((header.token_type(), header.key_id()), (Some("gdpr-bundle+jwt"), Some(published.keys[0].kid.as_str())));
    let claims: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!((&claims["iss"], &claims["sub"]), (&json!("https://demo.gdpr-gateway.example"), &json!("alice")));
    let mut tampered = token.clone().into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    assert!(josekit::jws::deserialize_compact(&tampered, &verifier).is_err());
    gw.stop().await.unwrap();
}

#[test]
fn our_envelopes_open_in_josekit_and_its_open_in_ours() {
    let ours = EncryptionKeyPair::generate();
    let plaintext = br#"{"type":"catalogue.request","request_id":"c1"}"#;

    let sealed = jwe::encrypt(ours.public_jwk(), "application/json", plaintext).unwrap();
    let decrypter = ECDH_ES.decrypter_from_jwk(&josekit_jwk(&ours.to_jwk())).unwrap();
    let (opened, header) = josekit::jwe::deserialize_compact(&sealed, &decrypter).unwrap();
    assert_eq!((opened.as_slice(), header.key_id()), (&plaintext[..], Some(ours.kid())));

    let encrypter = ECDH_ES.encrypter_from_jwk(&josekit_jwk(ours.public_jwk())).unwrap();
    let mut header = JweHeader::new();
    header.set_content_encryption("A256GCM");
    header.set_content_type("application/json");
    header.set_key_id(ours.kid());
    let theirs = josekit::jwe::serialize_compact(plaintext, &header, &encrypter).unwrap();
    let opened = jwe::decrypt(theirs.as_bytes(), &[&ours], 1 << 20).unwrap();
    assert_eq!((opened.plaintext.as_slice(), opened.header["epk"]["crv"].as_str()), (&plaintext[..], Some("X25519")));

    // Without `kid` the envelope names no key of ours: refused, not tried against each.
    // (josekit copies a key's `kid` into the header, so the key it encrypts to has none.)
    let bare = josekit_jwk(&json!({"kty": "OKP", "crv": "X25519", "x": ours.public_jwk().x}));
    let mut anonymous = JweHeader::new();
    anonymous.set_content_encryption("A256GCM");
    let theirs =
        josekit::jwe::serialize_compact(plaintext, &anonymous, &ECDH_ES.encrypter_from_jwk(&bare).unwrap()).unwrap();
    let err = jwe::decrypt(theirs.as_bytes(), &[&ours], 1 << 20).unwrap_err();
    assert!(matches!(&err, jwe::JweError::Malformed(m) if m.contains("kid")), "{err:?}");
    // And what josekit sealed for another key does not open with ours.
    let stranger = EncryptionKeyPair::generate();
    let to_stranger = ECDH_ES.encrypter_from_jwk(&josekit_jwk(stranger.public_jwk())).unwrap();
    let mut header = JweHeader::new();
    header.set_content_encryption("A256GCM");
    header.set_key_id(ours.kid());
    let misaddressed = josekit::jwe::serialize_compact(plaintext, &header, &to_stranger).unwrap();
    assert_eq!(jwe::decrypt(misaddressed.as_bytes(), &[&ours], 1 << 20).unwrap_err(), jwe::JweError::DecryptionFailed);
}

#[test]
fn request_proofs_verify_in_josekit_and_its_proofs_in_ours() {
    const IAT: u64 = 1_795_305_600;
    let (htm, htu) = ("POST", "https://relay.example/v1/mailboxes/c0ffee/messages");
    let key = SigningKeyPair::generate();

    let proof = dpop::sign(&key, htm, htu, IAT);
    let header: Value =
        serde_json::from_slice(&gdpr_gateway::jose::b64::decode(proof.split('.').next().unwrap()).unwrap()).unwrap();
    let embedded = Jwk::from_bytes(serde_json::to_vec(&header["jwk"]).unwrap()).unwrap();
    let verifier = EdDSA.verifier_from_jwk(&embedded).unwrap();
    let (payload, header) = josekit::jws::deserialize_compact(&proof, &verifier).unwrap();
    let claims: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(header.token_type(), Some("dpop+jwt"));
    assert_eq!((&claims["htm"], &claims["htu"], &claims["iat"]), (&json!(htm), &json!(htu), &json!(IAT)));

    let signer = EdDSA.signer_from_jwk(&josekit_jwk(&key.to_jwk())).unwrap();
    let mut header = JwsHeader::new();
    header.set_token_type("dpop+jwt");
    header.set_jwk(josekit_jwk(&json!({"kty": "OKP", "crv": "Ed25519", "x": key.public_jwk().x})));
    let claims = json!({"jti": "josekit-1", "htm": htm, "htu": htu, "iat": IAT});
    let theirs = josekit::jws::serialize_compact(&serde_json::to_vec(&claims).unwrap(), &header, &signer).unwrap();
    let verified = dpop::verify(theirs.as_bytes(), htm, htu, IAT).unwrap();
    assert_eq!((verified.key.kid.as_str(), verified.jti.as_str()), (key.kid(), "josekit-1"));
    assert!(matches!(dpop::verify(theirs.as_bytes(), "GET", htu, IAT), Err(dpop::ProofError::WrongRequest { .. })));
}
