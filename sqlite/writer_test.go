package sqlite_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/sqlite"
)

// Concurrent writes are committed in groups; a write that fails inside a
// group rolls back alone, and every reported success is really stored.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Every fourth email repeats the one before it: exactly one of each pair may win.
			email := fmt.Sprintf("u%d@example.com", i-i%4/3)
			errs[i] = st.CreateUser(t.Context(), &latch.User{
				ID: latch.UserID(fmt.Sprintf("00000000-0000-4000-8000-%012d", i)), Email: email,
				PasswordHash: "x", CreatedAt: time.UnixMilli(1),
			})
		})
	}
	wg.Wait()
	ok, conflicts := 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
			if _, err := st.UserByID(t.Context(), latch.UserID(fmt.Sprintf("00000000-0000-4000-8000-%012d", i))); err != nil {
				t.Errorf("write %d reported success but is not stored: %v", i, err)
			}
		case errors.Is(err, latch.ErrConflict):
			conflicts++
		default:
			t.Errorf("write %d: unexpected error %v", i, err)
		}
	}
	users, _ := st.ListUsers(t.Context())
	if len(users) != ok || conflicts != n/4 {
		t.Fatalf("stored %d users, %d successes, %d conflicts; want successes = stored and %d conflicts", len(users), ok, conflicts, n/4)
	}
	st.Close()
	if err := st.CreateUser(t.Context(), &latch.User{ID: "x", Email: "late@example.com"}); err == nil {
		t.Fatal("write after Close succeeded")
	}
}

// The database and its WAL are readable by their owner only.
func TestFilePermissions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "perm.db")
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v, want no group or other access", p, fi.Mode().Perm())
		}
	}
}
