package latch_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/jwtattack"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/token"
)

// attackEnv is a service with a live session, and an attack generator that
// signs with the service's own current key for that very session: if a
// claim check were missing, the forged token would authenticate.
func attackEnv(t *testing.T) (*latchtest.Env, *latchtest.CountingStore, *jwtattack.Gen, *latch.Grant) {
	t.Helper()
	counting := &latchtest.CountingStore{}
	env := latchtest.New(t, latchtest.Options{Wrap: func(st latch.Store) latch.Store { counting.Store = st; return counting }})
	g := signup(t, env, "target@example.com")
	p := mustAuth(t, env, g.AccessToken)
	return env, counting, &jwtattack.Gen{Key: env.Service.KeySet().Signer(), Claims: p.Claims}, g
}

// TestAuthenticateRefusesAttacks runs every JWT attack through the real
// per-request path. Each is refused as an invalid token (or an expired one,
// for the genuine but expired token), is never cached, and never costs a
// session read: the token alone condemns it.
func TestAuthenticateRefusesAttacks(t *testing.T) {
	env, counting, gen, g := attackEnv(t)
	if _, err := env.Service.Authenticate(t.Context(), gen.Valid()); err != nil {
		t.Fatalf("control: a token the generator signs like latch does is refused: %v", err)
	}
	reads := counting.SessionReads.Load()
	for _, tc := range gen.Cases(g.AccessToken) {
		t.Run(tc.Name, func(t *testing.T) {
			for range 2 { // a second try must not hit a cache either
				p, err := env.Service.Authenticate(t.Context(), tc.Token)
				if err == nil {
					t.Fatalf("Authenticate accepted the forgery as %+v", p)
				}
				le, ok := errors.AsType[*latch.Error](err)
				if !ok || le.Kind != latch.KindUnauthenticated {
					t.Fatalf("Authenticate = %v, want an authentication failure", err)
				}
				want := latch.CodeInvalidToken
				if errors.Is(tc.Want, token.ErrExpired) {
					want = latch.CodeTokenExpired
				}
				if le.Code != want {
					t.Fatalf("code = %q, want %q (%v)", le.Code, want, err)
				}
				if !errors.Is(err, tc.Want) {
					t.Errorf("cause = %v, want %v", err, tc.Want)
				}
			}
		})
	}
	if n := counting.SessionReads.Load() - reads; n != 0 {
		t.Errorf("attacks caused %d session reads; every one should be refused on the token alone", n)
	}
	// The real session is unharmed.
	mustAuth(t, env, g.AccessToken)
}

// A token that names where to fetch its key (jku, x5u, a URL as kid) makes
// latch fetch nothing: a listener at that URL sees no request. An unknown
// kid costs at most one reload of latch's own key table per second.
func TestUnknownKeyIDNeverFetches(t *testing.T) {
	env, _, gen, _ := attackEnv(t)
	var hits atomic.Int64
	lure := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer lure.Close()
	for _, tok := range []string{
		gen.WithHeader("jku", jwtattack.Quote(lure.URL+"/jwks.json")),
		gen.WithHeader("x5u", jwtattack.Quote(lure.URL+"/cert.pem")),
		gen.WithHeader("kid", jwtattack.Quote(lure.URL+"/key")),
		gen.WithHeader("kid", jwtattack.Quote(lure.URL)),
	} {
		for range 3 {
			if code := authCode(t, env, tok); code != latch.CodeInvalidToken {
				t.Errorf("Authenticate = %q, want invalid_token", code)
			}
			env.Clock.Advance(2 * time.Second) // let the key-reload limiter allow a reload
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("latch made %d requests to a URL named in a token", n)
	}
}
