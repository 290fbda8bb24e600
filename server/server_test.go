package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/server"
)

const testPassword = "correct horse battery staple"

// harness is a real latch server on loopback over a real SQLite file.
type harness struct {
	t   *testing.T
	env *latchtest.Env
	srv *httptest.Server
}

func newHarness(t *testing.T, o latchtest.Options) *harness {
	t.Helper()
	return newHarnessWith(t, o, server.Options{})
}

func newHarnessWith(t *testing.T, o latchtest.Options, so server.Options) *harness {
	t.Helper()
	env := latchtest.New(t, o)
	srv := httptest.NewServer(server.New(env.Service, env.Store, so))
	t.Cleanup(srv.Close)
	return &harness{t: t, env: env, srv: srv}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not JSON (%d): %q", r.status, r.body)
	}
	return m
}

func (r *response) str(t *testing.T, key string) string {
	t.Helper()
	s, _ := r.json(t)[key].(string)
	return s
}

// do sends a request; headers are given as "Name: value" strings.
func (h *harness) do(method, path, body string, headers ...string) *response {
	h.t.Helper()
	var rd io.Reader = strings.NewReader(body)
	if b, ok := strings.CutPrefix(body, "chunked:"); ok {
		body = b
		rd = io.MultiReader(strings.NewReader(b)) // no length: sent chunked
	}
	req, err := http.NewRequestWithContext(h.t.Context(), method, h.srv.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, hv := range headers {
		name, value, _ := strings.Cut(hv, ": ")
		if value == "" {
			req.Header.Del(name)
			continue
		}
		req.Header.Add(name, value)
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (h *harness) signup(email string) *response {
	h.t.Helper()
	r := h.do("POST", "/v1/signup", `{"email":"`+email+`","password":"`+testPassword+`"}`)
	if r.status != http.StatusCreated {
		h.t.Fatalf("signup %s = %d %s", email, r.status, r.body)
	}
	return r
}

func (h *harness) login(email string) *response {
	h.t.Helper()
	r := h.do("POST", "/v1/login", `{"email":"`+email+`","password":"`+testPassword+`"}`)
	if r.status != http.StatusOK {
		h.t.Fatalf("login %s = %d %s", email, r.status, r.body)
	}
	return r
}

func bearer(tok string) string { return "Authorization: Bearer " + tok }

// wantProblem checks an RFC 9457 error response.
func wantProblem(t *testing.T, r *response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	m := r.json(t)
	if m["code"] != code {
		t.Errorf("code = %v, want %s (body %s)", m["code"], code, r.body)
	}
	for _, k := range []string{"type", "title", "status", "detail"} {
		if _, ok := m[k]; !ok {
			t.Errorf("problem lacks %q: %s", k, r.body)
		}
	}
	if int(m["status"].(float64)) != status {
		t.Errorf("problem status member = %v, want %d", m["status"], status)
	}
}

func (h *harness) signupBody(email, pw string) string {
	b, _ := json.Marshal(map[string]string{"email": email, "password": pw})
	return string(bytes.TrimSpace(b))
}
