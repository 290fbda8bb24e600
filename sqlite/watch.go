package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"
)

// A SQLite file can go away under a running server: deleted, moved, or
// replaced by a restore while the process keeps its open descriptors. SQLite
// would go on reading the old inode, and revocations written by other
// processes to the new file would never be seen: a revoked session could
// pass. So the store watches its path, and while the file there is missing
// or is not the file it opened, every operation fails (latch answers 503)
// instead of serving from a file nobody else sees. When the same file is
// back, the store works again by itself; a different file needs a restart,
// which the log says.

// watchEvery is how often the path is checked.
const watchEvery = 50 * time.Millisecond

// ErrFileGone is returned while the database file is missing or replaced.
var ErrFileGone = errors.New("the database file is missing or was replaced since latch opened it")

// closedDB answers every call with an error: what a pool hands out while
// the file is gone (a *sql.Row cannot be made with an error otherwise).
var closedDB = func() *sql.DB {
	db, _ := sql.Open("sqlite", ":memory:")
	db.Close()
	return db
}()

// pool is a *sql.DB that refuses to run while the file is gone.
type pool struct {
	db   *sql.DB
	gone *atomic.Pointer[error]
}

func (p pool) use() (*sql.DB, error) {
	if e := p.gone.Load(); e != nil {
		return closedDB, *e
	}
	return p.db, nil
}

func (p pool) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	db, err := p.use()
	if err != nil {
		return nil, err
	}
	return db.ExecContext(ctx, q, args...)
}

func (p pool) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	db, err := p.use()
	if err != nil {
		return nil, err
	}
	return db.QueryContext(ctx, q, args...)
}

func (p pool) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	db, _ := p.use()
	return db.QueryRowContext(ctx, q, args...)
}

func (p pool) BeginTx(ctx context.Context, o *sql.TxOptions) (*sql.Tx, error) {
	db, err := p.use()
	if err != nil {
		return nil, err
	}
	return db.BeginTx(ctx, o)
}

func (p pool) Close() error { return p.db.Close() }

// watch checks the path until stop is closed.
func (s *Store) watch(opened os.FileInfo, stop <-chan struct{}) {
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		s.check(opened)
	}
}

func (s *Store) check(opened os.FileInfo) {
	fi, err := os.Stat(s.path)
	var fault error
	switch {
	case err != nil:
		fault = fmt.Errorf("%w: %s: %v", ErrFileGone, s.path, err)
	case !os.SameFile(fi, opened):
		fault = fmt.Errorf("%w: %s is another file now; restart latch to use it", ErrFileGone, s.path)
	}
	prev := s.gone.Load()
	switch {
	case fault != nil && prev == nil:
		s.gone.Store(&fault)
		s.logger.Error("database file gone: refusing every request until it is back", "err", fault)
	case fault == nil && prev != nil:
		s.gone.Store(nil)
		s.logger.Info("database file is back: serving again", "db", s.path)
	}
}

var discardLogger = slog.New(slog.DiscardHandler)
