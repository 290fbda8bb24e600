// Package latchtest builds real latch services for tests: a real SQLite file
// in t.TempDir(), a real argon2id hasher (with test-sized parameters unless
// asked otherwise) and a controllable clock.
package latchtest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/password"
	"github.com/latchauth/latch/sqlite"
)

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts at a fixed, realistic instant.
func NewClock() *Clock {
	return &Clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
}

// Now returns the current fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// TestParams make argon2id cheap enough for hundreds of hashes under -race.
// Production parameters are tested in package password.
var TestParams = password.Params{Memory: 64, Time: 1, Threads: 1}

// Env is one service on one database.
type Env struct {
	Service *latch.Service
	Store   *sqlite.Store
	Clock   *Clock
	Secret  *latch.Secret
	Hasher  latch.PasswordHasher
	DBPath  string
	Logs    *SyncBuffer
}

// Options adjust New. Zero values take defaults.
type Options struct {
	Policy latch.Policy
	Hasher latch.PasswordHasher
	DBPath string
	Secret *latch.Secret
	Clock  *Clock
	Cache  latch.CacheConfig
	// Limits are the abuse limits; the zero value means latch's defaults,
	// counted in the SQLite file (also when Wrap is set).
	Limits latch.Limits
	// Rand, if set, is the service's randomness (ids, token secrets, the
	// signing key): a seeded reader makes every token the same in every
	// process, as fuzz workers need. Not safe for concurrent use.
	Rand io.Reader
	// KeysReadOnly makes the service never mark keys retired (as admin
	// commands are).
	KeysReadOnly bool
	// WrapLimits, if set, wraps the limit store the service uses.
	WrapLimits func(latch.LimitStore) latch.LimitStore
	// Follow runs the revocation follower (polling every 5ms) and waits
	// until the session cache is trusted.
	Follow bool
	// Wrap, if set, wraps the store the service uses (Env.Store stays the
	// real one).
	Wrap func(latch.Store) latch.Store
}

// Secret returns a fixed test secret.
func Secret(t testing.TB) *latch.Secret {
	t.Helper()
	s, err := latch.ParseSecret(bytes.Repeat([]byte("ab"), 32))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// New returns a service on a fresh, migrated SQLite file. Logs go to a
// buffer the test can search (for leaked secrets, say).
func New(t testing.TB, o Options) *Env {
	t.Helper()
	if o.DBPath == "" {
		o.DBPath = filepath.Join(t.TempDir(), "latch.db")
	}
	if o.Secret == nil {
		o.Secret = Secret(t)
	}
	if o.Clock == nil {
		o.Clock = NewClock()
	}
	if o.Hasher == nil {
		o.Hasher = password.New(password.Options{Params: TestParams})
	}
	if o.Policy == (latch.Policy{}) {
		o.Policy = latch.DefaultPolicy()
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, o.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	logs := new(SyncBuffer)
	var svcStore latch.Store = st
	var limits latch.LimitStore = st
	if o.WrapLimits != nil {
		limits = o.WrapLimits(st)
	}
	if o.Wrap != nil {
		svcStore = o.Wrap(st)
	}
	svc, err := latch.NewService(ctx, svcStore, o.Secret, o.Hasher, latch.Config{
		Issuer: "http://latch.test", Audience: "http://latch.test", Policy: o.Policy,
		Cache: o.Cache, Limits: o.Limits, LimitStore: limits, KeysReadOnly: o.KeysReadOnly, Rand: o.Rand,
		Now:    o.Clock.Now,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	fctx, stop := context.WithCancel(context.Background())
	followed := make(chan struct{})
	if o.Follow {
		go func() {
			defer close(followed)
			svc.FollowRevocations(fctx, latch.FollowerConfig{PollInterval: 5 * time.Millisecond})
		}()
		deadline := time.Now().Add(5 * time.Second)
		for !svc.CacheTrusted() {
			if time.Now().After(deadline) {
				t.Fatal("revocation follower never caught up")
			}
			time.Sleep(time.Millisecond)
		}
	} else {
		close(followed)
	}
	t.Cleanup(func() {
		stop()
		<-followed
		svc.Close()
		st.Close()
	})
	return &Env{Service: svc, Store: st, Clock: o.Clock, Secret: o.Secret, Hasher: o.Hasher, DBPath: o.DBPath, Logs: logs}
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
