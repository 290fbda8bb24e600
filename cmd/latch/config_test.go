package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func load(t *testing.T, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	e := &environ{getenv: func(k string) string { return env[k] }, stdout: io.Discard, stderr: io.Discard}
	return loadConfig(e, "serve", "", args, nil)
}

// Flags override LATCH_* variables, which override the config file, which
// overrides the defaults; each value knows where it came from.
func TestConfigLayers(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "latch.conf", `# a comment
addr = "127.0.0.1:7000"   # quoted, with a comment
access-token-ttl = 20m
session-idle-timeout = "48h"
log-format = json
no-cache = true
`)
	env := map[string]string{"LATCH_CONFIG": file, "LATCH_ADDR": "127.0.0.1:7001", "LATCH_LOG_LEVEL": "debug"}
	cfg, err := load(t, env, "--addr", "127.0.0.1:7002", "--access-token-ttl", "30m")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		got, want any
		name      string
		origin    string
	}{
		{cfg.Addr, "127.0.0.1:7002", "addr", "flag --addr"},
		{cfg.AccessTTL, 30 * time.Minute, "access-token-ttl", "flag --access-token-ttl"},
		{cfg.LogLevel, "debug", "log-level", "env LATCH_LOG_LEVEL"},
		{cfg.SessionIdle, 48 * time.Hour, "session-idle-timeout", "file " + file + ":4"},
		{cfg.LogFormat, "json", "log-format", "file " + file + ":5"},
		{cfg.NoCache, true, "no-cache", "file " + file + ":6"},
		{cfg.ConfigFile, file, "config", "env LATCH_CONFIG"},
		{cfg.RefreshGrace, 10 * time.Second, "refresh-reuse-grace", ""},
	}
	for _, w := range want {
		if w.got != w.want || cfg.origin[w.name] != w.origin {
			t.Errorf("%s = %v from %q, want %v from %q", w.name, w.got, cfg.origin[w.name], w.want, w.origin)
		}
	}
	// Without the flag, the variable beats the file.
	cfg, err = load(t, env)
	if err != nil || cfg.Addr != "127.0.0.1:7001" || cfg.AccessTTL != 20*time.Minute {
		t.Errorf("without flags: addr %q ttl %v err %v", cfg.Addr, cfg.AccessTTL, err)
	}
	// --config beats LATCH_CONFIG.
	other := writeFile(t, dir, "other.conf", "access-token-ttl = 5m\n")
	cfg, err = load(t, env, "--config", other)
	if err != nil || cfg.AccessTTL != 5*time.Minute || cfg.origin["config"] != "flag --config" {
		t.Errorf("--config: ttl %v origin %q err %v", cfg.AccessTTL, cfg.origin["config"], err)
	}
}

// Every problem, from every layer, is reported at once as a usage error.
func TestConfigAllErrorsAtOnce(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "latch.conf", `adr = "127.0.0.1:1"
access-token-ttl = 20m
access-token-ttl = 21m
session-max-age = forever
no equals sign here
`)
	env := map[string]string{"LATCH_CONFIG": file, "LATCH_REFRESH_REUSE_GRACE": "soon"}
	_, err := load(t, env, "--log-format", "xml")
	var ue *usageError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want a usage error", err)
	}
	for _, want := range []string{
		file + `:1: unknown option "adr"`,
		file + `:3: "access-token-ttl" is already set on line 2`,
		file + `:4: invalid value "forever" for --session-max-age`,
		file + `:5: want "name = value"`,
		`LATCH_REFRESH_REUSE_GRACE: invalid value "soon"`,
		"--log-format: must be text or json",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := load(t, nil, "--config", filepath.Join(dir, "missing.conf")); err == nil || !strings.Contains(err.Error(), "missing.conf") {
		t.Errorf("missing config file: %v", err)
	}
	if _, err := load(t, nil, "--config", writeFile(t, dir, "loop.conf", "config = x.conf\n")); err == nil || !strings.Contains(err.Error(), "cannot name another config file") {
		t.Errorf("config in config: %v", err)
	}
}

func TestParseConfigLine(t *testing.T) {
	for _, tt := range []struct {
		line, name, value, err string
	}{
		{`addr = 127.0.0.1:80`, "addr", "127.0.0.1:80", ""},
		{`addr=127.0.0.1:80 # trailing`, "addr", "127.0.0.1:80", ""},
		{`db = "a # not a comment"`, "db", "a # not a comment", ""},
		{`db = "tab\there \"q\""  # c`, "db", "tab\there \"q\"", ""},
		{`db = "x" y`, "", "", "text after"},
		{`db = "open`, "", "", "unterminated"},
		{`Addr = x`, "", "", "bad option name"},
		{`db_file = x`, "", "", "bad option name"},
		{`= x`, "", "", "bad option name"},
		{`just words`, "", "", "name = value"},
		{`db =`, "db", "", ""},
	} {
		name, value, err := parseConfigLine(tt.line)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseConfigLine(%q) error = %v, want %q", tt.line, err, tt.err)
			}
			continue
		}
		if err != nil || name != tt.name || value != tt.value {
			t.Errorf("parseConfigLine(%q) = %q, %q, %v, want %q, %q", tt.line, name, value, err, tt.name, tt.value)
		}
	}
}

