//! The built-in demo: an inventory and data set compiled into the binary, and a portal
//! token written to the data dir, so `serve` works with zero configuration. `demo/` tells
//! the whole story on top of it.

use std::path::{Path, PathBuf};

use rand_core::{OsRng, RngCore};

use crate::config::{PortalClient, StaffMember, StaffRole, TokenDigest};
use crate::jose::b64;
use crate::keys::private_file::{self, PrivateFileError};

/// The demo configuration text.
pub const CONFIG: &str = include_str!("demo.toml");
/// The second organisation of `gdpr-gateway demo`, which receives a forwarded bundle.
pub const RECEIVER_CONFIG: &str = include_str!("receiver.toml");
/// Directory under the data dir where the demo data set is written.
pub const DATA_DIR: &str = "demo-data";
/// File under the data dir holding the demo portal token.
pub const TOKEN_FILE: &str = "demo-portal-token";
pub const PORTAL_CLIENT_ID: &str = "demo-portal";
/// Largest demo token file read.
const MAX_TOKEN_FILE_BYTES: u64 = 1024;
/// The demo's staff, one per role, each with a token in `demo-staff-<role>-token`.
pub const STAFF_ROLES: &[StaffRole] = &[StaffRole::Handler, StaffRole::Approver, StaffRole::Auditor, StaffRole::Admin];
/// Subjects of the demo data set.
pub const SUBJECTS: &[&str] = &["alice", "bob"];

const FILES: &[(&str, &str)] = &[
    ("alice/contact.jsonl", include_str!("data/alice/contact.jsonl")),
    ("alice/contracts.jsonl", include_str!("data/alice/contracts.jsonl")),
    ("alice/meter_readings.jsonl", include_str!("data/alice/meter_readings.jsonl")),
    ("alice/payments.jsonl", include_str!("data/alice/payments.jsonl")),
    ("alice/service_notes.jsonl", include_str!("data/alice/service_notes.jsonl")),
    ("alice/medical_priority.jsonl", include_str!("data/alice/medical_priority.jsonl")),
    ("bob/contact.jsonl", include_str!("data/bob/contact.jsonl")),
    ("bob/contracts.jsonl", include_str!("data/bob/contracts.jsonl")),
    ("bob/meter_readings.jsonl", include_str!("data/bob/meter_readings.jsonl")),
    ("bob/payments.jsonl", include_str!("data/bob/payments.jsonl")),
];

/// What demo mode set up.
#[derive(Debug)]
pub struct Demo {
    pub token_path: PathBuf,
    pub portal_client: PortalClient,
    /// `demo-handler`, `demo-approver`, …, with their tokens in the data dir.
    pub staff: Vec<StaffMember>,
}

/// The file under the data dir holding the demo token of the staff member with `role`.
pub fn staff_token_file(role: StaffRole) -> String {
    format!("demo-staff-{}-token", role.as_str())
}

/// Writes the demo data set (fresh on every start) and reuses or creates the portal token.
pub fn prepare(data_dir: &Path) -> Result<Demo, PrivateFileError> {
    let root = data_dir.join(DATA_DIR);
    for (name, content) in FILES {
        let path = root.join(name);
        let write_err = |source| PrivateFileError::Write { path: path.clone(), source };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(write_err)?;
        }
        std::fs::write(&path, content).map_err(write_err)?;
    }
    let token_path = data_dir.join(TOKEN_FILE);
    let token = reuse_or_create_token(&token_path)?;
    let portal_client = PortalClient { id: PORTAL_CLIENT_ID.to_owned(), token_sha256: TokenDigest::of(&token) };
    let mut staff = Vec::with_capacity(STAFF_ROLES.len());
    for &role in STAFF_ROLES {
        let token = reuse_or_create_token(&data_dir.join(staff_token_file(role)))?;
        staff.push(StaffMember { id: format!("demo-{}", role.as_str()), role, token_sha256: TokenDigest::of(&token) });
    }
    Ok(Demo { token_path, portal_client, staff })
}

/// The token in the 0600 file at `path`, written first when there is none.
fn reuse_or_create_token(path: &Path) -> Result<String, PrivateFileError> {
    match private_file::read(path, MAX_TOKEN_FILE_BYTES) {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).trim().to_owned()),
        Err(PrivateFileError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            let token = new_token();
            private_file::write(path, format!("{token}\n").as_bytes())?;
            Ok(token)
        }
        Err(e) => Err(e),
    }
}

/// A 256-bit random token from the OS RNG, base64url.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    b64::encode(bytes)
}
