package main

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// runCLI runs the CLI with env as its environment and returns stdout,
// stderr and the exit code main would use.
func runCLI(t *testing.T, env map[string]string, stdin string, args ...string) (stdout, stderr string, code int, err error) {
	t.Helper()
	var out, errb syncBuffer
	err = run(t.Context(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), exitCode(err), err
}

// Every command and subcommand answers --help on stdout with exit status 0.
func TestHelpEverywhere(t *testing.T) {
	cmds := [][]string{
		{"--help"}, {"-h"}, {"help"}, {"help", "serve"},
		{"serve", "--help"}, {"serve", "-h"}, {"migrate", "--help"}, {"backup", "--help"}, {"audit", "--help"},
		{"version", "--help"},
		{"users", "--help"}, {"users", "create", "--help"}, {"users", "list", "--help"}, {"users", "disable", "--help"}, {"users", "enable", "--help"},
		{"sessions", "--help"}, {"sessions", "list", "--help"}, {"sessions", "revoke", "--help"},
		{"keys", "--help"}, {"keys", "list", "--help"}, {"keys", "rotate", "--help"},
		{"clients", "--help"}, {"clients", "add", "--help"}, {"clients", "add", "x", "-h"}, {"clients", "list", "--help"}, {"clients", "remove", "--help"},
	}
	for _, args := range cmds {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			// --help must win even over a broken environment.
			out, errOut, code, err := runCLI(t, map[string]string{"LATCH_ACCESS_TOKEN_TTL": "never"}, "", args...)
			if code != 0 || err != nil {
				t.Fatalf("latch %q: exit %d, %v", args, code, err)
			}
			if !strings.Contains(out, "Usage:") {
				t.Errorf("latch %q: stdout lacks usage:\n%s", args, out)
			}
			if errOut != "" {
				t.Errorf("latch %q: wrote to stderr: %q", args, errOut)
			}
		})
	}
	// Subcommand help lists its own flags and the database options, and
	// serve's lists every option.
	out, _, _, _ := runCLI(t, nil, "", "users", "disable", "--help")
	for _, want := range []string{"-email", "-db", "-db-file", "-config", "every other option"} {
		if !strings.Contains(out, want) {
			t.Errorf("users disable --help lacks %q:\n%s", want, out)
		}
	}
	out, _, _, _ = runCLI(t, nil, "", "serve", "--help")
	for _, want := range []string{"-print-config", "-metrics-addr", "-shutdown-timeout", "-db-file", "LATCH_"} {
		if !strings.Contains(out, want) {
			t.Errorf("serve --help lacks %q", want)
		}
	}
}