func FuzzParseConfigFile(f *testing.F) {
	f.Add("addr = \"127.0.0.1:1\"\n# c\ndb=x # y\n")
	f.Add(`db = "\u00e9\\"` + "\n")
	known := map[string]bool{"addr": true, "db": true}
	f.Fuzz(func(t *testing.T, text string) {
		out, err := parseConfigFile("f", text, known)
		if err == nil {
			for k := range out {
				if !known[k] {
					t.Fatalf("unknown key %q accepted", k)
				}
			}
		}
	})
}

const pgPassword = "s3cr3t-pg-pw"

// A secret option can come from a file, named by flag, variable or config
// key; the file's value beats a lower layer's plain value, and the secret
// never shows up in --print-config or an error.
func TestSecretFromFile(t *testing.T) {
	dir := t.TempDir()
	url := "postgres://latch:" + pgPassword + "@db.example/latch"
	dbFile := writeFile(t, dir, "db-url", url+"\n")
	secret := writeFile(t, dir, "latch.secret", strings.Repeat("ab", 32))
	for _, tt := range []struct {
		name   string
		env    map[string]string
		args   []string
		origin string
	}{
		{"flag", nil, []string{"--db-file", dbFile}, "read from --db-file"},
		{"env", map[string]string{"LATCH_DB_FILE": dbFile}, nil, "read from --db-file"},
		{"env beats file's plain db", map[string]string{"LATCH_DB_FILE": dbFile, "LATCH_CONFIG": writeFile(t, dir, "a.conf", "db = other.db\n")}, nil, "read from --db-file"},
		{"config key", nil, []string{"--config", writeFile(t, dir, "b.conf", "db-file = "+dbFile+"\n")}, "read from --db-file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := load(t, tt.env, append(tt.args, "--secret-file", secret, "--issuer", "https://id.example")...)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.DB != url || cfg.origin["db"] != tt.origin {
				t.Errorf("db from %q, want the URL from %q", cfg.origin["db"], tt.origin)
			}
		})
	}
	// A plain --db flag beats LATCH_DB_FILE: flags win.
	cfg, err := load(t, map[string]string{"LATCH_DB_FILE": dbFile}, "--db", filepath.Join(dir, "x.db"))
	if err != nil || cfg.DB != filepath.Join(dir, "x.db") {
		t.Errorf("--db vs LATCH_DB_FILE: %q %v", cfg.DB, err)
	}
	// Both in one layer is ambiguous.
	if _, err := load(t, nil, "--db", "x.db", "--db-file", dbFile); err == nil || !strings.Contains(err.Error(), "give one") {
		t.Errorf("--db and --db-file: %v", err)
	}
	for _, p := range []string{filepath.Join(dir, "absent"), writeFile(t, dir, "empty", "\n")} {
		_, err := load(t, nil, "--db-file", p)
		if err == nil || !strings.Contains(err.Error(), "--db-file") {
			t.Errorf("--db-file %s: %v", p, err)
		}
	}
	// --print-config: secrets redacted, sources named, exit 0.
	out, errOut, code, err := runCLI(t, map[string]string{"LATCH_DB_FILE": dbFile, "LATCH_ISSUER": "https://" + "id.example"}, "", "serve", "--print-config", "--secret-file", secret)
	if code != 0 {
		t.Fatalf("--print-config: exit %d %v", code, err)
	}
	for _, want := range []string{
		`# db `, `"postgres://latch:xxxxx@db.example/latch"`, "# read from --db-file",
		`db-file `, "# env LATCH_DB_FILE",
		`issuer `, `"https://id.example"`, "# env LATCH_ISSUER",
		`audience `, "# derived",
		`secret-file `, "# flag --secret-file",
		`access-token-ttl `, "# default",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("--print-config lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+errOut, pgPassword) {
		t.Fatalf("--print-config shows the password:\n%s", out)
	}
	// An invalid configuration is refused (exit 2), and not printed: the
	// printout redirected to a file would look usable.
	out, _, code, err = runCLI(t, map[string]string{"LATCH_DB": url}, "", "serve", "--print-config")
	if code != 2 || !strings.Contains(err.Error(), "--secret-file") || strings.Contains(err.Error(), pgPassword) || out != "" {
		t.Errorf("--print-config of a bad config: exit %d, %v\n%s", code, err, out)
	}
	// The start-up log line redacts too.
	cfg, _ = load(t, map[string]string{"LATCH_DB_FILE": dbFile}, "--secret-file", secret, "--issuer", "https://id.example")
	if attrs := fmt.Sprint(cfg.redactedAttrs()...); !strings.Contains(attrs, "xxxxx") || strings.Contains(attrs, pgPassword) {
		t.Errorf("redactedAttrs: %s", attrs)
	}
}

