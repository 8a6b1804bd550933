-- 0005: web users, their API tokens, the audit log, and deleted campaigns' ids.
-- Users are never deleted (the audit log names them): removal sets removed_at and
-- frees the username. Usernames compare without case, so "Admin" cannot pose as "admin".
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL COLLATE NOCASE CHECK (length(username) BETWEEN 1 AND 64),
    role          TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'agent')),
    password_hash TEXT NOT NULL CHECK (password_hash GLOB 'scrypt$*'),  -- self-describing
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL,
    removed_at    REAL
);
CREATE UNIQUE INDEX users_live_username ON users (username) WHERE removed_at IS NULL;

-- The secret itself is never stored: a token is found by the SHA-256 of what was shown.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL CHECK (length(trim(name)) > 0),
    token_hash   TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    prefix       TEXT NOT NULL CHECK (length(prefix) = 8),  -- for people to tell tokens apart
    created_at   REAL NOT NULL,
    last_used_at REAL,  -- written at most once a minute, not on every request
    revoked_at   REAL,
    expires_at   REAL  -- NULL: until revoked
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);

-- Who changed what, written in the transaction of the change it describes.
CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY,
    at     REAL NOT NULL,
    actor  TEXT NOT NULL CHECK (length(actor) > 0),  -- a username, or 'cli'
    role   TEXT NOT NULL CHECK (role IN ('', 'admin', 'manager', 'agent')),  -- '' for cli
    action TEXT NOT NULL CHECK (length(action) > 0),  -- 'campaign.start', 'user.add'...
    target TEXT NOT NULL DEFAULT '',  -- 'campaign:3', 'user:alice'...
    before TEXT CHECK (before IS NULL OR json_valid(before)),
    after  TEXT CHECK (after IS NULL OR json_valid(after)),
    source TEXT NOT NULL  -- the client's IP address, or 'cli'
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_target ON audit_log (target, at);
-- Append-only for the code: a later migration drops these to prune old entries.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- A deleted campaign's id is never given to a new one (SQLite would reuse the highest
-- rowid), so "campaign:3" in the audit log and agents' assignments keep one meaning.
CREATE TABLE deleted_campaigns (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    deleted_at REAL NOT NULL
);
