package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/postgres"
)

// Config is the effective configuration of a latch process. Flags override
// LATCH_* environment variables, which override the defaults.
type Config struct {
	Addr            string
	DB              string
	SecretFile      string
	Issuer          string
	Audience        string
	AccessTTL       time.Duration
	RefreshGrace    time.Duration
	SessionMaxAge   time.Duration
	SessionIdle     time.Duration
	ShutdownTimeout time.Duration
	LogFormat       string
	LogLevel        string
	NoCache         bool
	BenchStateless  bool
}

func defaultConfig() Config {
	p := latch.DefaultPolicy()
	return Config{
		Addr:            "127.0.0.1:8080",
		DB:              "latch.db",
		AccessTTL:       p.AccessTTL,
		RefreshGrace:    p.RefreshGrace,
		SessionMaxAge:   p.MaxAge,
		SessionIdle:     p.IdleTimeout,
		ShutdownTimeout: 15 * time.Second,
		LogFormat:       "text",
		LogLevel:        "info",
	}
}

// register binds every option to fs. docs/configuration.md lists them.
func (c *Config) register(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address `host:port`")
	fs.StringVar(&c.DB, "db", c.DB, "SQLite database `file`, or a postgres:// URL (pool size: ?pool_max_conns=N)")
	fs.StringVar(&c.SecretFile, "secret-file", c.SecretFile, "`file` holding the installation secret (default: latch.secret beside a SQLite database; created on first start; required with PostgreSQL)")
	fs.StringVar(&c.Issuer, "issuer", c.Issuer, "token issuer `URL` (iss) (default http://<addr>)")
	fs.StringVar(&c.Audience, "audience", c.Audience, "token audience (aud) (default: the issuer)")
	fs.DurationVar(&c.AccessTTL, "access-token-ttl", c.AccessTTL, "access token lifetime")
	fs.DurationVar(&c.RefreshGrace, "refresh-reuse-grace", c.RefreshGrace, "window in which the previous refresh token returns the same successor")
	fs.DurationVar(&c.SessionMaxAge, "session-max-age", c.SessionMaxAge, "absolute session lifetime")
	fs.DurationVar(&c.SessionIdle, "session-idle-timeout", c.SessionIdle, "session ends after this long without use")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long SIGTERM waits for in-flight requests")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: text or json")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn or error")
	fs.BoolVar(&c.NoCache, "no-cache", c.NoCache, "verify every signature and read the session from the database on every request (benchmark baseline)")
	fs.BoolVar(&c.BenchStateless, "insecure-bench-stateless", c.BenchStateless, "BENCHMARK ONLY: skip the session check entirely (revoked tokens stay valid); refused unless --addr is a loopback address")
}

// envName is the environment variable of a flag: --access-token-ttl is
// LATCH_ACCESS_TOKEN_TTL.
func envName(flagName string) string {
	return "LATCH_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags parses args into fs and then fills every flag not given on the
// command line from its LATCH_* variable.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %v", envName(f.Name), err))
			}
		}
	})
	if len(errs) > 0 {
		return &usageError{errors.Join(errs...)}
	}
	return nil
}

// finish fills derived defaults and validates every field, reporting all
// problems at once.
func (c *Config) finish() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("--%s: %s", name, fmt.Sprintf(format, args...)))
	}
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		bad("addr", "must be host:port (%v)", err)
	}
	if c.Issuer == "" {
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		c.Issuer = "http://" + net.JoinHostPort(host, port)
	}
	if u, err := url.Parse(c.Issuer); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("issuer", "must be an absolute http(s) URL")
	}
	if c.Audience == "" {
		c.Audience = c.Issuer
	}
	switch {
	case c.DB == "":
		bad("db", "must not be empty")
	case postgres.IsURL(c.DB):
		if _, err := url.Parse(c.DB); err != nil {
			bad("db", "is not a valid URL")
		}
		// Every node must seal and open signing keys with the same secret,
		// and a database server has no "beside" to put a file in.
		if c.SecretFile == "" {
			bad("secret-file", "is required with a PostgreSQL database: give every node the same secret file")
		}
	case strings.Contains(c.DB, "://"):
		bad("db", "must be a file path or a postgres:// URL")
	case c.SecretFile == "":
		c.SecretFile = filepath.Join(filepath.Dir(c.DB), "latch.secret")
	}
	switch {
	case c.AccessTTL < time.Minute || c.AccessTTL > 24*time.Hour:
		bad("access-token-ttl", "must be between 1m and 24h")
	}
	if c.RefreshGrace < 0 || c.RefreshGrace > 5*time.Minute {
		bad("refresh-reuse-grace", "must be between 0s and 5m")
	}
	if c.SessionMaxAge < c.AccessTTL {
		bad("session-max-age", "must be at least the access token TTL")
	}
	if c.SessionIdle < 0 {
		bad("session-idle-timeout", "must not be negative (0 disables it)")
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown-timeout", "must be positive")
	}
	if c.BenchStateless {
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			bad("insecure-bench-stateless", "only allowed with a loopback --addr: it lets revoked tokens through")
		}
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("log-format", "must be text or json")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log-level", "must be debug, info, warn or error")
	}
	return errors.Join(errs...)
}

func (c *Config) policy() latch.Policy {
	return latch.Policy{AccessTTL: c.AccessTTL, MaxAge: c.SessionMaxAge, IdleTimeout: c.SessionIdle, RefreshGrace: c.RefreshGrace}
}
