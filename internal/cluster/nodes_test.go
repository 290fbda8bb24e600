package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/pgtest"
	"github.com/latchauth/latch/password"
	"github.com/latchauth/latch/postgres"
)

// In-process nodes: each is a latch.Service with its own PostgreSQL store
// (its own pool and notification connection, as its own database role so
// a test can tell its connections apart), its own caches and its own
// revocation follower, all on one database. Clocks are injected; the
// follower and the listener run in real time.

const testPassword = "correct horse battery staple"

var device = latch.Device{IP: "192.0.2.1", UserAgent: "cluster-test/1"}

type clusterOptions struct {
	Policy latch.Policy
	Clock  *latchtest.Clock
	// PollInterval is the follower's safety-net read; zero means an hour,
	// so that only notifications (and reconnects) trigger reads and tests
	// can reason about exactly when the follower reads.
	PollInterval time.Duration
	// Heartbeat is the listener's heartbeat; zero means the store default.
	Heartbeat time.Duration
	// Hooks, if set, runs on each node's store before its follower starts.
	Hooks func(i int, h *hookStore)
}

type inNode struct {
	name  string
	role  string
	svc   *latch.Service
	store *hookStore
	logs  *latchtest.SyncBuffer
}

type inCluster struct {
	url   string // superuser URL of the shared database
	nodes []*inNode
	clock *latchtest.Clock
}

// newInCluster starts n nodes on a fresh database and waits until every
// node's cache is trusted (unless a hook keeps it from catching up; then it
// returns without waiting).
func newInCluster(t testing.TB, n int, o clusterOptions) *inCluster {
	t.Helper()
	if o.Policy == (latch.Policy{}) {
		o.Policy = latch.DefaultPolicy()
	}
	if o.Clock == nil {
		o.Clock = latchtest.NewClock()
		o.Clock.Set(time.Now())
	}
	if o.PollInterval == 0 {
		o.PollInterval = time.Hour
	}
	dbURL := pgtest.NewDatabase(t)
	ctx := t.Context()
	func() {
		st, err := postgres.Open(ctx, dbURL, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := st.Migrate(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}()
	c := &inCluster{url: dbURL, clock: o.Clock}
	secret := latchtest.Secret(t)
	hasher := password.New(password.Options{Params: latchtest.TestParams})
	for i := range n {
		role := createRole(t, dbURL, fmt.Sprintf("n%d", i+1))
		st, err := postgres.Open(ctx, withUser(t, dbURL, role), postgres.Options{ListenHeartbeat: o.Heartbeat})
		if err != nil {
			t.Fatal(err)
		}
		hs := &hookStore{Store: st}
		logs := new(latchtest.SyncBuffer)
		svc, err := latch.NewService(ctx, hs, secret, hasher, latch.Config{
			Issuer: "http://latch.cluster", Audience: "http://latch.cluster", Policy: o.Policy, Now: o.Clock.Now,
			Limits: latch.Limits{Off: true}, // revocation, not abuse limits, is under test
			Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		})
		if err != nil {
			st.Close()
			t.Fatal(err)
		}
		nd := &inNode{name: fmt.Sprintf("node%d", i+1), role: role, svc: svc, store: hs, logs: logs}
		if o.Hooks != nil {
			o.Hooks(i, hs)
		}
		fctx, stop := context.WithCancel(context.Background())
		followed := make(chan struct{})
		go func() {
			defer close(followed)
			svc.FollowRevocations(fctx, latch.FollowerConfig{PollInterval: o.PollInterval})
		}()
		t.Cleanup(func() {
			stop()
			hs.releaseAll()
			<-followed
			svc.Close()
			st.Close()
			if t.Failed() {
				t.Logf("%s log:\n%s", nd.name, logs.String())
			}
		})
		c.nodes = append(c.nodes, nd)
	}
	if o.Hooks == nil {
		for _, nd := range c.nodes {
			nd.waitTrusted(t, true, 10*time.Second)
		}
	}
	return c
}

// createRole makes a login role for one node, so pg_stat_activity tells
// its connections from the others'. It is dropped when the test ends.
func createRole(t testing.TB, dbURL, suffix string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	role := strings.TrimPrefix(u.Path, "/") + "_" + suffix
	admin(t, dbURL, `CREATE ROLE `+role+` LOGIN SUPERUSER`)
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dbURL)
		if err != nil {
			t.Errorf("drop role %s: %v", role, err)
			return
		}
		defer conn.Close(context.Background())
		// A node's connections end with its store; wait for the backends
		// to go before dropping the role they run as.
		for range 100 {
			var n int
			conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE usename = $1`, role).Scan(&n)
			if n == 0 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if _, err := conn.Exec(context.Background(), `DROP ROLE `+role); err != nil {
			t.Errorf("drop role %s: %v", role, err)
		}
	})
	return role
}

func withUser(t testing.TB, dbURL, role string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	return u.String()
}

// admin runs one statement as the superuser on a short-lived connection.
func admin(t testing.TB, dbURL, sql string, args ...any) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("admin connect: %v", err)
	}
	defer conn.Close(context.Background())
	tag, err := conn.Exec(ctx, sql, args...)
	if err != nil {
		t.Fatalf("admin %q: %v", sql, err)
	}
	return tag.RowsAffected()
}

// killListener ends the node's notification connection from the server
// side (pg_terminate_backend, as a failover or an operator would) and
// returns how many backends it ended.
func killListener(t testing.TB, dbURL, role string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("kill listener: %v", err)
	}
	defer conn.Close(context.Background())
	var n int
	err = conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND usename = $2`, postgres.ListenerApplicationName, role).Scan(&n)
	if err != nil {
		t.Fatalf("kill listener: %v", err)
	}
	return n
}

func (nd *inNode) waitTrusted(t testing.TB, want bool, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for nd.svc.CacheTrusted() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: CacheTrusted() still %v after %v", nd.name, !want, within)
		}
		time.Sleep(time.Millisecond)
	}
}

