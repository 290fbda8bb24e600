package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/latchauth/latch"
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

	// Transport and abuse (hostile-input work).
	TLSCert        string
	TLSKey         string
	TrustedProxies string // comma-separated CIDRs or addresses
	CORSOrigins    string // comma-separated origins
	NoRateLimits   bool
	KeyReload      time.Duration

	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration

	trustedProxies []netip.Prefix // parsed TrustedProxies
	corsOrigins    []string       // parsed CORSOrigins
	serving        bool           // latch serve, not an admin command
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
		KeyReload:       30 * time.Second,

		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
}

// maxHeaderBytes caps request headers (http.Server.MaxHeaderBytes); the
// largest legitimate header is a cookie pair or a bearer token, well under it.
const maxHeaderBytes = 32 << 10

// register binds every option to fs. docs/configuration.md lists them.
func (c *Config) register(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address `host:port`")
	fs.StringVar(&c.DB, "db", c.DB, "SQLite database `file`")
	fs.StringVar(&c.SecretFile, "secret-file", c.SecretFile, "`file` holding the installation secret (default: latch.secret beside the database; created on first start)")
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
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "PEM certificate chain `file`: serve HTTPS directly (with --tls-key)")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "PEM private key `file` for --tls-cert")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", c.TrustedProxies, "comma-separated `CIDRs` of reverse proxies whose X-Forwarded-For names the client (default: none, the TCP peer is the client)")
	fs.StringVar(&c.CORSOrigins, "cors-origins", c.CORSOrigins, "comma-separated browser `origins` (https://app.example) allowed to call the JSON API cross-origin (default: none)")
	fs.BoolVar(&c.NoRateLimits, "no-rate-limits", c.NoRateLimits, "LOAD TESTS ONLY: turn off the brute-force and abuse limits")
	fs.DurationVar(&c.KeyReload, "key-reload-interval", c.KeyReload, "how often the server re-reads signing keys (picks up `latch keys rotate` and retires old keys)")
	fs.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", c.ReadHeaderTimeout, "a client must send its request headers within this")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", c.ReadTimeout, "a client must send its whole request within this")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", c.WriteTimeout, "a response must be written within this")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", c.IdleTimeout, "an idle keep-alive connection is closed after this")
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
	issuerGiven, audienceGiven := c.Issuer != "", c.Audience != ""
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
	if c.DB == "" {
		bad("db", "must not be empty")
	}
	if c.SecretFile == "" && c.DB != "" {
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
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("tls-cert", "--tls-cert and --tls-key go together")
	}
	if c.TLSCert != "" && strings.HasPrefix(c.Issuer, "http://") && !issuerGiven {
		// Serving HTTPS itself, latch is reached at https://.
		c.Issuer = "https://" + strings.TrimPrefix(c.Issuer, "http://")
		if !audienceGiven {
			c.Audience = c.Issuer
		}
	}
	c.trustedProxies = nil
	for _, p := range splitList(c.TrustedProxies) {
		pfx, err := parsePrefix(p)
		if err != nil {
			bad("trusted-proxies", "%q is not an address or CIDR", p)
			continue
		}
		c.trustedProxies = append(c.trustedProxies, pfx)
	}
	c.corsOrigins = nil
	for _, o := range splitList(c.CORSOrigins) {
		if err := checkOrigin(o); err != nil {
			bad("cors-origins", "%q: %v", o, err)
			continue
		}
		c.corsOrigins = append(c.corsOrigins, o)
	}
	if c.KeyReload < time.Second || c.KeyReload > latch.KeyPropagation {
		bad("key-reload-interval", "must be between 1s and %v", latch.KeyPropagation)
	}
	for _, t := range []struct {
		name string
		d    time.Duration
	}{{"read-header-timeout", c.ReadHeaderTimeout}, {"read-timeout", c.ReadTimeout}, {"write-timeout", c.WriteTimeout}, {"idle-timeout", c.IdleTimeout}} {
		if t.d <= 0 || t.d > 10*time.Minute {
			bad(t.name, "must be between 0s and 10m (exclusive of 0)")
		}
	}
	if c.ReadHeaderTimeout > c.ReadTimeout {
		bad("read-header-timeout", "must not exceed --read-timeout")
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

// splitList splits a comma-separated option, dropping empty items.
func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// parsePrefix reads a CIDR or a single address (as a /32 or /128).
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if p.Addr().Is4In6() {
			return netip.Prefix{}, errors.New("IPv4-mapped prefix")
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// checkOrigin accepts exactly an origin: http(s)://host[:port], nothing
// else. "*" and "null" are refused: the allowlist is explicit.
func checkOrigin(o string) error {
	u, err := url.Parse(o)
	switch {
	case o == "*" || o == "null":
		return errors.New("wildcards and null are not allowed; list each origin")
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return errors.New("must be http(s)://host[:port]")
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.Contains(u.Host, "*"):
		return errors.New("an origin has no path, query, user or wildcard")
	}
	return nil
}

// limits are the abuse limits: latch's defaults, or off for load tests.
func (c *Config) limits() latch.Limits {
	if c.NoRateLimits {
		return latch.Limits{Off: true}
	}
	return latch.DefaultLimits()
}

func (c *Config) policy() latch.Policy {
	return latch.Policy{AccessTTL: c.AccessTTL, MaxAge: c.SessionMaxAge, IdleTimeout: c.SessionIdle, RefreshGrace: c.RefreshGrace}
}
