package server

import (
	"net/http"
	"path"
	"strings"
)

// routes registers every endpoint. docs/api.md documents each one.
func (s *Server) routes() {
	s.mux.Handle("POST /v1/signup", s.handle(s.signup))
	s.mux.Handle("POST /v1/login", s.handle(s.login))
	s.mux.Handle("POST /v1/refresh", s.handle(s.refresh))
	s.mux.Handle("GET /v1/me", s.requireAuth(s.handle(s.me)))
	s.mux.Handle("POST /v1/logout", s.requireAuth(s.handle(s.logout)))
	s.mux.Handle("GET /v1/sessions", s.requireAuth(s.handle(s.listSessions)))
	s.mux.Handle("DELETE /v1/sessions/{id}", s.requireAuth(s.handle(s.deleteSession)))
	s.mux.Handle("POST /v1/password", s.requireAuth(s.handle(s.changePassword)))

	s.mux.Handle("GET /.well-known/jwks.json", s.handle(s.jwks))
	s.mux.Handle("GET /healthz", s.handle(s.healthz))
	s.mux.Handle("GET /readyz", s.handle(s.readyz))
	if s.metrics != nil {
		s.mux.Handle("GET /metrics", s.metrics)
	}

	// For other services: client credentials, not bearer tokens.
	s.mux.Handle("GET /v1/events", s.handle(s.events))
	s.mux.Handle("POST /v1/introspect", s.oauth(s.introspect))
	s.mux.Handle("POST /v1/revoke", s.oauth(s.revoke))
	s.mux.Handle("GET /.well-known/oauth-authorization-server", s.handle(s.metadata))

	// Browser pages: cookies instead of bearer tokens, HTML instead of JSON.
	// Every state change is a POST behind the cross-origin check; docs/web.md.
	if p := s.pages; p != nil {
		s.mux.Handle("GET /{$}", http.RedirectHandler("/account", http.StatusSeeOther))
		s.mux.Handle("GET /signup", p.Public(p.SignupForm))
		s.mux.Handle("POST /signup", p.Public(p.Signup))
		s.mux.Handle("GET /login", p.Public(p.LoginForm))
		s.mux.Handle("POST /login", p.Public(p.Login))
		s.mux.Handle("GET /account", p.Private(p.Account))
		s.mux.Handle("POST /account/password", p.Private(p.ChangePassword))
		s.mux.Handle("POST /account/sessions/{id}/sign-out", p.Private(p.SignOutDevice))
		s.mux.Handle("POST /account/sign-out-others", p.Private(p.SignOutOthers))
		s.mux.Handle("POST /logout", p.Private(p.Logout))
		s.mux.Handle("GET /static/", p.Static())
	}

	s.handler = s.logRequests(s.recoverPanics(s.securityHeaders(s.cors.wrap(http.HandlerFunc(s.dispatch)))))
}

// handle adapts a handler that returns an error; errors are written as
// problem JSON in one place.
func (s *Server) handle(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// dispatch serves r through the mux, but answers unknown paths (404) and
// wrong methods (405, with Allow) in problem JSON like everything else.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	if !canonicalPath(r.URL.Path) {
		// The mux would redirect (307, text/html) to the cleaned path; an
		// API answers what was asked, in problem JSON.
		s.writeError(w, r, &httpError{status: http.StatusNotFound, code: "not_found", message: "no such endpoint"})
		return
	}
	h, pattern := s.mux.Handler(r)
	infoFrom(r.Context()).pattern = pattern
	if pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	probe := &statusProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.header.Get("Allow"))
		s.writeError(w, r, &httpError{status: http.StatusMethodNotAllowed, code: "method_not_allowed", message: "method " + r.Method + " is not allowed here"})
		return
	}
	s.writeError(w, r, &httpError{status: http.StatusNotFound, code: "not_found", message: "no such endpoint"})
}

// statusProbe records what the mux's built-in 404/405 handlers would send.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header         { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusProbe) WriteHeader(code int)        { p.status = code }

// canonicalPath reports whether p is already clean: no empty, "." or ".."
// segments (a trailing slash is allowed).
func canonicalPath(p string) bool {
	trimmed := p
	if len(p) > 1 && strings.HasSuffix(p, "/") {
		trimmed = p[:len(p)-1]
	}
	return path.Clean(trimmed) == trimmed
}
