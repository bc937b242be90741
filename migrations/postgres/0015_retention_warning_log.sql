-- When each retention warning was sent and how far ahead it reached: erasure at a source
-- waits until a warning covering the records is at least the warning period old.
-- Superseded rows are pruned as new warnings come.
CREATE TABLE retention_warning_log (
    kind           TEXT NOT NULL,
    warned_through BIGINT NOT NULL,
    warned_at      BIGINT NOT NULL,
    PRIMARY KEY (kind, warned_at, warned_through)
);
