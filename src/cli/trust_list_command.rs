//! `gdpr-gateway trust-list init | add | remove | sign | show | rotate-key`: what the
//! operator of a trust framework needs to keep its list. A directory holds the operator's
//! keys (0600 files in a 0700 directory), the public JWKS that relays and gateways pin,
//! and the entries, each read from a gateway's own discovery document. `sign` writes the
//! list the relay serves; `docs/operating-a-relay.md` walks through it.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde::{Deserialize, Serialize};

use super::issuer_discovery::checked_url;
use super::verify_command::{MAX_JWKS_BYTES, fetch, load_bytes, load_jwks, printable, read_capped};
use crate::clock::{Clock, SystemClock, UnixSeconds, rfc3339};
use crate::inventory::duration::IsoDuration;
use crate::jose::{Curve, Jwks, PrivateOkpJwk, SigningKeyPair, thumbprint};
use crate::keys::private_file;
use crate::protocol::trust_list::{self, Entry, TrustList};

/// The operator's id and key history, beside the keys themselves.
const OPERATOR_FILE: &str = "operator.json";
/// The public keys relays and gateways pin (`--operator-jwks`, `relay_operator_jwks`).
pub(super) const OPERATOR_JWKS_FILE: &str = "operator.jwks.json";
/// The entries, unsigned.
const ENTRIES_FILE: &str = "entries.json";
/// Where `sign` writes the list unless told otherwise.
const LIST_FILE: &str = "trust-list.jwt";
/// Largest operator or entries file read.
const MAX_STATE_BYTES: u64 = 4 * 1024 * 1024;
/// Largest discovery document read.
const MAX_DISCOVERY_BYTES: u64 = 4 * 1024 * 1024;
/// Default lifetime of a signed list: relays re-read it every 5 minutes, so a daily
/// re-sign keeps a removed controller out within a day.
const DEFAULT_VALID_FOR: &str = "P1D";
/// Default time a new operator key is published before it signs, for every relay and
/// gateway to pick up the new JWKS.
const DEFAULT_OVERLAP: &str = "P14D";

