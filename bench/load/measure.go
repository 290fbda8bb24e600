package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchauth/latch/password"
)

// alternate measures baseline and subject in turns and returns the median
// rate of each, so drift in the machine's load hits both alike.
func alternate(ctx context.Context, sc scale, c *http.Client, base, subject request) (b, s float64) {
	var bs, ss []float64
	for range sc.rounds {
		bs = append(bs, drive(ctx, c, sc.workers, sc.round, 0, base, is200).rate())
		ss = append(ss, drive(ctx, c, sc.workers, sc.round, 0, subject, is200).rate())
	}
	return median(bs), median(ss)
}

func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// measureRequestPath compares GET /v1/me with the JWKS document (an
// unauthenticated endpoint doing comparable JSON work) in three modes.
func measureRequestPath(ctx context.Context, bin, dir string, sc scale, r *report) error {
	sd, err := seed(ctx, dir, 1000, 1000, 1000)
	if err != nil {
		return err
	}
	modes := []struct {
		name  string
		flags []string
	}{
		{"session check, caches on (default)", nil},
		{"same, request log off (--log-level warn)", []string{"--log-level", "warn"}},
		{"session check, caches off (--no-cache)", []string{"--no-cache"}},
		{"no session check (stateless; benchmark only)", []string{"--insecure-bench-stateless"}},
	}
	for _, m := range modes {
		srv, err := startServer(ctx, bin, dir, m.flags...)
		if err != nil {
			return err
		}
		c := client(sc.workers)
		n := len(sd.tokens)
		me := func(w, i int) *http.Request { return get(srv.base+"/v1/me", sd.tokens[(w*7919+i)%n]) }
		// The baseline carries the same bearer token (ignored there), so both
		// sides parse the same request and the ratio isolates the check.
		jwks := func(w, i int) *http.Request { return get(srv.base+"/.well-known/jwks.json", sd.tokens[(w*7919+i)%n]) }
		// Warm up: every token once, so the default mode measures its hot path.
		warm := drive(ctx, c, sc.workers, time.Minute, int64(n), me, is200)
		if warm.failed > 0 {
			srv.stop()
			return fmt.Errorf("%s: %d warm-up requests failed (%v)", m.name, warm.failed, warm.statuses)
		}
		var b, s float64
		if wk, err := newWrk(dir, sd.tokens, sc.workers); err == nil {
			r.generator = "wrk (1 thread, " + fmt.Sprint(sc.workers) + " connections)"
			var bs, ss []float64
			for range sc.rounds {
				for _, x := range []struct {
					path string
					into *[]float64
				}{{"/.well-known/jwks.json", &bs}, {"/v1/me", &ss}} {
					rate, err := wk.rate(ctx, srv.base, x.path, sc.round)
					if err != nil {
						srv.stop()
						return err
					}
					*x.into = append(*x.into, rate)
				}
			}
			b, s = median(bs), median(ss)
		} else {
			r.generator = "Go client (install wrk for a lighter load generator)"
			b, s = alternate(ctx, sc, c, jwks, me)
		}
		srv.stop()
		r.requestPath = append(r.requestPath, pathRow{mode: m.name, baseline: b, me: s})
	}
	return nil
}

// measureLogin compares login throughput with raw argon2id throughput at
// the same parameters, then floods the server with concurrent logins.
func measureLogin(ctx context.Context, bin, dir string, sc scale, r *report) error {
	sd, err := seed(ctx, dir, 200, 0, 0)
	if err != nil {
		return err
	}
	// Throughput, not the abuse limits, is measured: one address logs in
	// far faster than the per-IP limit allows.
	srv, err := startServer(ctx, bin, dir, "--no-rate-limits")
	if err != nil {
		return err
	}
	defer srv.stop()
	body := func(i int) string {
		return `{"email":"` + sd.emails[i%len(sd.emails)] + `","password":"` + benchPassword + `"}`
	}
	c := client(sc.logins)
	login := func(w, i int) *http.Request { return postJSON(srv.base+"/v1/login", body(w*31+i)) }
	// Raw argon2id (as many hashes as this machine does at once, in this
	// process) and logins through the server, in turns, medians of each.
	h := password.New(password.Options{MaxQueue: 1 << 20, QueueWait: time.Hour})
	// More, shorter turns than the request path: a login round holds only
	// a few hundred logins, and the median of more turns is steadier on a
	// shared machine.
	var raws, logins []float64
	turn := sc.round * 2 / 3
	for range 2*sc.rounds - 1 {
		raws = append(raws, rawArgon(ctx, h, turn))
		res := drive(ctx, c, runtime.NumCPU()*2, turn, 0, login, is200)
		logins = append(logins, res.rate())
		r.loginFailed += res.failed
	}
	r.rawArgon, r.loginRate = median(raws), median(logins)

	flood := drive(ctx, c, sc.logins, 2*sc.round, 0, login, is200)
	_, peak := srv.memory()
	r.floodPeakMiB = peak
	r.floodOK = flood.ok
	for code, n := range flood.statuses {
		if code != 200 && code != 429 && code != 503 {
			r.floodErrors += n
		}
		if code == 429 || code == 503 {
			r.floodShed += n
		}
	}
	r.floodErrors += flood.failed - r.floodShed - countNon2xx(flood.statuses)
	return nil
}

