package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The whole story with real processes on loopback: the real latch binary,
// the notes binary behind guard, real HTTP between them.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two binaries")
	}
	dir := t.TempDir()
	latchBin, notesBin := build(t, dir, "github.com/latchauth/latch/cmd/latch"), build(t, dir, ".")
	db := filepath.Join(dir, "latch.db")

	// An explicit issuer: with --addr 127.0.0.1:0 latch's default would name port 0.
	const issuer = "http://latch.test"
	latch := start(t, latchBin, "latch listening", "serve", "--addr", "127.0.0.1:0", "--db", db, "--issuer", issuer, "--no-rate-limits")
	out, err := exec.Command(latchBin, "clients", "add", "notes", "--db", db).Output()
	if err != nil {
		t.Fatalf("latch clients add: %v", err)
	}
	secretFile := filepath.Join(dir, "notes.secret")
	os.WriteFile(secretFile, out, 0o600)
	const bound = time.Second
	notes := start(t, notesBin, "notes listening", "--addr", "127.0.0.1:0", "--latch-url", latch.url,
		"--issuer", issuer, "--client-secret-file", secretFile, "--stale-after", bound.String())
	waitUntil(t, "notes is ready", 10*time.Second, func() bool { return get(t, notes.url+"/readyz", "") == 200 })

	post(t, latch.url+"/v1/signup", `{"email":"e2e@example.com","password":"correct horse battery"}`, "")

	// Log in, use notes, log out, and time how long notes keeps accepting.
	const rounds = 200
	var lags, total []time.Duration
	for range rounds {
		tok := post(t, latch.url+"/v1/login", `{"email":"e2e@example.com","password":"correct horse battery"}`, "")["access_token"].(string)
		if code := get(t, notes.url+"/notes", tok); code != 200 {
			t.Fatalf("notes with a live token = %d", code)
		}
		begin := time.Now()
		post(t, latch.url+"/v1/logout", "", tok)
		acked := time.Now()
		deadline := acked.Add(2 * time.Second)
		for get(t, notes.url+"/notes", tok) != 401 {
			if time.Now().After(deadline) {
				t.Fatal("notes still accepts the token 2s after logout")
			}
		}
		lags, total = append(lags, time.Since(acked)), append(total, time.Since(begin))
	}
	p := func(d []time.Duration, q float64) time.Duration { slices.Sort(d); return d[int(q*float64(len(d)-1))] }
	t.Logf("revocation lag over %d logouts, from the logout's 204 to notes' first 401: p50 %v, p99 %v, max %v",
		rounds, p(lags, .5), p(lags, .99), p(lags, 1))
	t.Logf("from sending the logout to notes' first 401: p50 %v, p99 %v", p(total, .5), p(total, .99))
	if os.Getenv("LATCH_LAG_FILE") != "" {
		os.WriteFile(os.Getenv("LATCH_LAG_FILE"), fmt.Appendf(nil, "p50=%v p99=%v max=%v\n", p(lags, .5), p(lags, .99), p(lags, 1)), 0o644)
	}

	// Stop latch: notes keeps serving live tokens within the bound, then fails closed.
	live := post(t, latch.url+"/v1/login", `{"email":"e2e@example.com","password":"correct horse battery"}`, "")["access_token"].(string)
	stopped := time.Now()
	latch.stop(t)
	if d := time.Since(stopped); d > 5*time.Second {
		t.Errorf("latch took %v to stop with a stream open", d)
	}
	if code := get(t, notes.url+"/notes", live); code != 200 && time.Since(stopped) < bound/2 {
		t.Errorf("notes refused a live token %v after latch stopped (bound %v): %d", time.Since(stopped), bound, code)
	}
	waitUntil(t, "notes fails closed", bound+5*time.Second, func() bool { return get(t, notes.url+"/notes", live) == 503 })
	t.Logf("notes failed closed %v after latch stopped (bound %v)", time.Since(stopped).Round(time.Millisecond), bound)
	if got := get(t, notes.url+"/readyz", ""); got != 503 {
		t.Errorf("readyz while latch is down = %d", got)
	}

	// latch comes back on the same address: guard resumes and is current again.
	latch = start(t, latchBin, "latch listening", "serve", "--addr", strings.TrimPrefix(latch.url, "http://"), "--db", db, "--issuer", issuer, "--no-rate-limits")
	waitUntil(t, "notes recovers", 10*time.Second, func() bool { return get(t, notes.url+"/notes", live) == 200 })
	post(t, latch.url+"/v1/logout", "", live)
	waitUntil(t, "the token dies after the restart", 2*time.Second, func() bool { return get(t, notes.url+"/notes", live) == 401 })
	for _, l := range []string{latch.logs.String(), notes.logs.String()} {
		if strings.Contains(l, live) || strings.Contains(l, strings.TrimSpace(string(out))) {
			t.Error("a token or the client secret reached a log")
		}
	}
}

func build(t *testing.T, dir, pkg string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	if pkg == "." {
		out = filepath.Join(dir, "notes")
	}
	if b, err := exec.Command(goBin, "build", "-o", out, pkg).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

type proc struct {
	cmd  *exec.Cmd
	url  string
	logs *syncBuffer
	done chan struct{}
}

var addrRE = regexp.MustCompile(`addr=(127\.0\.0\.1:\d+)`)

// start runs bin and waits for the log line that names its address.
func start(t *testing.T, bin, ready string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), logs: new(syncBuffer), done: make(chan struct{})}
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.stop(t) })
	waitUntil(t, bin+" starts", 10*time.Second, func() bool {
		for _, line := range strings.Split(p.logs.String(), "\n") {
			if m := addrRE.FindStringSubmatch(line); m != nil && strings.Contains(line, ready) {
				p.url = "http://" + m[1]
				return true
			}
		}
		return false
	})
	return p
}

// stop sends SIGTERM and waits (bounded) for the process to exit.
func (p *proc) stop(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		t.Errorf("%s did not stop on SIGTERM", p.cmd.Path)
	}
}

func waitUntil(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", limit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var client = &http.Client{Timeout: 10 * time.Second}

func get(t *testing.T, url, tok string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), "GET", url, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func post(t *testing.T, url, body, tok string) map[string]any {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), "POST", url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("POST %s = %d %s", url, resp.StatusCode, b)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
