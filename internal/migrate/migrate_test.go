package migrate_test

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"testing/fstest"

	_ "modernc.org/sqlite"

	"github.com/latchauth/latch/internal/migrate"
)

var v1 = fstest.MapFS{"00001_a.sql": {Data: []byte("-- +goose Up\nCREATE TABLE a (x INTEGER);\n-- +goose Down\nDROP TABLE a;\n")}}
var v2 = fstest.MapFS{
	"00001_a.sql": v1["00001_a.sql"],
	"00002_b.sql": {Data: []byte("-- +goose Up\nCREATE TABLE b (x INTEGER);\n-- +goose Down\nDROP TABLE b;\n")},
}

func TestUpCheckAndNewerDatabase(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	if err := migrate.Check(ctx, db, migrate.SQLite, v1); !errors.Is(err, migrate.ErrPending) {
		t.Fatalf("Check(new db) = %v, want ErrPending", err)
	}
	if n, err := migrate.Up(ctx, db, migrate.SQLite, v2, nil); err != nil || n != 2 {
		t.Fatalf("Up = %d, %v", n, err)
	}
	if n, err := migrate.Up(ctx, db, migrate.SQLite, v2, nil); err != nil || n != 0 {
		t.Fatalf("second Up = %d, %v", n, err)
	}
	if err := migrate.Check(ctx, db, migrate.SQLite, v2); err != nil {
		t.Fatalf("Check(current) = %v", err)
	}
	// An older binary (knowing only v1) refuses the newer database.
	if _, err := migrate.Up(ctx, db, migrate.SQLite, v1, nil); !errors.Is(err, migrate.ErrDatabaseNewer) {
		t.Fatalf("Up with older migrations = %v, want ErrDatabaseNewer", err)
	}
	if err := migrate.Check(ctx, db, migrate.SQLite, v1); !errors.Is(err, migrate.ErrDatabaseNewer) {
		t.Fatalf("Check with older migrations = %v, want ErrDatabaseNewer", err)
	}
}
