// Package migrate applies the embedded SQL migrations of a store with
// github.com/pressly/goose/v3, and refuses to run a binary that is older than
// its database.
package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Dialects latch supports.
const (
	SQLite   = goose.DialectSQLite3
	Postgres = goose.DialectPostgres
)

// ErrDatabaseNewer means the database was migrated by a newer latch.
var ErrDatabaseNewer = errors.New("the database schema is newer than this latch binary; upgrade latch")

// ErrPending means migrations have not been applied yet.
var ErrPending = errors.New("database migrations are pending; run latch migrate")

func provider(db *sql.DB, dialect goose.Dialect, fsys fs.FS, logger *slog.Logger) (*goose.Provider, error) {
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if dialect == Postgres {
		// Nodes starting together take turns instead of racing the DDL. A
		// waiting node retries every second (goose's default is 5s), for up
		// to five minutes.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	if logger != nil {
		opts = append(opts, goose.WithSlog(logger))
	}
	return goose.NewProvider(dialect, db, fsys, opts...)
}

// Status returns the schema version of the database and of this binary.
func Status(ctx context.Context, db *sql.DB, dialect goose.Dialect, fsys fs.FS) (current, target int64, err error) {
	p, err := provider(db, dialect, fsys, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("migrate: %w", err)
	}
	current, target, err = p.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("migrate: read version: %w", err)
	}
	return current, target, nil
}

// Check reports ErrPending or ErrDatabaseNewer unless the schema is exactly current.
func Check(ctx context.Context, db *sql.DB, dialect goose.Dialect, fsys fs.FS) error {
	current, target, err := Status(ctx, db, dialect, fsys)
	switch {
	case err != nil:
		return err
	case current > target:
		return fmt.Errorf("%w (database version %d, binary knows %d)", ErrDatabaseNewer, current, target)
	case current < target:
		return ErrPending
	}
	return nil
}

// Up applies pending migrations and returns how many ran.
func Up(ctx context.Context, db *sql.DB, dialect goose.Dialect, fsys fs.FS, logger *slog.Logger) (int, error) {
	current, target, err := Status(ctx, db, dialect, fsys)
	if err != nil {
		return 0, err
	}
	if current > target {
		return 0, fmt.Errorf("%w (database version %d, binary knows %d)", ErrDatabaseNewer, current, target)
	}
	p, err := provider(db, dialect, fsys, logger)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("migrate: %w", err)
	}
	return len(res), nil
}
