package latch_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/latchtest"
)

func TestAuthenticateLifecycle(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	g := signup(t, env, "life@example.com")
	p := mustAuth(t, env, g.AccessToken)
	if p.UserID != g.User.ID || p.SessionID != g.Session.ID {
		t.Fatalf("principal = %+v, want user %s session %s", p, g.User.ID, g.Session.ID)
	}
	u, err := env.Service.Me(t.Context(), p)
	if err != nil || u.Email != "life@example.com" {
		t.Fatalf("Me = %v, %v", u, err)
	}

	// The stolen-token scenario: a copy works until logout, then dies on
	// its very next use, long before it expires.
	stolen := g.AccessToken
	mustAuth(t, env, stolen)
	if err := env.Service.Logout(t.Context(), p, latch.ScopeCurrent, laptop); err != nil {
		t.Fatal(err)
	}
	if got := authCode(t, env, stolen); got != latch.CodeSessionRevoked {
		t.Fatalf("stolen token after logout: %q, want session_revoked", got)
	}
}

func TestAuthenticateExpiry(t *testing.T) {
	policy := latch.DefaultPolicy()
	tests := []struct {
		name    string
		advance time.Duration
		want    string
	}{
		{"fresh", 0, ""},
		{"within leeway after exp", policy.AccessTTL + 4*time.Second, ""},
		{"access token expired", policy.AccessTTL + 6*time.Second, latch.CodeTokenExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := latchtest.New(t, latchtest.Options{})
			g := signup(t, env, "exp@example.com")
			env.Clock.Advance(tt.advance)
			if got := authCode(t, env, g.AccessToken); got != tt.want {
				t.Fatalf("Authenticate after %v = %q, want %q", tt.advance, got, tt.want)
			}
		})
	}
}

// Lifetimes are enforced on every request, not only at refresh.
func TestSessionLifetimes(t *testing.T) {
	policy := latch.Policy{AccessTTL: 15 * time.Minute, MaxAge: time.Hour, IdleTimeout: 30 * time.Minute, RefreshGrace: 10 * time.Second}

	t.Run("absolute expiry on access and refresh", func(t *testing.T) {
		env := latchtest.New(t, latchtest.Options{Policy: policy})
		g := signup(t, env, "abs@example.com")
		// Keep the session busy so idleness never triggers.
		for range 4 {
			env.Clock.Advance(14 * time.Minute)
			g = refresh(t, env, g.RefreshToken)
		}
		env.Clock.Advance(3 * time.Minute) // 59m: still inside max age
		if got := authCode(t, env, g.AccessToken); got != "" {
			t.Fatalf("before max age: %q", got)
		}
		env.Clock.Advance(2 * time.Minute) // 61m: past max age, access token still unexpired
		if got := authCode(t, env, g.AccessToken); got != latch.CodeSessionExpired {
			t.Fatalf("access after max age = %q, want session_expired", got)
		}
		if _, err := env.Service.Refresh(t.Context(), g.RefreshToken, laptop); codeOf(err) != latch.CodeSessionExpired {
			t.Fatalf("refresh after max age = %v, want session_expired", err)
		}
	})

	t.Run("idle expiry on refresh", func(t *testing.T) {
		env := latchtest.New(t, latchtest.Options{Policy: policy})
		g := signup(t, env, "idle@example.com")
		env.Clock.Advance(31 * time.Minute)
		if _, err := env.Service.Refresh(t.Context(), g.RefreshToken, laptop); codeOf(err) != latch.CodeSessionExpired {
			t.Fatalf("refresh after idle timeout = %v, want session_expired", err)
		}
	})

	t.Run("idle expiry on access", func(t *testing.T) {
		p := policy
		p.AccessTTL, p.IdleTimeout = 2*time.Hour, 30*time.Minute
		p.MaxAge = 24 * time.Hour
		env := latchtest.New(t, latchtest.Options{Policy: p})
		g := signup(t, env, "idle2@example.com")
		env.Clock.Advance(29 * time.Minute)
		if got := authCode(t, env, g.AccessToken); got != "" {
			t.Fatalf("before idle timeout: %q", got)
		}
		env.Clock.Advance(29 * time.Minute) // 58m: 29m after the last use
		// The use at 29m counted as activity once its last-seen write lands.
		env.Service.Close()
		if got := authCode(t, env, g.AccessToken); got != "" {
			t.Fatalf("activity at 29m should extend the idle window: %q", got)
		}
		env.Service.Close()
		env.Clock.Advance(31 * time.Minute)
		if got := authCode(t, env, g.AccessToken); got != latch.CodeSessionExpired {
			t.Fatalf("after idle timeout = %q, want session_expired", got)
		}
	})
}

