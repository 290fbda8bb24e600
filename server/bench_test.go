package server_test

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/metrics"
	"github.com/latchauth/latch/server"
)

// BenchmarkHandler compares GET /v1/me (authenticated, caches warm) with the
// JWKS (unauthenticated JSON) through the whole handler chain in-process,
// logging as in production (text, to a discarding writer), without and
// with the Prometheus request observer serve wires in ("+metrics"):
//
//	go test -run '^$' -bench Handler -benchmem -count 10 ./server | tee h.txt && benchstat -col /metrics h.txt
func BenchmarkHandler(b *testing.B) {
	env := latchtest.New(b, latchtest.Options{Follow: true})
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := metrics.New(metrics.Options{Stats: env.Service.Stats})
	handlers := map[string]*server.Server{
		"off": server.New(env.Service, env.Store, server.Options{Logger: logger}),
		"on":  server.New(env.Service, env.Store, server.Options{Logger: logger, Observer: m}),
	}
	m.AddRoutes(handlers["on"].Routes())
	g, err := env.Service.Signup(b.Context(), "bench@example.com", "correct horse battery", latch.Device{IP: "127.0.0.1", UserAgent: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct{ name, path, auth string }{
		{"jwks", "/.well-known/jwks.json", ""},
		{"me", "/v1/me", "Bearer " + g.AccessToken},
	} {
		for _, metrics := range []string{"off", "on"} {
			h := handlers[metrics]
			b.Run(tc.name+"/metrics="+metrics, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					r := httptest.NewRequest("GET", tc.path, nil)
					if tc.auth != "" {
						r.Header.Set("Authorization", tc.auth)
					}
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					if w.Code != 200 {
						b.Fatalf("%s = %d %s", tc.path, w.Code, w.Body)
					}
				}
			})
		}
	}
}
