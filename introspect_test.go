package latch_test

import (
	"testing"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/latchtest"
)

func TestIntrospect(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	c, _ := addClient(t, env, "notes")
	g := signup(t, env, "intro@example.com")
	rotated := refresh(t, env, g.RefreshToken)
	env.Clock.Advance(11 * time.Second) // past the refresh grace window
	other := login(t, env, "intro@example.com", phone)
	logout(t, env, other)
	expiring := login(t, env, "intro@example.com", laptop)

	tests := []struct {
		name, token, wantType string
	}{
		{"live access token", rotated.AccessToken, latch.TokenTypeAccess},
		{"live refresh token", rotated.RefreshToken, latch.TokenTypeRefresh},
		{"superseded access token", g.AccessToken, ""},
		{"rotated refresh token", g.RefreshToken, ""},
		{"access token of a revoked session", other.AccessToken, ""},
		{"refresh token of a revoked session", other.RefreshToken, ""},
		{"garbage", "not a token", ""},
		{"empty", "", ""},
		{"forged refresh token", "latch_rt_" + rotated.RefreshToken[len("latch_rt_"):len(rotated.RefreshToken)-2] + "AA", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := env.Service.Introspect(t.Context(), c, tt.token)
			if err != nil {
				t.Fatal(err)
			}
			if in.Active != (tt.wantType != "") || in.TokenType != tt.wantType {
				t.Fatalf("Introspect = %+v, want active=%v type %q", in, tt.wantType != "", tt.wantType)
			}
			if in.Active && (in.SessionID != rotated.Session.ID || in.UserID != g.User.ID || in.ExpiresAt.IsZero()) {
				t.Errorf("Introspect = %+v", in)
			}
		})
	}
	// Introspecting a stale refresh token is not theft: the session lives on.
	mustAuth(t, env, rotated.AccessToken)

	env.Clock.Advance(16 * time.Minute)
	if in, _ := env.Service.Introspect(t.Context(), c, expiring.AccessToken); in.Active {
		t.Error("expired access token is active")
	}
	if in, _ := env.Service.Introspect(t.Context(), c, expiring.RefreshToken); !in.Active {
		t.Error("refresh token of a live session is inactive after its access token expired")
	}
	if err := env.Service.SetUserDisabled(t.Context(), "intro@example.com", true); err != nil {
		t.Fatal(err)
	}
	if in, _ := env.Service.Introspect(t.Context(), c, expiring.RefreshToken); in.Active {
		t.Error("refresh token of a disabled user is active")
	}
}

func TestRevokeToken(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	c, _ := addClient(t, env, "notes")
	signup(t, env, "rev@example.com")
	byAccess := login(t, env, "rev@example.com", phone)
	byRefresh := login(t, env, "rev@example.com", laptop)
	bystander := login(t, env, "rev@example.com", laptop)

	for _, tok := range []string{"", "garbage", "latch_rt_" + "A", byAccess.AccessToken + "x"} {
		if err := env.Service.RevokeToken(t.Context(), c, tok); err != nil {
			t.Errorf("RevokeToken(invalid) = %v, want nil", err)
		}
	}
	mustAuth(t, env, byAccess.AccessToken)

	if err := env.Service.RevokeToken(t.Context(), c, byAccess.AccessToken); err != nil {
		t.Fatal(err)
	}
	if err := env.Service.RevokeToken(t.Context(), c, byRefresh.RefreshToken); err != nil {
		t.Fatal(err)
	}
	for _, g := range []*latch.Grant{byAccess, byRefresh} {
		if got := authCode(t, env, g.AccessToken); got != latch.CodeSessionRevoked {
			t.Errorf("after RevokeToken: %q, want session_revoked", got)
		}
	}
	mustAuth(t, env, bystander.AccessToken)
	// Revoking again, or a token of an ended session, is still fine.
	if err := env.Service.RevokeToken(t.Context(), c, byRefresh.RefreshToken); err != nil {
		t.Error(err)
	}
	revs, _ := env.Store.RevocationsAfter(t.Context(), 0, 10)
	if len(revs) != 2 || revs[0].Reason != latch.ReasonTokenRevocation {
		t.Fatalf("revocations = %+v, want two with reason token_revocation", revs)
	}

	// An expired access token no longer proves anything: nothing happens.
	env.Clock.Advance(16 * time.Minute)
	if err := env.Service.RevokeToken(t.Context(), c, bystander.AccessToken); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Service.Refresh(t.Context(), bystander.RefreshToken, laptop); err != nil {
		t.Errorf("bystander session ended by an expired token: %v", err)
	}
}
