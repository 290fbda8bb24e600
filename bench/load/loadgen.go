package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// client is an HTTP client with enough keep-alive connections for every worker.
func client(workers int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: workers * 2, MaxIdleConnsPerHost: workers * 2, IdleConnTimeout: time.Minute,
	}}
}

// result of one load run.
type result struct {
	ok, failed int64
	elapsed    time.Duration
	latencies  []time.Duration
	statuses   map[int]int64
}

func (r *result) rate() float64 { return float64(r.ok) / r.elapsed.Seconds() }

func (r *result) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	slices.Sort(r.latencies)
	return r.latencies[min(int(float64(len(r.latencies))*p), len(r.latencies)-1)]
}

// request builds the i-th request of a run for worker w.
type request func(w, i int) *http.Request

// drive runs workers until d has passed or, if limit > 0, until limit
// requests have been sent in total. A response counts as ok if want(status).
//
// No request is sent after d, but those in flight at d are finished, and
// the elapsed time runs to the last answer: cancelling them would throw
// away work the server has partly done (a login's hash, say) and bias
// every rate against the server, since the raw baselines it is compared
// with count each hash that was started.
func drive(ctx context.Context, c *http.Client, workers int, d time.Duration, limit int64, mk request, want func(int) bool) *result {
	deadline := time.Now().Add(d)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		sent    atomic.Int64
		res     = &result{statuses: map[int]int64{}}
		started = time.Now()
	)
	for w := range workers {
		wg.Go(func() {
			var lat []time.Duration
			statuses := map[int]int64{}
			var ok, failed int64
			for i := 0; ctx.Err() == nil && time.Now().Before(deadline); i++ {
				if limit > 0 && sent.Add(1) > limit {
					break
				}
				req := mk(w, i).WithContext(ctx)
				t0 := time.Now()
				resp, err := c.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						failed++
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(t0))
				statuses[resp.StatusCode]++
				if want(resp.StatusCode) {
					ok++
				} else {
					failed++
				}
			}
			mu.Lock()
			res.ok += ok
			res.failed += failed
			res.latencies = append(res.latencies, lat...)
			for k, v := range statuses {
				res.statuses[k] += v
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(started)
	return res
}

func get(url, tok string) *http.Request {
	req, _ := http.NewRequest("GET", url, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return req
}

func postJSON(url, body string) *http.Request {
	req, _ := http.NewRequest("POST", url, bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	return req
}

func is200(code int) bool { return code == 200 }
