package main

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestClientsCLI(t *testing.T) {
	dir := t.TempDir()
	if _, err := cli(t, dir, "", "migrate"); err != nil {
		t.Fatal(err)
	}
	out, err := cli(t, dir, "", "clients", "add", "notes")
	secret := strings.TrimSpace(out)
	if err != nil || !strings.HasPrefix(secret, "latch_cs_") || strings.Contains(secret, "\n") {
		t.Fatalf("clients add: %v %q", err, out)
	}
	if out, err := cli(t, dir, "", "clients", "list"); err != nil || !strings.Contains(out, "notes") || strings.Contains(out, secret) {
		t.Fatalf("clients list: %v\n%s", err, out)
	}
	if _, err := cli(t, dir, "", "clients", "add", "notes"); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("duplicate add: %v", err)
	}
	for _, args := range [][]string{{"clients", "add"}, {"clients", "remove"}, {"clients", "frob"}, {"clients"}} {
		var ue *usageError
		if _, err := cli(t, dir, "", args...); !errors.As(err, &ue) {
			t.Errorf("%q = %v, want a usage error", args, err)
		}
	}
	if _, err := cli(t, dir, "", "clients", "add", "Bad Name"); err == nil {
		t.Error("bad name accepted")
	}
	if out, err := cli(t, dir, "", "clients", "remove", "notes"); err != nil || !strings.Contains(out, "removed client notes") {
		t.Fatalf("clients remove: %v %s", err, out)
	}
	if _, err := cli(t, dir, "", "clients", "remove", "notes"); err == nil {
		t.Error("removing a removed client succeeded")
	}
}

// A running server ends its event streams at SIGTERM instead of waiting out
// the shutdown timeout, and a client added by the CLI works at once.
func TestServeEndsStreamsOnShutdown(t *testing.T) {
	dir := t.TempDir()
	base, _, stop := startServe(t, dir, "--shutdown-timeout", "30s")
	out, err := cli(t, dir, "", "clients", "add", "notes")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", base+"/v1/events", nil)
	req.SetBasicAuth("notes", strings.TrimSpace(out))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("events = %v %v", resp, err)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && sc.Text() != "event: sync" {
	}
	start := time.Now()
	stop()
	for sc.Scan() {
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("shutdown with an open stream took %v", d)
	}
}

// A malformed client NAME is a usage error (exit 2), found before any
// database is opened: the same answer with or without one.
func TestClientsAddBadName(t *testing.T) {
	withDB := t.TempDir()
	if _, err := cli(t, withDB, "", "migrate"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bad name!", "Notes", "a/b", "ü", ".notes", strings.Repeat("a", 64), "notes\n"} {
		for _, dir := range []string{t.TempDir(), withDB} {
			t.Run(fmt.Sprintf("%q in %s", name, filepath.Base(dir)), func(t *testing.T) {
				t.Chdir(dir)
				out, errOut, code, err := runCLI(t, nil, "", "clients", "add", name)
				if code != 2 || err == nil || !strings.Contains(err.Error(), "client name") {
					t.Fatalf("latch clients add %q: exit %d, %v; want 2 and an error about the client name", name, code, err)
				}
				if strings.Contains(err.Error(), "latch.db") || strings.Contains(err.Error(), "validation_failed") {
					t.Errorf("latch clients add %q: error %q, want the name checked before the database", name, err)
				}
				if out != "" || errOut != "" {
					t.Errorf("latch clients add %q wrote %q, %q", name, out, errOut)
				}
			})
		}
	}
	if out, err := cli(t, withDB, "", "clients", "list"); err != nil || strings.Count(out, "\n") != 1 {
		t.Errorf("clients list after refused adds = %q, %v; want the header alone", out, err)
	}
	// The longest and oddest names the service accepts pass the CLI too.
	for _, name := range []string{"a", "svc.internal_1", "billing-v2", strings.Repeat("a", 63)} {
		if _, err := cli(t, withDB, "", "clients", "add", name); err != nil {
			t.Errorf("latch clients add %q = %v", name, err)
		}
	}
}
