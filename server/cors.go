package server

import (
	"net/http"
	"strings"
)

// cors lets pages of an explicit list of other origins call the JSON API
// from a browser (Fetch standard, "CORS protocol"). It is off unless
// origins are configured. The API authenticates with bearer tokens, never
// cookies, so no response allows credentials and no origin is a wildcard:
// a listed origin's script must hold a token to do anything. The browser
// pages (cookies) are never exposed cross-origin.
type cors struct {
	origins map[string]bool
}

// Methods and request headers a cross-origin caller may use.
const (
	corsMethods = "GET, POST, DELETE"
	corsHeaders = "Authorization, Content-Type"
	corsExpose  = "WWW-Authenticate, Retry-After, X-Request-Id"
	corsMaxAge  = "600"
)

// newCORS takes origins already validated by the config (scheme://host[:port]).
func newCORS(origins []string) cors {
	c := cors{origins: make(map[string]bool)}
	for _, o := range origins {
		c.origins[strings.ToLower(strings.TrimSuffix(o, "/"))] = true
	}
	return c
}

// corsPath reports whether path is part of the API that may be shared.
func corsPath(path string) bool {
	return strings.HasPrefix(path, "/v1/") || path == "/.well-known/jwks.json"
}

func (c cors) wrap(next http.Handler) http.Handler {
	if len(c.origins) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Values("Origin")
		if len(origin) != 1 || !corsPath(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		allowed := c.origins[strings.ToLower(origin[0])]
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			if !allowed || !preflightOK(r) {
				h.Set("Content-Type", "text/plain; charset=utf-8")
				w.WriteHeader(http.StatusForbidden) // no CORS headers: the browser refuses
				return
			}
			h.Set("Access-Control-Allow-Origin", origin[0])
			h.Set("Access-Control-Allow-Methods", corsMethods)
			h.Set("Access-Control-Allow-Headers", corsHeaders)
			h.Set("Access-Control-Max-Age", corsMaxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin[0])
			h.Set("Access-Control-Expose-Headers", corsExpose)
		}
		next.ServeHTTP(w, r)
	})
}

// preflightOK reports whether the preflight asks only for what is allowed.
func preflightOK(r *http.Request) bool {
	switch r.Header.Get("Access-Control-Request-Method") {
	case http.MethodGet, http.MethodPost, http.MethodDelete:
	default:
		return false
	}
	for _, line := range r.Header.Values("Access-Control-Request-Headers") {
		for name := range strings.SplitSeq(line, ",") {
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "authorization", "content-type", "":
			default:
				return false
			}
		}
	}
	return true
}
