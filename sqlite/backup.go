package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
)

// Backup writes a consistent copy of the database to path, while other
// connections and processes (a running server) keep reading and writing.
//
// It uses VACUUM INTO: one statement that reads the database inside a
// single read transaction, so the copy is a snapshot as of one commit, and
// in WAL mode writers are not blocked while it runs. The copy is written to
// a temporary file beside path, synced, made private (it holds password
// hashes) and then linked into place, so path never names a partial copy
// and an existing file is never overwritten.
func (s *Store) Backup(ctx context.Context, path string) (err error) {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("sqlite: backup: %s already exists", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	tmpPath := tmp.Name()
	defer func() {
		if err != nil {
			os.Remove(tmpPath)
		}
	}()
	// VACUUM INTO needs an empty (or absent) target; CreateTemp made it
	// empty and private.
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	// Its own connection: not the group-commit writer (a backup must not
	// stall the server's writes) and not a reader (query_only forbids
	// writing even the target file).
	db, err := sql.Open("sqlite", dsn(s.path, false))
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmpPath); err != nil {
		return fmt.Errorf("sqlite: backup of %s: %w", s.path, err)
	}
	if err := syncFile(tmpPath); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if err := os.Link(tmpPath, path); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	os.Remove(tmpPath)
	return syncFile(filepath.Dir(path))
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

// Verify checks a database file without changing it: SQLite's integrity
// check passes and the schema is the one this binary expects.
func Verify(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("sqlite: verify: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro")
	if err != nil {
		return fmt.Errorf("sqlite: verify %s: %w", path, err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&res); err != nil {
		return fmt.Errorf("sqlite: verify %s: %w", path, err)
	}
	if res != "ok" {
		return fmt.Errorf("sqlite: verify %s: integrity check: %s", path, res)
	}
	var fine atomic.Pointer[error]
	return (&Store{path: path, w: pool{db: db, gone: &fine}}).CheckSchema(ctx)
}