// Exit status: 0 success, 1 failure, 2 usage; every error is one line, and
// a failing command writes nothing else to stderr.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "x.db")
	if _, _, code, err := runCLI(t, nil, "", "migrate", "--db", db); code != 0 {
		t.Fatalf("migrate: %v", err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string // in the error
	}{
		{"admin on a missing database", []string{"users", "list", "--db", filepath.Join(dir, "typo.db")}, 1, "typo.db does not exist"},
		{"no command", []string{}, 2, "no command"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"bad flag", []string{"serve", "--nope"}, 2, "-nope"},
		{"stray argument", []string{"migrate", "now", "--db", db}, 2, `unexpected argument "now"`},
		{"bad duration", []string{"serve", "--access-token-ttl", "soon"}, 2, "access-token-ttl"},
		{"invalid config", []string{"serve", "--access-token-ttl", "1s", "--log-format", "xml", "--addr", "nohost"}, 2, "--log-format"},
		{"version", []string{"version"}, 0, ""},
		{"version extra", []string{"version", "now"}, 2, "no arguments"},
		{"users without sub", []string{"users"}, 2, "no users subcommand"},
		{"users unknown sub", []string{"users", "explode"}, 2, `unknown users subcommand "explode"`},
		{"keys without sub", []string{"keys"}, 2, "no keys subcommand"},
		{"sessions revoke without target", []string{"sessions", "revoke", "--db", db}, 2, "exactly one"},
		{"users disable without email", []string{"users", "disable", "--db", db}, 2, "--email"},
		{"disable unknown user", []string{"users", "disable", "--email", "ghost@example.com", "--db", db}, 1, "ghost@example.com"},
		{"create without password", []string{"users", "create", "--email", "a@example.com", "--db", db}, 2, "no password"},
		{"migrate", []string{"migrate", "--db", filepath.Join(dir, "m.db")}, 0, ""},
		{"users list", []string{"users", "list", "--db", db}, 0, ""},
		{"keys list", []string{"keys", "list", "--db", db}, 0, ""},
		{"audit", []string{"audit", "--db", db}, 0, ""},
		{"audit since 0 is no limit", []string{"audit", "--since", "0s", "--db", db}, 0, ""},
		{"audit since", []string{"audit", "--since", "24h", "--db", db}, 0, ""},
		{"audit negative since", []string{"audit", "--since", "-5h", "--db", db}, 2, "--since must not be negative"},
		{"audit limit 1", []string{"audit", "--limit", "1", "--db", db}, 0, ""},
		{"audit limit max", []string{"audit", "--limit", "10000", "--db", db}, 0, ""},
		{"audit limit 0", []string{"audit", "--limit", "0", "--db", db}, 2, "--limit must be between 1 and 10000"},
		{"audit negative limit", []string{"audit", "--limit", "-1", "--db", db}, 2, "--limit must be between 1 and 10000"},
		{"audit limit too large", []string{"audit", "--limit", "10001", "--db", db}, 2, "--limit must be between 1 and 10000"},
		{"sessions list blank user", []string{"sessions", "list", "--user", " ", "--db", db}, 2, "--user is required"},
		{"backup without --to", []string{"backup", "--db", db}, 2, "--to"},
		{"backup of postgres", []string{"backup", "--to", filepath.Join(dir, "b.db"), "--db", "postgres://h/db", "--secret-file", db}, 2, "pg_dump"},
		{"backup of a missing file", []string{"backup", "--to", filepath.Join(dir, "b.db"), "--db", filepath.Join(dir, "none.db")}, 1, "none.db"},
		{"unreachable database", []string{"users", "list", "--db", filepath.Join(dir, "no", "such", "dir", "x.db")}, 1, "x.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code, err := runCLI(t, nil, "", tt.args...)
			if code != tt.code {
				t.Fatalf("latch %q: exit %d (%v), want %d", tt.args, code, err, tt.code)
			}
			if err == nil {
				return
			}
			if line := oneLine(err); !strings.Contains(line, tt.want) || strings.Contains(line, "\n") {
				t.Errorf("latch %q: error %q, want one line containing %q", tt.args, line, tt.want)
			}
			if tt.code == 2 && errOut != "" {
				t.Errorf("latch %q: usage error also wrote %q to stderr", tt.args, errOut)
			}
			if tt.code == 2 && out != "" {
				t.Errorf("latch %q: usage error wrote %q to stdout", tt.args, out)
			}
		})
	}
}

// commands lists every command and subcommand.
var commands = [][]string{
	{"serve"}, {"migrate"}, {"backup"}, {"audit"}, {"version"},
	{"users", "create"}, {"users", "list"}, {"users", "disable"}, {"users", "enable"},
	{"sessions", "list"}, {"sessions", "revoke"},
	{"keys", "list"}, {"keys", "rotate"},
	{"clients", "add"}, {"clients", "list"}, {"clients", "remove"},
}

// A usage error writes nothing to stdout, which may be a file meant for the
// command's output (latch clients add notes > notes.secret), and its one
// line goes to stderr; it creates nothing either.
func TestUsageErrorsWriteNothing(t *testing.T) {
	var tests [][]string
	for _, cmd := range commands {
		name := cmd[len(cmd)-1]
		tests = append(tests,
			append(slices.Clone(cmd), "--bogus"),
			append(slices.Clone(cmd), "--bogus", "notes2"),
			append(slices.Clone(cmd), "--db"), // flag needs an argument
			append(slices.Clone(cmd), "--log-level", "loud"),
		)
		if name != "version" && name != "serve" {
			tests = append(tests, append(slices.Clone(cmd), "--print-config"))
		}
	}
	tests = append(tests,
		[]string{"serve", "--access-token-ttl", "soon"},
		[]string{"serve", "--print-config", "--log-format", "xml"},
		[]string{"keys", "rotate", "--activate-in", "x"},
		[]string{"keys", "rotate", "--activate-in", "-1s"},
		[]string{"audit", "--limit", "x"},
		[]string{"audit", "--limit", "0"},
		[]string{"audit", "--limit", "-1"},
		[]string{"audit", "--limit", "10001"},
		[]string{"audit", "--since", "-5h"},
		[]string{"clients", "add"}, []string{"clients", "remove"},
		[]string{"users"}, []string{"users", "bogus"}, []string{"users", "--bogus"},
		[]string{"sessions"}, []string{"keys", "--bogus"}, []string{"clients", "frob"},
		[]string{"help", "bogus"}, []string{"bogus"}, []string{},
	)
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			out, errOut, code, err := runCLI(t, nil, "pw\n", args...)
			if code != 2 {
				t.Fatalf("latch %q: exit %d (%v), want 2", args, code, err)
			}
			if out != "" {
				t.Errorf("latch %q: wrote to stdout:\n%s", args, out)
			}
			if errOut != "" {
				t.Errorf("latch %q: wrote to stderr besides the error: %q", args, errOut)
			}
			if line := oneLine(err); line == "" || strings.Contains(line, "\n") {
				t.Errorf("latch %q: error %q, want one line", args, line)
			} else if strings.HasPrefix(line, "latch") {
				t.Errorf("latch %q: error %q starts with \"latch\", which main prints before it", args, line)
			}
			if ents, _ := os.ReadDir(dir); len(ents) > 0 {
				t.Errorf("latch %q: created %v", args, ents)
			}
		})
	}
}

