package web

import (
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
)

// contentSecurityPolicy allows the page's own stylesheet and nothing else:
// no script at all, no inline style, no framing, forms post only to latch.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// errCrossOrigin is a state-changing request that did not come from a page
// of latch's own origin.
var errCrossOrigin = errors.New("web: cross-origin request refused")

// guard sets the page security headers and refuses cross-site form posts
// before anything else runs: a refused request authenticates nothing,
// refreshes nothing and sets or clears no cookie (case C15).
//
// http.CrossOriginProtection decides by Sec-Fetch-Site, or by Origin
// against Host. It lets through requests carrying neither header (non-
// browser clients); a form post always comes from a browser, and every
// browser latch supports sends at least Origin on POST, so such a post is
// refused here too. The SameSite=Lax cookies are a second, independent
// barrier: a cross-site POST does not carry them at all.
func (h *Handler) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		// same-origin, not the API's no-referrer: under no-referrer a
		// browser sends "Origin: null" on same-origin posts, which the
		// Origin check (used where Sec-Fetch-Site is missing) must refuse.
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		if err := h.checkOrigin(r); err != nil {
			h.logger.LogAttrs(r.Context(), slog.LevelWarn, "cross-origin form post refused", slog.Bool("audit", true),
				slog.String("path", r.URL.Path), slog.String("sec_fetch_site", r.Header.Get("Sec-Fetch-Site")),
				slog.String("origin", r.Header.Get("Origin")))
			h.render(w, r, http.StatusForbidden, "error", view{Title: "Request refused", Data: errorData{
				Heading: "Request refused",
				Message: "This form was sent from another site, so latch ignored it. Nothing was changed. Go back to latch and try again from there.",
			}})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) checkOrigin(r *http.Request) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if err := h.cop.Check(r); err != nil {
		return errCrossOrigin
	}
	if r.Header.Get("Sec-Fetch-Site") == "" && r.Header.Get("Origin") == "" {
		return errCrossOrigin
	}
	return nil
}

// maxFormBytes bounds a form body: the largest form holds two passwords of
// at most 1024 bytes each, escaped.
const maxFormBytes = 16 << 10

// errBadForm is a post whose body is not a readable HTML form.
var errBadForm = errors.New("web: unreadable form")

// form reads an application/x-www-form-urlencoded body, size-limited. URL
// query parameters are ignored: a password never travels in a URL. A
// field given twice is refused, as the JSON API refuses a duplicate
// member: which copy counts must never be a guess.
func form(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" || r.Header.Get("Content-Encoding") != "" {
		return nil, errBadForm
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, errBadForm
	}
	for _, vals := range r.PostForm {
		if len(vals) > 1 {
			return nil, errBadForm
		}
	}
	return r.PostForm, nil
}
