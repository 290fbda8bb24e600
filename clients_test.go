package latch_test

import (
	"bytes"
	"encoding/base64"
	"os"
	"strings"
	"testing"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/latchtest"
)

func addClient(t *testing.T, env *latchtest.Env, name string) (*latch.Client, string) {
	t.Helper()
	c, secret, err := env.Service.AddClient(t.Context(), name)
	if err != nil {
		t.Fatalf("AddClient(%q) = %v", name, err)
	}
	return c, secret
}

func TestClientLifecycle(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	_, secret := addClient(t, env, "notes")
	if !strings.HasPrefix(secret, "latch_cs_") || len(secret) != len("latch_cs_")+43 {
		t.Fatalf("secret has the wrong form (length %d)", len(secret))
	}
	_, other := addClient(t, env, "billing")
	if secret == other {
		t.Fatal("two clients got the same secret")
	}
	c, err := env.Service.AuthenticateClient(t.Context(), "notes", secret)
	if err != nil || c.Name != "notes" {
		t.Fatalf("AuthenticateClient(notes, right secret) = %v, %v", c, err)
	}
	list, err := env.Service.Clients(t.Context())
	if err != nil || len(list) != 2 || list[0].Name != "billing" || list[1].Name != "notes" {
		t.Fatalf("Clients = %v, %v", list, err)
	}
	if _, _, err := env.Service.AddClient(t.Context(), "notes"); codeOf(err) != latch.CodeClientExists {
		t.Errorf("AddClient(duplicate) = %v, want client_exists", err)
	}
	if err := env.Service.RemoveClient(t.Context(), "notes"); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Service.AuthenticateClient(t.Context(), "notes", secret); codeOf(err) != latch.CodeInvalidClient {
		t.Errorf("AuthenticateClient after removal = %v, want invalid_client", err)
	}
	if err := env.Service.RemoveClient(t.Context(), "notes"); codeOf(err) != latch.CodeNotFound {
		t.Errorf("RemoveClient(removed) = %v, want not_found", err)
	}
	// The secret is nowhere in the database or the logs.
	if strings.Contains(env.Logs.String(), secret) || strings.Contains(env.Logs.String(), other) {
		t.Error("a client secret reached the log")
	}
	assertNotInDB(t, env, secret[len("latch_cs_"):], other[len("latch_cs_"):])
}

func TestAuthenticateClientRejects(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	_, secret := addClient(t, env, "notes")
	_, billing := addClient(t, env, "billing")
	tests := []struct{ name, id, secret string }{
		{"wrong secret", "notes", billing},
		{"unknown client", "ghost", secret},
		{"empty secret", "notes", ""},
		{"truncated secret", "notes", secret[:len(secret)-1]},
		{"secret with padding", "notes", secret + "="},
		{"uppercase name", "NOTES", secret},
		{"malformed name", "no tes", secret},
		{"empty name", "", secret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.Service.AuthenticateClient(t.Context(), tt.id, tt.secret)
			if codeOf(err) != latch.CodeInvalidClient || kindOf(err) != latch.KindUnauthenticated {
				t.Fatalf("AuthenticateClient(%q) = %v, want invalid_client", tt.id, err)
			}
		})
	}
}

func TestAddClientValidatesName(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	for _, name := range []string{"", "Notes", "-notes", "no tes", "a/b", strings.Repeat("a", 64), "ü"} {
		if _, _, err := env.Service.AddClient(t.Context(), name); codeOf(err) != latch.CodeValidationFailed {
			t.Errorf("AddClient(%q) = %v, want validation_failed", name, err)
		}
	}
	for _, name := range []string{"a", "notes", "billing-v2", "svc.internal_1", strings.Repeat("a", 63)} {
		addClient(t, env, name)
	}
}

// assertNotInDB checks that neither the encoded secrets nor their raw bytes
// are anywhere in the database files.
func assertNotInDB(t *testing.T, env *latchtest.Env, encoded ...string) {
	t.Helper()
	var haystack []byte
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if b, err := os.ReadFile(env.DBPath + suffix); err == nil {
			haystack = append(haystack, b...)
		}
	}
	for _, e := range encoded {
		raw, err := base64.RawURLEncoding.DecodeString(e)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(haystack, []byte(e)) || bytes.Contains(haystack, raw) {
			t.Errorf("a client secret (%.4s…) is in the database files", e)
		}
	}
}