// TestMainProcess runs the real main in a child process: the exit status
// and the single stderr line are what a shell sees.
func TestMainProcess(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"version"}, 0},
		{[]string{"serve", "--nope"}, 2},
		{[]string{"serve", "--access-token-ttl", "1s", "--log-format", "xml"}, 2},
		{[]string{"users", "list", "--db", filepath.Join(dir, "missing", "x.db")}, 1},
		{[]string{"users"}, 2},
		{[]string{"clients", "frob"}, 2},
	} {
		cmd := exec.CommandContext(t.Context(), os.Args[0], tt.args...)
		cmd.Env = append(os.Environ(), "LATCH_TEST_RUN_MAIN=1")
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tt.code {
			t.Errorf("latch %q: exit %d, want %d; stderr %q", tt.args, code, tt.code, stderr.String())
		}
		if code != 0 {
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "latch: ") || strings.HasPrefix(lines[0], "latch: latch") {
				t.Errorf("latch %q: stderr is not one line with a single \"latch: \" prefix: %q", tt.args, stderr.String())
			}
		} else if !strings.HasPrefix(stdout.String(), "latch ") {
			t.Errorf("latch version printed %q", stdout.String())
		}
	}
}

// Admin commands that name a user print the email as stored, not the
// argument as typed: " BOB@example.com " finds and reports bob@example.com.
func TestAdminEchoesStoredEmail(t *testing.T) {
	dir := t.TempDir()
	if _, err := cli(t, dir, "", "migrate"); err != nil {
		t.Fatal(err)
	}
	if out, err := cli(t, dir, "a long enough password\n", "users", "create", "--email", "  bob@example.com\t"); err != nil || !strings.Contains(out, "created user bob@example.com (") {
		t.Fatalf("users create: %v %q", err, out)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"users", "disable", "--email", " bob@example.com "}, "bob@example.com: disabled; every session ended\n"},
		{[]string{"users", "enable", "--email", " BOB@Example.COM "}, "bob@example.com: enabled\n"},
		{[]string{"users", "enable", "--email", "bob@example.com"}, "bob@example.com: enabled\n"},
		{[]string{"sessions", "revoke", "--user", "\tBob@example.com "}, "0 session(s) of bob@example.com revoked\n"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, err := cli(t, dir, "", tt.args...)
			if err != nil || out != tt.want {
				t.Errorf("latch %q = %q, %v; want %q", tt.args, out, err, tt.want)
			}
		})
	}
}

// placeholderRE is what a flag's value placeholder may be in help output:
// a lower-case word (file, email, duration, the flag package's string and
// int), an upper-case abbreviation, plural or not (URL, CIDRs, N), or
// host:port. The flag package takes the first back-quoted word of a usage
// string as the placeholder, so back quotes used for anything else (a
// command to run) show up here as a placeholder like "latch keys rotate".
var placeholderRE = regexp.MustCompile(`^(?:[a-z]+|[A-Z]+s?|host:port)$`)

