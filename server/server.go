// Package server is latch's HTTP interface: the JSON API v1, the JWKS, the
// health endpoints and the browser pages (package web), behind one
// http.Handler.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/server/web"
)

// Server routes HTTP requests to a latch.Service.
type Server struct {
	latch   *latch.Service
	store   pinger
	logger  *slog.Logger
	mux     *http.ServeMux
	handler http.Handler
	ready   func(ctx context.Context) error
	pages   *web.Handler // nil: no browser pages
	trusted []netip.Prefix
	cors    cors
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
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed (clientip.go). Empty: the TCP peer is the client.
	TrustedProxies []netip.Prefix
	// CORSOrigins are the browser origins allowed to call the JSON API
	// with credentials (cors.go). Empty: no cross-origin access.
	CORSOrigins []string
}

// New returns a Server. store answers /readyz.
func New(svc *latch.Service, store pinger, o Options) *Server {
	s := &Server{latch: svc, store: store, logger: o.Logger, mux: http.NewServeMux(), ready: o.Ready,
		trusted: o.TrustedProxies, cors: newCORS(o.CORSOrigins)}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
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
