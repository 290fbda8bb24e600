package main

import (
	"database/sql"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDatabaseGoneFailsClosed takes the database file away under a running
// server (moved away; then replaced by a copy, as a careless restore would)
// and brings it back. While it is gone, every protected request gets 503,
// never 200, even for a token and session the caches know; sign-in,
// sign-up and refresh fail cleanly with 503 and Retry-After; readiness
// fails. Once the file is back the server serves again by itself.
func TestDatabaseGoneFailsClosed(t *testing.T) {
	dir := t.TempDir()
	base, logs, _ := startServe(t, dir)
	db := filepath.Join(dir, "latch.db")
	code, m := call(t, "POST", base+"/v1/signup", `{"email":"fault@example.com","password":"correct horse battery"}`, "")
	if code != 201 {
		t.Fatalf("signup = %d %v", code, m)
	}
	at, rt := m["access_token"].(string), m["refresh_token"].(string)
	for range 5 { // warm the caches
		if code, _ := call(t, "GET", base+"/v1/me", "", at); code != 200 {
			t.Fatalf("me = %d", code)
		}
	}

	down := func(why string) {
		t.Helper()
		waitStatus(t, base+"/v1/me", at, 503)
		for range 20 {
			if code, _ := call(t, "GET", base+"/v1/me", "", at); code != 503 {
				t.Fatalf("%s: protected request = %d, want 503", why, code)
			}
		}
		for _, c := range []struct{ method, path, body, tok string }{
			{"GET", "/v1/sessions", "", at},
			{"POST", "/v1/logout", "", at},
			{"POST", "/v1/login", `{"email":"fault@example.com","password":"correct horse battery"}`, ""},
			{"POST", "/v1/signup", `{"email":"new@example.com","password":"correct horse battery"}`, ""},
			{"POST", "/v1/refresh", `{"refresh_token":"` + rt + `"}`, ""},
			{"GET", "/readyz", "", ""},
		} {
			resp := do(t, c.method, base+c.path, c.body, c.tok)
			if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: %s %s = %d (Retry-After %q, %s), want 503 problem with Retry-After", why, c.method, c.path, resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"))
			}
		}
	}
	up := func(why string) {
		t.Helper()
		waitStatus(t, base+"/v1/me", at, 200)
		code, m := call(t, "POST", base+"/v1/refresh", `{"refresh_token":"`+rt+`"}`, "")
		if code != 200 {
			t.Fatalf("%s: refresh = %d %v", why, code, m)
		}
		rt = m["refresh_token"].(string)
		if code, _ := call(t, "POST", base+"/v1/login", `{"email":"fault@example.com","password":"correct horse battery"}`, ""); code != 200 {
			t.Fatalf("%s: login = %d", why, code)
		}
	}

	// Moved away, then back.
	if err := os.Rename(db, db+".away"); err != nil {
		t.Fatal(err)
	}
	down("file moved away")
	if err := os.Rename(db+".away", db); err != nil {
		t.Fatal(err)
	}
	up("file moved back")

	// Replaced by a copy (another file at the path): refused until the
	// original is back, never served from a file other processes do not see.
	if err := os.Rename(db, db+".orig"); err != nil {
		t.Fatal(err)
	}
	copyFile(t, db+".orig", db)
	down("file replaced")
	if err := os.Rename(db+".orig", db); err != nil {
		t.Fatal(err)
	}
	up("original back")

	if !strings.Contains(logs.String(), "database file gone") || !strings.Contains(logs.String(), "database file is back") {
		t.Errorf("the outage is not in the log:\n%s", logs)
	}
}

func do(t *testing.T, method, url, body, tok string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// waitStatus polls url until it answers want, for at most 5 seconds.
func waitStatus(t *testing.T, url, tok string, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, _ := call(t, "GET", url, "", tok)
		if code == want {
			return
		}
		if code != 200 && code != 503 {
			t.Fatalf("GET %s = %d while waiting for %d", url, code, want)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s still %d after 5s, want %d", url, code, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDatabaseLockedFailsCleanly holds the database's write lock from
// another connection, as a stuck admin command or backup would. Requests
// that must write (sign-in, refresh) wait out the busy timeout and fail
// cleanly with 503 and Retry-After, never 500 and never a half-made
// session; reads stay correct (WAL readers are not blocked, so a live
// session still answers 200). When the lock is released, everything works
// again by itself.
func TestDatabaseLockedFailsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the 10 s busy timeout")
	}
	dir := t.TempDir()
	base, _, _ := startServe(t, dir)
	code, m := call(t, "POST", base+"/v1/signup", `{"email":"lock@example.com","password":"correct horse battery"}`, "")
	if code != 201 {
		t.Fatalf("signup = %d %v", code, m)
	}
	at, rt := m["access_token"].(string), m["refresh_token"].(string)

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "latch.db")+"?_pragma=busy_timeout(5000)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin() // BEGIN IMMEDIATE: the write lock
	if err != nil {
		t.Fatal(err)
	}
	var sessions int
	if err := tx.QueryRow(`SELECT count(*) FROM sessions`).Scan(&sessions); err != nil {
		t.Fatal(err)
	}
	type result struct {
		what string
		resp *http.Response
	}
	results := make(chan result, 2)
	go func() {
		results <- result{"login", do(t, "POST", base+"/v1/login", `{"email":"lock@example.com","password":"correct horse battery"}`, "")}
	}()
	go func() {
		results <- result{"refresh", do(t, "POST", base+"/v1/refresh", `{"refresh_token":"`+rt+`"}`, "")}
	}()
	if code, _ := call(t, "GET", base+"/v1/me", "", at); code != 200 {
		t.Errorf("a read while the write lock is held = %d, want 200", code)
	}
	for range 2 {
		r := <-results
		if r.resp.StatusCode != 503 || r.resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s under the lock = %d (Retry-After %q), want 503", r.what, r.resp.StatusCode, r.resp.Header.Get("Retry-After"))
		}
	}
	tx.Rollback()
	var after int
	db.QueryRow(`SELECT count(*) FROM sessions`).Scan(&after)
	if after != sessions {
		t.Errorf("sessions %d -> %d: a failed sign-in left a row", sessions, after)
	}
	if code, m := call(t, "POST", base+"/v1/refresh", `{"refresh_token":"`+rt+`"}`, ""); code != 200 {
		t.Fatalf("refresh after the lock = %d %v", code, m)
	}
	if code, _ := call(t, "POST", base+"/v1/login", `{"email":"lock@example.com","password":"correct horse battery"}`, ""); code != 200 {
		t.Fatalf("login after the lock = %d", code)
	}
}
