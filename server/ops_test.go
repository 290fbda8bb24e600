package server_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/server"
)

// observed records what a server reports to its RequestObserver.
type observed struct {
	mu   sync.Mutex
	seen []string
}

func (o *observed) ObserveRequest(route string, status int, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen = append(o.seen, route+" "+http.StatusText(status))
}

// The observer sees every request's route pattern and status; the metrics
// handler is mounted at /metrics; Drain turns /readyz not-ready while
// /healthz stays up.
func TestObserverMetricsAndDrain(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	obs := &observed{}
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("latch_up 1\n")) })
	s := server.New(env.Service, env.Store, server.Options{Observer: obs, Metrics: metrics})
	srv := httptest.NewServer(s)
	defer srv.Close()
	get := func(path string) int {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for path, want := range map[string]int{"/readyz": 200, "/healthz": 200, "/metrics": 200, "/v1/me": 401, "/nowhere": 404} {
		if got := get(path); got != want {
			t.Errorf("GET %s = %d, want %d", path, got, want)
		}
	}
	s.Drain()
	if got := get("/readyz"); got != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz after Drain = %d, want 503", got)
	}
	if got := get("/healthz"); got != 200 {
		t.Errorf("GET /healthz after Drain = %d, want 200", got)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	want := map[string]bool{"GET /readyz OK": true, "GET /metrics OK": true, "GET /v1/me Unauthorized": true, " Not Found": true, "GET /readyz Service Unavailable": true}
	for _, s := range obs.seen {
		delete(want, s)
	}
	if len(want) > 0 {
		t.Errorf("observer missed %v; saw %q", want, obs.seen)
	}
	if n := s.InFlight(); n != 0 {
		t.Errorf("InFlight = %d with nothing in flight", n)
	}
	found := false
	for _, r := range s.Routes() {
		found = found || r == "GET /metrics"
	}
	if !found {
		t.Errorf("Routes() = %q lacks GET /metrics", s.Routes())
	}
}
