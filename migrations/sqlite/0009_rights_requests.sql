-- Rights requests (art. 15-22 GDPR): one row per request, with its number, due date and
-- where it stands. `request_events` is its history, appended to and never changed.
CREATE TABLE rights_requests (
    id             TEXT PRIMARY KEY NOT NULL,
    number         TEXT NOT NULL UNIQUE,
    kind           TEXT NOT NULL,
    subject_ref    TEXT NOT NULL,
    channel        TEXT NOT NULL,
    filed_by       TEXT NOT NULL,
    categories     TEXT NOT NULL,
    details        TEXT,
    proposed       TEXT,
    state          TEXT NOT NULL,
    phase          TEXT NOT NULL,
    identification TEXT NOT NULL,
    outcome        TEXT,
    received_at    INTEGER NOT NULL,
    received_on    TEXT NOT NULL,
    due_on         TEXT NOT NULL,
    due_at         INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;

CREATE INDEX rights_requests_subject ON rights_requests (subject_ref, received_at, number);
CREATE INDEX rights_requests_due ON rights_requests (state, due_at);

-- The last number given out per year of receipt: numbers are 2026-000001, 2026-000002, …
CREATE TABLE request_numbers (
    year INTEGER PRIMARY KEY NOT NULL,
    last INTEGER NOT NULL
) STRICT;

CREATE TABLE request_events (
    request_id TEXT NOT NULL REFERENCES rights_requests (id),
    seq        INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    phase      TEXT NOT NULL,
    action     TEXT NOT NULL,
    detail     TEXT,
    PRIMARY KEY (request_id, seq)
) STRICT;
