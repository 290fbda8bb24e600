package latch_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/password"
)

// BenchmarkAuthenticate measures the per-request check: parse and verify
// the JWT, then read and judge the session. Reproduce the README figure:
//
//	go test -run '^$' -bench 'Authenticate' -benchmem -count 6 . | tee auth.txt && benchstat auth.txt
func BenchmarkAuthenticate(b *testing.B) {
	env := latchtest.New(b, latchtest.Options{})
	g, err := env.Service.Signup(b.Context(), "bench@example.com", testPassword, laptop)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := env.Service.Authenticate(b.Context(), g.AccessToken); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParseRefreshToken: no input panics, anything accepted re-encodes to
// exactly the input (one token, one encoding), and only tokens latch issued
// are accepted: the 128-bit tag cannot be guessed by mutation.
func FuzzParseRefreshToken(f *testing.F) {
	secret := latchtest.Secret(f)
	keys := secret.RefreshKeys()
	// Seeded: the coordinator and every fuzz worker process issue the very
	// same tokens, so "issued" means the same in all of them.
	env := latchtest.New(f, latchtest.Options{Secret: secret, Rand: rand.NewChaCha8([32]byte{'l', 'a', 't', 'c', 'h'})})
	g, err := env.Service.Signup(f.Context(), "fuzz@example.com", testPassword, laptop)
	if err != nil {
		f.Fatal(err)
	}
	g2, err := env.Service.Refresh(f.Context(), g.RefreshToken, laptop)
	if err != nil {
		f.Fatal(err)
	}
	issued := map[string]bool{g.RefreshToken: true, g2.RefreshToken: true}
	for _, s := range []string{g.RefreshToken, g2.RefreshToken, "", "latch_rt_", g.RefreshToken + "=", g.AccessToken, g.RefreshToken[:40],
		strings.ToUpper(g.RefreshToken), " " + g.RefreshToken, g.RefreshToken + "\n", strings.ReplaceAll(g.RefreshToken, "_", "/")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := keys.Parse(s)
		if err != nil {
			return
		}
		if got := keys.Encode(tok); got != s {
			t.Fatalf("Parse accepted %q which re-encodes as %q", s, got)
		}
		if !issued[s] {
			t.Fatalf("Parse accepted %q, which latch never issued", s)
		}
		if tok.SessionID == "" {
			t.Fatal("accepted token without a session id")
		}
		_ = latch.SessionID(tok.SessionID)
	})
}

// BenchmarkAuthenticatePaths compares the hot path (token and session seen
// before), the cold path (caches off: signature check and store read on
// every call), and the two costs the cold path is made of, all in one run:
//
//	go test -run '^$' -bench 'AuthenticatePaths' -benchmem -count 6 . | tee paths.txt && benchstat paths.txt
func BenchmarkAuthenticatePaths(b *testing.B) {
	hot := latchtest.New(b, latchtest.Options{Follow: true})
	cold := latchtest.New(b, latchtest.Options{Cache: latch.CacheConfig{Disabled: true}})
	grant := func(env *latchtest.Env) *latch.Grant {
		g, err := env.Service.Signup(b.Context(), "paths@example.com", testPassword, laptop)
		if err != nil {
			b.Fatal(err)
		}
		return g
	}
	hg, cg := grant(hot), grant(cold)
	run := func(env *latchtest.Env, tok string) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := env.Service.Authenticate(b.Context(), tok); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("hot", run(hot, hg.AccessToken))
	b.Run("cold", run(cold, cg.AccessToken))
	b.Run("signature", func(b *testing.B) {
		jwk := cold.Service.KeySet().JWKS().Keys[0]
		pub, _ := base64.RawURLEncoding.DecodeString(jwk.X)
		i := strings.LastIndexByte(cg.AccessToken, '.')
		msg := []byte(cg.AccessToken[:i])
		sig, _ := base64.RawURLEncoding.DecodeString(cg.AccessToken[i+1:])
		b.ReportAllocs()
		for b.Loop() {
			if !ed25519.Verify(pub, msg, sig) {
				b.Fatal("bad signature")
			}
		}
	})
	b.Run("store-read", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cold.Store.Session(b.Context(), cg.Session.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkService measures login, refresh and logout through the service
// layer on a real SQLite file (production argon2id parameters for login),
// with the abuse limits off: one client doing thousands of each is exactly
// what they refuse.
//
//	go test -run '^$' -bench 'Service' -benchmem -count 6 . | tee svc.txt && benchstat svc.txt
func BenchmarkService(b *testing.B) {
	b.Run("login", func(b *testing.B) {
		env := latchtest.New(b, latchtest.Options{Hasher: password.New(password.Options{}), Limits: noLimits})
		if _, err := env.Service.Signup(b.Context(), "login@example.com", testPassword, laptop); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := env.Service.Login(b.Context(), "login@example.com", testPassword, laptop); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("refresh", func(b *testing.B) {
		env := latchtest.New(b, latchtest.Options{Limits: noLimits})
		g, err := env.Service.Signup(b.Context(), "refresh@example.com", testPassword, laptop)
		if err != nil {
			b.Fatal(err)
		}
		rt := g.RefreshToken
		b.ReportAllocs()
		for b.Loop() {
			ng, err := env.Service.Refresh(b.Context(), rt, laptop)
			if err != nil {
				b.Fatal(err)
			}
			rt = ng.RefreshToken
		}
	})
	b.Run("refresh-parallel", func(b *testing.B) {
		env := latchtest.New(b, latchtest.Options{Limits: noLimits})
		b.ReportAllocs()
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			g, err := env.Service.Signup(b.Context(), fmt.Sprintf("p%d@example.com", n.Add(1)), testPassword, laptop)
			if err != nil {
				b.Error(err)
				return
			}
			rt := g.RefreshToken
			for pb.Next() {
				ng, err := env.Service.Refresh(b.Context(), rt, laptop)
				if err != nil {
					b.Error(err)
					return
				}
				rt = ng.RefreshToken
			}
		})
	})
	b.Run("logout", func(b *testing.B) {
		env := latchtest.New(b, latchtest.Options{Limits: noLimits})
		if _, err := env.Service.Signup(b.Context(), "logout@example.com", testPassword, laptop); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			g, err := env.Service.Login(b.Context(), "logout@example.com", testPassword, laptop)
			if err != nil {
				b.Fatal(err)
			}
			p, err := env.Service.Authenticate(b.Context(), g.AccessToken)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if err := env.Service.Logout(b.Context(), p, latch.ScopeCurrent, laptop); err != nil {
				b.Fatal(err)
			}
		}
	})
}

var noLimits = latch.Limits{Off: true}
