//! The pinned generator reads the wallet library as `cargo test` built it and writes
//! bindings that expose the wallet's API: what `mobile-sdk/bindings.sh` relies on, and why
//! the test build also builds this binary (`bindings.sh` then reuses it).

// A panic in a test is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

/// The wallet's shared library beside this test's own executable (`target/<profile>/deps`),
/// where cargo puts the dev-dependency's `cdylib`.
fn wallet_library() -> PathBuf {
    let deps = std::env::current_exe().unwrap().parent().unwrap().to_owned();
    let name = if cfg!(target_os = "macos") { "libgdpr_wallet.dylib" } else { "libgdpr_wallet.so" };
    deps.join(name)
}

#[test]
fn python_bindings_expose_the_wallet_api() {
    let library = wallet_library();
    assert!(library.is_file(), "{} was not built", library.display());
    let out = tempfile::tempdir().unwrap();
    let generated = Command::new(env!("CARGO_BIN_EXE_uniffi-bindgen"))
        .args(["generate", "--no-format", "--language", "python", "--library"])
        .arg(&library)
        .arg("--out-dir")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    let module = std::fs::read_to_string(out.path().join("gdpr_wallet.py")).unwrap();
    for api in ["class Wallet", "def submit_request(", "def confirm_correction(", "class CorrectionProof"] {
        assert!(module.contains(api), "the Python module lacks {api:?}");
    }
}
