// Package postgres implements latch.Store on PostgreSQL with
// github.com/jackc/pgx/v5, for installations that run several latch nodes
// on one shared database. It also implements latch.RevocationListener with
// LISTEN/NOTIFY, so every node learns of a revocation made on any other
// within milliseconds.
//
// Each Store method is one statement or one transaction. Refresh rotation is
// a single compare-and-swap UPDATE; every revocation writes its session
// change, its event and its notification in one transaction.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the embedded schema migrations.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrations, "migrations")
	return sub
}

// Options tune a Store. The zero value is valid.
type Options struct {
	// MaxConns caps the connection pool. Zero keeps pool_max_conns from the
	// URL, else pgxpool's default: the greater of 4 and the number of CPUs.
	// The listener's connection is extra, outside the pool.
	MaxConns int32
	// MinConns keeps that many connections open while idle. Zero keeps
	// pool_min_conns from the URL, else 0.
	MinConns int32
	// ListenHeartbeat is how long the notification connection may stay
	// silent before it is checked with a query; a check that fails or does
	// not answer within another ListenHeartbeat ends ListenRevocations.
	// Zero means 1s. It bounds how long a silently dead connection (a
	// network partition) can go unnoticed.
	ListenHeartbeat time.Duration
}

// Store is a latch.Store on a PostgreSQL database.
type Store struct {
	pool      *pgxpool.Pool
	db        *sql.DB // the pool seen through database/sql, for migrations
	listen    *pgx.ConnConfig
	heartbeat time.Duration
}

var (
	_ latch.Store              = (*Store)(nil)
	_ latch.RevocationListener = (*Store)(nil)
	_ latch.SessionCounter     = (*Store)(nil)
)

// Open connects to the database at url (postgres:// or postgresql://; pgx
// query parameters such as sslmode and pool_max_conns apply) and checks
// that it answers. It does not migrate; call Migrate or CheckSchema. Errors
// never contain the URL's password.
func Open(ctx context.Context, url string, o Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s", scrub(err.Error(), url))
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	if o.MinConns > 0 {
		cfg.MinConns = min(o.MinConns, cfg.MaxConns)
	}
	// Rotation, revocation and SetMetaIfAbsent are argued under READ
	// COMMITTED (a blocked UPDATE re-checks its WHERE on the new row); a
	// stricter server default would turn lost races into errors.
	cfg.ConnConfig.RuntimeParams["default_transaction_isolation"] = "read committed"
	if cfg.ConnConfig.ConnectTimeout == 0 {
		// A blackholed host must not hang start-up or a listener's reconnect.
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "latch"
	}
	listen := cfg.ConnConfig.Copy()
	listen.RuntimeParams["application_name"] = ListenerApplicationName
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s", scrub(err.Error(), url))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, &scrubbedError{msg: "postgres: connect: " + scrub(err.Error(), url), err: err}
	}
	hb := o.ListenHeartbeat
	if hb <= 0 {
		hb = time.Second
	}
	return &Store{pool: pool, db: stdlib.OpenDBFromPool(pool), listen: listen, heartbeat: hb}, nil
}

// Migrate applies pending schema migrations. Nodes starting together take
// turns under an advisory lock.
func (s *Store) Migrate(ctx context.Context, logger *slog.Logger) (int, error) {
	return migrate.Up(ctx, s.db, migrate.Postgres, Migrations(), logger)
}

// CheckSchema reports whether the schema is exactly what this binary expects.
func (s *Store) CheckSchema(ctx context.Context) error {
	return migrate.Check(ctx, s.db, migrate.Postgres, Migrations())
}

// Close closes the pool. A running ListenRevocations is ended by its own
// context, not by Close.
func (s *Store) Close() error {
	err := s.db.Close()
	s.pool.Close()
	return err
}

// Ping runs a query, so it fails when the database cannot answer.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.pool.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Pool returns the connection pool, for tests and operational tooling.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// readCommitted is the isolation level of every transaction.
var readCommitted = pgx.TxOptions{IsoLevel: pgx.ReadCommitted}

// ts is how a time is stored: milliseconds, like the SQLite store, so both
// stores answer the same (timestamptz alone would keep microseconds).
func ts(t time.Time) time.Time { return t.Truncate(time.Millisecond).UTC() }

// nullTS stores a zero time as NULL.
func nullTS(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	v := ts(t)
	return &v
}

func fromNullTS(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// wrap turns driver errors into the latch sentinels and adds context.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "23505": // unique_violation
		return fmt.Errorf("postgres: %s: %w (constraint %s)", op, latch.ErrConflict, pgErr.ConstraintName)
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("postgres: %s: %w", op, latch.ErrNotFound)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// notFound is the error for a statement that matched no row.
func notFound(op string) error { return fmt.Errorf("postgres: %s: %w", op, latch.ErrNotFound) }

// hasNUL reports whether s holds a NUL byte, which PostgreSQL text cannot
// store: no stored key can equal such a string.
func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 }

// noNUL makes free text (audit fields from requests) storable.
func noNUL(s string) string { return strings.ReplaceAll(s, "\x00", "\uFFFD") }
