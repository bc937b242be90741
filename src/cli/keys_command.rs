//! `keys list | rotate | export-history`: the controller's keys on disk, and the signed key
//! history a verifier archives.

use std::path::{Path, PathBuf};

use super::KeyArgs;
use crate::clock::{Clock, SystemClock, rfc3339};
use crate::keys::Keyring;
use crate::protocol::key_history::{self, KeyHistory};
use crate::serve;

fn keyring_dir(args: &KeyArgs) -> Result<PathBuf, String> {
    Ok(args.load().map_err(|e| e.to_string())?.config.data_dir.join(serve::KEYS_DIR))
}

pub(super) fn list(args: &KeyArgs, json: bool) -> Result<(), String> {
    let ring = Keyring::open(&keyring_dir(args)?).map_err(|e| e.to_string())?;
    let keys = ring.list();
    if json {
        println!("{}", serde_json::to_string_pretty(&keys).map_err(|e| e.to_string())?);
        return Ok(());
    }
    println!("{:<44}  {:<8}  {:<20}  status", "kid", "curve", "created");
    for key in keys {
        let status = match (key.active, key.curve) {
            (true, _) => "active",
            (false, crate::jose::Curve::Ed25519) => "verify-only",
            (false, _) => "decrypt-only",
        };
        println!("{:<44}  {:<8}  {:<20}  {status}", key.kid, key.curve.as_str(), rfc3339(key.created_at));
    }
    Ok(())
}

pub(super) fn rotate(args: &KeyArgs) -> Result<(), String> {
    let dir = keyring_dir(args)?;
    let mut ring = Keyring::open(&dir).map_err(|e| e.to_string())?;
    let old = ring.active_signing().kid().to_owned();
    ring.rotate(SystemClock.now()).map_err(|e| e.to_string())?;
    println!(
        "rotated: new signing key {} is active; {old} stays in the JWKS as verify-only",
        ring.active_signing().kid()
    );
    println!("restart every instance within 7 days to sign with the new key; after that the old one is retired");
    Ok(())
}

/// Writes the key history, signed with the active key, to `out` or stdout.
pub(super) fn export_history(args: &KeyArgs, out: Option<&Path>) -> Result<(), String> {
    let loaded = args.load().map_err(|e| e.to_string())?;
    let ring = Keyring::open(&loaded.config.data_dir.join(serve::KEYS_DIR)).map_err(|e| e.to_string())?;
    let history = KeyHistory {
        iss: loaded.config.controller.id.clone(),
        iat: SystemClock.now(),
        version: key_history::VERSION,
        keys: ring.jwks(),
    };
    let token = history.sign(ring.active_signing()).map_err(|e| e.to_string())?;
    match out {
        Some(path) => {
            std::fs::write(path, format!("{token}\n")).map_err(|e| format!("{}: {e}", path.display()))?;
            eprintln!(
                "key history of {} ({} signing keys) written to {}",
                history.iss,
                history.keys.keys.len(),
                path.display()
            );
        }
        None => println!("{token}"),
    }
    Ok(())
}
