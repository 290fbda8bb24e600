package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/latchauth/latch"
)

var rotationTests = []test{
	{"RotateRefresh", testRotateRefresh},
	{"RotateRefreshConflicts", testRotateRefreshConflicts},
	{"RotateRefreshConcurrent", testRotateRefreshConcurrent},
	{"RotateRefreshRacingRevoke", testRotateRefreshRacingRevoke},
}

func testRotateRefresh(t *testing.T, st latch.Store) {
	s := newSession(t, st, newUser(t, st, "rotate@example.com").ID, at(100))
	want := *s
	for gen := range uint64(3) {
		next := hashOf(fmt.Sprint(s.ID, "/", gen+1))
		rotated := at(1000 * int(gen+1))
		must(t, "RotateRefresh", st.RotateRefresh(t.Context(), s.ID, gen, next, rotated))
		want.Generation = gen + 1
		want.PrevRefreshHash, want.RefreshHash = want.RefreshHash, next
		want.RotatedAt, want.LastSeenAt = rotated, rotated
		if diff := gocmp.Diff(&want, session(t, st, s.ID)); diff != "" {
			t.Fatalf("after RotateRefresh from generation %d (-want +got):\n%s", gen, diff)
		}
	}
}

func testRotateRefreshConflicts(t *testing.T, st latch.Store) {
	u := newUser(t, st, "conflicts@example.com")
	rotatedOnce := newSession(t, st, u.ID, at(100))
	must(t, "RotateRefresh", st.RotateRefresh(t.Context(), rotatedOnce.ID, 0, hashOf("gen 1"), at(200)))
	revoked := newSession(t, st, u.ID, at(100))
	if _, err := st.RevokeSession(t.Context(), revoked.ID, latch.ReasonLogout, at(150)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		id   latch.SessionID
		from uint64
	}{
		{"generation already moved", rotatedOnce.ID, 0},
		{"generation from the future", rotatedOnce.ID, 2},
		{"revoked session", revoked.ID, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := session(t, st, tc.id)
			err := st.RotateRefresh(t.Context(), tc.id, tc.from, hashOf("intruder"), at(300))
			wantErr(t, "RotateRefresh", err, latch.ErrConflict)
			if diff := gocmp.Diff(before, session(t, st, tc.id)); diff != "" {
				t.Errorf("a failed RotateRefresh changed the session (-before +after):\n%s", diff)
			}
		})
	}
	// An unknown session cannot be told apart from a lost race by one
	// compare-and-swap; either sentinel is fine, any other error is not.
	err := st.RotateRefresh(t.Context(), latch.SessionID(uuid.NewString()), 0, hashOf("x"), at(300))
	if !isConflict(err) && !isNotFound(err) {
		t.Errorf("RotateRefresh(unknown) = %v, want ErrConflict or ErrNotFound", err)
	}
}

// testRotateRefreshConcurrent is the refresh race: many requests carrying
// the same refresh token rotate at once, and exactly one may win.
func testRotateRefreshConcurrent(t *testing.T, st latch.Store) {
	const n = 50
	s := newSession(t, st, newUser(t, st, "race@example.com").ID, at(100))
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = st.RotateRefresh(t.Context(), s.ID, 0, hashOf(fmt.Sprint("contender ", i)), at(200+i))
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("RotateRefresh from generation 0: contenders %d and %d both won", winner, i)
		case err == nil:
			winner = i
		case !isConflict(err):
			t.Errorf("contender %d: RotateRefresh = %v, want nil or ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no contender won the rotation")
	}
	got := session(t, st, s.ID)
	if got.Generation != 1 || !got.RefreshHash.Equal(hashOf(fmt.Sprint("contender ", winner))) ||
		!got.PrevRefreshHash.Equal(s.RefreshHash) || !got.RotatedAt.Equal(at(200+winner)) {
		t.Errorf("after the race: generation %d, rotated %v; want generation 1 holding the winner's (%d) hash and time",
			got.Generation, got.RotatedAt, winner)
	}
}

// testRotateRefreshRacingRevoke runs rotation and logout of the same
// session at once, many times: whatever the interleaving, the session must
// end revoked, with one revocation event.
func testRotateRefreshRacingRevoke(t *testing.T, st latch.Store) {
	u := newUser(t, st, "logout-race@example.com")
	for round := range 20 {
		s := newSession(t, st, u.ID, at(100))
		before := lastSeq(t, st)
		var (
			rotErr, revErr error
			rev            *latch.Revocation
			wg             sync.WaitGroup
			start          = make(chan struct{})
		)
		wg.Go(func() {
			<-start
			rotErr = st.RotateRefresh(t.Context(), s.ID, 0, hashOf(fmt.Sprint(round)), at(200))
		})
		wg.Go(func() {
			<-start
			rev, revErr = st.RevokeSession(t.Context(), s.ID, latch.ReasonLogout, at(200))
		})
		close(start)
		wg.Wait()
		if revErr != nil || rev == nil {
			t.Fatalf("round %d: RevokeSession = %v, %v; want a revocation", round, rev, revErr)
		}
		if rotErr != nil && !errors.Is(rotErr, latch.ErrConflict) {
			t.Fatalf("round %d: RotateRefresh = %v, want nil or ErrConflict", round, rotErr)
		}
		got := session(t, st, s.ID)
		if !got.Revoked() {
			t.Fatalf("round %d: the session is live after a logout raced a rotation (rotation error %v)", round, rotErr)
		}
		wantGen := uint64(0)
		if rotErr == nil {
			wantGen = 1
		}
		if got.Generation != wantGen {
			t.Errorf("round %d: generation %d after rotation error %v; want %d", round, got.Generation, rotErr, wantGen)
		}
		wantEvents(t, st, before, []latch.Revocation{*rev})
	}
}
