//! The audit trail through the API and the binary: what the gateway does is appended by
//! whom, to what and about whom (as a keyed hash only); auditors read it page by page or as
//! JSON Lines; checkpoints are signed over the head; and `gdpr-gateway audit verify` finds
//! an edit made in the database file, and, with a checkpoint a witness kept, a chain that
//! was rewritten whole.

use std::time::Duration;

use gdpr_gateway::gateway::{CHECKPOINT_TYP, verify_checkpoint};
use gdpr_gateway::jose::Jwks;
use gdpr_gateway::protocol::rights::StaffRole;
use gdpr_gateway::store::audit_chain::{AuditEntry, NewAuditEntry};
use gdpr_gateway::views::AuditPage;
use reqwest::Method;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::common::{PortalClient, TestGateway, assert_problem};
use crate::running_binary::{Running, command};

#[tokio::test]
async fn what_happens_is_appended_and_auditors_read_it() {
    let gw = TestGateway::demo().await;
    let portal = gw.portal_client();
    let (handler, auditor) = (gw.staff_client(StaffRole::Handler), gw.staff_client(StaffRole::Auditor));
    let filed = portal.file_request("alice", &json!({"type": "access"})).await.unwrap();
    handler.advance(&filed.id).await.unwrap();
    portal.create_pairing("bob").await;

    let page: AuditPage = auditor.request(Method::GET, "/v1/audit").send().await.unwrap().json().await.unwrap();
    let actions: Vec<&str> = page.entries.iter().map(|e| e.action.as_str()).collect();
    let filing = ["request.received", "request.criterion_met:identity_verified", "request.acknowledged"];
    assert_eq!(actions[..4], ["gateway.started", filing[0], filing[1], filing[2]]);
    assert_eq!(actions[4..], ["request.advanced", "pairing.created"]);
    let advanced = &page.entries[4];
    assert!(advanced.actor.starts_with("staff:"), "{advanced:?}");
    assert_eq!(advanced.objects, [format!("request:{}", filed.id)]);
    // The person only as the keyed hash that replaces them when forgotten.
    let alice = gw.gateway.subject_hash("alice").unwrap();
    assert_eq!(advanced.subject.as_deref(), Some(alice.as_str()));
    let text = serde_json::to_string(&page).unwrap();
    assert!(!text.contains("alice") && !text.contains("\"bob\""), "{text}");
    assert!(page.entries.windows(2).all(|w| w[1].prev == w[0].hash && w[1].seq == w[0].seq + 1));

    let only_alice: AuditPage =
        auditor.request(Method::GET, "/v1/audit?subject_ref=alice").send().await.unwrap().json().await.unwrap();
    assert_eq!(only_alice.entries.len(), 4);
    let paged: AuditPage =
        auditor.request(Method::GET, "/v1/audit?limit=2&after=1").send().await.unwrap().json().await.unwrap();
    assert_eq!((paged.entries[0].seq, paged.next_after), (2, Some(3)));
    let lines = auditor.request(Method::GET, "/v1/audit.jsonl").send().await.unwrap();
    assert_eq!(lines.headers()["content-type"], "application/x-ndjson");
    let lines: Vec<AuditEntry> =
        lines.text().await.unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines, page.entries);

    // The trail is for auditors and administrators.
    assert_problem(handler.request(Method::GET, "/v1/audit").send().await.unwrap(), 403, "role_not_permitted").await;
    for bad in ["subject_ref=%00", "action=%00", "actor=a%00b", "since=18446744073709551615"] {
        let answer = auditor.request(Method::GET, &format!("/v1/audit?{bad}")).send().await.unwrap();
        assert_problem(answer, 400, "invalid_parameter").await;
    }

    // Refused staff tokens: each noted without the token, at most 30 a minute one by one,
    // the rest counted into the next minute's first entry.
    let intruder = crate::common::StaffClient::new(&gw.url, "guess-0123456789");
    for _ in 0..35 {
        let answer = intruder.request(Method::GET, "/v1/requests").send().await.unwrap();
        assert_problem(answer, 401, "invalid_bearer_token").await;
    }
    gw.clock.advance(60);
    let _ = intruder.request(Method::GET, "/v1/requests").send().await.unwrap();
    let failures: AuditPage = auditor
        .request(Method::GET, "/v1/audit?action=staff.sign_in_failed&limit=100")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(failures.entries.len(), 31);
    assert!(
        failures.entries.iter().all(|e| e.actor == "unknown" && !serde_json::to_string(e).unwrap().contains("guess"))
    );
    let last = failures.entries.last().unwrap().detail.clone().unwrap();
    assert_eq!(last, "invalid_bearer_token (and 5 more refusals the minute before, not recorded one by one)");

    // An hour later a checkpoint is due: signed over the head, with the published keys.
    gw.clock.advance(3600);
    // The gateway's own upkeep may sign it first, as it would in production.
    let checkpoint = match gw.gateway.checkpoint_audit().await.unwrap() {
        Some(signed) => signed,
        None => gw.gateway.last_audit_checkpoint().await.unwrap().expect("a checkpoint is due"),
    };
    assert_eq!(checkpoint.at, gdpr_gateway::clock::Clock::now(&gw.clock), "signed after the hour passed");
    assert_eq!(gw.gateway.checkpoint_audit().await.unwrap(), None, "nothing appended since");
    let jwks: Jwks = gw.get("/.well-known/jwks.json").send().await.unwrap().json().await.unwrap();
    let claims = verify_checkpoint(checkpoint.token.as_bytes(), &jwks).unwrap();
    let head = gw.gateway.audit_page(&gdpr_gateway::gateway::Caller::System, &Default::default(), 1000).await.unwrap();
    let last = head.last().unwrap();
    assert_eq!((claims.audit.seq, claims.audit.hash.as_str()), (last.seq, last.hash.as_str()));
    let header = checkpoint.token.split('.').next().unwrap();
    let header: serde_json::Value = serde_json::from_slice(&base64_url(header)).unwrap();
    assert_eq!(header["typ"], CHECKPOINT_TYP);
    gw.stop().await.unwrap();
}

