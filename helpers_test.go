package latch_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/latchtest"
)

const testPassword = "correct horse battery staple"

var phone = latch.Device{IP: "192.0.2.10", UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148 Safari/604.1"}
var laptop = latch.Device{IP: "198.51.100.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}

// codeOf returns the client-facing code of err, or "" for nil, or
// "<not a latch.Error>".
func codeOf(err error) string {
	if err == nil {
		return ""
	}
	if le, ok := errors.AsType[*latch.Error](err); ok {
		return le.Code
	}
	return "<not a latch.Error: " + err.Error() + ">"
}

func kindOf(err error) latch.Kind {
	if le, ok := errors.AsType[*latch.Error](err); ok {
		return le.Kind
	}
	return -1
}

func signup(t *testing.T, env *latchtest.Env, email string) *latch.Grant {
	t.Helper()
	g, err := env.Service.Signup(t.Context(), email, testPassword, laptop)
	if err != nil {
		t.Fatalf("Signup(%q) = %v", email, err)
	}
	return g
}

func login(t *testing.T, env *latchtest.Env, email string, d latch.Device) *latch.Grant {
	t.Helper()
	g, err := env.Service.Login(t.Context(), email, testPassword, d)
	if err != nil {
		t.Fatalf("Login(%q) = %v", email, err)
	}
	return g
}

func refresh(t *testing.T, env *latchtest.Env, rt string) *latch.Grant {
	t.Helper()
	g, err := env.Service.Refresh(t.Context(), rt, laptop)
	if err != nil {
		t.Fatalf("Refresh = %v", err)
	}
	return g
}

// authCode authenticates tok and returns "" on success or the error code.
func authCode(t *testing.T, env *latchtest.Env, tok string) string {
	t.Helper()
	_, err := env.Service.Authenticate(t.Context(), tok)
	return codeOf(err)
}

func mustAuth(t *testing.T, env *latchtest.Env, tok string) *latch.Principal {
	t.Helper()
	p, err := env.Service.Authenticate(t.Context(), tok)
	if err != nil {
		t.Fatalf("Authenticate = %v, want success", err)
	}
	return p
}

// countingHasher counts calls into a real hasher: it proves how much
// password work a path does without timing anything.
type countingHasher struct {
	latch.PasswordHasher
	hashes, verifies atomic.Int64
}

func (c *countingHasher) Hash(ctx context.Context, pw string) (string, error) {
	c.hashes.Add(1)
	return c.PasswordHasher.Hash(ctx, pw)
}

func (c *countingHasher) Verify(ctx context.Context, pw, encoded string) (bool, bool, error) {
	c.verifies.Add(1)
	return c.PasswordHasher.Verify(ctx, pw, encoded)
}
