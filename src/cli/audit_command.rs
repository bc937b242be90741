//! `gdpr-gateway audit verify`: re-walks the audit trail in the database a config names,
//! checks every signed checkpoint kept beside it (and one given from a witness), and names
//! the first entry that was edited, removed, inserted or reordered. Exit 0 intact, 1
//! tampered (the finding on stderr), 2 usage or I/O error.

use std::path::Path;
use std::process::ExitCode;

use crate::gateway::verify_checkpoint;
use crate::jose::Jwks;
use crate::keys::Keyring;
use crate::store::audit_chain::Finding;
use crate::store::audit_store::AuditStore;

/// Largest checkpoint file read for `--from-checkpoint`.
const MAX_CHECKPOINT_FILE_BYTES: u64 = 16 * 1024;

/// Why the walk could not even start, or what it found.
enum Outcome {
    Intact(String),
    Tampered(String),
}

pub(super) fn verify(loaded: crate::config::Loaded, from_checkpoint: Option<&Path>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return usage_error(&format!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(walk(loaded, from_checkpoint)) {
        Ok(Outcome::Intact(summary)) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Ok(Outcome::Tampered(finding)) => {
            eprintln!("audit trail TAMPERED: {finding}");
            ExitCode::FAILURE
        }
        Err(message) => usage_error(&message),
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

async fn walk(loaded: crate::config::Loaded, from_checkpoint: Option<&Path>) -> Result<Outcome, String> {
    let config = &loaded.config;
    let keys_dir = config.data_dir.join(crate::serve::KEYS_DIR);
    let keyring = Keyring::open(&keys_dir).map_err(|e| e.to_string())?;
    let jwks = keyring.jwks();
    if config.database_url.is_none() && !config.data_dir.join(crate::store::SQLITE_FILE).is_file() {
        return Err(format!("no database in {}", config.data_dir.display()));
    }
    let db = crate::store::open(config.database_url.as_ref(), &config.data_dir).await.map_err(|e| e.to_string())?;
    let store = AuditStore::new(db);

    // Each kept checkpoint must carry the gateway's signature over exactly its row.
    let mut vouched = Vec::new();
    for checkpoint in store.checkpoints().await.map_err(|e| e.to_string())? {
        let claims = match verify_checkpoint(checkpoint.token.as_bytes(), &jwks) {
            Ok(claims) if claims.iss == config.controller.id => claims,
            Ok(claims) => {
                let issuer = claims.iss;
                return Ok(Outcome::Tampered(format!("the checkpoint at entry {} is {issuer:?}'s", checkpoint.seq)));
            }
            Err(e) => {
                return Ok(Outcome::Tampered(format!(
                    "the checkpoint at entry {} does not verify: {e}",
                    checkpoint.seq
                )));
            }
        };
        if (claims.audit.seq, &claims.audit.hash) != (checkpoint.seq, &checkpoint.hash) {
            return Ok(Outcome::Tampered(format!("the checkpoint kept at entry {} was changed", checkpoint.seq)));
        }
        vouched.push((claims.audit.seq, claims.audit.hash));
    }
    let kept = vouched.len();
    let witness = match from_checkpoint {
        Some(path) => Some(witnessed(path, &jwks, &config.controller.id)?),
        None => None,
    };
    // The witnessed head is one more hash the chain must have, checked on the same walk
    // from the first entry: nothing before it is taken on trust.
    vouched.extend(witness.clone());
    // Entries older than `[retention] audit` go in stretches that end at a signed
    // checkpoint, and an `audit.pruned` entry records each: only then may the chain start
    // after entry 1.
    let anchor = match store.pruned_below().await.map_err(|e| e.to_string())? {
        None => None,
        Some((seq, recorded)) => match vouched.iter().find(|(s, _)| *s == seq) {
            Some((_, hash)) if recorded => Some((seq, hash.clone())),
            _ => return Ok(Outcome::Tampered(Finding::Removed { seq: 1 }.to_string())),
        },
    };
    let unchecked = witness.as_ref().zip(anchor.as_ref()).filter(|((w, _), (a, _))| w < a).map(|((w, _), _)| *w);
    let walked = store.verify(vouched, anchor.clone()).await.map_err(|e| e.to_string())?;
    Ok(match walked.finding {
        Some(finding) => Outcome::Tampered(finding.to_string()),
        None => Outcome::Intact(format!(
            "audit trail intact: {} entries, head at entry {}, {kept} kept checkpoints verified{}",
            walked.entries,
            walked.last,
            match (witness, unchecked) {
                (Some((seq, _)), None) => format!(", agrees with the witnessed checkpoint at entry {seq}"),
                (Some((seq, _)), Some(_)) => {
                    format!(", the witnessed checkpoint at entry {seq} lies in the pruned part and was not compared")
                }
                (None, _) => String::new(),
            } + &anchor
                .map(|(seq, _)| format!("; starts after the signed checkpoint at entry {seq} (older entries pruned)"))
                .unwrap_or_default()
        )),
    })
}

/// The head a checkpoint from a witness vouches for, once its signature verified.
fn witnessed(path: &Path, jwks: &Jwks, controller: &str) -> Result<(u64, String), String> {
    let read = |e: std::io::Error| format!("{}: {e}", path.display());
    let size = std::fs::metadata(path).map_err(read)?.len();
    if size > MAX_CHECKPOINT_FILE_BYTES {
        return Err(format!("{} is larger than {MAX_CHECKPOINT_FILE_BYTES} bytes: not a checkpoint", path.display()));
    }
    let token = std::fs::read(path).map_err(read)?;
    let claims = verify_checkpoint(token.trim_ascii(), jwks).map_err(|e| format!("{}: {e}", path.display()))?;
    if claims.iss != controller {
        return Err(format!("{}: a checkpoint of {:?}, not of {controller:?}", path.display(), claims.iss));
    }
    Ok((claims.audit.seq, claims.audit.hash))
}
