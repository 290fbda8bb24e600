// Package metrics exports latch's counters to Prometheus. It is the only
// package that imports the Prometheus client: the service keeps plain
// atomic counters (latch.Stats), read once per scrape, and the server calls
// ObserveRequest once per request, which costs a map lookup, an atomic load
// and a histogram observation, with no allocation once a route and status
// have been seen.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/latchauth/latch"
)

// Options configure Metrics.
type Options struct {
	// LoginRoutes are the routes whose 429 answers count as rate-limited
	// logins, wherever the limit was applied (middleware or service).
	LoginRoutes []string
	// Stats returns the service's counters; read once per scrape.
	Stats func() latch.Stats
	// Version labels latch_build_info.
	Version string
}

// Metrics holds latch's Prometheus registry.
type Metrics struct {
	reg            *prometheus.Registry
	duration       *prometheus.HistogramVec
	rateLimited    atomic.Uint64 // latch_logins_total{result="rate_limited"}
	activeSessions prometheus.Gauge
	countErrors    prometheus.Counter

	routes map[string]*route // read-only once requests are served
	late   sync.Map          // route patterns not added: string -> *route
	login  map[string]bool
}

// route holds the resolved histogram of each status seen on one route.
type route struct {
	name   string
	login  bool
	status [500]atomic.Pointer[observer] // index: status-100
}

type observer struct{ prometheus.Observer }

// unmatched labels requests no route matched (404s, 405s).
const unmatched = "unmatched"

// New builds the registry: request metrics, the service's counters, Go
// runtime and process metrics.
func New(o Options) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "latch_http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by route pattern and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "status"}),
		activeSessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "latch_active_sessions",
			Help: "Live sessions (not revoked, expired or idle), recounted periodically.",
		}),
		countErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "latch_active_sessions_count_errors_total",
			Help: "Failed recounts of latch_active_sessions (the gauge keeps its last value).",
		}),
		routes: map[string]*route{},
	}
	login := map[string]bool{}
	for _, r := range o.LoginRoutes {
		login[r] = true
	}
	m.login = login
	m.AddRoutes([]string{unmatched})
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "latch_build_info", Help: "Always 1; the version label names the running binary.",
		ConstLabels: prometheus.Labels{"version": o.Version},
	})
	build.Set(1)
	m.reg.MustRegister(m.duration, m.activeSessions, m.countErrors, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if o.Stats != nil {
		m.reg.MustRegister(newStatsCollector(o.Stats, &m.rateLimited))
	}
	return m
}

// AddRoutes resolves the series of the server's route patterns up front.
// Call it before the first request.
func (m *Metrics) AddRoutes(patterns []string) {
	for _, p := range patterns {
		m.routes[p] = &route{name: p, login: m.login[p]}
	}
}

// SetInFlight exports latch_http_requests_in_flight from f. Call it once.
func (m *Metrics) SetInFlight(f func() int64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "latch_http_requests_in_flight", Help: "Requests being served.",
	}, func() float64 { return float64(f()) }))
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry returns the registry, for tests that read values directly.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveRequest implements server.RequestObserver.
func (m *Metrics) ObserveRequest(pattern string, status int, d time.Duration) {
	if pattern == "" {
		pattern = unmatched
	}
	rt := m.routes[pattern]
	if rt == nil {
		rt = m.lateRoute(pattern)
	}
	if rt.login && status == http.StatusTooManyRequests {
		m.rateLimited.Add(1)
	}
	if status < 100 || status > 599 {
		m.duration.WithLabelValues(rt.name, strconv.Itoa(status)).Observe(d.Seconds())
		return
	}
	slot := &rt.status[status-100]
	o := slot.Load()
	if o == nil {
		o = &observer{m.duration.WithLabelValues(rt.name, strconv.Itoa(status))}
		slot.Store(o) // a racing store holds the same child: harmless
	}
	o.Observe(d.Seconds())
}

// lateRoute serves patterns that were not added. Patterns come only from
// the server's own registrations, so their number is bounded.
func (m *Metrics) lateRoute(pattern string) *route {
	if v, ok := m.late.Load(pattern); ok {
		return v.(*route)
	}
	v, _ := m.late.LoadOrStore(pattern, &route{name: pattern, login: m.login[pattern]})
	return v.(*route)
}

// CountActiveSessions sets latch_active_sessions from count now and then
// every interval until ctx ends. A failed count keeps the last value and is
// logged and counted.
func (m *Metrics) CountActiveSessions(ctx context.Context, every time.Duration, count func(context.Context) (int64, error), logger *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		qctx, cancel := context.WithTimeout(ctx, min(every, 30*time.Second))
		n, err := count(qctx)
		cancel()
		switch {
		case err == nil:
			m.activeSessions.Set(float64(n))
		case ctx.Err() == nil:
			m.countErrors.Inc()
			logger.Warn("count active sessions", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
