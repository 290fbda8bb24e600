package server_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/server"
	"github.com/latchauth/latch/token"
)

// basic returns the Authorization header of a client.
func basic(id, secret string) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

func (h *harness) addClient(name string) string {
	h.t.Helper()
	_, secret, err := h.env.Service.AddClient(h.t.Context(), name)
	if err != nil {
		h.t.Fatal(err)
	}
	return secret
}

// sse is one received message: an event, or a comment (Comment set).
type sse struct {
	ID, Event, Data, Comment string
}

// openStream connects to the feed and returns a channel of messages, closed
// when the stream ends, and the response.
func openStream(t *testing.T, base string, headers ...string) (<-chan sse, *http.Response) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", base, nil)
	for _, hv := range headers {
		name, value, _ := strings.Cut(hv, ": ")
		req.Header.Add(name, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan sse, 100)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var m sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if m != (sse{}) {
					out <- m
				}
				m = sse{}
			case strings.HasPrefix(line, ":"):
				m.Comment = strings.TrimSpace(line[1:])
			default:
				k, v, _ := strings.Cut(line, ": ")
				switch k {
				case "id":
					m.ID = v
				case "event":
					m.Event = v
				case "data":
					m.Data = v
				}
			}
		}
	}()
	return out, resp
}

// next returns the next message that is not a retry-only message, or fails
// after a bounded wait.
func next(t *testing.T, ch <-chan sse) sse {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m, ok := <-ch:
			if !ok {
				t.Fatal("stream ended")
			}
			if m == (sse{}) {
				continue
			}
			return m
		case <-timeout:
			t.Fatal("no event within 5s")
		}
	}
}

func TestEventsStream(t *testing.T) {
	h := newHarness(t, latchtest.Options{})
	secret := h.addClient("notes")
	url := h.srv.URL + "/v1/events?heartbeat_ms=250"
	ch, resp := openStream(t, url, basic("notes", secret))
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	m := next(t, ch)
	var sync struct {
		Seq   int64  `json:"seq"`
		TTL   int64  `json:"access_token_ttl"`
		Since *int64 `json:"since"`
	}
	if err := json.Unmarshal([]byte(m.Data), &sync); m.Event != "sync" || m.ID != "0" || err != nil || sync.TTL != 900 || sync.Since == nil {
		t.Fatalf("first message = %+v (%v), want a sync at 0 with since", m, err)
	}
	if m := next(t, ch); m.Comment != "heartbeat" {
		t.Fatalf("idle stream sent %+v, want a heartbeat", m)
	}

	g := h.signup("feed@example.com")
	if r := h.do("POST", "/v1/logout", "", bearer(g.str(t, "access_token"))); r.status != 204 {
		t.Fatal(r.status)
	}
	for m = next(t, ch); m.Comment != ""; m = next(t, ch) {
	}
	if m.Event != "session-revoked" || m.ID != "1" {
		t.Fatalf("after logout: %+v", m)
	}
	v := &token.SETVerifier{Issuer: "http://latch.test", Audience: "notes", Keys: h.env.Service.KeySet()}
	ev, err := v.VerifySessionRevoked(m.Data)
	if err != nil || ev.SessionID != g.str(t, "session_id") || ev.Reason != "logout" {
		t.Fatalf("SET = %+v, %v", ev, err)
	}

	// Resuming from an id replays exactly what follows it, then syncs.
	ch2, _ := openStream(t, h.srv.URL+"/v1/events", basic("notes", secret), "Last-Event-ID: 0")
	if m := next(t, ch2); m.ID != "1" || m.Event != "session-revoked" {
		t.Fatalf("resume from 0: %+v", m)
	}
	if m := next(t, ch2); m.Event != "sync" || m.ID != "1" || strings.Contains(m.Data, "since") {
		t.Fatalf("resume sync: %+v", m)
	}

	// A Last-Event-ID beyond the newest revocation (a restored database)
	// is not honoured: the receiver gets the replay window and a sync at
	// the real head, below its id, so it knows to start over.
	ch3, _ := openStream(t, h.srv.URL+"/v1/events", basic("notes", secret), "Last-Event-ID: 100000")
	if m := next(t, ch3); m.ID != "1" || m.Event != "session-revoked" {
		t.Fatalf("resume from beyond the head: first message %+v, want the replayed revocation", m)
	}
	m = next(t, ch3)
	if err := json.Unmarshal([]byte(m.Data), &sync); m.Event != "sync" || sync.Seq != 1 || sync.Since == nil || err != nil {
		t.Fatalf("resume from beyond the head: sync %+v (%v), want seq 1 with since", m, err)
	}
}