// Options added to Config.register (as other changes do) get a variable,
// a config-file key and a line in --print-config with no further work.
func TestNewOptionsJoinEveryLayer(t *testing.T) {
	file := writeFile(t, t.TempDir(), "c.conf", "brand-new = from-file\n")
	setup := func() (*Config, *flag.FlagSet, map[string]bool, *string) {
		c := defaultConfig()
		c.ConfigFile = file
		fs := flag.NewFlagSet("", flag.ContinueOnError)
		c.register(fs)
		extra := new(string)
		fs.StringVar(extra, "brand-new", "x", "an option a later change adds")
		shared := map[string]bool{}
		fs.VisitAll(func(f *flag.Flag) { shared[f.Name] = true })
		return &c, fs, shared, extra
	}
	c, fs, shared, extra := setup()
	if errs := c.layer(fs, shared, func(string) string { return "" }); len(errs) > 0 || *extra != "from-file" {
		t.Fatalf("file: %q %v", *extra, errs)
	}
	c, fs, shared, extra = setup()
	env := func(k string) string {
		if k == "LATCH_BRAND_NEW" {
			return "from-env"
		}
		return ""
	}
	if errs := c.layer(fs, shared, env); len(errs) > 0 || *extra != "from-env" {
		t.Fatalf("env: %q %v", *extra, errs)
	}
	var b strings.Builder
	c.printConfig(&b, fs, shared)
	if !strings.Contains(b.String(), `brand-new`) || !strings.Contains(b.String(), "env LATCH_BRAND_NEW") {
		t.Errorf("print-config:\n%s", b.String())
	}
}

// Listen addresses are checked with the rest of the configuration, before
// anything is created, and --print-config reports them too: a port out of
// range must not first show up as a failed listen after latch.secret and
// the database exist.
func TestListenAddrs(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string // in the error; "" for a valid address
	}{
		{[]string{"--addr", "127.0.0.1:8080"}, ""},
		{[]string{"--addr", "127.0.0.1:0"}, ""},
		{[]string{"--addr", "127.0.0.1:65535"}, ""},
		{[]string{"--addr", "[::1]:8080"}, ""},
		{[]string{"--addr", "localhost:8080"}, ""},
		{[]string{"--addr", "my_host.internal:8080", "--issuer", "https://id.example"}, ""},
		{[]string{"--addr", ":8080", "--issuer", "https://id.example"}, ""},
		{[]string{"--addr", "[fe80::1%eth0]:8080", "--issuer", "https://id.example"}, ""},
		{[]string{"--metrics-addr", "127.0.0.1:9090"}, ""},
		{[]string{"--issuer", "https://id.example:8443"}, ""},
		{[]string{"--addr", "127.0.0.1:99999"}, `--addr: "127.0.0.1:99999": port 99999 is out of range`},
		{[]string{"--addr", "127.0.0.1:65536"}, "--addr: "},
		{[]string{"--addr", "127.0.0.1:-1"}, "--addr: "},
		{[]string{"--addr", "127.0.0.1:http"}, `port "http" is not a number`},
		{[]string{"--addr", "127.0.0.1:"}, "--addr: "},
		{[]string{"--addr", "127.0.0.1"}, "--addr: must be host:port"},
		{[]string{"--addr", "::1:8080"}, "--addr: must be host:port"},
		{[]string{"--addr", "999.0.0.1:8080"}, "neither an IP address nor a host name"},
		{[]string{"--addr", "bad host:8080"}, "--addr: "},
		{[]string{"--addr", "-x:8080"}, "--addr: "},
		{[]string{"--metrics-addr", "127.0.0.1:99999"}, "--metrics-addr: "},
		{[]string{"--metrics-addr", "9090"}, "--metrics-addr: must be host:port"},
		{[]string{"--issuer", "https://id.example:99999"}, "--issuer: port 99999"},
		{[]string{"--cors-origins", "https://app.example:70000"}, "--cors-origins: "},
		{[]string{"--db", "postgres://latch@127.0.0.1:1/latch", "--secret-file", "s"}, "--issuer: is required with a PostgreSQL database"},
	} {
		for _, pc := range []bool{false, true} {
			args := append([]string{"serve"}, tt.args...)
			if pc {
				args = append(args, "--print-config")
			} else if tt.want == "" {
				continue // would serve
			}
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				dir := t.TempDir()
				t.Chdir(dir)
				// Without the check, serve would start: stop it so the test
				// fails instead of hanging.
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				defer cancel()
				var out syncBuffer
				err := run(ctx, args, noEnv, strings.NewReader(""), &out, io.Discard)
				code := exitCode(err)
				if tt.want == "" {
					if code != 0 || !strings.Contains(out.String(), "addr") {
						t.Fatalf("latch %q: exit %d, %v", args, code, err)
					}
					return
				}
				if code != 2 || !strings.Contains(oneLine(err), tt.want) {
					t.Fatalf("latch %q: exit %d, %v; want exit 2 and %q", args, code, err, tt.want)
				}
				if out.String() != "" {
					t.Errorf("latch %q: printed %q", args, out.String())
				}
				if ents, _ := os.ReadDir(dir); len(ents) > 0 {
					t.Errorf("latch %q: created %v", args, ents)
				}
			})
		}
	}
}

