package storetest

import (
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/latchauth/latch"
)

var sessionTests = []test{
	{"CreateSessionRoundTrip", testCreateSessionRoundTrip},
	{"CreateSessionErrors", testCreateSessionErrors},
	{"SessionsByUser", testSessionsByUser},
	{"TouchSession", testTouchSession},
	{"RevokeSession", testRevokeSession},
	{"RevokeUserSessions", testRevokeUserSessions},
	{"CountLiveSessions", testCountLiveSessions},
}

func testCreateSessionRoundTrip(t *testing.T, st latch.Store) {
	u := newUser(t, st, "devices@example.com")
	for _, tc := range []struct {
		name string
		s    *latch.Session
	}{
		{"fresh: zero previous hash and rotation time", &latch.Session{
			CreatedAt: at(1001), LastSeenAt: at(1002), ExpiresAt: at(90_000_003),
			IP: "2001:db8::1", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) “quoted” 日本語",
			RefreshHash: hashOf("current"),
		}},
		{"every field set", &latch.Session{
			CreatedAt: at(2001), LastSeenAt: at(2999), ExpiresAt: at(90_000_999),
			IP: "198.51.100.7", UserAgent: "",
			Generation: 41, RefreshHash: hashOf("gen 41"), PrevRefreshHash: hashOf("gen 40"), RotatedAt: at(2998),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.ID, tc.s.UserID = latch.SessionID(uuid.NewString()), u.ID
			must(t, "CreateSession", st.CreateSession(t.Context(), tc.s))
			if diff := gocmp.Diff(tc.s, session(t, st, tc.s.ID)); diff != "" {
				t.Errorf("Session differs from what was stored (-stored +read):\n%s", diff)
			}
		})
	}
}

func testCreateSessionErrors(t *testing.T, st latch.Store) {
	u := newUser(t, st, "errors@example.com")
	s := newSession(t, st, u.ID, at(10))
	dup := *s
	dup.RefreshHash = hashOf("another")
	wantErr(t, "CreateSession(same id)", st.CreateSession(t.Context(), &dup), latch.ErrConflict)
	if got := session(t, st, s.ID); !got.RefreshHash.Equal(s.RefreshHash) {
		t.Errorf("a conflicting CreateSession overwrote the stored session")
	}

	orphan := &latch.Session{ID: latch.SessionID(uuid.NewString()), UserID: latch.UserID(uuid.NewString()),
		CreatedAt: at(1), LastSeenAt: at(1), ExpiresAt: at(2), RefreshHash: hashOf("orphan")}
	if err := st.CreateSession(t.Context(), orphan); err == nil {
		t.Errorf("CreateSession for an unknown user = nil, want an error")
	}

	_, err := st.Session(t.Context(), latch.SessionID(uuid.NewString()))
	wantErr(t, "Session(unknown)", err, latch.ErrNotFound)
	_, err = st.Session(t.Context(), "not-a-uuid")
	wantErr(t, "Session(malformed id)", err, latch.ErrNotFound)
}

func testSessionsByUser(t *testing.T, st latch.Store) {
	u := newUser(t, st, "list@example.com")
	s1 := newSession(t, st, u.ID, at(1))
	s2 := newSession(t, st, u.ID, at(2)) // ended before the window: hidden
	s3 := newSession(t, st, u.ID, at(3)) // ended exactly at the window's start: shown
	s4 := newSession(t, st, u.ID, at(4)) // ended inside the window: shown
	s5 := newSession(t, st, u.ID, at(5))
	newSession(t, st, newUser(t, st, "other@example.com").ID, at(6))
	for _, r := range []struct {
		s  *latch.Session
		at time.Time
	}{{s2, at(199)}, {s3, at(200)}, {s4, at(300)}} {
		if _, err := st.RevokeSession(t.Context(), r.s.ID, latch.ReasonLogout, r.at); err != nil {
			t.Fatalf("RevokeSession = %v", err)
		}
	}
	got, err := st.SessionsByUser(t.Context(), u.ID, at(200))
	must(t, "SessionsByUser", err)
	var ids []latch.SessionID
	for _, s := range got {
		ids = append(ids, s.ID)
	}
	if want := []latch.SessionID{s5.ID, s4.ID, s3.ID, s1.ID}; !gocmp.Equal(ids, want) {
		t.Errorf("SessionsByUser(endedSince=200ms) = %v, want %v (newest first)", ids, want)
	}
	if len(got) == 4 {
		if diff := gocmp.Diff(s5, got[0]); diff != "" {
			t.Errorf("listed session differs (-stored +listed):\n%s", diff)
		}
		if got[1].RevokeReason != latch.ReasonLogout || !got[1].RevokedAt.Equal(at(300)) {
			t.Errorf("listed revoked session: %v %q; want %v logout", got[1].RevokedAt, got[1].RevokeReason, at(300))
		}
	}

	if _, err := st.SetUserDisabled(t.Context(), u.ID, true, now); err != nil {
		t.Fatal(err)
	}
	got, err = st.SessionsByUser(t.Context(), u.ID, time.Time{})
	must(t, "SessionsByUser", err)
	if len(got) != 5 || !got[0].UserDisabled {
		t.Errorf("SessionsByUser(since zero) after disabling = %d sessions, first UserDisabled=%v; want 5, true", len(got), len(got) > 0 && got[0].UserDisabled)
	}
	if got, err := st.SessionsByUser(t.Context(), latch.UserID(uuid.NewString()), time.Time{}); err != nil || len(got) != 0 {
		t.Errorf("SessionsByUser(unknown user) = %v, %v; want none", got, err)
	}
}

