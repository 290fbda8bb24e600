package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/metrics"
	"github.com/latchauth/latch/server"
)

const serveUsage = `Usage: latch serve [flags]

Runs the HTTP server. With no flags it listens on 127.0.0.1:8080 and keeps
everything in the SQLite file latch.db in the working directory, creating it,
the installation secret (latch.secret) and the first signing key on first
start. With --db postgres://USER:PASSWORD@HOST/DB (or LATCH_DB, or the URL in
the file --db-file names) it uses that PostgreSQL database instead, so
several nodes can share it; then --secret-file is required and must hold the
same secret on every node.

Prometheus metrics are served at /metrics, on --addr unless --metrics-addr
is given. On SIGTERM or SIGINT, /readyz turns not-ready (for --shutdown-delay),
the listener closes, and in-flight requests get --shutdown-timeout to finish.

Flags:
`

// serveHTTP holds the servers of one serve run.
type serveHTTP struct {
	main, metrics *http.Server
	tls           bool // main serves HTTPS (--tls-cert)
	mainLn        net.Listener
	metricsLn     net.Listener
	handler       *server.Server
}

func serve(ctx context.Context, env *environ, args []string) error {
	var printConfig bool
	cfg, err := loadConfig(env, "serve", serveUsage, args, func(fs *flag.FlagSet) {
		fs.BoolVar(&printConfig, "print-config", false, "print the effective configuration (secrets redacted), with where each value came from, and exit")
	})
	if errors.Is(err, flag.ErrHelp) || errors.Is(err, errConfigPrinted) {
		return nil
	}
	if err != nil {
		return err
	}
	logger := newLogger(env.stderr, cfg)
	logger.Info("configuration", cfg.redactedAttrs()...)
	var tlsConfig *tls.Config
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	a, err := openApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.Close()

	// Start-up hashed a dummy password (argon2id takes 19 MiB): hand that
	// memory back now rather than whenever the scavenger gets to it.
	debug.FreeOSMemory()

	m := metrics.New(metrics.Options{
		LoginRoutes: []string{"POST /v1/login", "POST /login"},
		Stats:       a.svc.Stats,
		Version:     version(),
	})
	opts := server.Options{Logger: logger, Ready: a.store.CheckSchema, PublicURL: cfg.Issuer, Observer: m,
		TrustedProxies: cfg.trustedProxies, CORSOrigins: cfg.corsOrigins}
	if cfg.MetricsAddr == "" {
		opts.Metrics = m.Handler()
	}
	handler := server.New(a.svc, a.store, opts)
	m.AddRoutes(handler.Routes())
	m.SetInFlight(handler.InFlight)

	h := &serveHTTP{handler: handler, main: newHTTPServer(handler, cfg, logger), tls: tlsConfig != nil}
	h.main.TLSConfig = tlsConfig
	// Shutdown waits for handlers; event streams end only when told to.
	h.main.RegisterOnShutdown(handler.EndStreams)
	if h.mainLn, err = net.Listen("tcp", cfg.Addr); err != nil {
		return fmt.Errorf("listen on --addr %s: %w", cfg.Addr, err)
	}
	if cfg.MetricsAddr != "" {
		if h.metricsLn, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			h.mainLn.Close()
			return fmt.Errorf("listen on --metrics-addr %s: %w", cfg.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", m.Handler())
		h.metrics = newHTTPServer(mux, cfg, logger)
	}
	if cfg.BenchStateless {
		logger.Warn("INSECURE BENCHMARK MODE: sessions are not checked; revoked tokens stay valid until they expire")
	}
	if u, err := url.Parse(cfg.Issuer); err == nil && u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		logger.Warn("the issuer is plain http on a network address: passwords and tokens cross the network in clear text, and the browser pages are off; use an https issuer behind a TLS-terminating proxy, or --tls-cert", "issuer", cfg.Issuer)
	}
	if cfg.NoRateLimits {
		logger.Warn("LOAD-TEST MODE: brute-force and abuse limits are off")
	}
	for _, p := range cfg.trustedProxies {
		if p.Bits() == 0 {
			// Every peer is then a proxy: any client names its own
			// address in X-Forwarded-For and escapes the per-address limits.
			logger.Warn("--trusted-proxies trusts every address: any client can choose the address latch sees (and limits); list only your proxies", "prefix", p.String())
		}
	}

	// Background work ends before the store closes (the deferred a.Close).
	bg, stopBG := context.WithCancel(context.Background())
	var done []chan struct{}
	goBG := func(fn func()) {
		ch := make(chan struct{})
		done = append(done, ch)
		go func() { defer close(ch); fn() }()
	}
	defer func() {
		stopBG()
		for _, ch := range done {
			<-ch
		}
	}()
	// The follower keeps the session cache honest across processes; until
	// it has caught up, every request reads the database.
	goBG(func() { a.svc.FollowRevocations(bg, latch.FollowerConfig{}) })
	// Key reloads (a rotation by the CLI or another node; retirement of keys
	// whose tokens have expired) and limit-counter pruning.
	goBG(func() { a.svc.RunMaintenance(bg, latch.MaintenanceConfig{KeyReload: cfg.KeyReload}) })
	// Ended sessions, old revocation events and old audit events are
	// deleted hourly, so the database does not grow without bound.
	goBG(func() {
		a.svc.RunSweeper(bg, latch.Retention{Sessions: latch.DefaultRetention().Sessions, Audit: cfg.AuditRetention}, time.Hour)
	})
	goBG(func() {
		m.CountActiveSessions(bg, cfg.ActiveEvery, func(ctx context.Context) (int64, error) {
			n, _, err := a.svc.ActiveSessions(ctx)
			return n, err
		}, logger)
	})

	return h.run(ctx, cfg, logger)
}