// A value that does not parse is reported once, by its parse error: the
// option's range check, and the checks of options compared with it, are
// skipped rather than run on a zero value.
func TestParseErrorReportedOnce(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		env  map[string]string
		file string
		want string   // the one error
		not  []string // options the error must not mention besides
	}{
		{"file duration", nil, "addr = 127.0.0.1:8080\n\naccess-token-ttl = soon\n", `:3: invalid value "soon" for --access-token-ttl`, nil},
		{"env duration", map[string]string{"LATCH_ACCESS_TOKEN_TTL": "banana"}, "", `LATCH_ACCESS_TOKEN_TTL: invalid value "banana"`, nil},
		{"env bool", map[string]string{"LATCH_NO_CACHE": "maybe"}, "", `LATCH_NO_CACHE: invalid value "maybe"`, nil},
		{"file bool", nil, "insecure-bench-stateless = maybe\n", `:1: invalid value "maybe" for --insecure-bench-stateless`, nil},
		{"compared option", map[string]string{"LATCH_READ_TIMEOUT": "x"}, "", `LATCH_READ_TIMEOUT: invalid value "x"`, []string{"read-header-timeout"}},
		{"compared option, other side", nil, "access-token-ttl = soon\nsession-max-age = 2m\n", `invalid value "soon"`, []string{"session-max-age"}},
		{"env beats file", map[string]string{"LATCH_SESSION_IDLE_TIMEOUT": "y"}, "session-idle-timeout = 1s\n", `LATCH_SESSION_IDLE_TIMEOUT: invalid value "y"`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range tt.env {
				env[k] = v
			}
			if tt.file != "" {
				env["LATCH_CONFIG"] = writeFile(t, dir, strings.ReplaceAll(tt.name, " ", "_")+".conf", tt.file)
			}
			_, err := load(t, env)
			if err == nil {
				t.Fatalf("load(%v) = nil, want %q", env, tt.want)
			}
			msgs := strings.Split(err.Error(), "\n")
			if len(msgs) != 1 || !strings.Contains(msgs[0], tt.want) {
				t.Errorf("load(%v) = %q, want only %q", env, msgs, tt.want)
			}
			for _, n := range tt.not {
				if strings.Contains(err.Error(), n) {
					t.Errorf("load(%v) = %q, mentions %s", env, msgs, n)
				}
			}
		})
	}
}

// Stateless benchmark mode lets revoked tokens through, so it may listen on
// loopback only: an empty host (":8080", every interface) is a network
// address too.
func TestBenchStatelessLoopbackOnly(t *testing.T) {
	for _, tt := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:0", true},
		{"[::1]:0", true},
		{":8080", false},
		{"0.0.0.0:8080", false},
		{"192.0.2.1:8080", false},
		{"example.com:8080", false},
	} {
		t.Run(tt.addr, func(t *testing.T) {
			var out, errb syncBuffer
			err := run(t.Context(), []string{"serve", "--print-config", "--insecure-bench-stateless", "--issuer", "https://auth.example", "--addr", tt.addr,
				"--db", filepath.Join(t.TempDir(), "latch.db")}, noEnv, strings.NewReader(""), &out, &errb)
			refused := err != nil && strings.Contains(err.Error(), "--insecure-bench-stateless")
			if refused == tt.ok {
				t.Errorf("--addr %s: err %v, want refused %v", tt.addr, err, !tt.ok)
			}
		})
	}
}
