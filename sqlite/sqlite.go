// Package sqlite implements latch.Store on a SQLite file with the pure-Go
// driver modernc.org/sqlite (no cgo). Writes go through one connection, so
// they queue in Go instead of contending for the file lock; reads use a pool
// of read-only connections in WAL mode.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

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

// Store is a latch.Store on one SQLite file.
type Store struct {
	path string
	w    pool // the single writer
	r    pool // readers

	writes *writer // owns the writer connection (writer.go)

	gone     atomic.Pointer[error] // set while the file is missing (watch.go)
	stop     chan struct{}
	stopOnce sync.Once
	logger   *slog.Logger
}

var (
	_ latch.Store          = (*Store)(nil)
	_ latch.SessionCounter = (*Store)(nil)
)

// dsn builds a modernc.org/sqlite URI. synchronous=FULL: a revocation that
// was acknowledged must survive a power cut, or a revoked session could
// come back to life.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	if readOnly {
		q.Add("_pragma", "query_only(ON)")
	} else {
		q.Add("_txlock", "immediate")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Open opens (creating if needed) the database file at path. It does not
// migrate; call Migrate or check with MigrationStatus.
func Open(ctx context.Context, path string) (*Store, error) {
	// The file holds password hashes and the audit log: create it readable
	// by its owner only. SQLite gives the -wal and -shm files the same mode.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("sqlite: open %s: unable to open database file: %w", path, err)
	}
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	// The writer connection opens first so WAL mode is set before readers connect.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(max(4, 2*runtime.NumCPU()))
	r.SetMaxIdleConns(max(4, 2*runtime.NumCPU()))
	st := &Store{path: path, stop: make(chan struct{}), logger: discardLogger}
	st.w, st.r = pool{db: w, gone: &st.gone}, pool{db: r, gone: &st.gone}
	st.writes = newWriter(st.w)
	if path != ":memory:" {
		opened, err := os.Stat(path)
		if err != nil {
			w.Close()
			r.Close()
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
		go st.watch(opened, st.stop)
	}
	return st, nil
}

// SetLogger sets where the store reports a missing database file.
func (s *Store) SetLogger(l *slog.Logger) {
	if l != nil {
		s.logger = l.With("component", "sqlite")
	}
}

// Migrate applies pending schema migrations.
func (s *Store) Migrate(ctx context.Context, logger *slog.Logger) (int, error) {
	return migrate.Up(ctx, s.w.db, migrate.SQLite, Migrations(), logger)
}

// CheckSchema reports whether the schema is exactly what this binary expects.
func (s *Store) CheckSchema(ctx context.Context) error {
	if e := s.gone.Load(); e != nil {
		return *e
	}
	return migrate.Check(ctx, s.w.db, migrate.SQLite, Migrations())
}

// Close closes both pools.
func (s *Store) Close() error {
	s.writes.close()
	s.stopOnce.Do(func() { close(s.stop) })
	return errors.Join(s.r.Close(), s.w.Close())
}

// Ping reads from the file, so it fails when the file is unreadable.
func (s *Store) Ping(ctx context.Context) error {
	if e := s.gone.Load(); e != nil {
		return fmt.Errorf("sqlite: ping: %w", *e)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM meta`).Scan(&n); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// DB returns the writer handle, for tests and backups.
func (s *Store) DB() *sql.DB { return s.w.db }

func ms(t time.Time) int64 { return t.UnixMilli() }

// nullMS stores a zero time as NULL.
func nullMS(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}

// inTx runs fn atomically and durably, grouped with concurrent writes
// (writer.go). Every write of the store goes through it.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.writes.do(ctx, fn)
}
