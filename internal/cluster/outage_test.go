package cluster

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/pgtest"
)

const (
	lostTrack = "revocation follower lost track"
	caughtUp  = "revocation follower caught up"
)

// TestListenerKilled takes node 1's notification connection away while
// nodes 2 and 3 revoke sessions node 1 has cached, with node 1 hammered
// with those sessions' tokens throughout:
//
//  1. outage: node 1's role may not log in (ALTER ROLE … NOLOGIN; its pool
//     keeps the connections it has) and its listener is killed
//     (pg_terminate_backend, as a failover or an operator would). Node 1
//     cannot listen again, so it must read the database on every request:
//     a token is never accepted once its revocation has returned, not even
//     for a millisecond;
//  2. flapping: logins allowed again, but the listener is killed as soon as
//     it reappears, so node 1 reconnects over and over while revocations
//     go on: it never accepts a token it refused once, nor one later than
//     the lag limit after its revocation;
//  3. recovery: node 1 follows revocations again (and trusts its cache),
//     and a new revocation reaches it within the lag limit.
func TestListenerKilled(t *testing.T) {
	c := newClusterWith(t, pgtest.NewDatabase(t), 3, "pool_min_conns=4")
	n1 := c.nodes[0]
	var toks []string
	const outageN, flapMax, recoveryN = 8, 20, 8
	for i := range outageN + flapMax + recoveryN {
		g := c.signup(t, c.nodes[1+i%2], fmt.Sprintf("kill%d@example.com", i))
		toks = append(toks, g.AccessToken)
		c.mustMe(t, n1, g.AccessToken, http.StatusOK) // cached on node 1
	}
	defer func() { c.noTokensLogged(t, toks...) }()
	lostBefore := strings.Count(n1.logs(), lostTrack)

	h := c.hammer([]*proc{n1}, toks, 3)
	stopHammer := sync.OnceValue(h.halt)
	defer stopHammer()
	revs := map[int]revoked{}
	revoke := func(i int) {
		by := 1 + i%2
		status, b, err := c.do(t.Context(), "POST", c.nodes[by].base+"/v1/logout", toks[i], "")
		if err != nil || status != http.StatusNoContent {
			t.Fatalf("logout on %s = %d %s, %v", c.nodes[by].name, status, b, err)
		}
		revs[i] = revoked{by: by, at: time.Now()}
	}
	time.Sleep(200 * time.Millisecond)

	// 1. Outage.
	admin(t, c.dbURL, `ALTER ROLE `+n1.role+` NOLOGIN`)
	defer admin(t, c.dbURL, `ALTER ROLE `+n1.role+` LOGIN`)
	if n, err := c.killListener(t.Context(), n1); err != nil || n != 1 {
		t.Fatalf("killed %d notification connections of node 1 (%v), want 1", n, err)
	}
	n1.waitLog(t, lostTrack, lostBefore+1, 10*time.Second)
	outageFrom := time.Now()
	next := 0
	for range outageN {
		revoke(next)
		next++
		time.Sleep(100 * time.Millisecond)
	}
	outageTo := time.Now()
	admin(t, c.dbURL, `ALTER ROLE `+n1.role+` LOGIN`)

	// 2. Flapping.
	ctx, cancel := context.WithCancel(t.Context())
	var kills atomic.Int64
	var killer sync.WaitGroup
	killer.Go(func() {
		for ctx.Err() == nil {
			if n, err := c.killListener(ctx, n1); err == nil {
				kills.Add(int64(n))
			}
			time.Sleep(2 * time.Millisecond)
		}
	})
	// Node 1 may be deep in its reconnect back-off (2s) after the outage:
	// go on until it has reconnected and been killed a few times.
	for flapEnd := time.Now().Add(8 * time.Second); kills.Load() < 3 && time.Now().Before(flapEnd) && next < outageN+flapMax; next++ {
		revoke(next)
		time.Sleep(150 * time.Millisecond)
	}
	cancel()
	killer.Wait()
	stopped := time.Now()

	// 3. Recovery, revocations going on.
	for i := outageN + flapMax; i < len(toks); i++ {
		revoke(i)
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	samples := stopHammer()

	var inOutage, acceptedInOutage int
	for _, s := range samples {
		if s.start.Before(outageFrom) || s.end.After(outageTo) {
			continue
		}
		inOutage++
		if r, ok := revs[s.tok]; ok && s.status == http.StatusOK && s.start.After(r.at) {
			acceptedInOutage++
		}
	}
	if acceptedInOutage > 0 {
		t.Errorf("node 1, unable to listen, accepted a revoked token %d times (of %d requests in the outage)", acceptedInOutage, inOutage)
	}
	stale := verdict(t, []string{n1.name}, samples, revs, lagLimit, true)
	lost := strings.Count(n1.logs(), lostTrack) - lostBefore
	t.Logf("outage: %d requests, %d accepted after a revocation; flapping: %d listener connections killed; node 1 lost track %d times in all; %d requests; largest staleness after a revocation: %s",
		inOutage, acceptedInOutage, kills.Load(), lost, len(samples), ms(stale[0]))
	if inOutage < 100 || kills.Load() < 3 {
		t.Errorf("%d requests in the outage and %d kills while flapping: the test did not happen as planned", inOutage, kills.Load())
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		logs := n1.logs()
		if strings.LastIndex(logs, caughtUp) > strings.LastIndex(logs, lostTrack) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node 1 not caught up 10s after the last kill")
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("node 1 following again %s after the kills stopped", ms(time.Since(stopped)))
	g := c.signup(t, c.nodes[2], "after@example.com")
	toks = append(toks, g.AccessToken)
	c.mustMe(t, n1, g.AccessToken, http.StatusOK)
	c.must(t, "POST", c.nodes[2].base+"/v1/logout", g.AccessToken, "", http.StatusNoContent, nil)
	t.Logf("after recovery, node 1 refused a revocation made on node 3 %s after it returned",
		ms(c.refusedAfter(t, n1, g.AccessToken, time.Now(), lagLimit)))
}

// TestPostgresDown stops PostgreSQL under load: from the moment it is
// down, every protected request on every node gets 503 (never 200, even
// for tokens every node has cached), logout cannot succeed, and /readyz
// says so. When PostgreSQL is back, every node serves again, follows
// revocations again, and a revocation reaches every node.
func TestPostgresDown(t *testing.T) {
	srv := pgtest.NewServer(t)
	c := newCluster(t, srv.NewDatabase(t), 3)
	var toks []string
	for i := range 6 {
		g := c.signup(t, c.nodes[i%3], fmt.Sprintf("down%d@example.com", i))
		toks = append(toks, g.AccessToken)
		for _, p := range c.nodes {
			c.mustMe(t, p, g.AccessToken, http.StatusOK)
		}
	}
	defer func() { c.noTokensLogged(t, toks...) }()
	lostBefore := make([]int, len(c.nodes))
	upBefore := make([]int, len(c.nodes))
	for i, p := range c.nodes {
		lostBefore[i] = strings.Count(p.logs(), lostTrack)
		upBefore[i] = strings.Count(p.logs(), caughtUp)
	}

	h := c.hammer(c.nodes, toks, 3)
	time.Sleep(300 * time.Millisecond)
	stopping := time.Now()
	if err := srv.Stop(); err != nil {
		h.halt()
		t.Fatal(err)
	}
	down := time.Now()
	for i, p := range c.nodes {
		p.waitLog(t, lostTrack, lostBefore[i]+1, 10*time.Second)
	}
	time.Sleep(time.Second)
	for _, p := range c.nodes {
		c.must(t, "POST", p.base+"/v1/logout", toks[0], "", http.StatusServiceUnavailable, nil)
		c.must(t, "GET", p.base+"/readyz", "", "", http.StatusServiceUnavailable, nil)
	}
	restarting := time.Now()
	if err := srv.Start(); err != nil {
		h.halt()
		t.Fatal(err)
	}
	back := time.Now()
	time.Sleep(500 * time.Millisecond)
	samples := h.halt()

	var during, accepted, unavailable, other int
	for _, s := range samples {
		if s.start.Before(down) || s.end.After(restarting) {
			continue
		}
		during++
		switch {
		case s.err != nil:
			other++
			t.Errorf("%s: request during the outage: %v", c.nodes[s.node].name, s.err)
		case s.status == http.StatusOK:
			accepted++
		case s.status == http.StatusServiceUnavailable:
			unavailable++
		default:
			other++
		}
	}
	t.Logf("PostgreSQL stop took %s; %d requests while it was down: %d × 503, %d × 200, %d other",
		ms(down.Sub(stopping)), during, unavailable, accepted, other)
	if during < 100 || accepted > 0 || other > 0 {
		t.Errorf("while PostgreSQL was down: %d requests, %d accepted, %d neither 503 nor 200; want many, all 503", during, accepted, other)
	}

	// Back: each node serves again and trusts its cache again.
	for i, p := range c.nodes {
		deadline := time.Now().Add(30 * time.Second)
		for {
			status, err := c.me(t.Context(), p, toks[1])
			if err == nil && status == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: still %d, %v 30s after PostgreSQL came back", p.name, status, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		p.waitLog(t, caughtUp, upBefore[i]+1, 30*time.Second)
	}
	t.Logf("every node serving and following revocations %s after PostgreSQL accepted connections again", ms(time.Since(back)))
	for _, p := range c.nodes {
		c.must(t, "GET", p.base+"/readyz", "", "", http.StatusOK, nil)
	}
	c.must(t, "POST", c.nodes[0].base+"/v1/logout", toks[1], "", http.StatusNoContent, nil)
	c.allRefuse(t, "a logout on node1 after the restart", time.Now(), toks[1])
}
