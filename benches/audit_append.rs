//! What the audit trail adds to a write on the hot path: the export register's insert alone
//! against the same insert with its audit entry in the same transaction (the head row
//! locked, one entry sealed and inserted, the head moved), and a bare append. SQLite in a
//! temporary data dir; PostgreSQL too when `GDPR_GATEWAY_TEST_DATABASE_URL` is set. Results
//! and the ratio are in `docs/benchmarks.md`. Run: `cargo bench --bench audit_append`.

// A measurement script: any failure is a broken run, and aborting with its message is the
// report.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use gdpr_gateway::config::DatabaseUrl;
use gdpr_gateway::store::audit_chain::NewAuditEntry;
use gdpr_gateway::store::audit_store::AuditStore;
use gdpr_gateway::store::{self, Db, ExportRecord, ExportStore};

fn export(n: u64) -> ExportRecord {
    ExportRecord {
        id: format!("{n:032x}"),
        client_id: "portal".into(),
        subject_ref: "alice".into(),
        purpose: "access".into(),
        format: "jwt".into(),
        categories: vec!["contact".into(), "invoices".into()],
        kid: "kid-1".into(),
        created_at: 1_800_000_000 + n,
    }
}

fn entry(n: u64) -> NewAuditEntry {
    NewAuditEntry {
        at: 1_800_000_000 + n,
        actor: "portal:portal".into(),
        action: "export.created".into(),
        objects: vec![format!("export:{n:032x}")],
        subject: Some(format!("~{n:032x}")),
        detail: Some("access as jwt: contact, invoices".into()),
    }
}

fn backend(c: &mut Criterion, runtime: &tokio::runtime::Runtime, name: &str, db: &Db) {
    let (exports, audits) = (ExportStore::new(db.clone()), AuditStore::new(db.clone()));
    let next = AtomicU64::new(0);
    let id = || next.fetch_add(1, Ordering::Relaxed);
    let mut group = c.benchmark_group(format!("audit_{name}"));
    group.bench_function("export_record_alone", |b| {
        b.iter(|| runtime.block_on(exports.record(&export(id()), &[])).unwrap());
    });
    group.bench_function("export_record_with_entry", |b| {
        b.iter(|| {
            let n = id();
            runtime.block_on(exports.record(&export(n), &[entry(n)])).unwrap();
        });
    });
    group.bench_function("append_alone", |b| {
        b.iter(|| runtime.block_on(audits.append(&[entry(id())])).unwrap());
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = runtime.block_on(store::open(None, dir.path())).unwrap();
    backend(c, &runtime, "sqlite", &sqlite);
    if let Ok(url) = std::env::var("GDPR_GATEWAY_TEST_DATABASE_URL") {
        // A schema of its own, dropped afterwards.
        let schema = format!("bench_audit_{}", std::process::id());
        let admin = runtime.block_on(sqlx::PgPool::connect(&url)).unwrap();
        runtime.block_on(sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&admin)).unwrap();
        let separator = if url.contains('?') { '&' } else { '?' };
        let scoped = DatabaseUrl::new(format!("{url}{separator}options=-c%20search_path%3D{schema}"));
        let postgres = runtime.block_on(store::open(Some(&scoped), dir.path())).unwrap();
        backend(c, &runtime, "postgres", &postgres);
        runtime.block_on(sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&admin)).unwrap();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
