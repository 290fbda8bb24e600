package storetest

import (
	"testing"
	"time"

	"github.com/latchauth/latch"
)

// testCountLiveSessions pins the active-sessions gauge: revoked, expired
// and idle sessions are not live. Stores that cannot count are skipped.
func testCountLiveSessions(t *testing.T, st latch.Store) {
	sc, ok := st.(latch.SessionCounter)
	if !ok {
		t.Skip("store does not implement latch.SessionCounter")
	}
	count := func(now, seenSince time.Time) int64 {
		t.Helper()
		n, err := sc.CountLiveSessions(t.Context(), now, seenSince)
		if err != nil {
			t.Fatalf("CountLiveSessions = %v", err)
		}
		return n
	}
	if n := count(at(0), time.Time{}); n != 0 {
		t.Fatalf("empty store: CountLiveSessions = %d, want 0", n)
	}
	uid := newUser(t, st, "count@example.com").ID
	a := newSession(t, st, uid, at(0))
	newSession(t, st, uid, at(1000))
	c := newSession(t, st, uid, at(2000))
	if _, err := st.RevokeSession(t.Context(), c.ID, latch.ReasonLogout, at(3000)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name           string
		now, seenSince time.Time
		want           int64
	}{
		{"revoked excluded", at(5000), time.Time{}, 2},
		{"idle excluded", at(5000), at(500), 1},
		{"seen exactly at the cut-off counts", at(5000), at(1000), 1},
		{"expired excluded", a.ExpiresAt, time.Time{}, 1},
		{"all expired", a.ExpiresAt.Add(time.Hour), time.Time{}, 0},
	} {
		if n := count(tc.now, tc.seenSince); n != tc.want {
			t.Errorf("%s: CountLiveSessions(%v, %v) = %d, want %d", tc.name, tc.now, tc.seenSince, n, tc.want)
		}
	}
}
