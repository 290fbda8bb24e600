package storetest

import (
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/latchauth/latch"
)

var userTests = []test{
	{"CreateUserRoundTrip", testCreateUserRoundTrip},
	{"CreateUserConflict", testCreateUserConflict},
	{"UserNotFound", testUserNotFound},
	{"ListUsers", testListUsers},
	{"SetPasswordHash", testSetPasswordHash},
	{"ChangePassword", testChangePassword},
	{"SetUserDisabled", testSetUserDisabled},
}

func testCreateUserRoundTrip(t *testing.T, st latch.Store) {
	for _, u := range []*latch.User{
		{ID: latch.UserID(uuid.NewString()), Email: "Ada.Lovelace@Example.com", PasswordHash: phc, CreatedAt: at(1234)},
		{ID: latch.UserID(uuid.NewString()), Email: "zoë@example.org", PasswordHash: phc + "x", CreatedAt: at(5), DisabledAt: at(6789)},
	} {
		must(t, "CreateUser", st.CreateUser(t.Context(), u))
		byID, err := st.UserByID(t.Context(), u.ID)
		must(t, "UserByID", err)
		if diff := gocmp.Diff(u, byID); diff != "" {
			t.Errorf("UserByID(%s) differs from what was stored (-stored +read):\n%s", u.ID, diff)
		}
		byEmail, err := st.UserByEmail(t.Context(), u.EmailKey())
		must(t, "UserByEmail", err)
		if diff := gocmp.Diff(u, byEmail); diff != "" {
			t.Errorf("UserByEmail(%q) differs from what was stored (-stored +read):\n%s", u.EmailKey(), diff)
		}
	}
}

func testCreateUserConflict(t *testing.T, st latch.Store) {
	first := newUser(t, st, "Grace@Example.com")
	for _, tc := range []struct {
		name string
		u    *latch.User
	}{
		{"same email", &latch.User{ID: latch.UserID(uuid.NewString()), Email: "Grace@Example.com", PasswordHash: phc, CreatedAt: at(2)}},
		{"email in other case", &latch.User{ID: latch.UserID(uuid.NewString()), Email: "grace@EXAMPLE.COM", PasswordHash: phc, CreatedAt: at(2)}},
		{"same id", &latch.User{ID: first.ID, Email: "other@example.com", PasswordHash: phc, CreatedAt: at(2)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, "CreateUser", st.CreateUser(t.Context(), tc.u), latch.ErrConflict)
		})
	}
	if us, err := st.ListUsers(t.Context()); err != nil || len(us) != 1 {
		t.Errorf("ListUsers after conflicts = %d users, %v; want 1", len(us), err)
	}
}

func testUserNotFound(t *testing.T, st latch.Store) {
	newUser(t, st, "someone@example.com")
	_, err := st.UserByEmail(t.Context(), "nobody@example.com")
	wantErr(t, "UserByEmail(nobody)", err, latch.ErrNotFound)
	_, err = st.UserByID(t.Context(), latch.UserID(uuid.NewString()))
	wantErr(t, "UserByID(unknown)", err, latch.ErrNotFound)
	// Keys are compared exactly: callers normalise first.
	_, err = st.UserByEmail(t.Context(), "SOMEONE@example.com")
	wantErr(t, "UserByEmail(not a key)", err, latch.ErrNotFound)
}

func testListUsers(t *testing.T, st latch.Store) {
	us, err := st.ListUsers(t.Context())
	if err != nil || len(us) != 0 {
		t.Fatalf("ListUsers on an empty store = %v, %v; want none", us, err)
	}
	var want []*latch.User
	for i, created := range []time.Time{at(300), at(100), at(200)} {
		u := &latch.User{ID: latch.UserID(uuid.NewString()), Email: "u" + string(rune('a'+i)) + "@example.com", PasswordHash: phc, CreatedAt: created}
		must(t, "CreateUser", st.CreateUser(t.Context(), u))
		want = append(want, u)
	}
	want = []*latch.User{want[1], want[2], want[0]} // oldest first
	us, err = st.ListUsers(t.Context())
	must(t, "ListUsers", err)
	if diff := gocmp.Diff(want, us); diff != "" {
		t.Errorf("ListUsers, oldest first (-want +got):\n%s", diff)
	}
}

