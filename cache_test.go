package latch_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/latchtest"
)

// cachedEnv is a service with caches on, the follower running, and a store
// that counts session reads.
func cachedEnv(t *testing.T, o latchtest.Options) (*latchtest.Env, *latchtest.CountingStore) {
	t.Helper()
	cs := new(latchtest.CountingStore)
	o.Follow = true
	o.Wrap = func(st latch.Store) latch.Store { cs.Store = st; return cs }
	return latchtest.New(t, o), cs
}

// warm authenticates until the session is cached and proves the next call
// reads nothing from the store.
func warm(t *testing.T, env *latchtest.Env, cs *latchtest.CountingStore, tok string) {
	t.Helper()
	mustAuth(t, env, tok)
	before := cs.SessionReads.Load()
	mustAuth(t, env, tok)
	if n := cs.SessionReads.Load() - before; n != 0 {
		t.Fatalf("warm token read the store %d times, want a cache hit", n)
	}
}

// With the caches on, every kind of ending is refused on the very next
// request on this node.
func TestCacheRefusesOnNextRequest(t *testing.T) {
	tests := []struct {
		name string
		end  func(t *testing.T, env *latchtest.Env, g *latch.Grant)
		want string
	}{
		{"logout", func(t *testing.T, env *latchtest.Env, g *latch.Grant) {
			if err := env.Service.Logout(t.Context(), mustAuth(t, env, g.AccessToken), latch.ScopeCurrent, laptop); err != nil {
				t.Fatal(err)
			}
		}, latch.CodeSessionRevoked},
		{"revoked by the user elsewhere", func(t *testing.T, env *latchtest.Env, g *latch.Grant) {
			other := login(t, env, g.User.Email, phone)
			if err := env.Service.RevokeSession(t.Context(), mustAuth(t, env, other.AccessToken), g.Session.ID, phone); err != nil {
				t.Fatal(err)
			}
		}, latch.CodeSessionRevoked},
		{"disabled user", func(t *testing.T, env *latchtest.Env, g *latch.Grant) {
			if err := env.Service.SetUserDisabled(t.Context(), g.User.Email, true); err != nil {
				t.Fatal(err)
			}
		}, latch.CodeSessionRevoked},
		{"password changed elsewhere", func(t *testing.T, env *latchtest.Env, g *latch.Grant) {
			other := login(t, env, g.User.Email, phone)
			if err := env.Service.ChangePassword(t.Context(), mustAuth(t, env, other.AccessToken), testPassword, "another fine passphrase", phone); err != nil {
				t.Fatal(err)
			}
		}, latch.CodeSessionRevoked},
		{"refresh reuse", func(t *testing.T, env *latchtest.Env, g *latch.Grant) {
			refresh(t, env, g.RefreshToken)
			env.Clock.Advance(11 * time.Second)
			env.Service.Refresh(t.Context(), g.RefreshToken, laptop)
		}, latch.CodeSessionRevoked},
		{"superseded after grace", func(t *testing.T, env *latchtest.Env, g *latch.Grant) {
			refresh(t, env, g.RefreshToken)
			env.Clock.Advance(11 * time.Second)
		}, latch.CodeTokenSuperseded},
		{"absolute expiry", func(t *testing.T, env *latchtest.Env, g *latch.Grant) {
			env.Clock.Advance(2 * time.Hour) // past max age; the day-long token is still unexpired
		}, latch.CodeSessionExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, cs := cachedEnv(t, latchtest.Options{})
			g := signup(t, env, "cache@example.com")
			if tt.name == "absolute expiry" {
				// A long-lived access token so the session, not the token, ends first.
				p := latch.DefaultPolicy()
				p.AccessTTL, p.IdleTimeout = 24*time.Hour, 0
				env.Service.Policy = p
				env.Clock.Advance(30*24*time.Hour - time.Hour)
				g = refresh(t, env, g.RefreshToken)
			}
			warm(t, env, cs, g.AccessToken)
			tt.end(t, env, g)
			if got := authCode(t, env, g.AccessToken); got != tt.want {
				t.Fatalf("next request after %s = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

// Another process on the same SQLite file (the admin CLI) revokes: the
// follower brings it to this node within its poll interval.
func TestCacheSeesOtherProcessRevocation(t *testing.T) {
	env, cs := cachedEnv(t, latchtest.Options{})
	g := signup(t, env, "cli@example.com")
	warm(t, env, cs, g.AccessToken)

	admin := latchtest.New(t, latchtest.Options{DBPath: env.DBPath, Clock: env.Clock})
	if err := admin.Service.AdminRevokeSession(t.Context(), g.Session.ID); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for authCode(t, env, g.AccessToken) == "" {
		if time.Since(start) > 2*time.Second {
			t.Fatal("revocation by another process never reached the cache")
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("cross-process revocation seen after %v (poll interval 5ms)", time.Since(start))
}

// When the follower cannot read revocations, the cache is bypassed at once
// (every request reads the store) until it has caught up again.
func TestCacheFailsClosedWhenFollowerBlind(t *testing.T) {
	env, cs := cachedEnv(t, latchtest.Options{})
	g := signup(t, env, "blind@example.com")
	warm(t, env, cs, g.AccessToken)

	cs.FailRevocations.Store(true)
	deadline := time.Now().Add(2 * time.Second)
	for env.Service.CacheTrusted() {
		if time.Now().After(deadline) {
			t.Fatal("cache still trusted with the follower blind")
		}
		time.Sleep(time.Millisecond)
	}
	before := cs.SessionReads.Load()
	mustAuth(t, env, g.AccessToken)
	if cs.SessionReads.Load() == before {
		t.Fatal("blind follower, yet the request was served from the cache")
	}
	// A revocation made by another process while blind is still refused.
	admin := latchtest.New(t, latchtest.Options{DBPath: env.DBPath, Clock: env.Clock})
	if err := admin.Service.AdminRevokeSession(t.Context(), g.Session.ID); err != nil {
		t.Fatal(err)
	}
	if got := authCode(t, env, g.AccessToken); got != latch.CodeSessionRevoked {
		t.Fatalf("revoked while blind = %q", got)
	}
	cs.FailRevocations.Store(false)
	deadline = time.Now().Add(2 * time.Second)
	for !env.Service.CacheTrusted() {
		if time.Now().After(deadline) {
			t.Fatal("cache never trusted again")
		}
		time.Sleep(time.Millisecond)
	}
}

// Unknown and invalid tokens never enter the caches, so they can neither
// grow memory nor evict the working set.
func TestCacheIgnoresInvalidTokens(t *testing.T) {
	env, cs := cachedEnv(t, latchtest.Options{Cache: latch.CacheConfig{Tokens: 64, Sessions: 64}})
	g := signup(t, env, "ws@example.com")
	warm(t, env, cs, g.AccessToken)
	other := latchtest.New(t, latchtest.Options{Secret: mustSecret(t, "99")})
	og := signup(t, other, "ws@example.com")

	forged := []string{og.AccessToken, flipLast(g.AccessToken), transplant(g.AccessToken, og.AccessToken), g.AccessToken + "x"}
	for i := range 5000 {
		tok := forged[i%len(forged)]
		if i%7 == 0 {
			tok = strings.Repeat("A", i%300) + "." + tok
		}
		if authCode(t, env, tok) == "" {
			t.Fatalf("forged token %d accepted", i)
		}
	}
	before := cs.SessionReads.Load()
	mustAuth(t, env, g.AccessToken)
	if cs.SessionReads.Load() != before {
		t.Fatal("the working set was evicted by invalid tokens")
	}
}

// A cache hit still checks exp.
func TestCacheChecksExpiry(t *testing.T) {
	env, cs := cachedEnv(t, latchtest.Options{})
	g := signup(t, env, "exp@example.com")
	warm(t, env, cs, g.AccessToken)
	env.Clock.Advance(15*time.Minute + 6*time.Second)
	if got := authCode(t, env, g.AccessToken); got != latch.CodeTokenExpired {
		t.Fatalf("expired cached token = %q, want token_expired", got)
	}
}

// Logout racing cached authentications: once Logout returns, no request on
// this node succeeds (the epoch check stops a stale read from re-filling).
func TestCacheRevocationRace(t *testing.T) {
	env, _ := cachedEnv(t, latchtest.Options{Limits: latch.Limits{Off: true}}) // 100 sign-ins at one instant
	signup(t, env, "race@example.com")
	for round := range 100 {
		g := login(t, env, "race@example.com", laptop)
		p := mustAuth(t, env, g.AccessToken)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
						env.Service.Authenticate(t.Context(), g.AccessToken)
					}
				}
			})
		}
		if err := env.Service.Logout(t.Context(), p, latch.ScopeCurrent, laptop); err != nil {
			t.Fatal(err)
		}
		for range 20 {
			if authCode(t, env, g.AccessToken) == "" {
				t.Fatalf("round %d: token accepted after logout returned", round)
			}
		}
		close(stop)
		wg.Wait()
		if authCode(t, env, g.AccessToken) == "" {
			t.Fatalf("round %d: token accepted after the race settled", round)
		}
	}
}