// Last-seen writes are throttled to one a minute per session.
func TestLastSeenThrottled(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	g := signup(t, env, "seen@example.com")
	created := g.Session.LastSeenAt
	env.Clock.Advance(30 * time.Second)
	mustAuth(t, env, g.AccessToken)
	env.Service.Close() // wait for any background write
	s, _ := env.Store.Session(t.Context(), g.Session.ID)
	if !s.LastSeenAt.Equal(created.Truncate(time.Millisecond)) {
		t.Fatalf("last seen written after 30s: %v (created %v)", s.LastSeenAt, created)
	}
	env.Clock.Advance(31 * time.Second)
	mustAuth(t, env, g.AccessToken)
	env.Service.Close()
	s, _ = env.Store.Session(t.Context(), g.Session.ID)
	if want := env.Clock.Now().Truncate(time.Millisecond); !s.LastSeenAt.Equal(want) {
		t.Fatalf("last seen = %v, want %v", s.LastSeenAt, want)
	}
}

func TestAuthenticateRejectsForeignTokens(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	other := latchtest.New(t, latchtest.Options{Secret: mustSecret(t, "cd")})
	g := signup(t, env, "a@example.com")
	og := signup(t, other, "a@example.com")

	tests := []struct{ name, token string }{
		{"empty", ""},
		{"garbage", "not a token"},
		{"refresh token as access token", g.RefreshToken},
		{"signed by another installation", og.AccessToken},
		{"truncated signature", g.AccessToken[:len(g.AccessToken)-4]},
		{"flipped signature", flipLast(g.AccessToken)},
		{"transplanted payload", transplant(g.AccessToken, og.AccessToken)},
		{"padded", g.AccessToken + "=="},
		{"oversized", g.AccessToken + strings.Repeat("A", 9000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.Service.Authenticate(t.Context(), tt.token)
			if codeOf(err) != latch.CodeInvalidToken || kindOf(err) != latch.KindUnauthenticated {
				t.Fatalf("Authenticate = %v, want invalid_token", err)
			}
		})
	}
}

func mustSecret(t *testing.T, hexPair string) *latch.Secret {
	t.Helper()
	s, err := latch.ParseSecret([]byte(strings.Repeat(hexPair, 32)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func flipLast(tok string) string {
	b := []byte(tok)
	i := len(b) - 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// transplant puts b's payload under a's header and signature.
func transplant(a, b string) string {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	return pa[0] + "." + pb[1] + "." + pa[2]
}

// TestFailClosed: when the store cannot answer, nothing is let through.
func TestFailClosed(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	g := signup(t, env, "closed@example.com")
	mustAuth(t, env, g.AccessToken)
	env.Store.Close()

	_, err := env.Service.Authenticate(t.Context(), g.AccessToken)
	if codeOf(err) != latch.CodeUnavailable || kindOf(err) != latch.KindUnavailable {
		t.Fatalf("Authenticate with store down = %v, want unavailable", err)
	}
	_, err = env.Service.Refresh(t.Context(), g.RefreshToken, laptop)
	if codeOf(err) != latch.CodeUnavailable {
		t.Fatalf("Refresh with store down = %v, want unavailable", err)
	}
	_, err = env.Service.Login(t.Context(), "closed@example.com", testPassword, laptop)
	if codeOf(err) != latch.CodeUnavailable {
		t.Fatalf("Login with store down = %v, want unavailable", err)
	}
	var le *latch.Error
	if !errors.As(err, &le) || le.RetryAfter <= 0 {
		t.Errorf("unavailable error carries no Retry-After: %+v", le)
	}
}

// TestRestartKeepsSessions: a new process on the same database and secret
// accepts the old tokens; a different secret refuses to start.
func TestRestartKeepsSessions(t *testing.T) {
	dbPath := t.TempDir() + "/latch.db"
	first := latchtest.New(t, latchtest.Options{DBPath: dbPath})
	g := signup(t, first, "restart@example.com")
	first.Service.Close()
	first.Store.Close()

	second := latchtest.New(t, latchtest.Options{DBPath: dbPath, Clock: first.Clock})
	mustAuth(t, second, g.AccessToken)
	g2 := refresh(t, second, g.RefreshToken)
	mustAuth(t, second, g2.AccessToken)
	if a, b := first.Service.KeySet().Signer().ID, second.Service.KeySet().Signer().ID; a != b {
		t.Errorf("signing key changed across restart: %s -> %s", a, b)
	}
}