func testSetPasswordHash(t *testing.T, st latch.Store) {
	u := newUser(t, st, "rehash@example.com")
	s := newSession(t, st, u.ID, at(10))
	must(t, "SetPasswordHash", st.SetPasswordHash(t.Context(), u.ID, phc+"new"))
	if got := user(t, st, u.ID).PasswordHash; got != phc+"new" {
		t.Errorf("PasswordHash after SetPasswordHash = %q, want the new hash", got)
	}
	if session(t, st, s.ID).Revoked() {
		t.Errorf("SetPasswordHash revoked a session; it must not")
	}
	wantErr(t, "SetPasswordHash(unknown)", st.SetPasswordHash(t.Context(), latch.UserID(uuid.NewString()), phc), latch.ErrNotFound)
}

// userWithSessions creates a user with a kept, a live, an already revoked
// and an expired session, plus a live session of another user.
type userWithSessions struct {
	u                            *latch.User
	keep, live, revoked, expired *latch.Session
	other                        *latch.Session
}

// now is when the suite's revoke calls happen: every fixture session is
// live at now, except the expired one.
var now = at(60_000)

func newUserWithSessions(t *testing.T, st latch.Store) *userWithSessions {
	t.Helper()
	f := &userWithSessions{u: newUser(t, st, "many-"+uuid.NewString()+"@example.com")}
	f.keep = newSession(t, st, f.u.ID, at(10))
	f.live = newSession(t, st, f.u.ID, at(20))
	f.revoked = newSession(t, st, f.u.ID, at(30))
	if _, err := st.RevokeSession(t.Context(), f.revoked.ID, latch.ReasonLogout, at(40)); err != nil {
		t.Fatalf("RevokeSession = %v", err)
	}
	f.expired = &latch.Session{ID: latch.SessionID(uuid.NewString()), UserID: f.u.ID, CreatedAt: at(0), LastSeenAt: at(0),
		ExpiresAt: now, RefreshHash: hashOf("expired")} // expires exactly at now: already expired
	must(t, "CreateSession", st.CreateSession(t.Context(), f.expired))
	f.other = newSession(t, st, newUser(t, st, "bystander-"+uuid.NewString()+"@example.com").ID, at(10))
	return f
}

// wantState checks which fixture sessions are revoked, and with what.
func (f *userWithSessions) wantState(t *testing.T, st latch.Store, live map[*latch.Session]bool, reason latch.RevokeReason) {
	t.Helper()
	for _, s := range []*latch.Session{f.keep, f.live, f.expired, f.other} {
		got := session(t, st, s.ID)
		switch {
		case live[s] && got.Revoked():
			t.Errorf("session %s was revoked (%s); want it live", s.ID, got.RevokeReason)
		case !live[s] && (got.RevokeReason != reason || !got.RevokedAt.Equal(now)):
			t.Errorf("session %s: revoked %v with %q; want %v with %q", s.ID, got.RevokedAt, got.RevokeReason, now, reason)
		}
	}
	if got := session(t, st, f.revoked.ID); got.RevokeReason != latch.ReasonLogout || !got.RevokedAt.Equal(at(40)) {
		t.Errorf("already revoked session changed: %v %q; want the first revocation kept", got.RevokedAt, got.RevokeReason)
	}
}

func wantRevoked(t *testing.T, revs []latch.Revocation, want ...*latch.Session) {
	t.Helper()
	if len(revs) != len(want) {
		t.Fatalf("got %d revocations %v; want %d", len(revs), revs, len(want))
	}
	ids := map[latch.SessionID]bool{}
	for _, r := range revs {
		ids[r.SessionID] = true
	}
	for _, s := range want {
		if !ids[s.ID] {
			t.Errorf("no revocation returned for session %s", s.ID)
		}
	}
}

