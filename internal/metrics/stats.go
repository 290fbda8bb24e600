package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchauth/latch"
)

// statsCollector publishes latch.Stats. It reads the service's atomics once
// per scrape, so the request path never touches a Prometheus metric for
// these.
type statsCollector struct {
	stats       func() latch.Stats
	rateLimited *atomic.Uint64

	logins, refreshes, reuse, revocations, cache, trusted, storeErrors *prometheus.Desc
}

func newStatsCollector(stats func() latch.Stats, rateLimited *atomic.Uint64) *statsCollector {
	return &statsCollector{
		stats:       stats,
		rateLimited: rateLimited,
		logins: prometheus.NewDesc("latch_logins_total",
			"Login attempts by result: ok, failed (wrong email or password, or a disabled account), rate_limited (refused with 429).",
			[]string{"result"}, nil),
		refreshes: prometheus.NewDesc("latch_refreshes_total",
			"Refresh tokens rotated.", nil, nil),
		reuse: prometheus.NewDesc("latch_refresh_reuse_detected_total",
			"Stale refresh tokens presented; each revoked its session as suspected theft.", nil, nil),
		revocations: prometheus.NewDesc("latch_revocations_total",
			"Sessions this process ended, by reason.", []string{"reason"}, nil),
		cache: prometheus.NewDesc("latch_session_cache_lookups_total",
			"Per-request session lookups: hit (from the cache), miss (read from the store), bypass (store read because the cache is untrusted or off).",
			[]string{"result"}, nil),
		trusted: prometheus.NewDesc("latch_session_cache_trusted",
			"1 while the revocation follower is caught up and the session cache is in use, else 0.", nil, nil),
		storeErrors: prometheus.NewDesc("latch_store_errors_total",
			"Database operations that failed, on requests (refused with 503) or in the background.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.logins, c.refreshes, c.reuse, c.revocations, c.cache, c.trusted, c.storeErrors} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(c.logins, st.LoginsOK, "ok")
	counter(c.logins, st.LoginsFailed, "failed")
	counter(c.logins, c.rateLimited.Load(), "rate_limited")
	counter(c.refreshes, st.Refreshes)
	counter(c.reuse, st.ReuseDetections)
	for _, r := range latch.RevokeReasons() {
		counter(c.revocations, st.Revocations[r], string(r))
	}
	counter(c.cache, st.CacheHits, "hit")
	counter(c.cache, st.CacheMisses, "miss")
	counter(c.cache, st.CacheBypasses, "bypass")
	trusted := 0.0
	if st.CacheTrusted {
		trusted = 1
	}
	ch <- prometheus.MustNewConstMetric(c.trusted, prometheus.GaugeValue, trusted)
	counter(c.storeErrors, st.StoreErrors)
}
