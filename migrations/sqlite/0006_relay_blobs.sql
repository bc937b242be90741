-- Blobs at the relay: ciphertext too large for a mailbox message, stored in chunks so it
-- streams both ways on either backend, for the other side of one connection to fetch.
CREATE TABLE relay_blobs (
    id            TEXT PRIMARY KEY NOT NULL,
    connection_id TEXT NOT NULL REFERENCES relay_connections (id) ON DELETE CASCADE,
    recipient     TEXT NOT NULL,
    declared      INTEGER NOT NULL,
    size          INTEGER,
    sha256        TEXT,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX relay_blobs_connection ON relay_blobs (connection_id);
CREATE INDEX relay_blobs_expiry ON relay_blobs (expires_at);

CREATE TABLE relay_blob_chunks (
    blob_id TEXT NOT NULL REFERENCES relay_blobs (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    data    BLOB NOT NULL,
    PRIMARY KEY (blob_id, seq)
) STRICT;
