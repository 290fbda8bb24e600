package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// latchProc is a `latch serve` running in this process.
type latchProc struct {
	base, metrics string // http://host:port; metrics is "" without --metrics-addr
	logs          *syncBuffer
	cancel        context.CancelFunc
	done          chan error
}

var (
	// Text or JSON: addr=127.0.0.1:1234 or "addr":"127.0.0.1:1234".
	listenAddrRE  = regexp.MustCompile(`latch listening.*?\baddr"?[=:]"?([^\s",]+)`)
	metricsAddrRE = regexp.MustCompile(`latch listening.*?\bmetrics_addr"?[=:]"?([^\s",]+)`)
)

// launch starts `latch serve --addr 127.0.0.1:0 args...` and waits until it
// listens. The test must call stop (or wait on done after cancel).
func launch(t *testing.T, args ...string) *latchProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &latchProc{logs: new(syncBuffer), cancel: cancel, done: make(chan error, 1)}
	args = append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)
	go func() { s.done <- run(ctx, args, noEnv, strings.NewReader(""), io.Discard, s.logs) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := listenAddrRE.FindStringSubmatch(s.logs.String()); m != nil {
			s.base = "http://" + m[1]
			if m := metricsAddrRE.FindStringSubmatch(s.logs.String()); m != nil {
				s.metrics = "http://" + m[1]
			}
			break
		}
		select {
		case err := <-s.done:
			cancel()
			t.Fatalf("serve exited early: %v\n%s", err, s.logs)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not start:\n%s", s.logs)
		}
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop")
		}
	})
	return s
}

// stop ends the server and returns what serve returned.
func (s *latchProc) stop(t *testing.T) error {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop within 20s")
		return nil
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metricValue returns the value of one series, such as
// `latch_logins_total{result="ok"}`, in a scrape.
func metricValue(text, series string) (float64, bool) {
	for line := range strings.SplitSeq(text, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			return v, err == nil
		}
	}
	return 0, false
}

