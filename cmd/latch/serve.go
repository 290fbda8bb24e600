package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/server"
)

const serveUsage = `Usage: latch serve [flags]

Runs the HTTP server. With no flags it listens on 127.0.0.1:8080 and keeps
everything in the SQLite file latch.db in the working directory, creating it,
the installation secret (latch.secret) and the first signing key on first
start. With --db postgres://USER:PASSWORD@HOST/DB (or LATCH_DB) it uses that
PostgreSQL database instead, so several nodes can share it; then
--secret-file is required and must hold the same secret on every node.
Every flag can also be set with its LATCH_* environment variable
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
	a, err := openApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.Close()

	// Start-up hashed a dummy password (argon2id takes 19 MiB): hand that
	// memory back now rather than whenever the scavenger gets to it.
	debug.FreeOSMemory()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	handler := server.New(a.svc, a.store, server.Options{Logger: logger, Ready: a.store.CheckSchema, PublicURL: cfg.Issuer})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slogErrorLog(logger),
	}
	// Shutdown waits for handlers; event streams end only when told to.
	srv.RegisterOnShutdown(handler.EndStreams)
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

	logger.Info("latch listening", "addr", ln.Addr().String(), "db", cfg.dbForLogs(), "issuer", cfg.Issuer, "version", version())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
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