func TestEventsRefusals(t *testing.T) {
	h := newHarness(t, latchtest.Options{})
	secret := h.addClient("notes")
	g := h.signup("refuse@example.com")
	tests := []struct {
		name    string
		path    string
		headers []string
		status  int
		code    string
	}{
		{"no credentials", "/v1/events", nil, 401, "invalid_client"},
		{"wrong secret", "/v1/events", []string{basic("notes", secret+"x")}, 401, "invalid_client"},
		{"unknown client", "/v1/events", []string{basic("ghost", secret)}, 401, "invalid_client"},
		{"bearer token instead", "/v1/events", []string{bearer(g.str(t, "access_token"))}, 401, "invalid_client"},
		{"bad Last-Event-ID", "/v1/events", []string{basic("notes", secret), "Last-Event-ID: abc"}, 400, "invalid_request"},
		{"negative Last-Event-ID", "/v1/events", []string{basic("notes", secret), "Last-Event-ID: -1"}, 400, "invalid_request"},
		{"heartbeat too short", "/v1/events?heartbeat_ms=10", []string{basic("notes", secret)}, 400, "invalid_request"},
		{"heartbeat not a number", "/v1/events?heartbeat_ms=1s", []string{basic("notes", secret)}, 400, "invalid_request"},
		{"wrong method", "/v1/events", []string{basic("notes", secret)}, 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := "GET"
			if tt.status == 405 {
				method = "POST"
			}
			r := h.do(method, tt.path, "", tt.headers...)
			wantProblem(t, r, tt.status, tt.code)
			if tt.status == 401 && r.header.Get("WWW-Authenticate") != `Basic realm="latch", charset="UTF-8"` {
				t.Errorf("WWW-Authenticate = %q, want the Basic challenge", r.header.Get("WWW-Authenticate"))
			}
		})
	}
}

// Streams are bounded, end at EndStreams, and outlive the server timeouts.
func TestEventsLimitsAndShutdown(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	_, secret, _ := env.Service.AddClient(t.Context(), "notes")
	handler := server.New(env.Service, env.Store, server.Options{MaxEventStreams: 1})
	srv := httptest.NewUnstartedServer(handler)
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 300*time.Millisecond, 300*time.Millisecond
	srv.Config.RegisterOnShutdown(handler.EndStreams)
	srv.Start()
	t.Cleanup(srv.Close)
	url := srv.URL + "/v1/events?heartbeat_ms=250"

	ch, _ := openStream(t, url, basic("notes", secret))
	next(t, ch) // sync
	_, busy := openStream(t, url, basic("notes", secret))
	if busy.StatusCode != 503 || busy.Header.Get("Retry-After") == "" {
		t.Fatalf("second stream = %d, want 503 with Retry-After", busy.StatusCode)
	}
	// Past both server timeouts, heartbeats still flow.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if m := next(t, ch); m.Comment != "heartbeat" {
			t.Fatalf("got %+v, want heartbeats", m)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := srv.Config.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown = %v: a stream held it up", err)
	}
	for range ch {
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("shutdown took %v", d)
	}
}

// One client cannot take every stream: past its own cap it gets 429, and
// another client still connects.
func TestEventsPerClientCap(t *testing.T) {
	h := newHarness(t, latchtest.Options{})
	greedy, other := h.addClient("greedy"), h.addClient("other")
	url := h.srv.URL + "/v1/events?heartbeat_ms=250"
	for i := range 8 {
		ch, resp := openStream(t, url, basic("greedy", greedy))
		if resp.StatusCode != 200 {
			t.Fatalf("stream %d = %d", i, resp.StatusCode)
		}
		next(t, ch)
	}
	if _, resp := openStream(t, url, basic("greedy", greedy)); resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("ninth stream of one client = %d, want 429 with Retry-After", resp.StatusCode)
	}
	ch, resp := openStream(t, url, basic("other", other))
	if resp.StatusCode != 200 {
		t.Fatalf("another client's stream = %d, want 200", resp.StatusCode)
	}
	next(t, ch)
}
