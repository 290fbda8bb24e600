package cluster

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/postgres"
)

// Correctness under the caches, across nodes: every way a session ends is
// refused by a node that has the session cached, although the ending
// happened on another node and nothing but the revocation notice tells it.
// These run in-process, so clocks are injected and stores can be held at
// exactly the moment a race needs.

// propagation is how long a test waits for a revocation to reach another
// node before calling it a failure. The measured lag is milliseconds (the
// test logs it); this only keeps a starved CI machine from failing a
// correct build.
const propagation = 2 * time.Second

func signup(t *testing.T, nd *inNode, email string) *latch.Grant {
	t.Helper()
	g, err := nd.svc.Signup(t.Context(), email, testPassword, device)
	if err != nil {
		t.Fatalf("%s: Signup(%q) = %v", nd.name, email, err)
	}
	return g
}

func login(t *testing.T, nd *inNode, email string) *latch.Grant {
	t.Helper()
	g, err := nd.svc.Login(t.Context(), email, testPassword, device)
	if err != nil {
		t.Fatalf("%s: Login(%q) = %v", nd.name, email, err)
	}
	return g
}

// TestEndingsReachOtherNodes: a session ended on node 2 in any of the ways
// that send a revocation is refused by node 1, which had it cached.
func TestEndingsReachOtherNodes(t *testing.T) {
	t.Parallel()
	c := newInCluster(t, 2, clusterOptions{})
	n1, n2 := c.nodes[0], c.nodes[1]
	tests := []struct {
		name string
		end  func(t *testing.T, email string, g *latch.Grant)
	}{
		{"logout", func(t *testing.T, email string, g *latch.Grant) {
			if err := n2.svc.Logout(t.Context(), n2.mustAuth(t, g.AccessToken), latch.ScopeCurrent, device); err != nil {
				t.Fatal(err)
			}
		}},
		{"logout all from another device", func(t *testing.T, email string, g *latch.Grant) {
			other := login(t, n2, email)
			if err := n2.svc.Logout(t.Context(), n2.mustAuth(t, other.AccessToken), latch.ScopeAll, device); err != nil {
				t.Fatal(err)
			}
		}},
		{"device signed out by the user", func(t *testing.T, email string, g *latch.Grant) {
			other := login(t, n2, email)
			if err := n2.svc.RevokeSession(t.Context(), n2.mustAuth(t, other.AccessToken), g.Session.ID, device); err != nil {
				t.Fatal(err)
			}
		}},
		{"password changed", func(t *testing.T, email string, g *latch.Grant) {
			other := login(t, n2, email)
			if err := n2.svc.ChangePassword(t.Context(), n2.mustAuth(t, other.AccessToken), testPassword, testPassword+" 2", device); err != nil {
				t.Fatal(err)
			}
		}},
		{"admin revoke", func(t *testing.T, email string, g *latch.Grant) {
			if err := n2.svc.AdminRevokeSession(t.Context(), g.Session.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"user disabled", func(t *testing.T, email string, g *latch.Grant) {
			if err := n2.svc.SetUserDisabled(t.Context(), email, true); err != nil {
				t.Fatal(err)
			}
		}},
		{"refresh token reuse", func(t *testing.T, email string, g *latch.Grant) {
			if _, err := n2.svc.Refresh(t.Context(), g.RefreshToken, device); err != nil {
				t.Fatal(err)
			}
			c.clock.Advance(11 * time.Second) // past the grace window
			if _, err := n2.svc.Refresh(t.Context(), g.RefreshToken, device); codeOf(err) != latch.CodeRefreshTokenReused {
				t.Fatalf("replayed refresh = %v, want %s", err, latch.CodeRefreshTokenReused)
			}
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			email := "end" + strconv.Itoa(i) + "@example.com"
			g := signup(t, n1, email)
			n1.warm(t, g.AccessToken)
			tt.end(t, email, g)
			lag := n1.refusedWithin(t, g.AccessToken, latch.CodeSessionRevoked, propagation)
			t.Logf("node 1 refused %v after the call on node 2 returned", lag)
		})
	}
}

// TestTimeEndingsAcrossNodes: endings that send no revocation (expiry, and
// a rotation on another node that supersedes an access token) are judged
// on every node from the cached state and the clock.
func TestTimeEndingsAcrossNodes(t *testing.T) {
	t.Parallel()
	p := latch.DefaultPolicy()
	p.AccessTTL, p.MaxAge, p.IdleTimeout, p.RefreshGrace = 24*time.Hour, 48*time.Hour, 0, 10*time.Second
	c := newInCluster(t, 2, clusterOptions{Policy: p})
	n1, n2 := c.nodes[0], c.nodes[1]

	t.Run("superseded after the grace window", func(t *testing.T) {
		g := signup(t, n1, "rot@example.com")
		n1.warm(t, g.AccessToken)
		next, err := n2.svc.Refresh(t.Context(), g.RefreshToken, device)
		if err != nil {
			t.Fatal(err)
		}
		c.clock.Advance(9 * time.Second)
		if got := n1.code(t, g.AccessToken); got != "" {
			t.Fatalf("old token within the grace window on node 1 = %q, want accepted", got)
		}
		n1.mustAuth(t, next.AccessToken) // the new generation is read through, not refused
		c.clock.Advance(1*time.Second + time.Millisecond)
		if got := n1.code(t, g.AccessToken); got != latch.CodeTokenSuperseded {
			t.Fatalf("old token just after the grace window on node 1 = %q, want %s", got, latch.CodeTokenSuperseded)
		}
		n1.mustAuth(t, next.AccessToken)
	})
	t.Run("session expired", func(t *testing.T) {
		g := signup(t, n2, "old@example.com")
		c.clock.Advance(30 * time.Hour)
		g, err := n2.svc.Refresh(t.Context(), g.RefreshToken, device) // a token that outlives its session
		if err != nil {
			t.Fatal(err)
		}
		n1.warm(t, g.AccessToken)
		n2.warm(t, g.AccessToken)
		c.clock.Advance(18*time.Hour - time.Millisecond)
		n1.mustAuth(t, g.AccessToken)
		c.clock.Advance(time.Millisecond)
		for _, nd := range c.nodes {
			if got := nd.code(t, g.AccessToken); got != latch.CodeSessionExpired {
				t.Errorf("%s: expired session = %q, want %s", nd.name, got, latch.CodeSessionExpired)
			}
		}
	})
}

// TestIdleTimeoutAcrossNodes: the idle timeout is judged from the
// last-seen time the node has; a cached copy is never newer than the
// database's, so a node refuses no later than the database would.
func TestIdleTimeoutAcrossNodes(t *testing.T) {
	t.Parallel()
	p := latch.DefaultPolicy()
	p.AccessTTL, p.IdleTimeout = 24*time.Hour, time.Hour
	c := newInCluster(t, 2, clusterOptions{Policy: p})
	n1, n2 := c.nodes[0], c.nodes[1]
	g := signup(t, n2, "idle@example.com")
	n1.warm(t, g.AccessToken)
	c.clock.Advance(time.Hour)
	for _, nd := range c.nodes {
		if got := nd.code(t, g.AccessToken); got != latch.CodeSessionExpired {
			t.Errorf("%s: idle session = %q, want %s", nd.name, got, latch.CodeSessionExpired)
		}
	}
}

// TestStaleReadNeverCached: node 1 reads a session just before node 2
// revokes it, and hands the (then stale) row to its cache only after node
// 1's follower has applied the revocation. The read's own request may
// pass (it began first), but the stale row must not stay in the cache.
func TestStaleReadNeverCached(t *testing.T) {
	t.Parallel()
	c := newInCluster(t, 2, clusterOptions{})
	n1, n2 := c.nodes[0], c.nodes[1]
	g := signup(t, n2, "stale@example.com")

	held, release := n1.store.holdNextRead(g.Session.ID)
	done := make(chan string, 1)
	go func() { done <- n1.code(t, g.AccessToken) }()
	<-held // node 1 has read the live row and not yet cached it

	applied, cancel := n1.svc.SubscribeRevocations()
	defer cancel()
	if err := n2.svc.AdminRevokeSession(t.Context(), g.Session.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-applied:
	case <-time.After(propagation):
		t.Fatal("node 1's follower never applied the revocation")
	}
	release()
	if got := <-done; got != "" {
		t.Logf("the request whose read began before the revocation got %q", got)
	}
	for range 3 {
		if got := n1.code(t, g.AccessToken); got != latch.CodeSessionRevoked {
			t.Fatalf("after the revocation was applied, node 1 = %q, want %s (a stale read was cached)", got, latch.CodeSessionRevoked)
		}
	}
}

// TestRefusedOnceRefusedForever: two reads of one session on node 1
// straddle a revocation on node 2, and the older one reaches the cache
// last, before the notification does. Once node 1 has refused the token it
// must never accept it again: a cached revocation is never replaced by an
// older live row.
func TestRefusedOnceRefusedForever(t *testing.T) {
	t.Parallel()
	c := newInCluster(t, 2, clusterOptions{})
	n1, n2 := c.nodes[0], c.nodes[1]
	g := signup(t, n2, "flip@example.com")

	held, releaseRead := n1.store.holdNextRead(g.Session.ID)
	older := make(chan string, 1)
	go func() { older <- n1.code(t, g.AccessToken) }()
	<-held // the older read saw the session live

	releaseWakes := n1.store.holdWakes() // node 1 has not heard yet
	defer releaseWakes()
	if err := n2.svc.AdminRevokeSession(t.Context(), g.Session.ID); err != nil {
		t.Fatal(err)
	}
	if got := n1.code(t, g.AccessToken); got != latch.CodeSessionRevoked {
		t.Fatalf("newer read on node 1 = %q, want %s", got, latch.CodeSessionRevoked)
	}
	releaseRead()
	<-older
	for i := range 3 {
		if got := n1.code(t, g.AccessToken); got != latch.CodeSessionRevoked {
			t.Fatalf("request %d after node 1 refused the token = %q, want %s", i, got, latch.CodeSessionRevoked)
		}
	}
}

// TestNotifiedNodeServesNothingStale: from the moment a notification
// reaches node 1 until its follower has read what it announces, node 1
// serves nothing from its cache: a slow revocation read (a busy pool, a
// slow database) widens no window.
func TestNotifiedNodeServesNothingStale(t *testing.T) {
	t.Parallel()
	c := newInCluster(t, 2, clusterOptions{})
	n1, n2 := c.nodes[0], c.nodes[1]
	g := signup(t, n2, "slow@example.com")
	n1.warm(t, g.AccessToken)

	entered, gate := make(chan struct{}, 1), make(chan struct{})
	n1.store.setRevHook(func(ctx context.Context) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		select {
		case <-gate:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	defer close(gate)
	if err := n2.svc.AdminRevokeSession(t.Context(), g.Session.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered: // notified; the read of what changed is held
	case <-time.After(propagation):
		t.Fatal("node 1's follower never started reading after the notification")
	}
	if got := n1.code(t, g.AccessToken); got != latch.CodeSessionRevoked {
		t.Fatalf("node 1, notified but still reading = %q, want %s", got, latch.CodeSessionRevoked)
	}
}

// TestListenerLostWhileReadStuck: node 1's follower is stuck in a
// revocation read (a hung pool connection) when its notification
// connection is killed. Trust must end with the listener, whatever the
// read is doing.
func TestListenerLostWhileReadStuck(t *testing.T) {
	t.Parallel()
	c := newInCluster(t, 2, clusterOptions{PollInterval: 20 * time.Millisecond})
	n1, n2 := c.nodes[0], c.nodes[1]
	g := signup(t, n2, "stuck@example.com")
	n1.warm(t, g.AccessToken)

	entered, gate := make(chan struct{}, 1), make(chan struct{})
	n1.store.setRevHook(func(ctx context.Context) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-gate // stuck, deaf to its context
		return nil
	})
	var once sync.Once
	unstick := func() { once.Do(func() { n1.store.setRevHook(nil); close(gate) }) }
	defer unstick()
	select {
	case <-entered: // a safety-net read is stuck
	case <-time.After(propagation):
		t.Fatal("no safety-net read started")
	}
	if n := killListener(t, c.url, n1.role); n != 1 {
		t.Fatalf("killed %d notification connections of node 1, want 1", n)
	}
	n1.waitTrusted(t, false, propagation)

	// Node 1 is deaf: a revocation on node 2 is refused from the database.
	if err := n2.svc.AdminRevokeSession(t.Context(), g.Session.ID); err != nil {
		t.Fatal(err)
	}
	if got := n1.code(t, g.AccessToken); got != latch.CodeSessionRevoked {
		t.Fatalf("node 1, deaf = %q, want %s", got, latch.CodeSessionRevoked)
	}
	unstick()
	n1.waitTrusted(t, true, 10*time.Second)
	fresh := signup(t, n2, "fresh@example.com")
	n1.warm(t, fresh.AccessToken)
	if got := n1.code(t, g.AccessToken); got != latch.CodeSessionRevoked {
		t.Fatalf("node 1, recovered = %q, want %s", got, latch.CodeSessionRevoked)
	}
}

// TestHungReadRecovers: a revocation read that hangs (it honours its
// context, as pgx does) is given up after the follower's read timeout, and
// the node goes back to serving from its cache instead of reading the
// database forever.
func TestHungReadRecovers(t *testing.T) {
	t.Parallel()
	c := newInCluster(t, 2, clusterOptions{PollInterval: 100 * time.Millisecond})
	n1, n2 := c.nodes[0], c.nodes[1]
	g := signup(t, n2, "hung@example.com")
	n1.warm(t, g.AccessToken)

	var mu sync.Mutex
	hang := true
	entered := make(chan struct{})
	notices := n1.store.wakeCalls.Load()
	n1.store.setRevHook(func(ctx context.Context) error {
		mu.Lock()
		// Only the first read after the notice hangs; safety-net reads
		// before it pass.
		h := hang && n1.store.wakeCalls.Load() > notices
		if h {
			hang = false
		}
		mu.Unlock()
		if h {
			close(entered)
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
	other := signup(t, n2, "other@example.com")
	if err := n2.svc.AdminRevokeSession(t.Context(), other.Session.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-time.After(propagation):
		t.Fatal("node 1 never read after the notification")
	}
	start := time.Now()
	if n1.fromCache(t, g.AccessToken) {
		t.Fatal("node 1 answered from its cache with a notice not yet applied")
	}
	for !n1.fromCache(t, g.AccessToken) {
		if time.Since(start) > 10*time.Second {
			t.Fatal("node 1 never went back to its cache after a hung revocation read")
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("cache in use again %v after the hung read began", time.Since(start))
	if got := n1.code(t, other.AccessToken); got != latch.CodeSessionRevoked {
		t.Fatalf("the revocation behind the hung read = %q on node 1, want %s", got, latch.CodeSessionRevoked)
	}
}

// TestNotificationMeansVisible checks what the follower builds on: when
// PostgreSQL delivers a revocation notice, the revocation it announces is
// already visible to a new read on any other connection (the listening
// backend holds a notice back while the sending transaction is still in
// its snapshot). If a server broke this, a node could read nothing, call
// itself caught up, and serve the revoked session until the next
// safety-net read; this test would catch such a server.
func TestNotificationMeansVisible(t *testing.T) {
	t.Parallel()
	c := newInCluster(t, 1, clusterOptions{})
	writer, err := postgres.Open(t.Context(), c.url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	reader, err := pgx.Connect(t.Context(), c.url)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close(context.Background())
	listener, err := pgx.Connect(t.Context(), c.url)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close(context.Background())
	if _, err := listener.Exec(t.Context(), `LISTEN `+postgres.Channel); err != nil {
		t.Fatal(err)
	}
	const rounds = 300
	var sessions []latch.SessionID
	for i := range rounds {
		g := signup(t, c.nodes[0], "vis"+strconv.Itoa(i)+"@example.com")
		sessions = append(sessions, g.Session.ID)
	}
	go func() {
		for _, id := range sessions {
			if _, err := writer.RevokeSession(context.Background(), id, latch.ReasonAdmin, time.Now()); err != nil {
				return
			}
		}
	}()
	for i := range rounds {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		n, err := listener.WaitForNotification(ctx)
		cancel()
		if err != nil {
			t.Fatalf("notice %d: %v", i, err)
		}
		seq, err := strconv.ParseInt(n.Payload, 10, 64)
		if err != nil {
			t.Fatalf("notice payload %q", n.Payload)
		}
		var visible bool
		if err := reader.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM revocations WHERE seq = $1)`, seq).Scan(&visible); err != nil {
			t.Fatal(err)
		}
		if !visible {
			t.Fatalf("notice %d announced seq %d, which a new read on another connection cannot see yet", i, seq)
		}
	}
}
