package main

import (
	"context"
	"log/slog"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/postgres"
	"github.com/latchauth/latch/sqlite"
)

// store is what both store implementations offer the CLI: the latch.Store
// plus schema management.
type store interface {
	latch.Store
	// Migrate applies pending migrations and returns how many ran.
	Migrate(ctx context.Context, logger *slog.Logger) (int, error)
	// CheckSchema reports whether the schema is exactly what this binary expects.
	CheckSchema(ctx context.Context) error
}

var (
	_ store = (*sqlite.Store)(nil)
	_ store = (*postgres.Store)(nil)
)

// openStore opens the database --db names: a postgres:// or postgresql://
// URL, or else a SQLite file.
func openStore(ctx context.Context, cfg Config) (store, error) {
	if postgres.IsURL(cfg.DB) {
		return postgres.Open(ctx, cfg.DB, postgres.Options{})
	}
	return sqlite.Open(ctx, cfg.DB)
}

// dbForLogs names the database in logs and errors without its password.
func (c *Config) dbForLogs() string {
	if postgres.IsURL(c.DB) {
		return postgres.Redact(c.DB)
	}
	return c.DB
}
