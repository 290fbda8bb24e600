-- +goose Up
-- The same logical schema as sqlite/migrations/00001_init.sql. Times are
-- timestamptz, written by the store truncated to milliseconds (the precision
-- both stores keep). Token material is stored only as SHA-256 hashes; signing
-- keys only sealed with a key derived from the secret file. Ids are text, as
-- in SQLite: a malformed id is "not found", never a type error.
CREATE TABLE users (
    id            text PRIMARY KEY,
    email         text NOT NULL,
    email_key     text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL,
    disabled_at   timestamptz
);

CREATE TABLE sessions (
    id                text PRIMARY KEY,
    user_id           text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at        timestamptz NOT NULL,
    last_seen_at      timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL,
    ip                text NOT NULL,
    user_agent        text NOT NULL,
    generation        bigint NOT NULL CHECK (generation >= 0),
    refresh_hash      bytea NOT NULL CHECK (length(refresh_hash) = 32),
    prev_refresh_hash bytea CHECK (length(prev_refresh_hash) = 32),
    rotated_at        timestamptz,
    revoked_at        timestamptz,
    revoke_reason     text,
    CHECK ((revoked_at IS NULL) = (revoke_reason IS NULL))
);
CREATE INDEX sessions_by_user ON sessions (user_id, created_at);

-- Every revocation, in one order for the whole installation: the feed other
-- services follow, and how other nodes learn to drop cached sessions. Writers
-- hold an advisory lock while they insert, so seq values become visible in
-- increasing order and a follower reading "after N" never steps over one.
CREATE TABLE revocations (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id text NOT NULL,
    user_id    text NOT NULL,
    reason     text NOT NULL,
    at         timestamptz NOT NULL
);

CREATE TABLE audit_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL,
    type       text NOT NULL,
    user_id    text NOT NULL,
    session_id text NOT NULL,
    email      text NOT NULL,
    ip         text NOT NULL,
    user_agent text NOT NULL,
    outcome    text NOT NULL,
    detail     text NOT NULL
);
CREATE INDEX audit_events_by_user ON audit_events (user_id, id);
CREATE INDEX audit_events_by_time ON audit_events (at);

CREATE TABLE signing_keys (
    id         text PRIMARY KEY,
    algorithm  text NOT NULL,
    public_key bytea NOT NULL,
    sealed_key bytea NOT NULL,
    created_at timestamptz NOT NULL,
    retired_at timestamptz
);

CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

-- +goose Down
DROP TABLE meta;
DROP TABLE signing_keys;
DROP TABLE audit_events;
DROP TABLE revocations;
DROP TABLE sessions;
DROP TABLE users;
