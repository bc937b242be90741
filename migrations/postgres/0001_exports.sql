-- The export register: who downloaded which categories of whose data, when, signed with
-- which key. Never the contents.
CREATE TABLE exports (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    subject_ref TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    format      TEXT NOT NULL,
    categories  JSONB NOT NULL,
    kid         TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE INDEX exports_subject ON exports (subject_ref, created_at);
CREATE INDEX exports_created ON exports (created_at);
