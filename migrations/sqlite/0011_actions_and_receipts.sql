-- What carrying out a request takes, one operation per category (and purpose): done by
-- the gateway at the source through the outbox, or a task for a handler.
CREATE TABLE request_actions (
    request_id TEXT NOT NULL REFERENCES rights_requests (id),
    seq        INTEGER NOT NULL,
    category   TEXT NOT NULL,
    operation  TEXT NOT NULL,
    argument   TEXT,
    status     TEXT NOT NULL,
    note       TEXT,
    evidence   TEXT,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (request_id, seq)
) STRICT;

-- The receipt signed when a request ended: exactly one per request.
CREATE TABLE request_receipts (
    request_id      TEXT PRIMARY KEY NOT NULL REFERENCES rights_requests (id),
    -- Dropped when the person is forgotten (it names them); its digest stays.
    token           TEXT,
    token_sha256    TEXT NOT NULL,
    signed_at       INTEGER NOT NULL,
    acknowledged_at INTEGER,
    -- When staff were told no wallet acknowledged it, so they send it another way.
    flagged_at      INTEGER
) STRICT;