// waitMetric polls the scrape until series has value want.
func waitMetric(t *testing.T, url, series string, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, text := get(t, url)
		v, ok := metricValue(text, series)
		if ok && v == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v (present %v), want %v", series, v, ok, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The metrics move with what happens on the server, on the main listener
// by default and only on --metrics-addr when that is given.
func TestMetricsEndToEnd(t *testing.T) {
	for _, separate := range []bool{false, true} {
		t.Run(map[bool]string{false: "on --addr", true: "on --metrics-addr"}[separate], func(t *testing.T) {
			args := []string{"--db", filepath.Join(t.TempDir(), "latch.db"), "--active-sessions-interval", "1s"}
			if separate {
				args = append(args, "--metrics-addr", "127.0.0.1:0")
			}
			s := launch(t, args...)
			metricsURL := s.base + "/metrics"
			if separate {
				metricsURL = s.metrics + "/metrics"
				if code, _ := get(t, s.base+"/metrics"); code != http.StatusNotFound {
					t.Errorf("GET /metrics on --addr = %d with --metrics-addr set, want 404", code)
				}
			}
			waitMetric(t, metricsURL, "latch_session_cache_trusted", 1)

			code, m := call(t, "POST", s.base+"/v1/signup", `{"email":"m@example.com","password":"correct horse battery"}`, "")
			if code != 201 {
				t.Fatalf("signup = %d", code)
			}
			at, rt0 := m["access_token"].(string), m["refresh_token"].(string)
			for range 3 {
				if code, _ := call(t, "GET", s.base+"/v1/me", "", at); code != 200 {
					t.Fatalf("me = %d", code)
				}
			}
			if code, _ := call(t, "POST", s.base+"/v1/login", `{"email":"m@example.com","password":"wrong password!"}`, ""); code != 401 {
				t.Fatalf("bad login = %d", code)
			}
			if code, _ := call(t, "POST", s.base+"/v1/login", `{"email":"m@example.com","password":"correct horse battery"}`, ""); code != 200 {
				t.Fatalf("login = %d", code)
			}
			rt := rt0
			for range 2 {
				code, m := call(t, "POST", s.base+"/v1/refresh", `{"refresh_token":"`+rt+`"}`, "")
				if code != 200 {
					t.Fatalf("refresh = %d", code)
				}
				rt = m["refresh_token"].(string)
			}
			// Two generations behind: theft, the signup session is revoked.
			if code, m := call(t, "POST", s.base+"/v1/refresh", `{"refresh_token":"`+rt0+`"}`, ""); code != 401 || m["code"] != "refresh_token_reused" {
				t.Fatalf("stale refresh = %d %v", code, m)
			}
			call(t, "GET", s.base+"/nowhere", "", "")

			unmatched := 1.0
			if separate {
				unmatched = 2 // GET /metrics on --addr, above
			}
			_, text := get(t, metricsURL)
			for series, want := range map[string]float64{
				`latch_logins_total{result="ok"}`:                                                1,
				`latch_logins_total{result="failed"}`:                                            1,
				`latch_logins_total{result="rate_limited"}`:                                      0,
				`latch_refreshes_total`:                                                          2,
				`latch_refresh_reuse_detected_total`:                                             1,
				`latch_revocations_total{reason="refresh_token_reuse"}`:                          1,
				`latch_revocations_total{reason="logout"}`:                                       0,
				`latch_http_request_duration_seconds_count{route="GET /v1/me",status="200"}`:     3,
				`latch_http_request_duration_seconds_count{route="POST /v1/login",status="401"}`: 1,
				`latch_http_request_duration_seconds_count{route="unmatched",status="404"}`:      unmatched,
				`latch_store_errors_total`:                                                       0,
			} {
				if v, ok := metricValue(text, series); !ok || v != want {
					t.Errorf("%s = %v (present %v), want %v", series, v, ok, want)
				}
			}
			hits, _ := metricValue(text, `latch_session_cache_lookups_total{result="hit"}`)
			misses, _ := metricValue(text, `latch_session_cache_lookups_total{result="miss"}`)
			if hits < 1 || misses < 1 {
				t.Errorf("session cache hits %v, misses %v: want both to move", hits, misses)
			}
			for _, name := range []string{"latch_http_requests_in_flight", "go_goroutines", "process_resident_memory_bytes", `latch_build_info{version=`} {
				if !strings.Contains(text, "\n"+name) {
					t.Errorf("scrape lacks %s", name)
				}
			}
			// The login session is live; the signup session was revoked.
			waitMetric(t, metricsURL, "latch_active_sessions", 1)
			if err := s.stop(t); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// slowRequest starts a login whose body arrives in two parts and returns a
// function that sends the rest and the response status.
func slowRequest(t *testing.T, base string) (finish func() (int, error)) {
	t.Helper()
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", base+"/v1/login", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = -1
	type result struct {
		code int
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			res <- result{0, err}
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		res <- result{resp.StatusCode, nil}
	}()
	if _, err := pw.Write([]byte(`{"email":"slow@example.com",`)); err != nil {
		t.Fatal(err)
	}
	return func() (int, error) {
		pw.Write([]byte(`"password":"correct horse battery"}`))
		pw.Close()
		select {
		case r := <-res:
			return r.code, r.err
		case <-time.After(20 * time.Second):
			t.Fatal("no response within 20s")
			return 0, nil
		}
	}
}

// On shutdown /readyz turns not-ready for the delay, the listener closes,
// and a request in flight still gets its answer before serve returns.
func TestShutdownDrainsInFlight(t *testing.T) {
	s := launch(t, "--db", filepath.Join(t.TempDir(), "latch.db"), "--metrics-addr", "127.0.0.1:0",
		"--shutdown-delay", "500ms", "--shutdown-timeout", "10s")
	if code, _ := get(t, s.base+"/readyz"); code != 200 {
		t.Fatalf("readyz = %d before shutdown", code)
	}
	finish := slowRequest(t, s.base)
	waitMetric(t, s.metrics+"/metrics", "latch_http_requests_in_flight", 1)

	s.cancel()
	// During the delay the listener is open and readiness is withdrawn.
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body := get(t, s.base+"/readyz")
		if code == http.StatusServiceUnavailable && strings.Contains(body, "shutting down") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz = %d %s during shutdown, want 503", code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, _ := get(t, s.base+"/healthz"); code != 200 {
		t.Errorf("healthz = %d during the shutdown delay, want 200 (the process is alive)", code)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(s.logs.String(), "draining in-flight requests"); {
		if time.Now().After(deadline) {
			t.Fatalf("no draining line:\n%s", s.logs)
		}
		select {
		case err := <-s.done:
			t.Fatalf("serve returned %v with a request in flight", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if _, err := http.Get(s.base + "/healthz"); err == nil {
		t.Error("the listener still accepts connections while draining")
	}
	select {
	case err := <-s.done:
		t.Fatalf("serve returned %v with a request in flight", err)
	default:
	}
	code, err := finish()
	if err != nil || code != http.StatusUnauthorized {
		t.Fatalf("in-flight login = %d %v, want its real answer (401: no such user)", code, err)
	}
	if err := s.stop(t); err != nil {
		t.Fatalf("serve = %v after a clean drain", err)
	}
	if !strings.Contains(s.logs.String(), `msg=stopped`) {
		t.Errorf("no stopped line:\n%s", s.logs)
	}
}

// A request that outlives --shutdown-timeout is cut off, and serve says so
// (exit status 1).
func TestShutdownTimeout(t *testing.T) {
	s := launch(t, "--db", filepath.Join(t.TempDir(), "latch.db"), "--metrics-addr", "127.0.0.1:0", "--shutdown-timeout", "300ms")
	finish := slowRequest(t, s.base)
	waitMetric(t, s.metrics+"/metrics", "latch_http_requests_in_flight", 1)
	start := time.Now()
	err := s.stop(t)
	if err == nil || !strings.Contains(err.Error(), "--shutdown-timeout 300ms") || exitCode(err) != 1 {
		t.Fatalf("serve = %v (exit %d), want the shutdown timeout named, exit 1", err, exitCode(err))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("shutdown took %v with a 300ms timeout", d)
	}
	if _, err := finish(); err == nil {
		t.Error("the cut-off request got a response")
	}
}

// A real SIGTERM to a real latch process: in-flight work completes, the
// process exits 0.
func TestSIGTERM(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "latch.db"),
		"--metrics-addr", "127.0.0.1:0", "--log-format", "text")
	cmd.Env = append(os.Environ(), "LATCH_TEST_RUN_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	logs := new(syncBuffer)
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.Write([]byte(sc.Text() + "\n"))
			select {
			case lines <- sc.Text():
			default:
			}
		}
		close(lines)
	}()
	var base, metrics string
	timeout := time.After(20 * time.Second)
	for base == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("latch exited before listening:\n%s", logs)
			}
			if m := listenAddrRE.FindStringSubmatch(l); m != nil {
				base, metrics = "http://"+m[1], "http://"+metricsAddrRE.FindStringSubmatch(l)[1]
			}
		case <-timeout:
			t.Fatalf("latch did not listen:\n%s", logs)
		}
	}
	finish := slowRequest(t, base)
	waitMetric(t, metrics+"/metrics", "latch_http_requests_in_flight", 1)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), "draining in-flight requests"); {
		if time.Now().After(deadline) {
			t.Fatalf("no draining line after SIGTERM:\n%s", logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, err := finish(); err != nil || code != http.StatusUnauthorized {
		t.Fatalf("in-flight login across SIGTERM = %d %v", code, err)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err := <-waitErr:
		if err != nil {
			t.Fatalf("latch exited with %v after SIGTERM, want 0\n%s", err, logs)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("latch did not exit after SIGTERM")
	}
	if !strings.Contains(logs.String(), "msg=stopped") {
		t.Errorf("no stopped line:\n%s", logs)
	}
}