func testTouchSession(t *testing.T, st latch.Store) {
	s := newSession(t, st, newUser(t, st, "touch@example.com").ID, at(100))
	for _, tc := range []struct {
		touch, want time.Time
	}{
		{at(500), at(500)},
		{at(400), at(500)}, // a late, older touch never moves last-seen back
		{at(500), at(500)},
		{at(501), at(501)},
	} {
		must(t, "TouchSession", st.TouchSession(t.Context(), s.ID, tc.touch))
		if got := session(t, st, s.ID).LastSeenAt; !got.Equal(tc.want) {
			t.Errorf("TouchSession(%v): LastSeenAt = %v, want %v", tc.touch, got, tc.want)
		}
	}

	// Concurrent touches leave the latest time, whatever the order.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if err := st.TouchSession(t.Context(), s.ID, at(1000+i)); err != nil {
				t.Errorf("TouchSession = %v", err)
			}
		})
	}
	wg.Wait()
	if got := session(t, st, s.ID).LastSeenAt; !got.Equal(at(1019)) {
		t.Errorf("after concurrent touches LastSeenAt = %v, want %v", got, at(1019))
	}
	// Last-seen writes are best effort: an unknown session is not an error.
	must(t, "TouchSession(unknown)", st.TouchSession(t.Context(), latch.SessionID(uuid.NewString()), at(1)))
}

func testRevokeSession(t *testing.T, st latch.Store) {
	u := newUser(t, st, "revoke@example.com")
	s := newSession(t, st, u.ID, at(10))
	before := lastSeq(t, st)
	rev, err := st.RevokeSession(t.Context(), s.ID, latch.ReasonLogout, now)
	must(t, "RevokeSession", err)
	want := &latch.Revocation{Seq: rev.Seq, SessionID: s.ID, UserID: u.ID, Reason: latch.ReasonLogout, At: now}
	if diff := gocmp.Diff(want, rev); diff != "" || rev.Seq <= before {
		t.Errorf("RevokeSession returned (-want +got), seq must exceed %d:\n%s", before, diff)
	}
	wantEvents(t, st, before, []latch.Revocation{*rev})
	got := session(t, st, s.ID)
	if !got.RevokedAt.Equal(now) || got.RevokeReason != latch.ReasonLogout {
		t.Errorf("after RevokeSession: RevokedAt %v reason %q; want %v logout", got.RevokedAt, got.RevokeReason, now)
	}

	// Idempotent: a second revocation reports nothing and changes nothing.
	rev, err = st.RevokeSession(t.Context(), s.ID, latch.ReasonAdmin, now.Add(time.Minute))
	if rev != nil || err != nil {
		t.Errorf("RevokeSession again = %+v, %v; want nil, nil", rev, err)
	}
	if got := session(t, st, s.ID); !got.RevokedAt.Equal(now) || got.RevokeReason != latch.ReasonLogout {
		t.Errorf("second RevokeSession changed the session: %v %q", got.RevokedAt, got.RevokeReason)
	}
	wantEvents(t, st, before, []latch.Revocation{*want})

	rev, err = st.RevokeSession(t.Context(), latch.SessionID(uuid.NewString()), latch.ReasonLogout, now)
	wantErr(t, "RevokeSession(unknown)", err, latch.ErrNotFound)
	if rev != nil {
		t.Errorf("RevokeSession(unknown) returned a revocation %+v", rev)
	}
}

func testRevokeUserSessions(t *testing.T, st latch.Store) {
	for _, tc := range []struct {
		name    string
		except  func(f *userWithSessions) latch.SessionID
		revoked func(f *userWithSessions) []*latch.Session
	}{
		{"except the current one",
			func(f *userWithSessions) latch.SessionID { return f.keep.ID },
			func(f *userWithSessions) []*latch.Session { return []*latch.Session{f.live} }},
		{"all",
			func(f *userWithSessions) latch.SessionID { return "" },
			func(f *userWithSessions) []*latch.Session { return []*latch.Session{f.keep, f.live} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newUserWithSessions(t, st)
			before := lastSeq(t, st)
			revs, err := st.RevokeUserSessions(t.Context(), f.u.ID, tc.except(f), latch.ReasonLogoutOthers, now)
			must(t, "RevokeUserSessions", err)
			wantRevoked(t, revs, tc.revoked(f)...)
			wantEvents(t, st, before, revs)
			live := map[*latch.Session]bool{f.keep: true, f.live: true, f.expired: true, f.other: true}
			for _, s := range tc.revoked(f) {
				delete(live, s)
			}
			f.wantState(t, st, live, latch.ReasonLogoutOthers)
		})
	}
	revs, err := st.RevokeUserSessions(t.Context(), latch.UserID(uuid.NewString()), "", latch.ReasonAdmin, now)
	if err != nil || len(revs) != 0 {
		t.Errorf("RevokeUserSessions(unknown user) = %v, %v; want none", revs, err)
	}
}
