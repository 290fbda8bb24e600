-- +goose Up
-- Times are Unix milliseconds (UTC). Token material is stored only as SHA-256
-- hashes; signing keys only sealed with a key derived from the secret file.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    email_key     TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    disabled_at   INTEGER
) STRICT;

CREATE TABLE sessions (
    id                TEXT PRIMARY KEY,
    user_id           TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at        INTEGER NOT NULL,
    last_seen_at      INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    ip                TEXT NOT NULL,
    user_agent        TEXT NOT NULL,
    generation        INTEGER NOT NULL CHECK (generation >= 0),
    refresh_hash      BLOB NOT NULL,
    prev_refresh_hash BLOB,
    rotated_at        INTEGER,
    revoked_at        INTEGER,
    revoke_reason     TEXT,
    CHECK ((revoked_at IS NULL) = (revoke_reason IS NULL))
) STRICT;
CREATE INDEX sessions_by_user ON sessions (user_id, created_at);

-- Every revocation, in one order for the whole installation: the feed other
-- services follow, and how other processes learn to drop cached sessions.
CREATE TABLE revocations (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    reason     TEXT NOT NULL,
    at         INTEGER NOT NULL
) STRICT;

CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    type       TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    session_id TEXT NOT NULL,
    email      TEXT NOT NULL,
    ip         TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    detail     TEXT NOT NULL
) STRICT;
CREATE INDEX audit_events_by_user ON audit_events (user_id, id);
CREATE INDEX audit_events_by_time ON audit_events (at);

CREATE TABLE signing_keys (
    id         TEXT PRIMARY KEY,
    algorithm  TEXT NOT NULL,
    public_key BLOB NOT NULL,
    sealed_key BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
) STRICT;

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- +goose Down
DROP TABLE meta;
DROP TABLE signing_keys;
DROP TABLE audit_events;
DROP TABLE revocations;
DROP TABLE sessions;
DROP TABLE users;
