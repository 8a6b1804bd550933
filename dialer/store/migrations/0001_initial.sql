-- 0001: campaigns, leads, the attempt ledger and the do-not-call list.
-- Times are Unix seconds (REAL) handed in by the caller as `now`.
-- State columns are checked against the names in dialer/campaign/model.py.

CREATE TABLE campaigns (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    state          TEXT NOT NULL DEFAULT 'draft' CHECK (state IN
                       ('draft', 'scheduled', 'running', 'paused', 'stopped', 'completed', 'failed')),
    failure_reason TEXT CHECK ((state = 'failed') = (failure_reason IS NOT NULL)),
    settings       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings)),
    created_at     REAL NOT NULL,
    updated_at     REAL NOT NULL
);

CREATE TABLE leads (
    id              INTEGER PRIMARY KEY,
    campaign_id     INTEGER NOT NULL REFERENCES campaigns (id),
    name            TEXT NOT NULL DEFAULT '',
    phone           TEXT CHECK (phone GLOB '+[1-9]*' AND length(phone) BETWEEN 3 AND 16),
    email           TEXT,
    secondary_phone TEXT CHECK (secondary_phone GLOB '+[1-9]*'
                                AND length(secondary_phone) BETWEEN 3 AND 16),
    timezone        TEXT,
    attributes      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(attributes)),
    state           TEXT NOT NULL DEFAULT 'created' CHECK (state IN
                        ('created', 'scheduled', 'processing', 'completed', 'rescheduled',
                         'max_retries', 'do_not_call', 'invalid')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at REAL,
    last_outcome    TEXT,
    last_attempt_at REAL,
    removed_at      REAL,  -- removed by a manager; kept so its attempts stay in the ledger
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL,
    UNIQUE (campaign_id, phone)  -- duplicates are merged on import; NULL phones never collide
);
CREATE INDEX leads_due ON leads (campaign_id, state, next_attempt_at);

CREATE TABLE attempts (
    id          INTEGER PRIMARY KEY,
    lead_id     INTEGER NOT NULL REFERENCES leads (id),
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    number      TEXT NOT NULL CHECK (number GLOB '+[1-9]*' AND length(number) BETWEEN 3 AND 16),
    state       TEXT NOT NULL DEFAULT 'in_flight' CHECK (state IN ('in_flight', 'finished')),
    started_at  REAL NOT NULL,
    outcome     TEXT CHECK (outcome IN
                    ('completed', 'busy', 'no_answer', 'rejected', 'failed', 'cancelled')),
    sip_code    INTEGER,
    reason      TEXT,
    answered_by TEXT CHECK (answered_by IN ('human', 'machine', 'unknown')),
    variables   TEXT CHECK (variables IS NULL OR json_valid(variables)),
    duration_s  REAL,
    finished_at REAL,
    -- a finished attempt has its outcome; an attempt in flight has none yet
    CHECK ((state = 'finished') = (outcome IS NOT NULL AND finished_at IS NOT NULL))
);
-- The heart of "never double-dial": the database itself allows one attempt in flight per lead.
CREATE UNIQUE INDEX attempts_one_in_flight ON attempts (lead_id) WHERE state = 'in_flight';
CREATE INDEX attempts_by_lead ON attempts (lead_id);

CREATE TABLE dnc (
    number      TEXT NOT NULL CHECK (number GLOB '+[1-9]*' AND length(number) BETWEEN 3 AND 16),
    campaign_id INTEGER REFERENCES campaigns (id),  -- NULL: every campaign
    source      TEXT NOT NULL DEFAULT '',
    added_at    REAL NOT NULL
);
CREATE UNIQUE INDEX dnc_entry ON dnc (number, ifnull(campaign_id, 0));
