// Package web serves latch's browser pages: sign-up, sign-in, the account
// page with its list of devices, and sign-out. Pages are rendered on the
// server with html/template and work without JavaScript.
//
// A browser session is the same session the JSON API hands out, carried in
// two HttpOnly cookies (access token and refresh token) instead of an
// Authorization header. Every page request is authenticated with
// [latch.Service.Authenticate]; when the access token has expired or been
// superseded the handler refreshes through [latch.Service.Refresh], so the
// rotation and theft rules are exactly the API's. docs/web.md describes the
// cookie scheme and the cross-site request defences.
package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/latchauth/latch"
)

// Handler serves the pages. Its methods return the handlers that
// server/routes.go mounts; it is not an http.Handler itself.
type Handler struct {
	svc     *latch.Service
	logger  *slog.Logger
	device  func(*http.Request) latch.Device
	onAuth  func(*http.Request, *latch.Principal)
	cookies cookieScheme
	cop     *http.CrossOriginProtection
	pages   *templates
}

// Options configure a Handler.
type Options struct {
	// PublicURL is the URL browsers reach latch at: the token issuer. With
	// https, cookies are Secure and carry the __Host- prefix. Plain http is
	// accepted only when the host is loopback (localhost development).
	PublicURL string
	// Logger receives denied requests and internal errors. nil discards.
	Logger *slog.Logger
	// Device describes a request's client for its session record, exactly
	// as the API does (the server passes its own). Required.
	Device func(*http.Request) latch.Device
	// Authenticated, if set, is called once a page request's session is
	// known: authenticated, or just started by sign-up or sign-in (the
	// server puts the session and user ids in its request log).
	Authenticated func(*http.Request, *latch.Principal)
}

// New returns a Handler for svc. It fails if PublicURL is not an https URL
// or an http URL on a loopback host.
func New(svc *latch.Service, o Options) (*Handler, error) {
	if svc == nil || o.Device == nil {
		return nil, errors.New("web: a service and a Device func are required")
	}
	u, err := url.Parse(o.PublicURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("web: public URL %q is not an absolute URL", o.PublicURL)
	}
	cs, err := newCookieScheme(u)
	if err != nil {
		return nil, err
	}
	pages, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	// No trusted origins and no bypasses: Sec-Fetch-Site alone decides, or
	// Origin against Host when a browser does not send it. (A trusted
	// origin would also excuse a request marked cross-site.)
	cop := http.NewCrossOriginProtection()
	h := &Handler{svc: svc, logger: o.Logger, device: o.Device, onAuth: o.Authenticated, cookies: cs, cop: cop, pages: pages}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

// isLoopback reports whether host (without port) is localhost or a loopback
// address, where plain-http development cookies are allowed.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// now is the service's clock, so pages and tokens agree on the time.
func (h *Handler) now() time.Time {
	if h.svc.Now != nil {
		return h.svc.Now()
	}
	return time.Now()
}

// pageFunc is a page handler; a returned error is rendered as an HTML error
// page by one function, errorPage.
type pageFunc func(w http.ResponseWriter, r *http.Request) error

// Public serves a page that needs no session (sign-up, sign-in).
func (h *Handler) Public(fn pageFunc) http.Handler {
	return h.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			h.errorPage(w, r, err)
		}
	}))
}

// Private serves a page that needs a live session. Without one the browser's
// cookies are expired and it is sent to /login.
func (h *Handler) Private(fn pageFunc) http.Handler {
	return h.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := h.session(w, r)
		if errors.Is(err, errSignedOut) {
			h.cookies.set(w, nil, time.Time{})
			redirect(w, r, "/login")
			return
		}
		if err != nil {
			h.errorPage(w, r, err)
			return
		}
		if h.onAuth != nil {
			h.onAuth(r, p)
		}
		if err := fn(w, r.WithContext(latch.WithPrincipal(r.Context(), p))); err != nil {
			h.errorPage(w, r, err)
		}
	}))
}

// principal returns the session Private authenticated.
func principal(r *http.Request) *latch.Principal {
	p, _ := latch.PrincipalFrom(r.Context())
	return p
}

// redirect answers a form post or a page load with 303 See Other, so the
// browser follows with a GET (Post/Redirect/Get).
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}
