package web_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/password"
	"github.com/latchauth/latch/server"
	"github.com/latchauth/latch/sqlite"
)

// env is a real latch: SQLite file in t.TempDir, the real server handler
// (API and pages) on a loopback port, and a clock the test moves.
type env struct {
	t     *testing.T
	svc   *latch.Service
	store *sqlite.Store
	clock *clock
	srv   *httptest.Server
	url   string
	logs  *syncBuffer
	// secrets are every token value any test browser received; none may
	// ever appear in the log.
	secrets sync.Map
}

// clock is the service's injected time. Tests move it instead of sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// Test credentials. The hasher uses tiny argon2 parameters: these tests are
// about sessions and cookies, not hashing cost.
const (
	testPassword = "correct horse battery"
	newPassword  = "staple tide lantern"
)

// newEnv starts latch over plain http on 127.0.0.1 (development cookies),
// or over TLS (https: __Host- cookies, Secure).
func newEnv(t *testing.T, tls bool) *env {
	t.Helper()
	e := &env{t: t, clock: &clock{t: time.Now().UTC().Truncate(time.Millisecond)}, logs: &syncBuffer{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	e.url = scheme + "://" + ln.Addr().String()

	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "latch.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	e.store = st
	secret, _, err := latch.GenerateSecret(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.MultiWriter(e.logs, t.Output()), &slog.HandlerOptions{Level: slog.LevelDebug}))
	hasher := password.New(password.Options{Params: password.Params{Memory: 64, Time: 1, Threads: 1}})
	svc, err := latch.NewService(t.Context(), st, secret, hasher, latch.Config{
		Issuer: e.url, Audience: e.url, Now: e.clock.Now, Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	e.svc = svc

	e.srv = httptest.NewUnstartedServer(server.New(svc, st, server.Options{Logger: logger, PublicURL: e.url}))
	e.srv.Listener.Close()
	e.srv.Listener = ln
	if tls {
		e.srv.StartTLS()
	} else {
		e.srv.Start()
	}
	t.Cleanup(e.srv.Close)
	t.Cleanup(e.checkLogs)
	e.secrets.Store(testPassword, true)
	e.secrets.Store(newPassword, true)
	return e
}

// checkLogs fails the test if a password or a token value any browser held
// reached the log.
func (e *env) checkLogs() {
	logs := e.logs.String()
	e.secrets.Range(func(k, _ any) bool {
		if v := k.(string); len(v) > 16 && strings.Contains(logs, v) {
			e.t.Errorf("a password or cookie value appears in the log")
			return false
		}
		return true
	})
}

// accessTTL is the default access-token lifetime plus the verifier's
// largest leeway: advancing the clock by it expires any access token.
const accessTTL = 15*time.Minute + 31*time.Second

// session reads a session straight from the store.
func (e *env) session(id latch.SessionID) *latch.Session {
	e.t.Helper()
	s, err := e.store.Session(e.t.Context(), id)
	if err != nil {
		e.t.Fatalf("store.Session(%s): %v", id, err)
	}
	return s
}

// sessionOf returns the session id inside an access token (its sid claim),
// without verifying it: the test only needs to know which session it names.
func sessionOf(t *testing.T, accessToken string) latch.SessionID {
	t.Helper()
	parts := strings.Split(accessToken, ".")
	if len(parts) != 3 {
		t.Fatalf("access token has %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Sid string `json:"sid"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return latch.SessionID(c.Sid)
}

// signupUser creates an account through the service (not the pages), for
// tests that are about something else.
func (e *env) signupUser(email string) {
	e.t.Helper()
	if _, err := e.svc.CreateUser(e.t.Context(), email, testPassword); err != nil {
		e.t.Fatalf("CreateUser(%q): %v", email, err)
	}
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}
