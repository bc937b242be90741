//! `serve --public-url`, and the refusal or warning when the addresses put in QR codes
//! could not be reached from a phone, with the binary as an operator runs it.

use crate::running_binary::{Running, command};

#[test]
fn listening_on_every_interface_needs_a_public_url() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = command(dir.path(), &["serve", "--listen", "0.0.0.0:0", "--data-dir", data.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("public_url: listening on 0.0.0.0:"), "{stderr}");
    assert!(stderr.contains("which no phone can reach; pass --public-url"), "{stderr}");
}

#[test]
fn the_public_url_flag_names_the_gateway_in_what_it_publishes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let gateway =
        Running::start(dir.path(), &["--data-dir", data.to_str().unwrap(), "--public-url", "https://gateway.example/"]);
    let discovery = gateway.get("/.well-known/gdpr-gateway");
    let endpoints = &discovery["endpoints"];
    assert_eq!(endpoints["gateway"], "https://gateway.example/v1");
    assert_eq!(endpoints["jwks_uri"], "https://gateway.example/.well-known/jwks.json");
    assert_eq!(endpoints["relay"], "https://gateway.example/relay", "connect URIs carry the relay's address");
    assert!(!gateway.startup.contains("WALLETS WILL NOT CONNECT"), "{}", gateway.startup);
}

#[test]
fn a_public_url_on_loopback_is_warned_about_when_listening_beyond_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args =
        ["serve", "--listen", "0.0.0.0:0", "--data-dir", data.to_str().unwrap(), "--public-url", "http://localhost:9"];
    let gateway = Running::spawn(dir.path(), &args);
    assert!(gateway.startup.contains("WALLETS WILL NOT CONNECT"), "{}", gateway.startup);
    assert!(gateway.startup.contains("public_url is http://localhost:9"), "{}", gateway.startup);
}
