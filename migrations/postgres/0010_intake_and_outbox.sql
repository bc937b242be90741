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
    size         BIGINT NOT NULL,
    content      BYTEA NOT NULL,
    stored_at    BIGINT NOT NULL,
    retain_until BIGINT NOT NULL
);

-- What must be told to someone (a wallet, a webhook endpoint), written in the transaction
-- of the change it reports and delivered at least once, with retries.
CREATE TABLE outbox (
    id            TEXT PRIMARY KEY NOT NULL,
    target        TEXT NOT NULL,
    event_type    TEXT NOT NULL,
    payload       TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    attempts      BIGINT NOT NULL,
    next_at       BIGINT NOT NULL,
    claimed_until BIGINT,
    delivered_at  BIGINT,
    abandoned_at  BIGINT,
    last_error    TEXT
);

CREATE INDEX outbox_pending ON outbox (next_at) WHERE delivered_at IS NULL AND abandoned_at IS NULL;

-- Every attempt, for the delivery log.
CREATE TABLE outbox_attempts (
    outbox_id TEXT NOT NULL REFERENCES outbox (id),
    seq       BIGINT NOT NULL,
    at        BIGINT NOT NULL,
    status    BIGINT,
    error     TEXT,
    PRIMARY KEY (outbox_id, seq)
);
