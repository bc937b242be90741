//! Example bodies of the relay's wire types for the OpenAPI document: real keys (their
//! `kid`s are their RFC 7638 thumbprints) and values of the right shapes. The core keeps
//! them beside the types, since it may not import the API layer; a test reads each back
//! into its type.

use serde_json::{Value, json};

const CONTROLLER: &str = "https://zonnestroom.example";
const CONNECTION: &str = "c2a81f0e9d7b4c6a8e5f3d1b0a9c7e64";

fn encryption_jwk() -> Value {
    json!({ "kty": "OKP", "crv": "X25519", "x": "HB4xz82azO1df2st7oD7TTNlGMG7ahIYE8RXrpvBjyk",
            "kid": "yHR-Ly4Z7GQ_Gd5Fo6lTAnH3l17juje4AtotMXjanOY", "use": "enc", "alg": "ECDH-ES" })
}

fn wallet_signing_jwk() -> Value {
    json!({ "kty": "OKP", "crv": "Ed25519", "x": "1TsLMv_qzPRGmo1Z2Oekc0M15xfby4_NZhmodXN_0mU",
            "kid": "xTL2XrxRp_jwxQiEJrtrlph_J0wvtyz3ca8BGJiNpuw", "use": "sig", "alg": "EdDSA" })
}

fn wallet_encryption_jwk() -> Value {
    json!({ "kty": "OKP", "crv": "X25519", "x": "JQd4DGIVvBCFBX9niT48oZdfw7j6aw8mHJJ3o913MRA",
            "kid": "cn3J6lg4qwGN-OgybKxk5JJ4v53Akze5-AkrlAnT-pc", "use": "enc", "alg": "ECDH-ES" })
}

/// The organisation's signing keys.
fn jwks() -> Value {
    crate::jose::example_jwks()
}

pub(crate) fn register_token() -> Value {
    json!({ "token_sha256": "5f2b9c1e7a3d4f6b8c0e2a4d6f8b0c2e4a6d8f0b2c4e6a8d0f2b4c6e8a0d2f4b", "expires_at": 1796033400 })
}

pub(crate) fn connect_request() -> Value {
    json!({ "token": "q7Vw0c3nJ8mZ5xYb2aKp4tLr9sDf6gHj1kQe8uIo0Ww", "encryption_jwk": wallet_encryption_jwk() })
}

pub(crate) fn open_connection() -> Value {
    json!({ "controller_id": "https://groene-stroom.example", "encryption_jwk": wallet_encryption_jwk() })
}

pub(crate) fn connected() -> Value {
    json!({
        "connection_id": CONNECTION,
        "controller": {
            "id": CONTROLLER,
            "name": "Zonnestroom B.V.",
            "jwks": jwks(),
            "encryption_jwks": { "keys": [encryption_jwk()] },
            "privacy_contact": "privacy@zonnestroom.example"
        }
    })
}

pub(crate) fn connection_info() -> Value {
    json!({
        "connection_id": CONNECTION,
        "controller_id": CONTROLLER,
        "token_sha256": "5f2b9c1e7a3d4f6b8c0e2a4d6f8b0c2e4a6d8f0b2c4e6a8d0f2b4c6e8a0d2f4b",
        "origin": "token",
        "wallet_signing_jwk": wallet_signing_jwk(),
        "wallet_encryption_jwk": wallet_encryption_jwk(),
        "state": "open",
        "created_at": 1796033172
    })
}

pub(crate) fn mailbox_items() -> Value {
    json!({ "items": [{
        "id": "e4b1c7a9d3f5e2b8c6a0d4f2b7e9c1a3",
        "connection_id": CONNECTION,
        "kind": "envelope",
        "body": "eyJhbGciOiJFQ0RILUVTIiwiZW5jIjoiQTI1NkdDTSIsImtpZCI6ImNuM0oifQ..iv.ciphertext.tag",
        "created_at": 1796033180,
        "expires_at": 1796637980
    }] })
}

pub(crate) fn stored_blob() -> Value {
    json!({
        "blob_id": "b7d2e9f4a1c6b3e8d5f0a7c2e9b4d1f6",
        "size": 1048576,
        "sha256": "e3b98a4da31a127d4bde6e43033f66ba274cab0eb7eb1c70ec41402bf6273dd8"
    })
}

pub(crate) fn posted() -> Value {
    json!({ "id": "a3c5e7f9b1d3f5a7c9e1b3d5f7a9c1e3", "expires_at": 1796637980 })
}
