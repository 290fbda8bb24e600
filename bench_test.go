package latch_test

import (
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

// FuzzParseRefreshToken: no input panics, and anything accepted re-encodes
// to exactly the input (one token, one encoding).
func FuzzParseRefreshToken(f *testing.F) {
	secret := latchtest.Secret(f)
	keys := secret.RefreshKeys()
	env := latchtest.New(f, latchtest.Options{Secret: secret})
	g, err := env.Service.Signup(f.Context(), "fuzz@example.com", testPassword, laptop)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{g.RefreshToken, "", "latch_rt_", g.RefreshToken + "=", g.AccessToken, g.RefreshToken[:40]} {
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
		if tok.SessionID == "" {
			t.Fatal("accepted token without a session id")
		}
		_ = latch.SessionID(tok.SessionID)
	})
}
