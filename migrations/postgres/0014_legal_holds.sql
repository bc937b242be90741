-- Legal holds: while one is active on a person or a request, retention deletes nothing of
-- theirs. Lifted holds stay, with who lifted them and why.
CREATE TABLE legal_holds (
    id            TEXT PRIMARY KEY NOT NULL,
    subject_ref   TEXT,
    request_id    TEXT,
    reason        TEXT NOT NULL,
    placed_by     TEXT NOT NULL,
    placed_at     BIGINT NOT NULL,
    lifted_by     TEXT,
    lifted_reason TEXT,
    lifted_at     BIGINT,
    CHECK ((subject_ref IS NULL) <> (request_id IS NULL))
);

CREATE INDEX legal_holds_subject ON legal_holds (subject_ref, lifted_at);
CREATE INDEX legal_holds_request ON legal_holds (request_id, lifted_at);
CREATE INDEX connections_revoked ON connections (state, revoked_at);
CREATE INDEX pairings_updated ON pairings (state, updated_at);

-- Per kind, the instant through which staff were warned of coming deletions: each row is
-- announced once, across instances.
CREATE TABLE retention_warnings (
    kind           TEXT PRIMARY KEY NOT NULL,
    warned_through BIGINT NOT NULL
);
