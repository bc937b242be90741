-- The audit trail: append-only, each entry chained to the one before by the SHA-256 of
-- its canonical form (docs/audit.md). The subject appears only as a keyed hash, so
-- forgetting a person never has to touch the chain.
CREATE TABLE audit_entries (
    seq     INTEGER PRIMARY KEY NOT NULL,
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    -- JSON array of `kind:id` strings.
    objects TEXT NOT NULL,
    subject TEXT,
    detail  TEXT,
    prev    TEXT NOT NULL,
    hash    TEXT NOT NULL
) STRICT;

CREATE INDEX audit_entries_action ON audit_entries (action, seq);
CREATE INDEX audit_entries_subject ON audit_entries (subject, seq);

-- The chain's head, one row: every append locks it first, so one writer at a time
-- extends the chain (across instances on PostgreSQL) and it never forks. A removed tail
-- shows as a head past the last entry.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
) STRICT;

INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Signed checkpoints over the head (typ gdpr-audit-checkpoint+jwt).
CREATE TABLE audit_checkpoints (
    seq   INTEGER PRIMARY KEY NOT NULL,
    hash  TEXT NOT NULL,
    at    INTEGER NOT NULL,
    token TEXT NOT NULL
) STRICT;