// code authenticates tok on the node: "" on success, else the error code.
func (nd *inNode) code(t testing.TB, tok string) string {
	t.Helper()
	_, err := nd.svc.Authenticate(t.Context(), tok)
	return codeOf(err)
}

func (nd *inNode) mustAuth(t testing.TB, tok string) *latch.Principal {
	t.Helper()
	p, err := nd.svc.Authenticate(t.Context(), tok)
	if err != nil {
		t.Fatalf("%s: Authenticate = %v, want success", nd.name, err)
	}
	return p
}

// warm authenticates until the session is in the node's cache: the next
// call reads nothing from the store. (Right after a revocation anywhere,
// a node reads the store until it has applied the notice, so this may
// take a few tries.)
func (nd *inNode) warm(t testing.TB, tok string) {
	t.Helper()
	deadline := time.Now().Add(propagation)
	for {
		nd.mustAuth(t, tok)
		before := nd.store.sessionReads.Load()
		nd.mustAuth(t, tok)
		if nd.store.sessionReads.Load() == before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: token still read from the store after %v, want a cache hit", nd.name, propagation)
		}
		time.Sleep(time.Millisecond)
	}
}

// fromCache reports whether authenticating tok (which must succeed) was
// answered without reading the store.
func (nd *inNode) fromCache(t testing.TB, tok string) bool {
	t.Helper()
	before := nd.store.sessionReads.Load()
	nd.mustAuth(t, tok)
	return nd.store.sessionReads.Load() == before
}

