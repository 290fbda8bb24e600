// Package storetest is the conformance suite for latch.Store: one body of
// tests that every store implementation must pass, in the manner of
// testing/slogtest. A store's own test file calls Run with a constructor:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) latch.Store {
//			st := open(t, filepath.Join(t.TempDir(), "latch.db")) // empty and migrated
//			t.Cleanup(func() { st.Close() })
//			return st
//		})
//	}
//
// The suite pins the behaviour Service relies on, including the parts the
// Store documentation leaves to "atomic": compare-and-swap rotation under
// contention, revocation events written with the session change, and a
// revocation feed that followers can read without skipping an event.
package storetest

import (
	"cmp"
	"errors"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/latchauth/latch"
)

// Run runs every conformance test as a parallel subtest of t. newStore must
// return a new, empty, migrated store for each call, close it in
// t.Cleanup, and be safe to call from parallel tests.
func Run(t *testing.T, newStore func(t *testing.T) latch.Store) {
	t.Helper()
	groups := [][]test{userTests, sessionTests, rotationTests, revocationTests, eventTests, {{"Sweep", testSweep}, {"Limits", testLimits}}}
	for _, g := range groups {
		for _, tc := range g {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.run(t, newStore(t))
			})
		}
	}
}

// test is one named conformance check on a fresh store.
type test struct {
	name string
	run  func(t *testing.T, st latch.Store)
}

// t0 is the suite's epoch. Fixture times carry milliseconds, the precision
// stores must keep.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// at returns t0 plus ms milliseconds.
func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// hashOf returns a distinct token hash for a label.
func hashOf(label string) latch.TokenHash { return latch.HashSecret([]byte(label)) }

// phc looks like a stored argon2id hash; stores treat it as opaque text.
const phc = "$argon2id$v=19$m=19456,t=2,p=1$c3RvcmV0ZXN0$bm90LWEtcmVhbC1oYXNoLW5vdC1hLXJlYWwtaGFzaA"

func newUser(t *testing.T, st latch.Store, email string) *latch.User {
	t.Helper()
	u := &latch.User{ID: latch.UserID(uuid.NewString()), Email: email, PasswordHash: phc, CreatedAt: at(1)}
	if err := st.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%s) = %v", email, err)
	}
	return u
}

// newSession stores a live generation-0 session created at created that
// expires 30 days later.
func newSession(t *testing.T, st latch.Store, uid latch.UserID, created time.Time) *latch.Session {
	t.Helper()
	id := latch.SessionID(uuid.NewString())
	s := &latch.Session{
		ID: id, UserID: uid,
		CreatedAt: created, LastSeenAt: created, ExpiresAt: created.Add(30 * 24 * time.Hour),
		IP: "192.0.2.10", UserAgent: "storetest/1.0",
		RefreshHash: hashOf(string(id) + "/0"),
	}
	if err := st.CreateSession(t.Context(), s); err != nil {
		t.Fatalf("CreateSession = %v", err)
	}
	return s
}

func session(t *testing.T, st latch.Store, id latch.SessionID) *latch.Session {
	t.Helper()
	s, err := st.Session(t.Context(), id)
	if err != nil {
		t.Fatalf("Session(%s) = %v", id, err)
	}
	return s
}

func user(t *testing.T, st latch.Store, id latch.UserID) *latch.User {
	t.Helper()
	u, err := st.UserByID(t.Context(), id)
	if err != nil {
		t.Fatalf("UserByID(%s) = %v", id, err)
	}
	return u
}

// lastSeq returns the newest revocation sequence number, or 0.
func lastSeq(t *testing.T, st latch.Store) int64 {
	t.Helper()
	var seq int64
	for {
		revs, err := st.RevocationsAfter(t.Context(), seq, 1000)
		if err != nil {
			t.Fatalf("RevocationsAfter(%d) = %v", seq, err)
		}
		if len(revs) == 0 {
			return seq
		}
		seq = revs[len(revs)-1].Seq
	}
}

// wantEvents checks that the revocation feed after seq holds exactly the
// events a revoke call returned, in the order of their Seq.
func wantEvents(t *testing.T, st latch.Store, after int64, returned []latch.Revocation) {
	t.Helper()
	got, err := st.RevocationsAfter(t.Context(), after, 1000)
	if err != nil {
		t.Fatalf("RevocationsAfter(%d) = %v", after, err)
	}
	want := sortedBySeq(returned)
	if diff := gocmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("revocation feed after %d differs from the returned revocations (-returned +feed):\n%s", after, diff)
	}
}

func sortedBySeq(revs []latch.Revocation) []latch.Revocation {
	out := slices.Clone(revs)
	slices.SortFunc(out, func(a, b latch.Revocation) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}

// isNotFound and isConflict check the wrapped sentinels.
func isNotFound(err error) bool { return errors.Is(err, latch.ErrNotFound) }
func isConflict(err error) bool { return errors.Is(err, latch.ErrConflict) }

// wantErr fails unless err wraps want.
func wantErr(t *testing.T, call string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s = %v, want an error wrapping %v", call, err, want)
	}
}

// must fails the test at once on err.
func must(t *testing.T, call string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s = %v", call, err)
	}
}
