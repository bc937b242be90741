//! The `gdpr-gateway` binary as an operator runs it: zero-config start in an empty
//! directory, stable keys across restarts, rotation, and clean failures.

use std::path::Path;

use crate::running_binary::{Running, command};

#[test]
fn serve_in_an_empty_directory_runs_the_demo_and_keeps_its_kid() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Running::start(dir.path(), &[]);
    assert_eq!(gw.get("/healthz")["status"], "ok");
    let kid = gw.get("/.well-known/jwks.json")["keys"][0]["kid"].as_str().unwrap().to_owned();
    let data = dir.path().join("gdpr-gateway-data");
    assert!(data.join("gateway.sqlite3").is_file());
    let token_mode = mode(&data.join("demo-portal-token"));
    assert_eq!(token_mode, 0o600);
    for key in std::fs::read_dir(data.join("keys")).unwrap() {
        assert_eq!(mode(&key.unwrap().path()), 0o600);
    }
    let (status, log) = gw.terminate();
    assert!(status.success(), "graceful shutdown exits 0: {status:?}");
    assert!(log.contains("shutting down"), "{log}");

    let again = Running::start(dir.path(), &[]);
    assert_eq!(again.get("/.well-known/jwks.json")["keys"][0]["kid"], kid.as_str());
}

#[test]
fn demo_mode_says_so_and_where_the_token_is() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let gw = Running::start(dir.path(), &["--data-dir", data.to_str().unwrap()]);
    assert!(gw.startup.contains("DEMO MODE"), "{}", gw.startup);
    assert!(gw.startup.contains(&data.join("demo-portal-token").display().to_string()), "{}", gw.startup);
}

#[test]
fn keys_rotate_keeps_the_old_key_verify_only() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Running::start(dir.path(), &[]);
    let old = gw.get("/.well-known/jwks.json")["keys"][0]["kid"].as_str().unwrap().to_owned();
    drop(gw);
    let out = command(dir.path(), &["keys", "rotate"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list = command(dir.path(), &["keys", "list", "--json"]).output().unwrap();
    let keys: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let signing: Vec<&serde_json::Value> =
        keys.as_array().unwrap().iter().filter(|k| k["curve"] == "Ed25519").collect();
    assert_eq!(signing.len(), 2);
    assert_eq!((signing[1]["kid"].as_str(), signing[1]["active"].as_bool()), (Some(old.as_str()), Some(false)));
    let table = command(dir.path(), &["keys", "list"]).output().unwrap();
    assert!(String::from_utf8_lossy(&table.stdout).contains("verify-only"));

    let gw = Running::start(dir.path(), &[]);
    let jwks = gw.get("/.well-known/jwks.json");
    let kids: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids.len(), 2);
    assert_ne!(kids[0], old);
    assert_eq!(kids[1], old);
}

#[test]
fn keys_list_without_keys_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path(), &["keys", "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("start the gateway once"));
}

