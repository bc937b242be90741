-- The relay: connect tokens (only their SHA-256), connections between one controller and
-- one wallet key, per-connection mailboxes of JWE envelopes, and spent proof ids.
CREATE TABLE relay_connect_tokens (
    token_sha256  TEXT PRIMARY KEY NOT NULL,
    controller_id TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    redeemed_at   INTEGER
) STRICT;

CREATE INDEX relay_connect_tokens_expiry ON relay_connect_tokens (expires_at);

CREATE TABLE relay_connections (
    id                    TEXT PRIMARY KEY NOT NULL,
    controller_id         TEXT NOT NULL,
    token_sha256          TEXT NOT NULL UNIQUE,
    wallet_jkt            TEXT NOT NULL UNIQUE,
    wallet_signing_jwk    TEXT NOT NULL,
    wallet_encryption_jwk TEXT NOT NULL,
    state                 TEXT NOT NULL,
    created_at            INTEGER NOT NULL,
    revoked_at            INTEGER
) STRICT;

CREATE INDEX relay_connections_controller ON relay_connections (controller_id);

CREATE TABLE relay_messages (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    connection_id TEXT NOT NULL REFERENCES relay_connections (id) ON DELETE CASCADE,
    controller_id TEXT NOT NULL,
    recipient     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    body          TEXT,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX relay_messages_mailbox ON relay_messages (connection_id, recipient, seq);
CREATE INDEX relay_messages_inbox ON relay_messages (controller_id, recipient, seq);
CREATE INDEX relay_messages_expiry ON relay_messages (expires_at);

CREATE TABLE relay_proof_ids (
    jkt        TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (jkt, jti)
) STRICT;

CREATE INDEX relay_proof_ids_expiry ON relay_proof_ids (expires_at);