// refusedWithin polls until the node refuses tok with want, and returns
// how long that took; it fails the test after limit.
func (nd *inNode) refusedWithin(t testing.TB, tok, want string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got := nd.code(t, tok)
		if got == want {
			return time.Since(start)
		}
		if got != "" {
			t.Fatalf("%s: Authenticate = %q, want %q", nd.name, got, want)
		}
		if time.Since(start) > limit {
			t.Fatalf("%s: token still accepted %v after it was ended on another node", nd.name, limit)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func codeOf(err error) string {
	if err == nil {
		return ""
	}
	if le, ok := err.(*latch.Error); ok {
		return le.Code
	}
	return "<not a latch.Error: " + err.Error() + ">"
}

// hookStore is a node's real PostgreSQL store with places for a test to
// step in: it counts session reads, can hold one session read after it
// returned (a read that started before a revocation and finishes after it),
// can hold or fail revocation reads, and can hold notifications on their
// way to the follower.
type hookStore struct {
	*postgres.Store
	sessionReads atomic.Int64

	mu        sync.Mutex
	holdRead  func(latch.SessionID) bool // hold this session read?
	readHeld  chan struct{}              // closed when a read is being held
	readGo    chan struct{}              // close to let it return
	revHook   func(ctx context.Context) error
	wakeGate  chan struct{} // while non-nil and open, wakes wait
	revCalls  atomic.Int64
	wakeCalls atomic.Int64
}

func (h *hookStore) Session(ctx context.Context, id latch.SessionID) (*latch.Session, error) {
	h.sessionReads.Add(1)
	s, err := h.Store.Session(ctx, id)
	h.mu.Lock()
	hold := h.holdRead != nil && h.holdRead(id)
	var held, gate chan struct{}
	if hold {
		h.holdRead = nil
		held, gate = h.readHeld, h.readGo
	}
	h.mu.Unlock()
	if hold {
		close(held)
		<-gate
	}
	return s, err
}

// holdNextRead makes the next read of id wait, after it has read, until
// release is called. held is closed once the read is waiting.
func (h *hookStore) holdNextRead(id latch.SessionID) (held <-chan struct{}, release func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.readHeld, h.readGo = make(chan struct{}), make(chan struct{})
	h.holdRead = func(s latch.SessionID) bool { return s == id }
	gate := h.readGo
	return h.readHeld, func() {
		h.mu.Lock()
		closeOpen(gate)
		h.mu.Unlock()
	}
}

// closeOpen closes ch unless it is closed already; callers hold h.mu.
func closeOpen(ch chan struct{}) {
	select {
	case <-ch:
	default:
		close(ch)
	}
}

func (h *hookStore) RevocationsAfter(ctx context.Context, after int64, limit int) ([]latch.Revocation, error) {
	h.revCalls.Add(1)
	h.mu.Lock()
	hook := h.revHook
	h.mu.Unlock()
	if hook != nil {
		if err := hook(ctx); err != nil {
			return nil, err
		}
	}
	return h.Store.RevocationsAfter(ctx, after, limit)
}

func (h *hookStore) setRevHook(fn func(ctx context.Context) error) {
	h.mu.Lock()
	h.revHook = fn
	h.mu.Unlock()
}

// ListenRevocations passes notifications through the wake gate.
func (h *hookStore) ListenRevocations(ctx context.Context, up func(), wake func()) error {
	return h.Store.ListenRevocations(ctx, up, func() {
		h.wakeCalls.Add(1)
		h.mu.Lock()
		gate := h.wakeGate
		h.mu.Unlock()
		if gate != nil {
			select {
			case <-gate:
			case <-ctx.Done():
			}
		}
		wake()
	})
}

// holdWakes keeps notifications from reaching the follower until the
// returned function is called.
func (h *hookStore) holdWakes() (release func()) {
	gate := make(chan struct{})
	h.mu.Lock()
	h.wakeGate = gate
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		if h.wakeGate == gate {
			h.wakeGate = nil
		}
		closeOpen(gate)
		h.mu.Unlock()
	}
}

// releaseAll lets everything held go, so the node can shut down.
func (h *hookStore) releaseAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.revHook = nil
	if h.wakeGate != nil {
		closeOpen(h.wakeGate)
		h.wakeGate = nil
	}
	if h.readGo != nil {
		closeOpen(h.readGo)
	}
}

func connect(ctx context.Context, dbURL string) (*pgx.Conn, error) { return pgx.Connect(ctx, dbURL) }
