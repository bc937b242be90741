-- The id a wallet gave its request: a retried `request.submit` finds the request it filed
-- instead of filing it twice. A written request may come through an intermediary.
ALTER TABLE rights_requests ADD COLUMN intake_ref TEXT;
ALTER TABLE rights_requests ADD COLUMN intermediary TEXT;
CREATE UNIQUE INDEX rights_requests_intake ON rights_requests (filed_by, intake_ref);

-- The written request itself (a scanned letter, an e-mail), kept until `retain_until`.
CREATE TABLE request_documents (
    request_id   TEXT PRIMARY KEY NOT NULL REFERENCES rights_requests (id),
    media_type   TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    size         INTEGER NOT NULL,
    content      BLOB NOT NULL,
    stored_at    INTEGER NOT NULL,
    retain_until INTEGER NOT NULL
) STRICT;

-- What must be told to someone (a wallet, a webhook endpoint), written in the transaction
-- of the change it reports and delivered at least once, with retries.
CREATE TABLE outbox (
    id            TEXT PRIMARY KEY NOT NULL,
    target        TEXT NOT NULL,
    event_type    TEXT NOT NULL,
    payload       TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    attempts      INTEGER NOT NULL,
    next_at       INTEGER NOT NULL,
    claimed_until INTEGER,
    delivered_at  INTEGER,
    abandoned_at  INTEGER,
    last_error    TEXT
) STRICT;

CREATE INDEX outbox_pending ON outbox (next_at) WHERE delivered_at IS NULL AND abandoned_at IS NULL;

-- Every attempt, for the delivery log.
CREATE TABLE outbox_attempts (
    outbox_id TEXT NOT NULL REFERENCES outbox (id),
    seq       INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    status    INTEGER,
    error     TEXT,
    PRIMARY KEY (outbox_id, seq)
) STRICT;
