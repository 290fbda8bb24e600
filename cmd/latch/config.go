package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/postgres"
)

// Config is the effective configuration of a latch process. Each option is
// a flag registered in register; loadConfig (load.go) also fills it from
// LATCH_* environment variables and the config file, in that order of
// precedence after the command line. An option added to register gets its
// variable, its config-file key, its line in --print-config and its row in
// docs/configuration.md (the test fails until the table is regenerated)
// without further work.
type Config struct {
	ConfigFile        string
	Addr              string
	DB                string
	SecretFile        string
	Issuer            string
	Audience          string
	AccessTTL         time.Duration
	RefreshGrace      time.Duration
	SessionMaxAge     time.Duration
	SessionIdle       time.Duration
	ShutdownTimeout   time.Duration
	ShutdownDelay     time.Duration
	MetricsAddr       string
	ActiveEvery       time.Duration
	AuditRetention    time.Duration
	LogFormat         string
	LogLevel          string
	NoCache           bool
	issuerDefaulted   bool // Issuer was derived from Addr
	audienceDefaulted bool // Audience was derived from Issuer
	BenchStateless    bool

	// secretFiles holds the value of each --NAME-file twin of a secret option.
	secretFiles map[string]*string
	// origin says where each option's value came from (--print-config).
	origin map[string]string
	// unparsed marks the options whose LATCH_* or config-file value did
	// not parse: that error is reported, and finish checks nothing more.
	unparsed map[string]bool

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
		ActiveEvery:     time.Minute,
		AuditRetention:  latch.DefaultRetention().Audit,
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

// register binds every option to fs. The usage strings are the
// documentation: docs/configuration.md's table is generated from them.
func (c *Config) register(fs *flag.FlagSet) {
	fs.StringVar(&c.ConfigFile, "config", c.ConfigFile, "read options from this `file` (lines of name = value; see docs/configuration.md); flags and LATCH_* variables override it")
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address `host:port`: an IP address or host name (empty: every interface) and a port number (0: any free port)")
	fs.StringVar(&c.DB, "db", c.DB, "SQLite database `file`, or a postgres:// URL (pool size: ?pool_max_conns=N); keep a password out of argv with --db-file")
	fs.StringVar(&c.SecretFile, "secret-file", c.SecretFile, "`file` holding the installation secret (default: latch.secret beside a SQLite database; created on first start; required with PostgreSQL)")
	fs.StringVar(&c.Issuer, "issuer", c.Issuer, "token issuer `URL` (iss): the public URL clients use (default: http://ADDR when --addr is loopback and the database is SQLite; required otherwise: with a non-loopback --addr, and with PostgreSQL, where every node must use the same URL)")
	fs.StringVar(&c.Audience, "audience", c.Audience, "token audience (aud) (default: the issuer)")
	fs.DurationVar(&c.AccessTTL, "access-token-ttl", c.AccessTTL, "access token lifetime, 1m to 24h")
	fs.DurationVar(&c.RefreshGrace, "refresh-reuse-grace", c.RefreshGrace, "window in which the previous refresh token returns the same successor, 0s to 5m")
	fs.DurationVar(&c.SessionMaxAge, "session-max-age", c.SessionMaxAge, "absolute session lifetime")
	fs.DurationVar(&c.SessionIdle, "session-idle-timeout", c.SessionIdle, "session ends after this long without use (0 disables)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long SIGTERM waits for in-flight requests")
	fs.DurationVar(&c.ShutdownDelay, "shutdown-delay", c.ShutdownDelay, "after SIGTERM, report not-ready on /readyz this long before closing the listener, so load balancers stop sending requests")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", c.MetricsAddr, "serve Prometheus /metrics on this `host:port` instead of on --addr")
	fs.DurationVar(&c.AuditRetention, "audit-retention", c.AuditRetention, "delete audit events older than this (0 keeps them forever); ended sessions are kept 30 days")
	fs.DurationVar(&c.ActiveEvery, "active-sessions-interval", c.ActiveEvery, "how often the latch_active_sessions gauge is recounted (one database query)")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: text or json")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn or error")
	fs.BoolVar(&c.NoCache, "no-cache", c.NoCache, "verify every signature and read the session from the database on every request (benchmark baseline)")
	fs.BoolVar(&c.BenchStateless, "insecure-bench-stateless", c.BenchStateless, "BENCHMARK ONLY: skip the session check entirely (revoked tokens stay valid); refused unless --addr is a loopback address")
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "PEM certificate chain `file`: serve HTTPS directly (with --tls-key)")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "PEM private key `file` for --tls-cert")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", c.TrustedProxies, "comma-separated `CIDRs` of reverse proxies whose X-Forwarded-For names the client (default: none, the TCP peer is the client)")
	fs.StringVar(&c.CORSOrigins, "cors-origins", c.CORSOrigins, "comma-separated browser `origins` (https://app.example) allowed to call the JSON API cross-origin (default: none)")
	fs.BoolVar(&c.NoRateLimits, "no-rate-limits", c.NoRateLimits, "LOAD TESTS ONLY: turn off the brute-force and abuse limits")
	fs.DurationVar(&c.KeyReload, "key-reload-interval", c.KeyReload, "how often the server re-reads signing keys (picks up \"latch keys rotate\" and retires old keys)")
	fs.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", c.ReadHeaderTimeout, "a client must send its request headers within this")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", c.ReadTimeout, "a client must send its whole request within this")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", c.WriteTimeout, "a response must be written within this")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", c.IdleTimeout, "an idle keep-alive connection is closed after this")
	c.registerSecretFiles(fs)
}

