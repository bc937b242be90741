-- Pairings (QR code to confirmed wallet) and the connections they bind to a subject.
-- The connect token is kept only sealed to the gateway's own key, and only while the QR
-- code may still be shown; the confirmation code only as a salted SHA-256.
CREATE TABLE pairings (
    id                    TEXT PRIMARY KEY NOT NULL,
    client_id             TEXT NOT NULL,
    subject_ref           TEXT NOT NULL,
    token_sha256          TEXT NOT NULL UNIQUE,
    sealed_token          TEXT,
    state                 TEXT NOT NULL,
    code_sha256           TEXT,
    failed_attempts       INTEGER NOT NULL,
    connection_id         TEXT,
    wallet_signing_jwk    TEXT,
    wallet_encryption_jwk TEXT,
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
) STRICT;

CREATE INDEX pairings_expiry ON pairings (state, expires_at);

CREATE TABLE connections (
    id                    TEXT PRIMARY KEY NOT NULL,
    subject_ref           TEXT NOT NULL,
    pairing_id            TEXT NOT NULL,
    wallet_signing_jwk    TEXT NOT NULL,
    wallet_encryption_jwk TEXT NOT NULL,
    state                 TEXT NOT NULL,
    created_at            INTEGER NOT NULL,
    revoked_at            INTEGER
) STRICT;

CREATE INDEX connections_subject ON connections (subject_ref, created_at);