#[test]
fn bad_starts_exit_non_zero_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let bad_toml = dir.path().join("bad.toml");
    std::fs::write(&bad_toml, "[controller\n").unwrap();
    let unknown = dir.path().join("unknown.toml");
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/gateway.toml")).unwrap();
    std::fs::write(&unknown, example.replace("public_url", "publik_url")).unwrap();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "x").unwrap();
    let under_file = blocker.join("data");
    let pg_dir = dir.path().join("pg");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["serve", "--config", bad_toml.to_str().unwrap()], "line 1"),
        (vec!["serve", "--config", unknown.to_str().unwrap()], "publik_url"),
        (vec!["serve", "--config", "/nonexistent/gateway.toml"], "cannot read config file"),
        // Port 0 everywhere: the tests must pass while the README's gateway runs on 8080.
        (vec!["serve", "--listen", "127.0.0.1:0", "--data-dir", under_file.to_str().unwrap()], "data dir"),
        (
            vec![
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
                pg_dir.to_str().unwrap(),
                "--database-url",
                "postgres://gw:pw-xyz@127.0.0.1:1/db",
            ],
            "cannot connect",
        ),
    ];
    for (args, expected) in cases {
        let out = command(dir.path(), &args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: expected {expected:?} in {stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("pw-xyz"), "{stderr}");
    }
    let usage = command(dir.path(), &["serve", "--listen", "nonsense"]).output().unwrap();
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn group_readable_key_file_refuses_to_start() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    drop(Running::start(dir.path(), &[]));
    let keys = dir.path().join("gdpr-gateway-data/keys");
    let key = std::fs::read_dir(&keys).unwrap().next().unwrap().unwrap().path();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = command(dir.path(), &["serve", "--listen", "127.0.0.1:0"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let file_name = key.file_name().unwrap().to_str().unwrap();
    assert!(stderr.contains("chmod 600") && stderr.contains(file_name), "{stderr}");
}

#[test]
fn check_config_and_openapi_commands() {
    let dir = tempfile::tempdir().unwrap();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/gateway.toml");
    let out = command(dir.path(), &["check-config", "--config", example]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid (4 categories, 2 sources)"));
    // A file source whose directory is not there: refused by check-config and by serve.
    let text = std::fs::read_to_string(example).unwrap().replace("builtin_demo/data", "builtin_demo/dta");
    let typo = dir.path().join("typo.toml");
    std::fs::write(&typo, text).unwrap();
    for args in [vec!["check-config", "--config"], vec!["serve", "--listen", "127.0.0.1:0", "--config"]] {
        let out = command(dir.path(), &[args.clone(), vec![typo.to_str().unwrap()]].concat()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("source webshop") && stderr.contains("builtin_demo/dta"), "{args:?}: {stderr}");
    }
    let spec = command(dir.path(), &["openapi"]).output().unwrap();
    let spec: serde_json::Value = serde_json::from_slice(&spec.stdout).unwrap();
    assert!(spec["paths"]["/.well-known/jwks.json"].is_object());
}

/// `check-config` fails while a category shares with a recipient nobody assessed, names it,
/// and accepts it with `--allow-unassessed`; the art. 30 register's empty fields are
/// warnings.
#[test]
fn check_config_wants_a_sharing_assessment_for_every_recipient() {
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/gateway.toml")).unwrap();
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/src/config/builtin_demo/data");
    let example = example.replace("\"../src/config/builtin_demo/data\"", &format!("{data:?}"));
    let text = example
        .replace("recipients = [\"parcel-carrier\"]", "recipients = [\"parcel-carrier\", \"Marketing agency\"]")
        .replace("transfer_safeguards = ", "# transfer_safeguards = ")
        .replace("security_measures = [", "# security_measures = [")
        .replace("  \"Encryption in transit", "#  \"Encryption in transit")
        .replace("  \"Role-based access", "#  \"Role-based access")
        .replace("\n]\n\n# How long the gateway keeps", "\n#]\n\n# How long the gateway keeps");
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, &text).unwrap();
    let out = command(dir.path(), &["check-config", "--config", config.to_str().unwrap()]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("category \"contact\" shares with \"Marketing agency\", which has no sharing assessment")
            && stderr.contains("--allow-unassessed"),
        "{stderr}"
    );
    assert!(!stderr.contains("parcel-carrier"), "the assessed recipient is not named: {stderr}");
    let args = ["check-config", "--allow-unassessed", "--config", config.to_str().unwrap()];
    let out = command(dir.path(), &args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.starts_with("warning: ")).collect();
    assert_eq!(warnings.len(), 3, "{stderr}");
    assert!(warnings[0].contains("art. 30(1)(e): category \"service_notes\" goes to Helpdesk software provider in US"));
    assert!(warnings[1].contains("art. 30(1)(g)") && warnings[1].contains("register.security_measures"));
    assert!(warnings[2].contains("\"Marketing agency\""));
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `gdpr-gateway relay` serves a list signed by the operator elsewhere, lets listed
/// controllers in and no one else, and refuses to start on a list it cannot trust.
#[test]
fn the_relay_runs_alone_on_a_trust_list_signed_elsewhere() {
    use std::sync::Arc;

    use gdpr_gateway::clock::{Clock, SystemClock};
    use gdpr_gateway::jose::{Jwks, SigningKeyPair};
    use gdpr_gateway::protocol::relay_wire::RegisterToken;
    use gdpr_gateway::protocol::trust_list::{Entry, TrustList, VERSION};
    use gdpr_gateway::relay_client::RelayClient;

    let dir = tempfile::tempdir().unwrap();
    let (operator, controller) = (SigningKeyPair::generate(), SigningKeyPair::generate());
    let now = SystemClock.now();
    let list = TrustList {
        iss: "https://operator.example".into(),
        iat: now,
        exp: now + 3600,
        version: VERSION,
        controllers: vec![Entry {
            id: "https://controller.example".into(),
            name: "Controller".into(),
            jwks: Jwks { keys: vec![controller.public_jwk().clone()] },
            encryption_jwks: Jwks::default(),
            import_endpoint: None,
            token_endpoint: None,
            privacy_contact: None,
        }],
    };
    let token = list.sign(&operator).unwrap();
    std::fs::write(dir.path().join("trust-list.jwt"), &token).unwrap();
    let pinned = Jwks { keys: vec![operator.public_jwk().clone()] };
    std::fs::write(dir.path().join("operator.json"), serde_json::to_vec(&pinned).unwrap()).unwrap();
    let other = Jwks { keys: vec![controller.public_jwk().clone()] };
    std::fs::write(dir.path().join("other.json"), serde_json::to_vec(&other).unwrap()).unwrap();

    let refused = command(dir.path(), &["relay", "--trust-list", "trust-list.jwt", "--operator-jwks", "other.json"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--trust-list"), "{refused:?}");

    let mut args =
        vec!["relay", "--listen", "127.0.0.1:0", "--trust-list", "trust-list.jwt", "--operator-jwks", "operator.json"];
    let out_of_range = [args.as_slice(), &["--max-connections", "0"]].concat();
    let refused = command(dir.path(), &out_of_range).output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--max-connections: must be 1 to"), "{refused:?}");

    // The same connection limits as the gateway, from flags: a silent client is let go.
    args.extend(["--header-timeout-seconds", "1"]);
    let relay = Running::spawn(dir.path(), &args);
    let mut silent = std::net::TcpStream::connect(relay.url.trim_start_matches("http://")).unwrap();
    silent.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    assert_eq!(std::io::Read::read(&mut silent, &mut [0u8; 64]).expect("the relay kept a silent connection"), 0);
    assert!(dir.path().join("gdpr-relay-data").join("gateway.sqlite3").exists());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let served = reqwest::get(format!("{}/v1/trust-list", relay.url)).await.unwrap().text().await.unwrap();
        assert_eq!(served, token);
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let register = RegisterToken { token_sha256: "ab".repeat(32), expires_at: now + 600 };
        let listed = RelayClient::new(&relay.url, Arc::new(controller), clock.clone()).unwrap();
        listed.register_token(&register).await.unwrap();
        assert_eq!(
            listed.register_token(&register).await.unwrap_err().error_code().map(|c| c.as_str()),
            Some("connect_token_exists")
        );
        let stranger = RelayClient::new(&relay.url, Arc::new(SigningKeyPair::generate()), clock).unwrap();
        assert_eq!(
            stranger.register_token(&register).await.unwrap_err().error_code().map(|c| c.as_str()),
            Some("not_a_controller")
        );
        let missing = reqwest::get(format!("{}/nope", relay.url)).await.unwrap();
        assert_eq!(missing.status(), 404);
        assert!(missing.headers().contains_key("x-request-id"));
    });
    let (status, _) = relay.terminate();
    assert!(status.success(), "{status:?}");
}

/// The peak resident memory of a process, in bytes, from `/proc`.
fn peak_memory(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// `POST /v1/verify` is public: whatever the load, the compact JWS bodies it holds in
/// memory stay within its budget. Sixteen 60 MiB bodies at once (the finding: eight took
/// the process from 59 MB to 486 MB) are admitted a few at a time.
#[test]
fn concurrent_large_verifications_stay_within_the_memory_budget() {
    const BODY: usize = 60 * 1024 * 1024;
    const AT_ONCE: usize = 16;
    let dir = tempfile::tempdir().unwrap();
    let gw = Running::start(dir.path(), &[]);
    let before = peak_memory(gw.pid());
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let statuses = rt.block_on(async {
        let body = bytes::Bytes::from(vec![b'A'; BODY]);
        let client = reqwest::Client::new();
        let sends = (0..AT_ONCE).map(|_| {
            let request = client
                .post(format!("{}/v1/verify", gw.url))
                .header("content-type", "application/jwt")
                .body(body.clone());
            async move { request.send().await.unwrap().status().as_u16() }
        });
        futures_util::future::join_all(sends).await
    });
    // Not a JWS: every one is read and refused, none is dropped.
    assert!(statuses.iter().all(|s| *s == 422), "{statuses:?}");
    let grown = peak_memory(gw.pid()).saturating_sub(before);
    // The budget is 256 MiB of estimated cost; allow the allocator its slack.
    assert!(grown < 400 * 1024 * 1024, "peak memory grew by {} MiB", grown / (1024 * 1024));
}
