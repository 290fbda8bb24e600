package cluster

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"
)

// A hammer sends GET /v1/me with a set of tokens to a set of nodes as fast
// as a few workers can, and records every answer with when its request
// started and ended, so a test can ask afterwards: was a token accepted by
// a node after it had been revoked (and how long after), or after that
// node had already refused it once?

type sample struct {
	node, tok  int
	start, end time.Time
	status     int // 0: the request failed (err)
	err        error
}

type hammer struct {
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	got  []sample
}

func (c *cluster) hammer(nodes []*proc, toks []string, workers int) *hammer {
	h := &hammer{stop: make(chan struct{})}
	var next sync.Mutex
	i := 0
	for range workers {
		h.wg.Go(func() {
			var mine []sample
			defer func() {
				h.mu.Lock()
				h.got = append(h.got, mine...)
				h.mu.Unlock()
			}()
			for {
				select {
				case <-h.stop:
					return
				default:
				}
				next.Lock()
				k := i
				i++
				next.Unlock()
				n, tok := k%len(nodes), (k/len(nodes))%len(toks)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				s := sample{node: n, tok: tok, start: time.Now()}
				s.status, s.err = c.me(ctx, nodes[n], toks[tok])
				s.end = time.Now()
				cancel()
				mine = append(mine, s)
			}
		})
	}
	return h
}

// halt stops the workers and returns every sample.
func (h *hammer) halt() []sample {
	close(h.stop)
	h.wg.Wait()
	return h.got
}

// revoked is when a revocation of token tok, made through node by (-1: not
// through a node: the admin CLI), had returned to its caller.
type revoked struct {
	by int
	at time.Time
}

// verdict checks samples against revocations:
//
//   - a token is never accepted by a node in a request that started after
//     that node had refused it (refused once, refused forever);
//   - the node that made a revocation never accepts the token in a request
//     that started after the revocation returned (it is synchronous);
//   - any other node stops accepting it within limit, and the largest
//     observed staleness per node is returned;
//   - a token never revoked is always accepted, when wantLive is set;
//   - statuses other than 200 and 401 fail, unless allowed.
func verdict(t *testing.T, names []string, samples []sample, revs map[int]revoked, limit time.Duration, wantLive bool, allowed ...int) (stale []time.Duration) {
	t.Helper()
	stale = make([]time.Duration, len(names))
	ok := map[int]bool{http.StatusOK: true, http.StatusUnauthorized: true}
	for _, s := range allowed {
		ok[s] = true
	}
	type key struct{ node, tok int }
	firstRefusal := map[key]time.Time{}
	for _, s := range samples {
		if s.status == http.StatusUnauthorized {
			k := key{s.node, s.tok}
			if e, seen := firstRefusal[k]; !seen || s.end.Before(e) {
				firstRefusal[k] = s.end
			}
		}
	}
	fails := 0
	fail := func(format string, args ...any) {
		if fails < 10 {
			t.Errorf(format, args...)
		}
		fails++
	}
	for _, s := range samples {
		name := names[s.node]
		if s.err != nil {
			fail("%s: GET /v1/me: %v", name, s.err)
			continue
		}
		if !ok[s.status] {
			fail("%s: GET /v1/me = %d", name, s.status)
			continue
		}
		r, isRevoked := revs[s.tok]
		if s.status != http.StatusOK {
			if !isRevoked && wantLive && s.status == http.StatusUnauthorized {
				fail("%s: live token %d refused", name, s.tok)
			}
			continue
		}
		if e, seen := firstRefusal[key{s.node, s.tok}]; seen && s.start.After(e) {
			fail("%s: token %d accepted %v after the node had refused it", name, s.tok, s.start.Sub(e))
		}
		if !isRevoked || !s.start.After(r.at) {
			continue
		}
		late := s.start.Sub(r.at)
		stale[s.node] = max(stale[s.node], late)
		switch {
		case r.by == s.node:
			fail("%s: token %d accepted %v after this node revoked it", name, s.tok, late)
		case late > limit:
			fail("%s: token %d accepted %v after it was revoked elsewhere (limit %v)", name, s.tok, late, limit)
		}
	}
	if fails > 10 {
		t.Errorf("… and %d more", fails-10)
	}
	return stale
}
