-- How a relay connection came about: a redeemed connect token (QR pairing) or opened by
-- a wallet to a listed controller, to forward a bundle.
ALTER TABLE relay_connections ADD COLUMN origin TEXT NOT NULL DEFAULT 'token';

-- The import register: bundles other controllers signed, forwarded by the person through
-- their wallet, verified against the issuer's keys from the trust list before storing.
-- A bundle is stored once per issuer and bundle id; offering it again names the import.
CREATE TABLE imports (
    id             TEXT PRIMARY KEY NOT NULL,
    issuer         TEXT NOT NULL,
    bundle_id      TEXT NOT NULL,
    issuer_subject TEXT NOT NULL,
    subject_ref    TEXT,
    connection_id  TEXT NOT NULL,
    purpose        TEXT NOT NULL,
    categories     TEXT NOT NULL,
    bundle         TEXT NOT NULL,
    bundle_sha256  TEXT NOT NULL,
    issued_at      INTEGER NOT NULL,
    received_at    INTEGER NOT NULL,
    UNIQUE (issuer, bundle_id)
) STRICT;

CREATE INDEX imports_received ON imports (received_at, id);
