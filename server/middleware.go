package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/latchauth/latch"
)

// Log attribute keys.
const (
	keyRequestID = "request_id"
	keySessionID = "session_id"
	keyUserID    = "user_id"
)

// requestInfo is filled in while a request is served and logged at its end.
// It never holds a token, cookie, password or hash.
type requestInfo struct {
	id        string
	pattern   string
	sessionID string
	userID    string
	client    string // the authenticated service client, if any

	principal *latch.Principal // set by requireAuth; never logged as such
}

type infoKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	if ri, ok := ctx.Value(infoKey{}).(*requestInfo); ok {
		return ri
	}
	return &requestInfo{}
}

// statusWriter records the status code for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests writes one line per request: id, method, route pattern,
// status, duration, and the session and user when known.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		var b [8]byte
		rand.Read(b[:])
		ri := &requestInfo{id: hex.EncodeToString(b[:])}
		w.Header().Set("X-Request-Id", ri.id)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), infoKey{}, ri)))
		d := time.Since(start)
		if sw.status == 0 {
			sw.status = http.StatusOK // nothing written: net/http sends 200
		}
		if s.observer != nil {
			s.observer.ObserveRequest(ri.pattern, sw.status, d)
		}
		attrs := []slog.Attr{
			slog.String(keyRequestID, ri.id),
			slog.String("method", r.Method),
			slog.String("route", ri.pattern),
			slog.Int("status", sw.status),
			slog.Duration("duration", d),
		}
		if ri.sessionID != "" {
			attrs = append(attrs, slog.String(keySessionID, ri.sessionID), slog.String(keyUserID, ri.userID))
		}
		if ri.client != "" {
			attrs = append(attrs, slog.String("client", ri.client))
		}
		s.logger.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	})
}

// recoverPanics turns a panic into a 500 and a log line with the stack.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.logger.Error("panic serving request", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				s.writeError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// securityHeaders applies to every response. Nothing latch serves from the
// API may be cached by a shared cache or sniffed into another type.
//
// With an https public URL, browsers are also told to use nothing but
// https for it from now on (HSTS), so a network attacker cannot downgrade
// a later visit and read the session cookies.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if s.hsts {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
