-- Message ids (`jti`) the gateway has acted on, per connection, kept as long as a message
-- could still be accepted: a replayed message is dropped, not served twice.
CREATE TABLE message_ids (
    connection_id TEXT NOT NULL,
    jti           TEXT NOT NULL,
    expires_at    BIGINT NOT NULL,
    PRIMARY KEY (connection_id, jti)
);

CREATE INDEX message_ids_expiry ON message_ids (expires_at);