func countNon2xx(st map[int]int64) int64 {
	var n int64
	for code, v := range st {
		if code != 200 && code != 429 && code != 503 {
			n += v
		}
	}
	return n
}

// rawArgon hashes on every CPU for d and returns hashes per second.
func rawArgon(ctx context.Context, h *password.Hasher, d time.Duration) float64 {
	var hashes atomic.Int64
	rawCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	t0 := time.Now()
	for range runtime.NumCPU() {
		wg.Go(func() {
			for rawCtx.Err() == nil {
				if _, err := h.Hash(context.Background(), benchPassword); err == nil {
					hashes.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return float64(hashes.Load()) / time.Since(t0).Seconds()
}

// measureRefresh rotates refresh tokens as fast as workers can, each worker
// owning its sessions (as real clients do).
func measureRefresh(ctx context.Context, bin, dir string, sc scale, r *report) error {
	sd, err := seed(ctx, dir, 8, 0, 0)
	if err != nil {
		return err
	}
	srv, err := startServer(ctx, bin, dir, "--no-rate-limits")
	if err != nil {
		return err
	}
	defer srv.stop()
	workers := 8
	c := client(workers)
	rts := make([]string, workers)
	for w := range rts {
		resp, err := c.Do(postJSON(srv.base+"/v1/login", `{"email":"`+sd.emails[w]+`","password":"`+benchPassword+`"}`))
		if err != nil {
			return err
		}
		var body struct {
			RefreshToken string `json:"refresh_token"`
		}
		if err := decodeJSON(resp, &body); err != nil || body.RefreshToken == "" {
			return fmt.Errorf("login for refresh: %v", err)
		}
		rts[w] = body.RefreshToken
	}
	// One client alone gives the latency of a refresh; eight at once give
	// the throughput (and the latency under that load).
	solo := rotate(ctx, c, srv.base, rts[:1], sc.round)
	busy := rotate(ctx, c, srv.base, rts, 2*sc.round)
	r.refreshSoloP50 = solo.percentile(0.5)
	r.refreshRate, r.refreshP50, r.refreshP99, r.refreshBad = busy.rate(), busy.percentile(0.5), busy.percentile(0.99), solo.failed+busy.failed
	return nil
}

// rotate has one worker per refresh token refresh its own chain for d.
func rotate(ctx context.Context, c *http.Client, base string, rts []string, d time.Duration) *result {
	var (
		mu  sync.Mutex
		lat []time.Duration
		ok  atomic.Int64
		bad atomic.Int64
	)
	rctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := range rts {
		wg.Go(func() {
			var mine []time.Duration
			for rctx.Err() == nil {
				start := time.Now()
				resp, err := c.Do(postJSON(base+"/v1/refresh", `{"refresh_token":"`+rts[w]+`"}`))
				if err != nil {
					break
				}
				var body struct {
					RefreshToken string `json:"refresh_token"`
				}
				if resp.StatusCode != 200 || decodeJSON(resp, &body) != nil {
					resp.Body.Close()
					bad.Add(1)
					break
				}
				mine = append(mine, time.Since(start))
				rts[w] = body.RefreshToken
				ok.Add(1)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return &result{ok: ok.Load(), failed: bad.Load(), latencies: lat, elapsed: time.Since(t0)}
}

// measureMemory reads the resident set of an idle server, then of one with
// many sessions stored after many distinct sessions have been used.
func measureMemory(ctx context.Context, bin, dir string, sc scale, r *report) error {
	idleDir := filepath.Join(dir, "idle")
	os.MkdirAll(idleDir, 0o700)
	srv, err := startServer(ctx, bin, idleDir)
	if err != nil {
		return err
	}
	time.Sleep(time.Second)
	r.idleMiB, _ = srv.memory()
	srv.stop()

	t0 := time.Now()
	sd, err := seed(ctx, filepath.Join(dir, "big"), 1000, sc.bigSessions, sc.bigUsed)
	if err != nil {
		return err
	}
	r.seedTime = time.Since(t0)
	r.bigSessions, r.bigUsed = sc.bigSessions, sc.bigUsed
	srv, err = startServer(ctx, bin, filepath.Join(dir, "big"))
	if err != nil {
		return err
	}
	defer srv.stop()
	r.bigStartMiB, _ = srv.memory()
	c := client(sc.workers)
	n := len(sd.tokens)
	var next atomic.Int64
	me := func(w, i int) *http.Request { return get(srv.base+"/v1/me", sd.tokens[int(next.Add(1)-1)%n]) }
	res := drive(ctx, c, sc.workers, 3*time.Minute, int64(n), me, is200)
	if res.failed > 0 {
		return fmt.Errorf("%d of %d requests failed: %v", res.failed, n, res.statuses)
	}
	r.bigColdRate = res.rate()
	runtime.GC()
	r.bigUsedMiB, r.bigPeakMiB = srv.memory()
	return nil
}

func round1(x float64) string {
	if math.IsNaN(x) || x < 0 {
		return "n/a"
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", x), ".0")
}