fn base64_url(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).unwrap()
}

const PORTAL_TOKEN: &str = "audit-portal-token";

/// An audit row as the test reads it back: seq, at, actor, action, objects, subject, detail.
type Row = (i64, i64, String, String, String, Option<String>, Option<String>);

fn config() -> String {
    let portal = hex::encode(Sha256::digest(PORTAL_TOKEN.as_bytes()));
    format!(
        r#"
[controller]
id = "https://audit.gdpr-gateway.example"
name = "Audit Test B.V."
dpo_contact = "privacy@audit.example"

[controller.supervisory_authority]
name = "Autoriteit Persoonsgegevens"
url = "https://autoriteitpersoonsgegevens.nl"

[audit]
checkpoint_every_entries = 1

[[sources]]
id = "crm"
type = "file"
path = "crm"

[[categories]]
id = "contact"
name = "Contact details"
purposes = ["Customer service"]
legal_basis = "contract"
retention = "P2Y"
source = "crm"
portable = true

[[portal_clients]]
id = "portal"
token_sha256 = "{portal}"
"#
    )
}

async fn sqlite(dir: &std::path::Path) -> sqlx::SqlitePool {
    let url = format!("sqlite://{}", dir.join("data/gateway.sqlite3").display());
    sqlx::SqlitePool::connect(&url).await.unwrap()
}

fn verify(dir: &std::path::Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["audit", "verify", "--config", "gateway.toml", "--data-dir", "data"];
    args.extend_from_slice(extra);
    let out = command(dir, &args).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_names_an_edit_and_a_witness_catches_a_rewrite() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("crm/carol")).unwrap();
    std::fs::write(dir.path().join("crm/carol/contact.jsonl"), "{\"id\":\"C-1\",\"name\":\"Carol\"}\n").unwrap();
    std::fs::write(dir.path().join("gateway.toml"), config()).unwrap();
    let gateway =
        tokio::task::block_in_place(|| Running::start(dir.path(), &["--config", "gateway.toml", "--data-dir", "data"]));
    let portal = PortalClient::new(&gateway.url, PORTAL_TOKEN);
    portal.file_request("carol", &json!({"type": "access"})).await.unwrap();
    portal.create_pairing("carol").await;
    // One checkpoint per entry: the gateway looks every 10 s.
    let pool = sqlite(dir.path()).await;
    let mut witnessed = None;
    for _ in 0..120 {
        let head: i64 = sqlx::query_scalar("SELECT seq FROM audit_head").fetch_one(&pool).await.unwrap();
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, token FROM audit_checkpoints ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&pool)
                .await
                .unwrap();
        if let Some((seq, token)) = row.filter(|(seq, _)| *seq == head && head > 4) {
            witnessed = Some((seq, token));
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (witnessed_at, witnessed) = witnessed.expect("a checkpoint over every entry");
    std::fs::write(dir.path().join("witness.jwt"), &witnessed).unwrap();
    // The chain goes on past what the witness holds.
    portal.file_request("carol", &json!({"type": "information"})).await.unwrap();
    let entries: i64 = sqlx::query_scalar("SELECT seq FROM audit_head").fetch_one(&pool).await.unwrap();
    assert!(entries > witnessed_at);
    let (status, _) = tokio::task::block_in_place(|| gateway.terminate());
    assert!(status.success());

    let (code, out, err) = verify(dir.path(), &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("intact: {entries} entries")), "{out}");

    // An edit in the database file is named.
    sqlx::query("UPDATE audit_entries SET detail = 'access request, phase closed' WHERE seq = 2")
        .execute(&pool)
        .await
        .unwrap();
    let (code, _, err) = verify(dir.path(), &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("entry 2 was edited"), "{err}");

    // Rewritten whole, every hash recomputed and the kept checkpoints dropped: consistent
    // in itself, so only the checkpoint the witness kept shows it.
    let entries: Vec<Row> =
        sqlx::query_as("SELECT seq, at, actor, action, objects, subject, detail FROM audit_entries ORDER BY seq")
            .fetch_all(&pool)
            .await
            .unwrap();
    let mut prev = gdpr_gateway::store::audit_chain::GENESIS.to_owned();
    for (seq, at, actor, action, objects, subject, detail) in entries {
        let new = NewAuditEntry {
            at: at as u64,
            actor,
            action,
            objects: serde_json::from_str(&objects).unwrap(),
            subject,
            detail,
        };
        let sealed = AuditEntry::seal(&new, seq as u64, &prev);
        sqlx::query("UPDATE audit_entries SET prev = $1, hash = $2 WHERE seq = $3")
            .bind(&sealed.prev)
            .bind(&sealed.hash)
            .bind(seq)
            .execute(&pool)
            .await
            .unwrap();
        prev = sealed.hash;
    }
    sqlx::query("UPDATE audit_head SET hash = $1").bind(&prev).execute(&pool).await.unwrap();
    sqlx::query("DELETE FROM audit_checkpoints").execute(&pool).await.unwrap();
    pool.close().await;
    let (code, out, err) = verify(dir.path(), &[]);
    assert_eq!(code, 0, "without a witness the rewrite passes: {out}{err}");
    let (code, _, err) = verify(dir.path(), &["--from-checkpoint", "witness.jwt"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("the signed checkpoint at entry {witnessed_at} does not match")), "{err}");

    // A file that is no checkpoint of this gateway is a usage error, not a verdict.
    std::fs::write(dir.path().join("other.jwt"), "not.a.checkpoint").unwrap();
    let (code, _, err) = verify(dir.path(), &["--from-checkpoint", "other.jwt"]);
    assert_eq!(code, 2, "{err}");
}

