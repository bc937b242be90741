-- The breach register (art. 33(5)): every suspected breach, notified or not, with the
-- answers to the procedure's questions, its facts, the authority's notification and how
-- many of the 72-hour clock's alarms were raised. Never deleted by the gateway.
CREATE TABLE breaches (
    id                    TEXT PRIMARY KEY NOT NULL,
    recorded_at           INTEGER NOT NULL,
    recorded_by           TEXT NOT NULL,
    aware_at              INTEGER NOT NULL,
    -- JSON: nature, categories, numbers, consequences, measures, contact.
    facts                 TEXT NOT NULL,
    -- JSON: the answers to the procedure's questions.
    answers               TEXT NOT NULL,
    -- Derived from the answers when they are written, for filtering.
    outcome               TEXT NOT NULL,
    authority_notified_at INTEGER,
    authority_reference   TEXT,
    delay_reason          TEXT,
    people_notified_at    INTEGER,
    wallets_notified      INTEGER NOT NULL DEFAULT 0,
    -- 0 to 3: the 24-hour, 48-hour and overdue alarms raised so far.
    alarms                INTEGER NOT NULL DEFAULT 0,
    updated_at            INTEGER NOT NULL,
    -- Raised by every write: a notification names the version staff reviewed.
    version               INTEGER NOT NULL DEFAULT 1
);

CREATE INDEX breaches_recent ON breaches (recorded_at, id);
CREATE INDEX breaches_clock ON breaches (authority_notified_at, outcome, alarms, aware_at);
