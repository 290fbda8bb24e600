package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/password"
	"github.com/latchauth/latch/postgres"
)

// app is a configured service on an open, migrated store.
type app struct {
	cfg    Config
	store  store
	svc    *latch.Service
	logger *slog.Logger
}

func newLogger(w io.Writer, cfg Config) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openApp opens the database, applies migrations, loads the secret (creating
// it on a brand-new installation) and builds the service.
func openApp(ctx context.Context, cfg Config, logger *slog.Logger) (_ *app, err error) {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if l, ok := st.(interface{ SetLogger(*slog.Logger) }); ok {
		l.SetLogger(logger) // the SQLite store reports a vanished file
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	n, err := st.Migrate(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", cfg.dbForLogs(), err)
	}
	if n > 0 {
		logger.Info("applied database migrations", "count", n, "db", cfg.dbForLogs())
	}
	secret, err := loadSecret(ctx, st, cfg.SecretFile, logger)
	if err != nil {
		return nil, err
	}
	svc, err := latch.NewService(ctx, st, secret, password.New(password.Options{}), latch.Config{
		Issuer: cfg.Issuer, Audience: cfg.Audience, Policy: cfg.policy(), Logger: logger,
		Cache: latch.CacheConfig{Disabled: cfg.NoCache}, Stateless: cfg.BenchStateless,
		Limits: cfg.limits(), KeysReadOnly: !cfg.serving,
	})
	if err != nil {
		return nil, err
	}
	return &app{cfg: cfg, store: st, svc: svc, logger: logger}, nil
}

func (a *app) Close() error {
	a.svc.Close()
	return a.store.Close()
}

// loadSecret reads the secret file. It is created only for a database that
// has never had one: if the database already knows a secret, a missing file
// is an error, never a reason to mint a new secret.
func loadSecret(ctx context.Context, st latch.Store, path string, logger *slog.Logger) (*latch.Secret, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		if info, serr := os.Stat(path); serr == nil && info.Mode().Perm()&0o077 != 0 {
			logger.Warn("the secret file is readable by other users; chmod 600 it", "file", path)
		}
		s, err := latch.ParseSecret(data)
		if err != nil {
			return nil, fmt.Errorf("secret file %s: %w", path, err)
		}
		return s, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("secret file: %w", err)
	}
	if _, merr := st.Meta(ctx, "secret_fingerprint"); merr == nil {
		return nil, fmt.Errorf("secret file %s is missing, but this database was initialised with a secret: restore that file", path)
	} else if !errors.Is(merr, latch.ErrNotFound) {
		return nil, fmt.Errorf("read database: %w", merr)
	}
	s, text, err := latch.GenerateSecret(rand.Reader)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create secret file: %w", err)
	}
	if _, err := f.Write(text); err != nil {
		f.Close()
		return nil, fmt.Errorf("write secret file: %w", err)
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return nil, fmt.Errorf("write secret file: %w", err)
	}
	logger.Info("created a new installation secret; back it up with the database", "file", path)
	return s, nil
}

// openAdminApp opens the database an admin command names. It never creates
// one: a mistyped --db, or a command run in the wrong directory, would
// otherwise silently work on a new, empty database with a new secret.
// (latch migrate and latch serve create the database.)
func openAdminApp(ctx context.Context, cfg Config, logger *slog.Logger) (*app, error) {
	if !postgres.IsURL(cfg.DB) {
		if _, err := os.Stat(cfg.DB); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("database %s does not exist: pass the right --db, or create it with latch migrate", cfg.DB)
		}
	}
	return openApp(ctx, cfg, logger)
}
