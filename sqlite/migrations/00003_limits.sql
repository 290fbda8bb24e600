-- +goose Up
-- Abuse-limit counters (latch.LimitStore): one GCRA time per key. The key is
-- an HMAC of the limit's name and subject under a key derived from the
-- secret file, so this table holds no email or address. A time in the past
-- means the same as no row; latch prunes those.
CREATE TABLE limits (
    key BLOB PRIMARY KEY,
    tat INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX limits_by_tat ON limits (tat);

-- +goose Down
DROP TABLE limits;
