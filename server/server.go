// Package server is latch's HTTP interface: the JSON API v1, the JWKS, the
// health endpoints and the browser pages (package web), behind one
// http.Handler.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/server/web"
)

// Server routes HTTP requests to a latch.Service.
type Server struct {
	latch   *latch.Service
	store   pinger
	logger  *slog.Logger
	mux     *routeMux
	handler http.Handler
	ready   func(ctx context.Context) error
	pages   *web.Handler // nil: no browser pages

	streams chan struct{} // one slot per open event stream

	clientStreamsMu sync.Mutex
	clientStreams   map[string]int // open event streams per client
	stopping        chan struct{}  // closed by EndStreams
	stopOnce        sync.Once

	observer RequestObserver // nil: none
	metrics  http.Handler    // nil: no /metrics route
	inFlight atomic.Int64
	draining atomic.Bool

	trusted   []netip.Prefix
	xffWarned atomic.Bool // logged once: X-Forwarded-For without trusted proxies
	hsts      bool        // the public URL is https
	cors      cors
}

// RequestObserver is told about every request when it is done: its route
// pattern ("" when nothing matched), status and duration. It runs on the
// request path, once per request, so it must be cheap and must not block.
type RequestObserver interface {
	ObserveRequest(route string, status int, d time.Duration)
}

// pinger is the part of the store /readyz needs.
type pinger interface {
	Ping(ctx context.Context) error
}

// Options configure a Server. Zero values are valid.
type Options struct {
	Logger *slog.Logger
	// Ready, if set, is consulted by /readyz in addition to the store ping
	// (for example: migrations are current).
	Ready func(ctx context.Context) error
	// PublicURL is the URL browsers reach latch at (the issuer). When set,
	// the browser pages are served: with https their cookies are Secure
	// with the __Host- prefix; plain http works only on a loopback host, and
	// any other http URL leaves the pages off (logged as an error).
	PublicURL string
	// MaxEventStreams bounds the open revocation feeds (default 64); more
	// get 503 busy with Retry-After.
	MaxEventStreams int
	// Observer, if set, sees every request (Prometheus metrics).
	Observer RequestObserver
	// Metrics, if set, is served at GET /metrics.
	Metrics http.Handler
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed (clientip.go). Empty: the TCP peer is the client.
	TrustedProxies []netip.Prefix
	// CORSOrigins are the browser origins allowed to call the JSON API
	// with credentials (cors.go). Empty: no cross-origin access.
	CORSOrigins []string
}

// New returns a Server. store answers /readyz.
func New(svc *latch.Service, store pinger, o Options) *Server {
	s := &Server{latch: svc, store: store, logger: o.Logger, mux: &routeMux{ServeMux: http.NewServeMux()}, ready: o.Ready,
		observer: o.Observer, metrics: o.Metrics, stopping: make(chan struct{}),
		trusted: o.TrustedProxies, cors: newCORS(o.CORSOrigins)}
	if o.MaxEventStreams <= 0 {
		o.MaxEventStreams = defaultMaxStreams
	}
	s.streams = make(chan struct{}, o.MaxEventStreams)
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.hsts = strings.HasPrefix(strings.ToLower(o.PublicURL), "https://")
	if o.PublicURL != "" {
		p, err := web.New(svc, web.Options{PublicURL: o.PublicURL, Logger: s.logger, Device: s.deviceOf, Authenticated: logPrincipal})
		if err != nil {
			s.logger.Error("browser pages are off", "err", err)
		} else {
			s.pages = p
		}
	}
	s.routes()
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// Drain makes /readyz report not-ready from now on: the process is shutting
// down, and load balancers should send new requests elsewhere.
func (s *Server) Drain() { s.draining.Store(true) }

// InFlight returns the number of requests being served right now.
func (s *Server) InFlight() int64 { return s.inFlight.Load() }

// Routes returns every registered route pattern.
func (s *Server) Routes() []string { return append([]string(nil), s.mux.patterns...) }

// routeMux records the patterns registered on it, so the route list the
// OpenAPI test checks is the mux's own, not a copy kept by hand.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

// Handle registers h for pattern and records the pattern.
func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}
