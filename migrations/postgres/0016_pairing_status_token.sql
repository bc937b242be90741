-- The SHA-256 of a pairing's status token: a browser holding the token may read that one
-- pairing (state, QR code, events) until it expires, without the portal token.
ALTER TABLE pairings ADD COLUMN status_sha256 TEXT;
