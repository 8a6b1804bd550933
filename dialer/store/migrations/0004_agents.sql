-- 0004: agents, their state history, and who took an attempt and how it went.
-- Agents are never deleted: their history stays for reports. A removed agent
-- (removed_at set) frees the extension, which is also their SIP username.
CREATE TABLE agents (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL CHECK (length(trim(name)) > 0),
    extension     TEXT NOT NULL CHECK (length(extension) BETWEEN 2 AND 10
                                       AND extension NOT GLOB '*[^0-9]*'),
    password_hash TEXT NOT NULL CHECK (password_hash GLOB 'scrypt$*'),  -- the console login
    ha1_md5       TEXT NOT NULL CHECK (length(ha1_md5) = 32),  -- SIP digest, not the password
    ha1_sha256    TEXT NOT NULL CHECK (length(ha1_sha256) = 64),
    realm         TEXT NOT NULL,  -- what the HA1s were computed in: another realm makes them stale
    campaigns     TEXT NOT NULL DEFAULT '[]'  -- campaign ids; empty: any campaign
                       CHECK (json_valid(campaigns) AND json_type(campaigns) = 'array'),
    skills        TEXT NOT NULL DEFAULT '[]'
                       CHECK (json_valid(skills) AND json_type(skills) = 'array'),
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL,
    removed_at    REAL
);
-- One live agent per extension; the registrar looks secrets up by it.
CREATE UNIQUE INDEX agents_live_extension ON agents (extension) WHERE removed_at IS NULL;

CREATE TABLE agent_state_changes (
    id       INTEGER PRIMARY KEY,
    agent_id INTEGER NOT NULL REFERENCES agents (id),
    state    TEXT NOT NULL CHECK (state IN
                 ('logged_out', 'ready', 'reserved', 'on_call', 'wrap_up', 'paused')),
    reason   TEXT NOT NULL DEFAULT '',
    at       REAL NOT NULL
);
CREATE INDEX agent_state_changes_by_agent ON agent_state_changes (agent_id, at);

-- The agent who took the call, and their disposition; variables they set merge into
-- the attempt's own `variables`, which "retry until goal" reads.
ALTER TABLE attempts ADD COLUMN agent_id INTEGER REFERENCES agents (id);
ALTER TABLE attempts ADD COLUMN disposition TEXT;
ALTER TABLE attempts ADD COLUMN notes TEXT;
CREATE INDEX attempts_by_agent ON attempts (agent_id, finished_at) WHERE agent_id IS NOT NULL;
