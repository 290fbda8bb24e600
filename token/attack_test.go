package token_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/jwtattack"
	"github.com/latchauth/latch/token"
)

func attackGen() *jwtattack.Gen { return &jwtattack.Gen{Key: key, Claims: *claims()} }

func attackCases(t testing.TB) []jwtattack.Case {
	t.Helper()
	other := claims()
	other.ID = "9c4d5e6f-7a8b-4c0d-9e2f-3a4b5c6d7e8f"
	return attackGen().Cases(sign(t, other))
}

// TestAttacks throws every known JWT attack at the verifier. Each must be
// refused with the error of the check meant to catch it; tokens that carry
// a genuine signature by latch's key prove that check, not the signature,
// does the refusing.
func TestAttacks(t *testing.T) {
	g := attackGen()
	if c, err := v.Verify(g.Valid(), now); err != nil || *c != *claims() {
		t.Fatalf("the generator's control token does not verify: %v", err)
	}
	cases := attackCases(t)
	if len(cases) < 250 {
		t.Fatalf("only %d attack cases", len(cases))
	}
	names := map[string]bool{}
	for _, tc := range cases {
		if names[tc.Name] {
			t.Fatalf("duplicate case name %q", tc.Name)
		}
		names[tc.Name] = true
		t.Run(tc.Name, func(t *testing.T) {
			c, err := v.Verify(tc.Token, now)
			if err == nil {
				t.Fatalf("Verify accepted %q: %+v", tc.Token, c)
			}
			if c != nil {
				t.Errorf("Verify returned claims with error %v", err)
			}
			if !errors.Is(err, tc.Want) {
				t.Errorf("Verify = %v, want %v", err, tc.Want)
			}
			if tc.Signed {
				assertGenuine(t, tc.Token)
			}
		})
	}
}

// assertGenuine checks that tok's signature is latch's own over its first
// two segments, so the case really tests a check after the signature.
func assertGenuine(t *testing.T, tok string) {
	t.Helper()
	i := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil || !ed25519.Verify(key.Public(), []byte(tok[:i]), sig) {
		t.Fatal("case is marked signed but its signature is not the real key's")
	}
}

// The identity-R construction used for the non-canonical R cases makes a
// genuine signature when R is encoded canonically; so the refused
// non-canonical twins are refused for their encoding alone.
func TestIdentityRSignatureIsGenuine(t *testing.T) {
	g := attackGen()
	valid := g.Valid()
	in := valid[:strings.LastIndexByte(valid, '.')]
	tok := in + "." + base64.RawURLEncoding.EncodeToString(g.IdentityRSig(in))
	if _, err := v.Verify(tok, now); err != nil {
		t.Fatalf("canonical identity-R signature refused: %v", err)
	}
}

// Refusing an attack costs no more than accepting a valid token. Every
// token an attacker can make (no valid signature) allocates at most as
// often as a valid verification, and at most one copy of the largest token
// allowed more in bytes (the signing input handed to the signature check).
// Tokens that carry latch's own signature (only latch can make them) may
// cost a few allocations more: an escaped string is decoded by
// encoding/json, an extra member is read. (Under -race the counts are
// noisier; the margins allow for that.)
func TestAttackCostBounded(t *testing.T) {
	valid := attackGen().Valid()
	base, baseBytes := cost(valid)
	worst, worstName := 0.0, ""
	for _, tc := range attackCases(t) {
		n, b := cost(tc.Token)
		limit := base + 1 // allocations of other goroutines (the race detector, timers) leak into the count
		if tc.Signed {
			limit += 8
		} else if n > worst {
			worst, worstName = n, tc.Name
		}
		if n > limit {
			t.Errorf("%s: %v allocations, valid token %v", tc.Name, n, base)
		}
		if b > baseBytes+token.MaxTokenBytes {
			t.Errorf("%s: %v bytes allocated, valid token %v", tc.Name, b, baseBytes)
		}
	}
	t.Logf("valid token: %v allocs, %v bytes; worst unsigned attack: %v allocs (%s)", base, baseBytes, worst, worstName)
}

// cost returns the mean allocations and bytes of one Verify of tok.
func cost(tok string) (allocs, bytes float64) {
	const runs = 40
	v.Verify(tok, now) // warm up
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		v.Verify(tok, now)
	}
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / runs, float64(after.TotalAlloc-before.TotalAlloc) / runs
}

// BenchmarkVerifyAttacks compares the cost of refusing each attack with
// verifying a valid token:
//
//	go test -run '^$' -bench VerifyAttacks -benchmem ./token
func BenchmarkVerifyAttacks(b *testing.B) {
	b.Run("valid", func(b *testing.B) {
		tok := attackGen().Valid()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(tok, now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("all-attacks", func(b *testing.B) {
		cases := attackCases(b)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			v.Verify(cases[i%len(cases)].Token, now)
			i++
		}
	})
	worst := map[string]string{}
	for _, tc := range attackCases(b) {
		switch tc.Name {
		case "over the size cap", "deeply nested payload, unsigned", "deeply nested payload, signed",
			"big header, unsigned", "deeply nested header", "signed by another key under latch's kid":
			worst[tc.Name] = tc.Token
		}
	}
	for name, tok := range worst {
		b.Run(strings.ReplaceAll(name, " ", "-"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v.Verify(tok, now)
			}
		})
	}
}

// Time does not help a forgery: the verifier's clock is an argument, and a
// bad signature stays ErrSignature at every instant.
func TestBadSignatureAtAnyTime(t *testing.T) {
	tok := sign(t, claims())
	bad := tok[:len(tok)-6] + "AAAAAA"
	for _, at := range []time.Time{time.Unix(0, 0), now, now.Add(365 * 24 * time.Hour)} {
		if _, err := v.Verify(bad, at); !errors.Is(err, token.ErrSignature) {
			t.Errorf("Verify(bad signature) at %v = %v, want ErrSignature", at, err)
		}
	}
}
