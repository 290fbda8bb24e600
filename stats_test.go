package latch_test

import (
	"testing"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/latchtest"
)

// Every counter in Stats moves with the event it counts.
func TestStatsCount(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{Follow: true})
	svc := env.Service
	ctx := t.Context()

	if st := svc.Stats(); !st.CacheTrusted || st.LoginsOK+st.LoginsFailed+st.Refreshes+st.CacheHits+st.CacheMisses+st.StoreErrors != 0 {
		t.Fatalf("fresh Stats = %+v, want zeros and a trusted cache", st)
	}
	g := signup(t, env, "stats@example.com")
	login(t, env, "stats@example.com", phone)
	if _, err := svc.Login(ctx, "stats@example.com", "wrong password!!", phone); err == nil {
		t.Fatal("wrong password accepted")
	}
	if _, err := svc.Login(ctx, "nobody@example.com", "wrong password!!", phone); err == nil {
		t.Fatal("unknown email accepted")
	}
	mustAuth(t, env, g.AccessToken) // miss: first read
	mustAuth(t, env, g.AccessToken) // hit
	g2 := refresh(t, env, g.RefreshToken)
	env.Clock.Advance(time.Minute) // past the grace window: the old token is now theft
	if _, err := svc.Refresh(ctx, g.RefreshToken, laptop); codeOf(err) != latch.CodeRefreshTokenReused {
		t.Fatalf("stale refresh = %v", err)
	}
	if err := svc.SetUserDisabled(ctx, "stats@example.com", true); err != nil {
		t.Fatal(err)
	}
	_ = g2

	st := svc.Stats()
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"LoginsOK", st.LoginsOK, 1},
		{"LoginsFailed", st.LoginsFailed, 2},
		{"Refreshes", st.Refreshes, 1},
		{"ReuseDetections", st.ReuseDetections, 1},
		{"Revocations[refresh_token_reuse]", st.Revocations[latch.ReasonRefreshReuse], 1},
		{"Revocations[user_disabled]", st.Revocations[latch.ReasonUserDisabled], 1}, // the phone's session; the laptop's was revoked as theft
		{"Revocations[logout]", st.Revocations[latch.ReasonLogout], 0},
		{"CacheHits", st.CacheHits, 1},
		{"CacheMisses", st.CacheMisses, 1},
		{"StoreErrors", st.StoreErrors, 0},
	} {
		if c.got != c.want {
			t.Errorf("Stats.%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if len(st.Revocations) != len(latch.RevokeReasons()) {
		t.Errorf("Stats.Revocations has %d reasons, want every one of %v", len(st.Revocations), latch.RevokeReasons())
	}

	// A database that stops answering: requests fail closed and count.
	env.Store.Close()
	if _, err := svc.Login(ctx, "stats@example.com", testPassword, phone); kindOf(err) != latch.KindUnavailable {
		t.Fatalf("Login on a closed store = %v, want unavailable", err)
	}
	if st := svc.Stats(); st.StoreErrors == 0 {
		t.Errorf("Stats.StoreErrors = 0 after a failed store read")
	}
}

// Without a caught-up follower every lookup bypasses the cache; the active
// sessions count follows the policy.
func TestStatsBypassAndActiveSessions(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	g := signup(t, env, "bypass@example.com")
	login(t, env, "bypass@example.com", phone)
	mustAuth(t, env, g.AccessToken)
	if st := env.Service.Stats(); st.CacheBypasses != 1 || st.CacheHits+st.CacheMisses != 0 || st.CacheTrusted {
		t.Errorf("untrusted cache: Stats = %+v", st)
	}
	n, ok, err := env.Service.ActiveSessions(t.Context())
	if err != nil || !ok || n != 2 {
		t.Fatalf("ActiveSessions = %d, %v, %v, want 2", n, ok, err)
	}
	env.Clock.Advance(env.Service.Policy.IdleTimeout + time.Minute)
	if n, _, _ := env.Service.ActiveSessions(t.Context()); n != 0 {
		t.Errorf("ActiveSessions after the idle timeout = %d, want 0", n)
	}
}
