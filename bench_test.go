package latch_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/latchtest"
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
