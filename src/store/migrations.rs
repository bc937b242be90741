//! Migrations compiled into the binary, so the gateway runs from any directory.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};

fn migrator(sources: &[(i64, &'static str, &'static str)]) -> Migrator {
    let migrations = sources
        .iter()
        .map(|(version, description, sql)| {
            Migration::new(*version, Cow::Borrowed(*description), MigrationType::Simple, Cow::Borrowed(*sql), false)
        })
        .collect::<Vec<_>>();
    Migrator { migrations: Cow::Owned(migrations), ..Migrator::DEFAULT }
}

pub(super) fn sqlite() -> Migrator {
    migrator(&[
        (1, "exports", include_str!("../../migrations/sqlite/0001_exports.sql")),
        (2, "relay", include_str!("../../migrations/sqlite/0002_relay.sql")),
        (3, "pairings", include_str!("../../migrations/sqlite/0003_pairings.sql")),
        (4, "message ids", include_str!("../../migrations/sqlite/0004_message_ids.sql")),
        (5, "imports", include_str!("../../migrations/sqlite/0005_imports.sql")),
        (6, "relay blobs", include_str!("../../migrations/sqlite/0006_relay_blobs.sql")),
        (7, "exports categories text", include_str!("../../migrations/sqlite/0007_exports_categories_text.sql")),
        (8, "relay encryption kid", include_str!("../../migrations/sqlite/0008_relay_encryption_kid.sql")),
        (9, "rights requests", include_str!("../../migrations/sqlite/0009_rights_requests.sql")),
        (10, "intake and outbox", include_str!("../../migrations/sqlite/0010_intake_and_outbox.sql")),
        (11, "actions and receipts", include_str!("../../migrations/sqlite/0011_actions_and_receipts.sql")),
        (12, "audit trail", include_str!("../../migrations/sqlite/0012_audit_trail.sql")),
        (13, "breaches", include_str!("../../migrations/sqlite/0013_breaches.sql")),
        (14, "legal holds", include_str!("../../migrations/sqlite/0014_legal_holds.sql")),
        (15, "retention warning log", include_str!("../../migrations/sqlite/0015_retention_warning_log.sql")),
        (16, "pairing status token", include_str!("../../migrations/sqlite/0016_pairing_status_token.sql")),
    ])
}

pub(super) fn postgres() -> Migrator {
    migrator(&[
        (1, "exports", include_str!("../../migrations/postgres/0001_exports.sql")),
        (2, "relay", include_str!("../../migrations/postgres/0002_relay.sql")),
        (3, "pairings", include_str!("../../migrations/postgres/0003_pairings.sql")),
        (4, "message ids", include_str!("../../migrations/postgres/0004_message_ids.sql")),
        (5, "imports", include_str!("../../migrations/postgres/0005_imports.sql")),
        (6, "relay blobs", include_str!("../../migrations/postgres/0006_relay_blobs.sql")),
        (7, "exports categories text", include_str!("../../migrations/postgres/0007_exports_categories_text.sql")),
        (8, "relay encryption kid", include_str!("../../migrations/postgres/0008_relay_encryption_kid.sql")),
        (9, "rights requests", include_str!("../../migrations/postgres/0009_rights_requests.sql")),
        (10, "intake and outbox", include_str!("../../migrations/postgres/0010_intake_and_outbox.sql")),
        (11, "actions and receipts", include_str!("../../migrations/postgres/0011_actions_and_receipts.sql")),
        (12, "audit trail", include_str!("../../migrations/postgres/0012_audit_trail.sql")),
        (13, "breaches", include_str!("../../migrations/postgres/0013_breaches.sql")),
        (14, "legal holds", include_str!("../../migrations/postgres/0014_legal_holds.sql")),
        (15, "retention warning log", include_str!("../../migrations/postgres/0015_retention_warning_log.sql")),
        (16, "pairing status token", include_str!("../../migrations/postgres/0016_pairing_status_token.sql")),
    ])
}
