package metrics_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/metrics"
)

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("scrape: %d %v", resp.StatusCode, err)
	}
	return string(b)
}

func wantLines(t *testing.T, text string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(text, "\n"+l+"\n") {
			t.Errorf("metrics lack %q", l)
		}
	}
}

func TestRequestMetrics(t *testing.T) {
	m := metrics.New(metrics.Options{LoginRoutes: []string{"POST /v1/login"}, Version: "v1.2.3"})
	m.AddRoutes([]string{"GET /v1/me", "POST /v1/login"})
	var inFlight atomic.Int64
	inFlight.Store(3)
	m.SetInFlight(inFlight.Load)

	m.ObserveRequest("GET /v1/me", 200, 2*time.Millisecond)
	m.ObserveRequest("GET /v1/me", 200, 3*time.Millisecond)
	m.ObserveRequest("GET /v1/me", 401, time.Millisecond)
	m.ObserveRequest("POST /v1/login", 429, time.Millisecond)
	m.ObserveRequest("POST /v1/login", 401, 80*time.Millisecond)
	m.ObserveRequest("", 404, time.Millisecond)
	m.ObserveRequest("GET /added/later", 200, time.Millisecond)

	text := scrape(t, m.Handler())
	wantLines(t, text,
		`latch_http_request_duration_seconds_count{route="GET /v1/me",status="200"} 2`,
		`latch_http_request_duration_seconds_count{route="GET /v1/me",status="401"} 1`,
		`latch_http_request_duration_seconds_bucket{route="POST /v1/login",status="401",le="0.1"} 1`,
		`latch_http_request_duration_seconds_bucket{route="POST /v1/login",status="401",le="0.05"} 0`,
		`latch_http_request_duration_seconds_count{route="unmatched",status="404"} 1`,
		`latch_http_request_duration_seconds_count{route="GET /added/later",status="200"} 1`,
		`latch_http_requests_in_flight 3`,
		`latch_build_info{version="v1.2.3"} 1`,
	)
	// Only statuses that happened have series: no wall of zeros.
	if strings.Contains(text, `status="500"`) {
		t.Error("a status that never happened has a series")
	}
}

// The per-request path allocates nothing once a route and status are known.
func TestObserveRequestAllocs(t *testing.T) {
	m := metrics.New(metrics.Options{})
	m.AddRoutes([]string{"GET /v1/me"})
	m.ObserveRequest("GET /v1/me", 200, time.Millisecond)
	if n := testing.AllocsPerRun(1000, func() { m.ObserveRequest("GET /v1/me", 200, time.Millisecond) }); n != 0 {
		t.Errorf("ObserveRequest allocates %v times per call, want 0", n)
	}
}

func TestServiceStats(t *testing.T) {
	st := latch.Stats{
		LoginsOK: 5, LoginsFailed: 2, Refreshes: 7, ReuseDetections: 1, StoreErrors: 4,
		CacheHits: 100, CacheMisses: 9, CacheBypasses: 3, CacheTrusted: true,
		Revocations: map[latch.RevokeReason]uint64{latch.ReasonLogout: 6, latch.ReasonRefreshReuse: 1},
	}
	m := metrics.New(metrics.Options{Stats: func() latch.Stats { return st }, LoginRoutes: []string{"POST /login"}})
	m.ObserveRequest("POST /login", 429, time.Millisecond)
	text := scrape(t, m.Handler())
	wantLines(t, text,
		`latch_logins_total{result="ok"} 5`,
		`latch_logins_total{result="failed"} 2`,
		`latch_logins_total{result="rate_limited"} 1`,
		`latch_refreshes_total 7`,
		`latch_refresh_reuse_detected_total 1`,
		`latch_revocations_total{reason="logout"} 6`,
		`latch_revocations_total{reason="refresh_token_reuse"} 1`,
		`latch_revocations_total{reason="admin"} 0`,
		`latch_revocations_total{reason="other"} 0`,
		`latch_session_cache_lookups_total{result="hit"} 100`,
		`latch_session_cache_lookups_total{result="miss"} 9`,
		`latch_session_cache_lookups_total{result="bypass"} 3`,
		`latch_session_cache_trusted 1`,
		`latch_store_errors_total 4`,
	)
	st.CacheTrusted = false
	wantLines(t, scrape(t, m.Handler()), `latch_session_cache_trusted 0`)
}

func TestCountActiveSessions(t *testing.T) {
	m := metrics.New(metrics.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	var calls atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.CountActiveSessions(ctx, time.Millisecond, func(context.Context) (int64, error) {
			if calls.Add(1) == 2 {
				return 0, errors.New("database away")
			}
			return 42, nil
		}, slog.New(slog.DiscardHandler))
	}()
	deadline := time.Now().Add(5 * time.Second)
	for calls.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	text := scrape(t, m.Handler())
	wantLines(t, text, `latch_active_sessions 42`, `latch_active_sessions_count_errors_total 1`)
}

// BenchmarkObserveRequest is what the request path pays for metrics:
//
//	go test -run '^$' -bench ObserveRequest -benchmem ./internal/metrics
func BenchmarkObserveRequest(b *testing.B) {
	m := metrics.New(metrics.Options{})
	m.AddRoutes([]string{"GET /v1/me", "POST /v1/login", "GET /.well-known/jwks.json"})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.ObserveRequest("GET /v1/me", 200, 150*time.Microsecond)
		}
	})
}
