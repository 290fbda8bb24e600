-- +goose Up
-- Services that read the revocation feed and call introspection and
-- revocation. Only the SHA-256 of each 256-bit secret is kept.
CREATE TABLE clients (
    name        text PRIMARY KEY,
    secret_hash bytea NOT NULL CHECK (octet_length(secret_hash) = 32),
    created_at  timestamptz NOT NULL
);

-- Finds where the revocation feed's replay window starts.
CREATE INDEX revocations_by_time ON revocations (at);

-- +goose Down
DROP INDEX revocations_by_time;
DROP TABLE clients;
