-- 0006: the webhook outbox. Every status callback is a row before it is sent, and stays
-- until its receiver answered 2xx (delivered_at) or the tries ran out (given_up_at).
CREATE TABLE webhook_outbox (
    id              INTEGER PRIMARY KEY,
    campaign_id     INTEGER,  -- no foreign key: a deleted campaign's deliveries still go
    event           TEXT NOT NULL,  -- call.initiated ... call.completed, campaign.completed
    url             TEXT NOT NULL,
    body            TEXT NOT NULL CHECK (json_valid(body)),  -- sent byte for byte as stored
    created_at      REAL NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error      TEXT,
    delivered_at    REAL,
    given_up_at     REAL
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at)
    WHERE delivered_at IS NULL AND given_up_at IS NULL;
