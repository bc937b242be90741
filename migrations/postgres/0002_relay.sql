-- The relay: connect tokens (only their SHA-256), connections between one controller and
-- one wallet key, per-connection mailboxes of JWE envelopes, and spent proof ids.
CREATE TABLE relay_connect_tokens (
    token_sha256  TEXT PRIMARY KEY NOT NULL,
    controller_id TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    redeemed_at   BIGINT
);

CREATE INDEX relay_connect_tokens_expiry ON relay_connect_tokens (expires_at);

CREATE TABLE relay_connections (
    id                    TEXT PRIMARY KEY NOT NULL,
    controller_id         TEXT NOT NULL,
    token_sha256          TEXT NOT NULL UNIQUE,
    wallet_jkt            TEXT NOT NULL UNIQUE,
    wallet_signing_jwk    TEXT NOT NULL,
    wallet_encryption_jwk TEXT NOT NULL,
    state                 TEXT NOT NULL,
    created_at            BIGINT NOT NULL,
    revoked_at            BIGINT
);

CREATE INDEX relay_connections_controller ON relay_connections (controller_id);

CREATE TABLE relay_messages (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    connection_id TEXT NOT NULL REFERENCES relay_connections (id) ON DELETE CASCADE,
    controller_id TEXT NOT NULL,
    recipient     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    body          TEXT,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);

CREATE INDEX relay_messages_mailbox ON relay_messages (connection_id, recipient, seq);
CREATE INDEX relay_messages_inbox ON relay_messages (controller_id, recipient, seq);
CREATE INDEX relay_messages_expiry ON relay_messages (expires_at);

CREATE TABLE relay_proof_ids (
    jkt        TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (jkt, jti)
);

CREATE INDEX relay_proof_ids_expiry ON relay_proof_ids (expires_at);