// Every flag of every command shows a value placeholder that names a value.
// The flags come from the --help output, whose placeholders are what
// flag.UnquoteUsage returns, so the subcommands' own flags are covered too.
func TestFlagPlaceholders(t *testing.T) {
	flagLine := regexp.MustCompile(`(?m)^  -([a-z0-9-]+)(?: ([^\t\n]*))?(?:\t|\n|$)`)
	seen := map[string]bool{}
	for _, cmd := range commands {
		out, _, code, err := runCLI(t, nil, "", append(slices.Clone(cmd), "--help")...)
		if code != 0 {
			t.Fatalf("latch %q --help: exit %d, %v", cmd, code, err)
		}
		for _, m := range flagLine.FindAllStringSubmatch(out, -1) {
			name, ph := m[1], m[2]
			seen[name] = true
			if ph != "" && !placeholderRE.MatchString(ph) {
				t.Errorf("latch %s --help: -%s %s: placeholder %q is not a value name", strings.Join(cmd, " "), name, ph, ph)
			}
		}
	}
	// The shared options directly, as docs/configuration.md renders them.
	c := defaultConfig()
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	c.register(fs)
	fs.VisitAll(func(f *flag.Flag) {
		if !seen[f.Name] {
			t.Errorf("-%s is in no command's --help", f.Name)
		}
		if ph, _ := flag.UnquoteUsage(f); ph != "" && !placeholderRE.MatchString(ph) {
			t.Errorf("UnquoteUsage(-%s) = %q, not a value name", f.Name, ph)
		}
	})
	for _, name := range []string{"email", "user", "session", "to", "since", "limit", "activate-in", "print-config"} {
		if !seen[name] {
			t.Errorf("-%s is in no command's --help", name)
		}
	}
}

// main prints an error as "latch: " and the error's one line, so the error
// itself must not start with "latch" again ("latch: latch users: ...").
func TestErrorsSayLatchOnce(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "x.db")
	if _, _, code, err := runCLI(t, nil, "", "migrate", "--db", db); code != 0 {
		t.Fatalf("migrate: %v", err)
	}
	tests := []struct {
		args []string
		want string // the whole line main prints
	}{
		{[]string{}, `latch: no command given (see "latch --help")`},
		{[]string{"bogus"}, `latch: unknown command "bogus" (see "latch --help")`},
		{[]string{"users"}, `latch: no users subcommand given (see "latch users --help")`},
		{[]string{"users", "bogus"}, `latch: unknown users subcommand "bogus" (see "latch users --help")`},
		{[]string{"sessions"}, `latch: no sessions subcommand given (see "latch sessions --help")`},
		{[]string{"sessions", "bogus"}, `latch: unknown sessions subcommand "bogus" (see "latch sessions --help")`},
		{[]string{"keys"}, `latch: no keys subcommand given (see "latch keys --help")`},
		{[]string{"keys", "bogus"}, `latch: unknown keys subcommand "bogus" (see "latch keys --help")`},
		{[]string{"clients"}, `latch: no clients subcommand given (see "latch clients --help")`},
		{[]string{"clients", "bogus"}, `latch: unknown clients subcommand "bogus" (see "latch clients --help")`},
		{[]string{"clients", "bogus", "name"}, `latch: unknown clients subcommand "bogus" (see "latch clients --help")`},
		{[]string{"audit", "--since", "-1h", "--db", db}, `latch: --since must not be negative (0: no time limit)`},
		{[]string{"audit", "--limit", "0", "--db", db}, `latch: --limit must be between 1 and 10000`},
		{[]string{"backup", "--db", db}, `latch: --to FILE is required`},
		{[]string{"backup", "--to", filepath.Join(dir, "b.db"), "--db", "postgres://h/db", "--secret-file", db}, `latch: --db is a PostgreSQL URL; back it up with pg_dump`},
		{[]string{"version", "now"}, `latch: version takes no arguments (see "latch version --help")`},
		{[]string{"serve", "--bogus"}, `latch: flag provided but not defined: -bogus (see "latch serve --help")`},
		{[]string{"users", "list", "extra", "--db", db}, `latch: unexpected argument "extra" (see "latch users list --help")`},
		{[]string{"users", "list", "--db", filepath.Join(dir, "none.db")}, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, _, _, err := runCLI(t, nil, "", tt.args...)
			if err == nil {
				t.Fatalf("latch %q succeeded", tt.args)
			}
			line := "latch: " + oneLine(err)
			if strings.HasPrefix(oneLine(err), "latch") {
				t.Errorf("latch %q prints %q: the prefix twice", tt.args, line)
			}
			if tt.want != "" && line != tt.want {
				t.Errorf("latch %q prints %q, want %q", tt.args, line, tt.want)
			}
		})
	}
}