// secretOptions are the options that may hold a credential. Each gets a
// --NAME-file twin (and so LATCH_NAME_FILE and NAME-file in the config
// file) that reads the value from a file, such as a systemd credential or a
// mounted secret, so it never appears in argv or the environment. Their
// values are shown only through redact. An option added later that holds a
// credential belongs here.
var secretOptions = map[string]func(string) string{
	"db": redactDB,
}

func redactDB(v string) string {
	if postgres.IsURL(v) {
		return postgres.Redact(v)
	}
	// Not a URL latch understands, but it may still hold a credential (a
	// mistyped scheme, a keyword string, a config line pasted into
	// --db-file): show none of it.
	if l := strings.ToLower(v); strings.Contains(l, "://") || strings.Contains(l, "@") || strings.Contains(l, "password") {
		return "(redacted)"
	}
	return v
}

func (c *Config) registerSecretFiles(fs *flag.FlagSet) {
	c.secretFiles = map[string]*string{}
	for _, name := range sortedKeys(secretOptions) {
		p := new(string)
		c.secretFiles[name] = p
		fs.StringVar(p, name+"-file", "", fmt.Sprintf("read --%s from this `file` (trailing newline ignored)", name))
	}
}

// envName is the environment variable of a flag: --access-token-ttl is
// LATCH_ACCESS_TOKEN_TTL.
func envName(flagName string) string {
	return "LATCH_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// isLoopbackHost reports whether host names this machine only.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// finish fills derived defaults and validates every field, reporting all
// problems at once.
func (c *Config) finish() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		if c.unparsed[name] {
			return
		}
		errs = append(errs, fmt.Errorf("--%s: %s", name, fmt.Sprintf(format, args...)))
	}
	host, port, err := splitListenAddr(c.Addr)
	addrOK := err == nil
	if err != nil {
		bad("addr", "%v", err)
	}
	if c.Issuer == "" && err == nil {
		// The default suits only a server on this machine. Listening on a
		// network address means clients reach it by some public URL, which
		// latch cannot guess, and which decides cookie security (https
		// cookies are Secure): the operator must say it.
		if isLoopbackHost(host) {
			c.Issuer = "http://" + net.JoinHostPort(host, port)
			c.issuerDefaulted = true
		} else {
			bad("issuer", "is required when --addr is not a loopback address: set it to the URL clients use, e.g. https://auth.example.com")
		}
	}
	if c.Issuer != "" {
		if u, err := url.Parse(c.Issuer); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.HasSuffix(u.Path, "/") {
			bad("issuer", "must be an absolute http(s) URL without a trailing slash, query or fragment (e.g. https://auth.example.com)")
		} else if err := checkURLPort(u); err != nil {
			bad("issuer", "%v", err)
		}
	}
	if c.serving && c.issuerDefaulted && postgres.IsURL(c.DB) {
		// Nodes listen on different addresses but must mint and accept one
		// issuer: a default derived from each node's --addr would differ.
		bad("issuer", "is required with a PostgreSQL database: give every node the same public URL")
	}
	if c.Audience == "" {
		c.audienceDefaulted = true
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
	case strings.Contains(c.DB, "=") && (strings.Contains(c.DB, "password") || strings.Contains(c.DB, "host")):
		// A keyword connection string ("host=… password=…") would otherwise
		// become a SQLite file named after the password.
		bad("db", "looks like a keyword connection string; give a postgres:// URL")
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
	if c.SessionMaxAge < c.AccessTTL && !c.unparsed["access-token-ttl"] {
		bad("session-max-age", "must be at least the access token TTL")
	}
	if c.SessionIdle < 0 || (c.SessionIdle > 0 && c.SessionIdle < 2*time.Minute) {
		// Last-seen is written at most once a minute: a shorter timeout
		// would end sessions that are in use.
		bad("session-idle-timeout", "must be 0 (off) or at least 2m")
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown-timeout", "must be positive")
	}
	if c.ShutdownDelay < 0 || c.ShutdownDelay > 5*time.Minute {
		bad("shutdown-delay", "must be between 0s and 5m")
	}
	if c.MetricsAddr != "" {
		if _, mport, err := splitListenAddr(c.MetricsAddr); err != nil {
			bad("metrics-addr", "%v", err)
		} else if c.MetricsAddr == c.Addr && mport != "0" {
			bad("metrics-addr", "must differ from --addr (leave it empty to serve /metrics on --addr)")
		}
	}
	if c.AuditRetention < 0 || (c.AuditRetention > 0 && c.AuditRetention < 24*time.Hour) {
		bad("audit-retention", "must be 0 (keep forever) or at least 24h")
	}
	if c.ActiveEvery < time.Second {
		bad("active-sessions-interval", "must be at least 1s")
	}
	// An empty host (":8080") is every interface: refused like any other
	// network address. Only an --addr that did not parse is left to its
	// own error.
	if c.BenchStateless && addrOK {
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			bad("insecure-bench-stateless", "only allowed with a loopback --addr: it lets revoked tokens through")
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("tls-cert", "--tls-cert and --tls-key go together")
	}
	if c.TLSCert != "" && strings.HasPrefix(c.Issuer, "http://") && c.issuerDefaulted {
		// Serving HTTPS itself, latch is reached at https://.
		c.Issuer = "https://" + strings.TrimPrefix(c.Issuer, "http://")
		if c.audienceDefaulted {
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
	if c.ReadHeaderTimeout > c.ReadTimeout && !c.unparsed["read-timeout"] {
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

// splitListenAddr checks a listen address and splits it. The host is empty
// (every interface), an IP address or a host name; the port is a number from
// 0 to 65535 (0: any free port). Service names ("http"), which net.Listen
// would also take, are refused: they resolve through the host's
// /etc/services, which minimal containers lack, so the same configuration
// would start on one machine and not another, and the issuer derived from a
// loopback --addr must be a URL, whose port is a number.
func splitListenAddr(addr string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(addr)
	if err != nil {
		return "", "", fmt.Errorf("must be host:port, e.g. 127.0.0.1:8080 or :8080 (%q: %v)", addr, unwrapAddrError(err))
	}
	if err := checkPort(port); err != nil {
		return "", "", fmt.Errorf("%q: %v", addr, err)
	}
	if host != "" && !isHostName(host) {
		if _, err := netip.ParseAddr(host); err != nil {
			return "", "", fmt.Errorf("%q: host %q is neither an IP address nor a host name", addr, host)
		}
	}
	return host, port, nil
}

// unwrapAddrError drops the *net.AddrError's repetition of the address.
func unwrapAddrError(err error) error {
	if ae, ok := err.(*net.AddrError); ok {
		return errors.New(ae.Err)
	}
	return err
}

// checkPort accepts a decimal port number, 0 to 65535.
func checkPort(port string) error {
	if port == "" || strings.Trim(port, "0123456789") != "" {
		return fmt.Errorf("port %q is not a number (0 to 65535)", port)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n > 65535 {
		return fmt.Errorf("port %s is out of range (0 to 65535)", port)
	}
	return nil
}

// checkURLPort checks the port of a URL, if it has one: url.Parse accepts
// any digits.
func checkURLPort(u *url.URL) error {
	if p := u.Port(); p != "" {
		return checkPort(p)
	}
	return nil
}

// isHostName reports whether s is a syntactically valid host name as Go's
// resolver takes it: dot-separated labels of letters, digits, underscores
// and inner hyphens, at most 63 bytes each and 253 in all. All-numeric
// names are left to the IP parser.
func isHostName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 || strings.Trim(s, "0123456789.") == "" {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
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
	return checkURLPort(u)
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
