package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/server"
)

const serveUsage = `Usage: latch serve [flags]

Runs the HTTP server. With no flags it listens on 127.0.0.1:8080 and keeps
everything in the SQLite file latch.db in the working directory, creating it,
the installation secret (latch.secret) and the first signing key on first
start. Every flag can also be set with its LATCH_* environment variable
(--access-token-ttl is LATCH_ACCESS_TOKEN_TTL); flags win.

Flags:
`

// loadConfig parses a command's flags over the environment and validates.
func loadConfig(env *environ, name, usageText string, args []string, extra func(*flag.FlagSet)) (Config, error) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("latch "+name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageText)
		fs.PrintDefaults()
	}
	cfg.register(fs)
	if extra != nil {
		extra(fs)
	}
	if err := parseFlags(fs, args, env.getenv); err != nil {
		return cfg, err
	}
	if err := cfg.finish(); err != nil {
		return cfg, &usageError{err}
	}
	return cfg, nil
}

func serve(ctx context.Context, env *environ, args []string) error {
	cfg, err := loadConfig(env, "serve", serveUsage, args, nil)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	logger := newLogger(env.stderr, cfg)
	cfg.serving = true
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

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	handler := server.New(a.svc, a.store, server.Options{Logger: logger, Ready: a.store.CheckSchema, PublicURL: cfg.Issuer,
		TrustedProxies: cfg.trustedProxies, CORSOrigins: cfg.corsOrigins})
	// A slow client is cut off: headers must arrive within
	// ReadHeaderTimeout and the whole request within ReadTimeout, so a
	// slowloris holds a connection for seconds, not forever.
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slogErrorLog(logger),
		TLSConfig:         tlsConfig,
	}
	if cfg.NoRateLimits {
		logger.Warn("LOAD-TEST MODE: brute-force and abuse limits are off")
	}
	if cfg.BenchStateless {
		logger.Warn("INSECURE BENCHMARK MODE: sessions are not checked; revoked tokens stay valid until they expire")
	}
	// The follower keeps the session cache honest across processes; until
	// it has caught up, every request reads the database.
	fctx, stopFollower := context.WithCancel(context.Background())
	followerDone := make(chan struct{})
	go func() {
		defer close(followerDone)
		a.svc.FollowRevocations(fctx, latch.FollowerConfig{})
	}()
	defer func() { stopFollower(); <-followerDone }()
	// Key reloads (a rotation by the CLI or another node; retirement of
	// keys whose tokens have expired) and limit-counter pruning.
	mctx, stopMaintenance := context.WithCancel(context.Background())
	maintenanceDone := make(chan struct{})
	go func() {
		defer close(maintenanceDone)
		a.svc.RunMaintenance(mctx, latch.MaintenanceConfig{KeyReload: cfg.KeyReload})
	}()
	defer func() { stopMaintenance(); <-maintenanceDone }()

	logger.Info("latch listening", "addr", ln.Addr().String(), "tls", tlsConfig != nil, "db", cfg.DB, "issuer", cfg.Issuer, "version", version())

	errc := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: draining in-flight requests", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}