#[derive(Debug, Subcommand)]
pub(super) enum TrustListCommand {
    /// Start a trust list: an operator key and an empty list in DIR.
    Init {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// The operator's id, an https URL (the list's `iss`).
        #[arg(long, value_name = "URL")]
        operator_id: String,
    },
    /// Add a controller, or refresh its keys, from its gateway's discovery document
    /// (https://…/.well-known/gdpr-gateway), which must name the controller `--id`.
    Add {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// The controller being added, as agreed with it: the document must say so.
        #[arg(long, value_name = "URL")]
        id: String,
        #[arg(long, value_name = "URL")]
        discovery: String,
    },
    /// Remove a controller by its id.
    Remove {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        #[arg(long, value_name = "URL")]
        id: String,
    },
    /// Sign the list with the operator key in turn; relays serve the file it writes.
    Sign {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// How long the signed list stays valid (ISO 8601).
        #[arg(long, value_name = "DURATION", default_value = DEFAULT_VALID_FOR)]
        valid_for: String,
        /// Write the list here [default: DIR/trust-list.jwt].
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Check a signed list against the operator's JWKS and print it.
    Show {
        /// The signed list: a file or an http(s) URL.
        list: String,
        #[arg(long, value_name = "FILE_OR_URL")]
        operator_jwks: String,
    },
    /// Make a new operator key: published in the JWKS at once, signing once the overlap has
    /// passed; the key before the current one is dropped.
    RotateKey {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// How long the new key is published before it signs (ISO 8601).
        #[arg(long, value_name = "DURATION", default_value = DEFAULT_OVERLAP)]
        overlap: String,
    },
}

/// `operator.json`: who signs, and the keys in order.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Operator {
    id: String,
    keys: Vec<OperatorKey>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OperatorKey {
    kid: String,
    created_at: UnixSeconds,
    /// Signs from then on, until a later key does.
    signs_from: UnixSeconds,
}

pub(super) fn run(command: TrustListCommand) -> Result<(), String> {
    let now = SystemClock.now();
    match command {
        TrustListCommand::Init { dir, operator_id } => init(&dir, &operator_id, now),
        TrustListCommand::Add { dir, id, discovery } => add(&dir, &id, &discovery),
        TrustListCommand::Remove { dir, id } => remove(&dir, &id),
        TrustListCommand::Sign { dir, valid_for, out } => sign(&dir, &valid_for, out.as_deref(), now),
        TrustListCommand::Show { list, operator_jwks } => show(&list, &operator_jwks, now),
        TrustListCommand::RotateKey { dir, overlap } => rotate_key(&dir, &overlap, now),
    }
}

fn init(dir: &Path, operator_id: &str, now: UnixSeconds) -> Result<(), String> {
    checked_url(operator_id).map_err(|m| format!("--operator-id {operator_id:?} {m}"))?;
    if dir.join(OPERATOR_FILE).exists() {
        return Err(format!("{} already holds a trust list", dir.display()));
    }
    private_file::create_dir(dir).map_err(|e| e.to_string())?;
    let key = SigningKeyPair::generate();
    write_key(dir, &key)?;
    let operator = Operator {
        id: operator_id.to_owned(),
        keys: vec![OperatorKey { kid: key.kid().to_owned(), created_at: now, signs_from: now }],
    };
    save(dir, &operator, &[])?;
    println!("trust list started in {}: operator {operator_id}, key {}", dir.display(), key.kid());
    println!(
        "pin {} in relays (--operator-jwks) and gateways (relay_operator_jwks)",
        dir.join(OPERATOR_JWKS_FILE).display()
    );
    Ok(())
}

fn add(dir: &Path, id: &str, discovery_url: &str) -> Result<(), String> {
    let (operator, mut entries) = load(dir)?;
    let entry = entry_from(discovery_url)?;
    // Whoever answers at the URL chooses the document; only the operator knows whom it
    // agreed to add.
    if entry.id != id {
        return Err(format!("{discovery_url} is the document of {:?}, not of {id:?}", entry.id));
    }
    let own_host = format!("{}/.well-known/gdpr-gateway", id.trim_end_matches('/'));
    if discovery_url != own_host {
        eprintln!("note: read from another host than the controller id's; confirm the key ids below with {id}");
    }
    let taken = entries
        .iter()
        .filter(|e| e.id != entry.id)
        .flat_map(|e| e.jwks.keys.iter().map(move |k| (&e.id, k)))
        .find(|(_, k)| entry.jwks.find(&k.kid).is_some());
    if let Some((owner, key)) = taken {
        return Err(format!("the signing key {} is already listed for {owner}", key.kid));
    }
    let kids = |e: &Entry| e.jwks.keys.iter().map(|k| k.kid.clone()).collect::<Vec<_>>();
    match entries.iter().find(|e| e.id == entry.id) {
        Some(before) => {
            let (old, new) = (kids(before), kids(&entry));
            let gone: Vec<&String> = old.iter().filter(|k| !new.contains(k)).collect();
            let added: Vec<&String> = new.iter().filter(|k| !old.contains(k)).collect();
            println!(
                "refreshed {} ({}): signing keys added {added:?}, removed {gone:?}",
                entry.id,
                printable(&entry.name)
            );
        }
        None => println!("added {} ({}): signing keys {:?}", entry.id, printable(&entry.name), kids(&entry)),
    }
    entries.retain(|e| e.id != entry.id);
    entries.push(entry);
    entries.sort_by(|a, b| a.id.cmp(&b.id));
    save(dir, &operator, &entries)
}

fn remove(dir: &Path, id: &str) -> Result<(), String> {
    let (operator, mut entries) = load(dir)?;
    let before = entries.len();
    entries.retain(|e| e.id != id);
    if entries.len() == before {
        return Err(format!("{id:?} is not in the list"));
    }
    save(dir, &operator, &entries)?;
    println!("removed {id}; sign the list again for relays to see it");
    Ok(())
}

fn sign(dir: &Path, valid_for: &str, out: Option<&Path>, now: UnixSeconds) -> Result<(), String> {
    let valid_for = IsoDuration::parse(valid_for).map_err(|e| format!("--valid-for {valid_for:?}: {e}"))?;
    let (operator, entries) = load(dir)?;
    let signer = operator
        .keys
        .iter()
        .filter(|k| k.signs_from <= now)
        .max_by_key(|k| k.signs_from)
        .ok_or("no operator key signs yet")?;
    let key = read_key(dir, &signer.kid)?;
    let exp = valid_for.after(now);
    let list =
        TrustList { iss: operator.id.clone(), iat: now, exp, version: trust_list::VERSION, controllers: entries };
    let token = list.sign(&key).map_err(|e| e.to_string())?;
    let path = out.map_or_else(|| dir.join(LIST_FILE), Path::to_owned);
    // Relays re-read the file while it is replaced: never let them see half of it.
    let temporary = path.with_extension("jwt.tmp");
    std::fs::write(&temporary, format!("{token}\n"))
        .and_then(|()| std::fs::rename(&temporary, &path))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    println!(
        "signed {} controllers with {} until {}: {}",
        list.controllers.len(),
        signer.kid,
        rfc3339(exp),
        path.display()
    );
    Ok(())
}

fn show(list: &str, operator_jwks: &str, now: UnixSeconds) -> Result<(), String> {
    let operator = load_jwks(operator_jwks).map_err(|m| format!("--operator-jwks {operator_jwks}: {m}"))?;
    let bytes = load_bytes(list, trust_list::MAX_BYTES as u64).map_err(|m| format!("{list}: {m}"))?;
    let list = TrustList::verify(&bytes, &operator, now).map_err(|e| e.to_string())?;
    println!("trust list of {}, signed {}, valid until {}", list.iss, rfc3339(list.iat), rfc3339(list.exp));
    for entry in &list.controllers {
        let kids: Vec<&str> = entry.jwks.keys.iter().map(|k| k.kid.as_str()).collect();
        println!("  {:<44} {}  signing keys: {}", printable(&entry.id), printable(&entry.name), kids.join(", "));
    }
    Ok(())
}

fn rotate_key(dir: &Path, overlap: &str, now: UnixSeconds) -> Result<(), String> {
    let overlap = IsoDuration::parse(overlap).map_err(|e| format!("--overlap {overlap:?}: {e}"))?;
    let (mut operator, entries) = load(dir)?;
    let key = SigningKeyPair::generate();
    write_key(dir, &key)?;
    let signs_from = overlap.after(now);
    // Keep the key signing now, and any still waiting; older ones are done.
    let current = operator.keys.iter().filter(|k| k.signs_from <= now).map(|k| k.signs_from).max();
    let dropped: Vec<String> =
        operator.keys.iter().filter(|k| current.is_some_and(|c| k.signs_from < c)).map(|k| k.kid.clone()).collect();
    operator.keys.retain(|k| !dropped.contains(&k.kid));
    operator.keys.push(OperatorKey { kid: key.kid().to_owned(), created_at: now, signs_from });
    save(dir, &operator, &entries)?;
    // Only once nothing names them any more.
    for kid in &dropped {
        let _ = std::fs::remove_file(key_path(dir, kid));
    }
    println!("new operator key {} is published now and signs from {}", key.kid(), rfc3339(signs_from));
    println!("hand the new {} to every relay and gateway before then", dir.join(OPERATOR_JWKS_FILE).display());
    Ok(())
}

/// A trust list entry from a gateway's discovery document and the JWKS it names.
fn entry_from(discovery_url: &str) -> Result<Entry, String> {
    #[derive(Deserialize)]
    struct Discovery {
        id: String,
        name: String,
        endpoints: Endpoints,
        encryption_jwks: Jwks,
        privacy_notice: Notice,
    }
    #[derive(Deserialize)]
    struct Endpoints {
        jwks_uri: String,
    }
    #[derive(Deserialize)]
    struct Notice {
        controller: Controller,
    }
    #[derive(Deserialize)]
    struct Controller {
        dpo_contact: String,
    }
    checked_url(discovery_url).map_err(|m| format!("--discovery {discovery_url:?} {m}"))?;
    let bytes = fetch(discovery_url, MAX_DISCOVERY_BYTES).map_err(|m| format!("{discovery_url}: {m}"))?;
    let found: Discovery =
        serde_json::from_slice(&bytes).map_err(|e| format!("{discovery_url}: not a discovery document: {e}"))?;
    checked_url(&found.id).map_err(|m| format!("{discovery_url}: the controller id {:?} {m}", found.id))?;
    let jwks_uri = &found.endpoints.jwks_uri;
    checked_url(jwks_uri).map_err(|m| format!("{discovery_url}: jwks_uri {jwks_uri:?} {m}"))?;
    let bytes = fetch(jwks_uri, MAX_JWKS_BYTES).map_err(|m| format!("{jwks_uri}: {m}"))?;
    let jwks: Jwks = serde_json::from_slice(&bytes).map_err(|e| format!("{jwks_uri}: not a JWKS: {e}"))?;
    if jwks.keys.is_empty() || found.encryption_jwks.keys.is_empty() {
        return Err(format!("{discovery_url}: the controller publishes no signing or no encryption key"));
    }
    let keys = jwks
        .keys
        .iter()
        .map(|k| (k, Curve::Ed25519))
        .chain(found.encryption_jwks.keys.iter().map(|k| (k, Curve::X25519)));
    for (key, curve) in keys {
        if key.crv != curve || key.kid != thumbprint(key.crv, &key.x) {
            return Err(format!(
                "{discovery_url}: key {:?} is not an {} key named by its thumbprint",
                key.kid,
                curve.as_str()
            ));
        }
    }
    Ok(Entry {
        id: found.id,
        name: found.name,
        jwks,
        encryption_jwks: found.encryption_jwks,
        import_endpoint: None,
        token_endpoint: None,
        privacy_contact: Some(found.privacy_notice.controller.dpo_contact),
    })
}

fn key_path(dir: &Path, kid: &str) -> PathBuf {
    dir.join(format!("operator-key-{kid}.json"))
}

fn write_key(dir: &Path, key: &SigningKeyPair) -> Result<(), String> {
    let jwk = zeroize::Zeroizing::new(serde_json::to_vec_pretty(&key.to_jwk()).map_err(|e| e.to_string())?);
    private_file::write(&key_path(dir, key.kid()), &jwk).map_err(|e| e.to_string())
}

fn read_key(dir: &Path, kid: &str) -> Result<SigningKeyPair, String> {
    let bytes = zeroize::Zeroizing::new(private_file::read(&key_path(dir, kid), 4096).map_err(|e| e.to_string())?);
    let jwk: PrivateOkpJwk = serde_json::from_slice(&bytes).map_err(|e| format!("operator key {kid}: {e}"))?;
    SigningKeyPair::from_jwk(&jwk).map_err(|e| format!("operator key {kid}: {e}"))
}

fn load(dir: &Path) -> Result<(Operator, Vec<Entry>), String> {
    let read = |name: &str| {
        let path = dir.join(name);
        read_capped(&path, MAX_STATE_BYTES).map_err(|m| format!("{}: {m} (run trust-list init first)", path.display()))
    };
    let operator = serde_json::from_slice(&read(OPERATOR_FILE)?).map_err(|e| format!("{OPERATOR_FILE}: {e}"))?;
    let entries = serde_json::from_slice(&read(ENTRIES_FILE)?).map_err(|e| format!("{ENTRIES_FILE}: {e}"))?;
    Ok((operator, entries))
}

/// Writes the operator file, the entries and the public JWKS of every current key.
fn save(dir: &Path, operator: &Operator, entries: &[Entry]) -> Result<(), String> {
    let write = |name: &str, bytes: Vec<u8>| {
        let path = dir.join(name);
        let temporary = dir.join(format!(".{name}.tmp"));
        std::fs::write(&temporary, bytes)
            .and_then(|()| std::fs::rename(&temporary, &path))
            .map_err(|e| format!("{}: {e}", path.display()))
    };
    let keys = operator
        .keys
        .iter()
        .map(|k| read_key(dir, &k.kid).map(|pair| pair.public_jwk().clone()))
        .collect::<Result<Vec<_>, _>>()?;
    write(OPERATOR_FILE, pretty(operator)?)?;
    write(ENTRIES_FILE, pretty(entries)?)?;
    write(OPERATOR_JWKS_FILE, pretty(&Jwks { keys })?)
}

fn pretty<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String> {
    serde_json::to_vec_pretty(value).map_err(|e| e.to_string())
}
