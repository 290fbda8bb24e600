package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/sqlite"
	"github.com/latchauth/latch/storetest"
)

// TestStore runs the conformance suite on a fresh file per test.
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) latch.Store {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "latch.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if _, err := st.Migrate(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		return st
	})
}