/// Entries past `[retention] audit` go up to the newest signed checkpoint they reach;
/// that checkpoint anchors the chain, an `audit.pruned` entry records it, and `audit
/// verify` walks from it. Without the anchor, the missing start is named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_past_retention_are_pruned_below_a_signed_checkpoint() {
    let gw = TestGateway::demo_with("[audit]\ncheckpoint_every_entries = 1\n\n[retention]\naudit = \"P1Y\"\n").await;
    let portal = gw.portal_client();
    portal.file_request("alice", &json!({"type": "access"})).await.unwrap();
    let auditor = gw.staff_client(StaffRole::Auditor);
    let page = |path: &'static str| async {
        let response = auditor.request(Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json::<AuditPage>().await.unwrap()
    };
    // Signed over the head here, or by the outbox worker just before.
    gw.gateway.checkpoint_audit().await.unwrap();
    let anchor = page("/v1/audit?limit=500").await.entries.iter().map(|e| e.seq).max().unwrap();
    // A year and a day on: the first stretch has expired, what follows has not.
    gw.clock.advance(367 * 86_400);
    portal.file_request("bob", &json!({"type": "access"})).await.unwrap();
    gw.gateway.checkpoint_audit().await.unwrap();
    gw.gateway.sweep_retention().await.unwrap();
    let pruned = page("/v1/audit?action=audit.pruned").await;
    assert_eq!(pruned.entries.len(), 1);
    assert_eq!(pruned.entries[0].objects, [format!("audit_checkpoint:{anchor}")]);
    let all = page("/v1/audit?limit=500").await;
    assert!(all.entries.iter().all(|e| e.seq > anchor), "nothing at or before the anchor is left");
    // Nothing more is due: the next sweep prunes nothing.
    gw.gateway.sweep_retention().await.unwrap();
    assert_eq!(page("/v1/audit?action=audit.pruned").await.entries.len(), 1);
    if std::env::var(crate::common::PG_ENV).is_ok() {
        return gw.stop().await.unwrap();
    }
    // The data dir goes with the gateway: verify while it runs (SQLite lets both read).
    let dir = gw.dir.clone();

    let data = dir.to_str().unwrap().to_owned();
    let verify = || {
        let out = command(&dir, &["audit", "verify", "--data-dir", &data]).output().unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.code().unwrap_or(-1), text(&out.stdout) + &text(&out.stderr))
    };
    let (code, out) = tokio::task::block_in_place(verify);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("starts after the signed checkpoint at entry {anchor}")), "{out}");
    // Without its signed checkpoint, the pruned start reads as removed entries.
    let url = format!("sqlite://{}", dir.join("gateway.sqlite3").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("DELETE FROM audit_checkpoints WHERE seq = $1").bind(anchor as i64).execute(&pool).await.unwrap();
    pool.close().await;
    let (code, out) = tokio::task::block_in_place(verify);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("entry 1 was removed"), "{out}");
    gw.stop().await.unwrap();
}