// newHTTPServer applies the timeouts: a slow client is cut off (headers
// within ReadHeaderTimeout, the whole request within ReadTimeout), so a
// slowloris holds a connection for seconds, not forever.
func newHTTPServer(h http.Handler, cfg Config, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slogErrorLog(logger),
	}
}

// run serves until ctx ends, then drains: /readyz reports not-ready for
// the shutdown delay, the listeners close, and in-flight requests get the
// shutdown timeout to finish. A drain that runs out of time is an error.
func (h *serveHTTP) run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	errc := make(chan error, 2)
	go func() {
		if h.tls {
			errc <- h.main.ServeTLS(h.mainLn, "", "")
			return
		}
		errc <- h.main.Serve(h.mainLn)
	}()
	attrs := []any{"addr", h.mainLn.Addr().String(), "tls", h.tls, "db", cfg.dbForLogs(), "issuer", cfg.Issuer, "version", version()}
	if h.metrics != nil {
		go func() { errc <- h.metrics.Serve(h.metricsLn) }()
		attrs = append(attrs, "metrics_addr", h.metricsLn.Addr().String())
	}
	logger.Info("latch listening", attrs...)

	select {
	case err := <-errc:
		h.main.Close()
		if h.metrics != nil {
			h.metrics.Close()
		}
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	h.handler.Drain()
	if cfg.ShutdownDelay > 0 {
		logger.Info("shutting down: reporting not-ready before closing the listener", "delay", cfg.ShutdownDelay)
		time.Sleep(cfg.ShutdownDelay)
	}
	logger.Info("shutting down: draining in-flight requests", "timeout", cfg.ShutdownTimeout, "in_flight", h.handler.InFlight())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err := h.main.Shutdown(sctx)
	if err != nil {
		h.main.Close()
		err = fmt.Errorf("shutdown: in-flight requests still running after --shutdown-timeout %v were cut off", cfg.ShutdownTimeout)
	}
	if h.metrics != nil {
		// Scrapes are short: whatever is left of the timeout is plenty.
		if merr := h.metrics.Shutdown(sctx); merr != nil {
			h.metrics.Close()
		}
	}
	if err != nil {
		logger.Error("stopped", "err", err)
		return err
	}
	logger.Info("stopped")
	return nil
}
