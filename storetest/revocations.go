package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/latchauth/latch"
)

var revocationTests = []test{
	{"RevocationsAfter", testRevocationsAfter},
	{"RevocationEventPerSession", testRevocationEventPerSession},
	{"RevocationFeedNeverSkips", testRevocationFeedNeverSkips},
}

func testRevocationsAfter(t *testing.T, st latch.Store) {
	if revs, err := st.RevocationsAfter(t.Context(), 0, 10); err != nil || len(revs) != 0 {
		t.Fatalf("RevocationsAfter on an empty store = %v, %v; want none", revs, err)
	}
	if head, err := st.RevocationHead(t.Context()); err != nil || head != 0 {
		t.Fatalf("RevocationHead on an empty store = %d, %v; want 0", head, err)
	}
	u := newUser(t, st, "feed@example.com")
	var all []latch.Revocation
	for i := range 5 {
		s := newSession(t, st, u.ID, at(i))
		r, err := st.RevokeSession(t.Context(), s.ID, latch.ReasonAdmin, at(1000+i))
		must(t, "RevokeSession", err)
		if len(all) > 0 && r.Seq <= all[len(all)-1].Seq {
			t.Errorf("revocation %d has seq %d, not above the previous %d", i, r.Seq, all[len(all)-1].Seq)
		}
		all = append(all, *r)
		if head, err := st.RevocationHead(t.Context()); err != nil || head != r.Seq {
			t.Errorf("RevocationHead after revocation %d = %d, %v; want %d", i, head, err, r.Seq)
		}
	}
	for _, tc := range []struct {
		after int64
		limit int
		want  []latch.Revocation
	}{
		{0, 100, all},
		{0, 2, all[:2]},
		{all[1].Seq, 2, all[2:4]},
		{all[2].Seq, 100, all[3:]},
		{all[4].Seq, 100, nil},
	} {
		got, err := st.RevocationsAfter(t.Context(), tc.after, tc.limit)
		must(t, "RevocationsAfter", err)
		if diff := gocmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("RevocationsAfter(%d, %d) (-want +got):\n%s", tc.after, tc.limit, diff)
		}
	}
}

// testRevocationEventPerSession drives every revoke path and checks that
// each ended session got exactly one event, equal to what the call returned.
func testRevocationEventPerSession(t *testing.T, st latch.Store) {
	ctx := t.Context()
	paths := []struct {
		name   string
		reason latch.RevokeReason
		revoke func(f *userWithSessions) ([]latch.Revocation, error)
	}{
		{"RevokeSession", latch.ReasonLogout, func(f *userWithSessions) ([]latch.Revocation, error) {
			r, err := st.RevokeSession(ctx, f.live.ID, latch.ReasonLogout, now)
			if r == nil {
				return nil, err
			}
			return []latch.Revocation{*r}, err
		}},
		{"RevokeUserSessions", latch.ReasonLogoutAll, func(f *userWithSessions) ([]latch.Revocation, error) {
			return st.RevokeUserSessions(ctx, f.u.ID, "", latch.ReasonLogoutAll, now)
		}},
		{"ChangePassword", latch.ReasonPasswordChange, func(f *userWithSessions) ([]latch.Revocation, error) {
			return st.ChangePassword(ctx, f.u.ID, phc, f.keep.ID, now)
		}},
		{"SetUserDisabled", latch.ReasonUserDisabled, func(f *userWithSessions) ([]latch.Revocation, error) {
			return st.SetUserDisabled(ctx, f.u.ID, true, now)
		}},
	}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			f := newUserWithSessions(t, st)
			before := lastSeq(t, st)
			revs, err := p.revoke(f)
			must(t, p.name, err)
			if len(revs) == 0 {
				t.Fatalf("%s revoked nothing", p.name)
			}
			wantEvents(t, st, before, revs)
			for _, r := range revs {
				s := session(t, st, r.SessionID)
				if r.Reason != p.reason || r.UserID != f.u.ID || !r.At.Equal(now) || !s.RevokedAt.Equal(now) || s.RevokeReason != p.reason {
					t.Errorf("%s: event %+v for session revoked %v %q; want reason %q at %v", p.name, r, s.RevokedAt, s.RevokeReason, p.reason, now)
				}
			}
			// Repeating the call finds nothing live and writes nothing.
			again := lastSeq(t, st)
			if revs, err := p.revoke(f); err != nil || len(revs) != 0 {
				t.Errorf("%s again = %v, %v; want no revocations", p.name, revs, err)
			}
			wantEvents(t, st, again, nil)
		})
	}
}

// testRevocationFeedNeverSkips follows the feed the way a cache does (read
// after the last seen seq) while several writers revoke at once. A store
// whose sequence numbers can become visible out of order (a later seq
// committed before an earlier one) makes the follower step over an event
// for good; every event must be seen, in increasing order.
func testRevocationFeedNeverSkips(t *testing.T, st latch.Store) {
	const writers, perWriter = 4, 50
	u := newUser(t, st, "feed-race@example.com")
	ids := make([][]latch.SessionID, writers)
	for w := range writers {
		for range perWriter {
			ids[w] = append(ids[w], newSession(t, st, u.ID, at(1)).ID)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for _, id := range ids[w] {
				if _, err := st.RevokeSession(ctx, id, latch.ReasonAdmin, now); err != nil {
					t.Errorf("RevokeSession = %v", err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	seen := map[latch.SessionID]bool{}
	var cursor int64
	for ctx.Err() == nil {
		var finished bool
		select {
		case <-done:
			finished = true // this read starts after every commit
		default:
		}
		revs, err := st.RevocationsAfter(ctx, cursor, 7)
		if err != nil {
			t.Errorf("RevocationsAfter = %v", err)
			break
		}
		for _, r := range revs {
			if r.Seq <= cursor {
				t.Errorf("feed went backwards: seq %d after %d", r.Seq, cursor)
			}
			cursor = r.Seq
			seen[r.SessionID] = true
		}
		if finished && len(revs) == 0 {
			break
		}
	}
	<-done
	if len(seen) != writers*perWriter {
		missed := 0
		for _, list := range ids {
			for _, id := range list {
				if !seen[id] {
					missed++
				}
			}
		}
		t.Errorf("the follower missed %d of %d revocations (a seq became visible after a higher one was read)", missed, writers*perWriter)
	}
}
