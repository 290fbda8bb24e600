package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/latchauth/latch"
)

//go:embed templates/*.html static/latch.css
var assets embed.FS

// view is what every page template receives.
type view struct {
	Title    string // before " · latch" in <title>
	CSS      string // the stylesheet's content-addressed path
	SignedIn bool   // the header shows a sign-out button
	Notice   string // one-line confirmation after a redirect
	Data     any    // the page's own data
}

// errorData fills templates/error.html.
type errorData struct {
	Heading, Message string
}

// templates holds one parsed set per page (layout plus the page) and the
// stylesheet, served under a name derived from its content so it can be
// cached for good.
type templates struct {
	pages   map[string]*template.Template
	css     []byte
	cssPath string
}

var pageNames = []string{"signup", "login", "account", "error"}

func parseTemplates() (*templates, error) {
	css, err := fs.ReadFile(assets, "static/latch.css")
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(css)
	t := &templates{pages: map[string]*template.Template{}, css: css, cssPath: "/static/latch-" + hex.EncodeToString(sum[:6]) + ".css"}
	for _, name := range pageNames {
		p, err := template.New(name).Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: parse template %s: %w", name, err)
		}
		t.pages[name] = p
	}
	return t, nil
}

var funcs = template.FuncMap{
	"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"when":    func(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04 UTC") },
}

// render executes a page into a buffer first, so a template failure becomes
// a clean 500 instead of half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	v.CSS = h.pages.cssPath
	var buf bytes.Buffer
	if err := h.pages.pages[page].ExecuteTemplate(&buf, "layout", v); err != nil {
		h.logger.LogAttrs(r.Context(), slog.LevelError, "render page", slog.String("page", page), slog.Any("err", err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorPage is the one place a page's error becomes a response. Messages come
// from latch.Error (written to be shown) or are fixed here; causes go only
// to the log.
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, err error) {
	status, d := http.StatusInternalServerError, errorData{Heading: "Something went wrong", Message: "latch could not finish this request. Please try again."}
	e, isLatch := errors.AsType[*latch.Error](err)
	switch {
	case errors.Is(err, errBadForm):
		status, d = http.StatusBadRequest, errorData{Heading: "Form not understood", Message: "The form could not be read. Go back, reload the page and try again."}
	case !isLatch:
		h.logger.LogAttrs(r.Context(), slog.LevelError, "page failed", slog.String("path", r.URL.Path), slog.Any("err", err))
	case e.Kind == latch.KindNotFound:
		status, d = http.StatusNotFound, errorData{Heading: "Not found", Message: "That device is not one of yours, or it no longer exists."}
	case e.Kind == latch.KindUnavailable || e.Kind == latch.KindRateLimited:
		status = http.StatusServiceUnavailable
		if e.Kind == latch.KindRateLimited {
			status = http.StatusTooManyRequests
		}
		d = errorData{Heading: "Please try again shortly", Message: "latch is busy or cannot reach its database right now. Nothing was changed."}
		if e.Kind == latch.KindRateLimited {
			d.Message = "There were too many requests from your network. Wait a minute, then try again. Nothing was changed."
		}
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
		}
		h.logger.LogAttrs(r.Context(), slog.LevelError, "page failed", slog.String("code", e.Code), slog.Any("err", e.Err))
	case e.Kind == latch.KindForbidden:
		status, d = http.StatusForbidden, errorData{Heading: "Not allowed", Message: e.Message}
	default:
		h.logger.LogAttrs(r.Context(), slog.LevelError, "page failed", slog.String("code", e.Code), slog.Any("err", e))
	}
	h.render(w, r, status, "error", view{Title: d.Heading, Data: d})
}

// Static serves the stylesheet under its content-addressed path. Any other
// name is a 404: there is nothing else to serve.
func (h *Handler) Static() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != h.pages.cssPath {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Write(h.pages.css)
	})
}
