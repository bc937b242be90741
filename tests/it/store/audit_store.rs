//! The audit trail on every backend: appends from many writers at once (separate sessions
//! on PostgreSQL, as instances would be) never fork the chain, and an edit, removal, insertion or
//! reordering done directly in the database is found and named.

use gdpr_gateway::store::Db;
use gdpr_gateway::store::audit_chain::{AuditEntry, Finding, NewAuditEntry};
use gdpr_gateway::store::audit_store::{AuditFilter, AuditStore};

use super::each_backend;

fn entry(n: u64) -> NewAuditEntry {
    NewAuditEntry {
        at: 1_800_000_000 + n,
        actor: format!("staff:member-{}", n % 3),
        action: if n % 2 == 0 { "export.created".into() } else { "request.advanced".into() },
        objects: vec![format!("request:{n:032x}")],
        subject: Some(format!("~{n:032x}")),
        detail: Some(format!("step {n}")),
    }
}

async fn sql(db: &Db, statements: &[&str]) {
    for statement in statements {
        match db {
            Db::Sqlite(pool) => sqlx::query(statement).execute(pool).await.map(|_| ()),
            Db::Postgres(pool) => sqlx::query(statement).execute(pool).await.map(|_| ()),
            _ => unreachable!(),
        }
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
}

#[tokio::test]
async fn writers_at_once_extend_one_chain_and_pages_filter() {
    for (db, backend) in each_backend().await {
        // Forty appends at once over the pool's connections: on PostgreSQL as separate
        // sessions as two instances would be.
        let (a, b) = (AuditStore::new(db.clone()), AuditStore::new(db.clone()));
        let mut tasks = Vec::new();
        for n in 0..40u64 {
            let store = if n % 2 == 0 { a.clone() } else { b.clone() };
            let batch: Vec<NewAuditEntry> = (0..=n % 3).map(|i| entry(n * 10 + i)).collect();
            tasks.push(tokio::spawn(async move { store.append(&batch).await }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let total: u64 = (0..40u64).map(|n| n % 3 + 1).sum();
        let walked = a.verify(Vec::new(), None).await.unwrap();
        assert_eq!((walked.entries, walked.last, walked.finding), (total, total, None));
        assert_eq!(a.head().await.unwrap().0, total);

        let exports = AuditFilter { action: Some("export.created".into()), ..AuditFilter::default() };
        let page = a.page(&exports, 5).await.unwrap();
        assert_eq!(page.len(), 5);
        assert!(page.iter().all(|e| e.action == "export.created"));
        assert!(page.windows(2).all(|w| w[0].seq < w[1].seq));
        let next = a.page(&AuditFilter { after: Some(page[4].seq), ..exports }, 5).await.unwrap();
        assert!(next[0].seq > page[4].seq);
        backend.finish(db).await;
    }
}

#[tokio::test]
async fn a_change_made_in_the_database_is_found_and_named() {
    let forged_tail = format!(
        "INSERT INTO audit_entries (seq, at, actor, action, objects, subject, detail, prev, hash) \
         VALUES (7, 1, 'system', 'export.created', '[]', NULL, NULL, '{0}', '{0}')",
        "ab".repeat(32)
    );
    let cases: [(&str, Vec<String>, Finding); 8] = [
        (
            "made unreadable",
            vec!["UPDATE audit_entries SET objects = 'not json' WHERE seq = 2".into()],
            Finding::Edited { seq: 2 },
        ),
        ("head row deleted", vec!["DELETE FROM audit_head".into()], Finding::HeadChanged { seq: 0 }),
        ("a row past the head", vec![forged_tail], Finding::Foreign { seq: 7 }),
        (
            "edited",
            vec!["UPDATE audit_entries SET detail = 'nothing happened' WHERE seq = 3".into()],
            Finding::Edited { seq: 3 },
        ),
        ("removed", vec!["DELETE FROM audit_entries WHERE seq = 4".into()], Finding::Removed { seq: 4 }),
        (
            "reordered",
            vec![
                "UPDATE audit_entries SET seq = 100 WHERE seq = 2".into(),
                "UPDATE audit_entries SET seq = 2 WHERE seq = 5".into(),
                "UPDATE audit_entries SET seq = 5 WHERE seq = 100".into(),
            ],
            Finding::Reordered { seq: 2, from: 5 },
        ),
        (
            "tail removed",
            vec!["DELETE FROM audit_entries WHERE seq >= 5".into()],
            Finding::TailRemoved { last: 4, head: 6 },
        ),
        (
            "head moved back",
            vec!["DELETE FROM audit_entries WHERE seq = 6".into(), "UPDATE audit_head SET seq = 5".into()],
            Finding::HeadChanged { seq: 5 },
        ),
    ];
    for (what, statements, expected) in cases {
        for (db, backend) in each_backend().await {
            let store = AuditStore::new(db.clone());
            store.append(&(1..=6).map(entry).collect::<Vec<_>>()).await.unwrap();
            assert_eq!(store.verify(Vec::new(), None).await.unwrap().finding, None);
            let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
            sql(&db, &statements).await;
            assert_eq!(store.verify(Vec::new(), None).await.unwrap().finding, Some(expected.clone()), "{what}");
            backend.finish(db).await;
        }
    }
}

#[tokio::test]
async fn an_entry_inserted_with_the_rest_renumbered_is_named() {
    for (db, backend) in each_backend().await {
        let store = AuditStore::new(db.clone());
        store.append(&(1..=5).map(entry).collect::<Vec<_>>()).await.unwrap();
        // Sealed by the rules, as number 3, but after nothing the chain holds.
        let forged = AuditEntry::seal(&entry(99), 3, &"ab".repeat(32));
        sql(
            &db,
            &[
                "UPDATE audit_entries SET seq = seq + 100 WHERE seq >= 3",
                "UPDATE audit_entries SET seq = seq - 99 WHERE seq >= 100",
                &format!(
                    "INSERT INTO audit_entries (seq, at, actor, action, objects, subject, detail, prev, hash)
                     VALUES (3, {}, '{}', '{}', '{}', '{}', '{}', '{}', '{}')",
                    forged.at,
                    forged.actor,
                    forged.action,
                    serde_json::to_string(&forged.objects).unwrap(),
                    forged.subject.clone().unwrap(),
                    forged.detail.clone().unwrap(),
                    forged.prev,
                    forged.hash
                ),
                "UPDATE audit_head SET seq = 6",
            ],
        )
        .await;
        assert_eq!(store.verify(Vec::new(), None).await.unwrap().finding, Some(Finding::Inserted { seq: 3 }));
        backend.finish(db).await;
    }
}