func testChangePassword(t *testing.T, st latch.Store) {
	f := newUserWithSessions(t, st)
	before := lastSeq(t, st)
	revs, err := st.ChangePassword(t.Context(), f.u.ID, phc+"changed", f.keep.ID, now)
	must(t, "ChangePassword", err)
	wantRevoked(t, revs, f.live)
	for _, r := range revs {
		if r.Reason != latch.ReasonPasswordChange || r.UserID != f.u.ID || !r.At.Equal(now) {
			t.Errorf("revocation %+v; want reason %q, user %s, at %v", r, latch.ReasonPasswordChange, f.u.ID, now)
		}
	}
	wantEvents(t, st, before, revs)
	f.wantState(t, st, map[*latch.Session]bool{f.keep: true, f.expired: true, f.other: true}, latch.ReasonPasswordChange)
	if got := user(t, st, f.u.ID).PasswordHash; got != phc+"changed" {
		t.Errorf("PasswordHash after ChangePassword = %q, want the new hash", got)
	}

	_, err = st.ChangePassword(t.Context(), latch.UserID(uuid.NewString()), phc, "", now)
	wantErr(t, "ChangePassword(unknown user)", err, latch.ErrNotFound)
}

func testSetUserDisabled(t *testing.T, st latch.Store) {
	f := newUserWithSessions(t, st)
	before := lastSeq(t, st)
	revs, err := st.SetUserDisabled(t.Context(), f.u.ID, true, now)
	must(t, "SetUserDisabled(true)", err)
	first := revs
	wantRevoked(t, revs, f.keep, f.live)
	for _, r := range revs {
		if r.Reason != latch.ReasonUserDisabled || r.UserID != f.u.ID || !r.At.Equal(now) {
			t.Errorf("revocation %+v; want reason %q, user %s, at %v", r, latch.ReasonUserDisabled, f.u.ID, now)
		}
	}
	wantEvents(t, st, before, revs)
	f.wantState(t, st, map[*latch.Session]bool{f.expired: true, f.other: true}, latch.ReasonUserDisabled)
	if got := user(t, st, f.u.ID).DisabledAt; !got.Equal(now) {
		t.Errorf("DisabledAt = %v, want %v", got, now)
	}
	if !session(t, st, f.keep.ID).UserDisabled || session(t, st, f.other.ID).UserDisabled {
		t.Errorf("Session.UserDisabled does not follow the user's flag")
	}

	// Disabling again keeps the first time and finds nothing left to revoke.
	revs, err = st.SetUserDisabled(t.Context(), f.u.ID, true, now.Add(time.Hour))
	if err != nil || len(revs) != 0 {
		t.Errorf("SetUserDisabled(true) again = %v, %v; want no revocations", revs, err)
	}
	if got := user(t, st, f.u.ID).DisabledAt; !got.Equal(now) {
		t.Errorf("DisabledAt after disabling twice = %v, want the first time %v", got, now)
	}

	// Enabling lets the user sign in again but brings no session back.
	revs, err = st.SetUserDisabled(t.Context(), f.u.ID, false, now.Add(2*time.Hour))
	if err != nil || len(revs) != 0 {
		t.Errorf("SetUserDisabled(false) = %v, %v; want no revocations", revs, err)
	}
	if u := user(t, st, f.u.ID); u.Disabled() {
		t.Errorf("user still disabled after enabling (DisabledAt %v)", u.DisabledAt)
	}
	if s := session(t, st, f.keep.ID); !s.Revoked() || s.UserDisabled {
		t.Errorf("after enabling: session revoked=%v userDisabled=%v; want revoked, not disabled", s.Revoked(), s.UserDisabled)
	}
	wantEvents(t, st, before, first) // neither call appended an event

	for _, disabled := range []bool{true, false} {
		_, err := st.SetUserDisabled(t.Context(), latch.UserID(uuid.NewString()), disabled, now)
		wantErr(t, "SetUserDisabled(unknown user)", err, latch.ErrNotFound)
	}
}
