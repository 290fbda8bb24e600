package latch_test

import (
	"testing"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/latchtest"
)

func TestSessionsListAndRevoke(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	signup(t, env, "list@example.com")
	a := login(t, env, "list@example.com", laptop)
	b := login(t, env, "list@example.com", phone)
	mallory := signup(t, env, "mallory@example.com")
	pa := mustAuth(t, env, a.AccessToken)

	views, err := env.Service.Sessions(t.Context(), pa)
	if err != nil {
		t.Fatal(err)
	}
	if len(views) != 3 { // signup's session, a, b
		t.Fatalf("listed %d sessions, want 3", len(views))
	}
	for _, v := range views {
		if v.Current != (v.ID == a.Session.ID) {
			t.Errorf("session %s current = %v", v.ID, v.Current)
		}
		if v.ID == b.Session.ID && (v.IP != phone.IP || v.UserAgent != phone.UserAgent) {
			t.Errorf("device of B = %q %q, want phone", v.IP, v.UserAgent)
		}
	}

	// Another user's session is "not found", exactly like a missing one.
	for _, id := range []latch.SessionID{mallory.Session.ID, "00000000-0000-4000-8000-000000000000"} {
		if err := env.Service.RevokeSession(t.Context(), pa, id, laptop); codeOf(err) != latch.CodeNotFound {
			t.Errorf("RevokeSession(%s) = %v, want not_found", id, err)
		}
	}
	mustAuth(t, env, mallory.AccessToken)

	if err := env.Service.RevokeSession(t.Context(), pa, b.Session.ID, laptop); err != nil {
		t.Fatal(err)
	}
	if got := authCode(t, env, b.AccessToken); got != latch.CodeSessionRevoked {
		t.Fatalf("B after revoke = %q", got)
	}
	// Revoking again is harmless.
	if err := env.Service.RevokeSession(t.Context(), pa, b.Session.ID, laptop); err != nil {
		t.Fatalf("second revoke = %v", err)
	}
	views, _ = env.Service.Sessions(t.Context(), pa)
	for _, v := range views {
		if v.ID == b.Session.ID && v.EndReason != latch.ReasonRevokedByUser {
			t.Errorf("B ended with %q, want revoked_by_user", v.EndReason)
		}
	}
}

func TestSessionsHistoryWindow(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	first := signup(t, env, "hist@example.com") // expires at day 30
	old := login(t, env, "hist@example.com", phone)
	if err := env.Service.Logout(t.Context(), mustAuth(t, env, old.AccessToken), latch.ScopeCurrent, phone); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(31 * 24 * time.Hour)
	now := login(t, env, "hist@example.com", laptop)
	views, err := env.Service.Sessions(t.Context(), mustAuth(t, env, now.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	got := map[latch.SessionID]latch.SessionView{}
	for _, v := range views {
		got[v.ID] = v
	}
	if _, ok := got[old.Session.ID]; ok {
		t.Error("session signed out 31 days ago is still listed")
	}
	if v, ok := got[first.Session.ID]; !ok || v.EndReason != latch.ReasonExpired || !v.EndedAt.Equal(first.Session.ExpiresAt) {
		t.Errorf("session that expired a day ago = %+v, want listed as expired at its expiry", v)
	}
	if v := got[now.Session.ID]; !v.Current || !v.EndedAt.IsZero() {
		t.Errorf("current session = %+v", v)
	}
}

func TestLogoutScopes(t *testing.T) {
	tests := []struct {
		scope        latch.LogoutScope
		aLive, bLive bool
		reason       latch.RevokeReason
	}{
		{latch.ScopeCurrent, false, true, latch.ReasonLogout},
		{"", false, true, latch.ReasonLogout},
		{latch.ScopeOthers, true, false, latch.ReasonLogoutOthers},
		{latch.ScopeAll, false, false, latch.ReasonLogoutAll},
	}
	for _, tt := range tests {
		t.Run(string(tt.scope), func(t *testing.T) {
			env := latchtest.New(t, latchtest.Options{})
			signup(t, env, "scope@example.com")
			a := login(t, env, "scope@example.com", laptop)
			b := login(t, env, "scope@example.com", phone)
			if err := env.Service.Logout(t.Context(), mustAuth(t, env, a.AccessToken), tt.scope, laptop); err != nil {
				t.Fatal(err)
			}
			if got := authCode(t, env, a.AccessToken) == ""; got != tt.aLive {
				t.Errorf("A live = %v, want %v", got, tt.aLive)
			}
			if got := authCode(t, env, b.AccessToken) == ""; got != tt.bLive {
				t.Errorf("B live = %v, want %v", got, tt.bLive)
			}
			for _, sid := range []latch.SessionID{a.Session.ID, b.Session.ID} {
				s, _ := env.Store.Session(t.Context(), sid)
				if s.Revoked() && s.RevokeReason != tt.reason {
					t.Errorf("reason = %q, want %q", s.RevokeReason, tt.reason)
				}
			}
		})
	}
	env := latchtest.New(t, latchtest.Options{})
	g := signup(t, env, "badscope@example.com")
	if err := env.Service.Logout(t.Context(), mustAuth(t, env, g.AccessToken), "everything", laptop); codeOf(err) != latch.CodeValidationFailed {
		t.Fatalf("bad scope = %v, want validation_failed", err)
	}
	mustAuth(t, env, g.AccessToken) // a bad request changed nothing
}

func TestAdminOperations(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	u, err := env.Service.CreateUser(t.Context(), "ops@example.com", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	a := login(t, env, "ops@example.com", laptop)
	b := login(t, env, "ops@example.com", phone)
	if err := env.Service.AdminRevokeSession(t.Context(), a.Session.ID); err != nil {
		t.Fatal(err)
	}
	if got := authCode(t, env, a.AccessToken); got != latch.CodeSessionRevoked {
		t.Errorf("after admin revoke: %q", got)
	}
	if err := env.Service.AdminRevokeSession(t.Context(), "00000000-0000-4000-8000-000000000000"); codeOf(err) != latch.CodeNotFound {
		t.Errorf("revoke unknown session = %v", err)
	}
	n, err := env.Service.AdminRevokeUserSessions(t.Context(), "OPS@example.com")
	if err != nil || n != 1 {
		t.Fatalf("revoke user sessions = %d, %v; want 1", n, err)
	}
	if got := authCode(t, env, b.AccessToken); got != latch.CodeSessionRevoked {
		t.Errorf("after admin revoke-all: %q", got)
	}
	views, err := env.Service.UserSessions(t.Context(), "ops@example.com")
	if err != nil || len(views) != 2 {
		t.Fatalf("UserSessions = %d, %v", len(views), err)
	}
	for _, v := range views {
		if v.EndReason != latch.ReasonAdmin {
			t.Errorf("reason %q, want admin", v.EndReason)
		}
	}
	us, _ := env.Service.Users(t.Context())
	if len(us) != 1 || us[0].ID != u.ID {
		t.Errorf("Users = %v", us)
	}
	if _, err := env.Service.UserByEmail(t.Context(), "nobody@example.com"); codeOf(err) != latch.CodeNotFound {
		t.Errorf("unknown user = %v", err)
	}
	if _, err := env.Service.CreateUser(t.Context(), "ops@example.com", testPassword); codeOf(err) != latch.CodeEmailTaken {
		t.Errorf("duplicate create = %v", err)
	}
}
