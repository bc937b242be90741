-- A wallet brings a fresh X25519 key to every connection, as it does a fresh signing key
-- (docs/protocol.md § 5.4): the key's thumbprint is kept and may serve one connection
-- only. Connections made before this migration have none and block nothing.
ALTER TABLE relay_connections ADD COLUMN wallet_encryption_kid TEXT;
CREATE UNIQUE INDEX relay_connections_encryption_kid ON relay_connections (wallet_encryption_kid);
