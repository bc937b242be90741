//! Entry points for the fuzz targets in `fuzz/` (`cargo +nightly fuzz run <name>`) and for
//! the replay of their committed corpora on stable (`tests/it/fuzz_corpora.rs`): each feeds
//! untrusted bytes to one parser or verifier, which must refuse them without panicking.
//! The keys are fresh per process: what is fuzzed is the parsing before any signature
//! could verify.

use std::io::Cursor;
use std::sync::OnceLock;

use crate::jose::{EncryptionKeyPair, Jwks, SigningKeyPair, jwe, jws, strict_json};
use crate::protocol::relay_wire::{ConnectUri, MAX_ENVELOPE_BYTES};
use crate::protocol::trust_list::TrustList;

/// Largest input the targets pass on; libFuzzer's inputs stay far below it.
const MAX_INPUT_BYTES: usize = 1 << 20;

struct Keys {
    encryption: EncryptionKeyPair,
    jwks: Jwks,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let jwks = Jwks { keys: vec![SigningKeyPair::generate().public_jwk().clone()] };
        Keys { encryption: EncryptionKeyPair::generate(), jwks }
    })
}

/// The strict JSON check (duplicate members, depth) every JWS payload and header passes.
pub fn strict_json(data: &[u8]) {
    let _ = strict_json::check(data);
}

/// Compact JWS verification under the bundle policy.
pub fn jws(data: &[u8]) {
    let policy = jws::Policy { typ: "gdpr-bundle+jwt", max_bytes: MAX_INPUT_BYTES };
    let _ = jws::verify(data, &keys().jwks, policy);
}

/// Compact JWE decryption with our X25519 key.
pub fn jwe(data: &[u8]) {
    let _ = jwe::decrypt(data, &[&keys().encryption], MAX_INPUT_BYTES);
}

/// The zip package verifier (BagIt, manifests, detached signature).
pub fn zip_package(data: &[u8]) {
    let _ = crate::bundle::package::verify_package(Cursor::new(data), &keys().jwks, &mut |_| {});
}

/// Connect URIs as a wallet reads them from a QR code.
pub fn connect_uri(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ConnectUri::parse(text);
    }
}

/// A signed trust list under pinned operator keys.
pub fn trust_list(data: &[u8]) {
    let _ = TrustList::verify(data, &keys().jwks, 1_800_000_000);
}

/// The config loader, as `serve --config` reads a file.
#[cfg(feature = "server")]
pub fn config(data: &[u8]) {
    use crate::config::{Origin, Overrides, from_text};
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = from_text(Origin::BuiltInDemo, text, Vec::new(), Overrides::default());
    }
}

/// The relay's check that a mailbox item is a well-formed JWE envelope.
pub fn relay_envelope(data: &[u8]) {
    let _ = jwe::check_shape(data, MAX_ENVELOPE_BYTES);
}

/// A target: bytes in, no panic out.
pub type Target = fn(&[u8]);

/// Every target by name, for the corpus replay.
pub const TARGETS: &[(&str, Target)] = &[
    ("strict_json", strict_json),
    ("jws", jws),
    ("jwe", jwe),
    ("zip_package", zip_package),
    ("connect_uri", connect_uri),
    ("trust_list", trust_list),
    #[cfg(feature = "server")]
    ("config", config),
    ("relay_envelope", relay_envelope),
];

#[cfg(test)]
mod tests {
    #[test]
    fn every_target_takes_empty_and_odd_input() {
        for (_, target) in super::TARGETS {
            for input in [&b""[..], b"{", b"a.b.c", b"\xff\x00", b"gdpr-wallet://connect?relay="] {
                target(input);
            }
        }
    }
}
