package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite generated documentation (the options table in docs/configuration.md)")

const (
	docsPath    = "../../docs/configuration.md"
	tableBegin  = "<!-- options:begin: generated from the flags by `go test ./cmd/latch -run TestConfigDocs -update`; do not edit -->"
	tableEnd    = "<!-- options:end -->"
	readmePath  = "../../README.md"
	missingDocs = "regenerate it: go test ./cmd/latch -run TestConfigDocs -update"
)

// optionsTable renders every option of Config.register as the Markdown
// table of docs/configuration.md.
func optionsTable() string {
	c := defaultConfig()
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	c.register(fs)
	var b strings.Builder
	b.WriteString("| Flag | Variable | Config file | Default | Meaning |\n|---|---|---|---|---|\n")
	fs.VisitAll(func(f *flag.Flag) {
		_, usage := flag.UnquoteUsage(f)
		def := "—"
		if f.DefValue != "" {
			def = "`" + prettyDefault(f.DefValue) + "`"
		}
		key := "`" + f.Name + "`"
		if f.Name == "config" {
			key = "—"
		}
		usage = strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace(usage)
		fmt.Fprintf(&b, "| `--%s` | `%s` | %s | %s | %s |\n", f.Name, envName(f.Name), key, def, usage)
	})
	return b.String()
}

// prettyDefault writes durations as people do: 720h, not 720h0m0s.
func prettyDefault(v string) string {
	if d, err := time.ParseDuration(v); err == nil && v == d.String() {
		if strings.HasSuffix(v, "m0s") {
			v = strings.TrimSuffix(v, "0s")
		}
		if strings.HasSuffix(v, "h0m") {
			v = strings.TrimSuffix(v, "0m")
		}
	}
	return v
}

// The options table in docs/configuration.md is generated from the flags:
// an option added, renamed or re-defaulted fails this test until the table
// is regenerated, so the documentation cannot drift.
func TestConfigDocs(t *testing.T) {
	raw, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i, j := strings.Index(doc, tableBegin), strings.Index(doc, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the generated-table markers", docsPath)
	}
	want := doc[:i+len(tableBegin)] + "\n" + optionsTable() + doc[j:]
	if want == doc {
		return
	}
	if *update {
		if err := os.WriteFile(docsPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the options table in %s does not match the flags; %s", docsPath, missingDocs)
}

// The README's short options table names real options with their real
// defaults.
func TestReadmeOptions(t *testing.T) {
	raw, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	c := defaultConfig()
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	c.register(fs)
	row := regexp.MustCompile("(?m)^\\| `--([a-z0-9-]+)`(?: / `--([a-z0-9-]+)`)? \\| `([^`]*)`(?: / `([^`]*)`)?")
	rows := row.FindAllStringSubmatch(string(raw), -1)
	if len(rows) < 8 {
		t.Fatalf("found only %d option rows in the README", len(rows))
	}
	for _, r := range rows {
		for k, name := range []string{r[1], r[2]} {
			if name == "" {
				continue
			}
			f := fs.Lookup(name)
			if f == nil {
				t.Errorf("README lists --%s, which is not an option", name)
				continue
			}
			def := r[3+k]
			if def != "" && f.DefValue != "" && def != prettyDefault(f.DefValue) {
				t.Errorf("README gives --%s the default %q, the flag has %q", name, def, prettyDefault(f.DefValue))
			}
		}
	}
}

// Statements the documentation makes about the server's answers, each
// checked against a running server: the doc quote and the behaviour sit in
// one row, so neither changes alone.
func TestDocumentedAnswers(t *testing.T) {
	dir := t.TempDir()
	base, _, _ := startServe(t, dir)
	out, err := cli(t, dir, "", "clients", "add", "svc")
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimSpace(out)
	form := func(n int) string { return "token=" + strings.Repeat("x", n-len("token=")) }
	creds := "&client_id=svc&client_secret=" + secret
	tests := []struct {
		name        string
		path, ctype string
		body        string
		basic       bool
		status      int
		code        string // the error member of an OAuth answer
		doc, quote  string // the quote, whitespace-normalised, is in doc
	}{
		{"introspect, credentials only in the body", "/v1/introspect", "application/x-www-form-urlencoded", form(20) + creds, false, 401, "invalid_client",
			"api.md", "a request without valid HTTP Basic credentials gets `401 invalid_client` (with the Basic challenge) whatever its body says"},
		{"revoke, credentials only in the body", "/v1/revoke", "application/x-www-form-urlencoded", form(20) + creds, false, 401, "invalid_client",
			"api.md", "sends `client_id` and `client_secret` as form parameters instead of Basic"},
		{"introspect, credentials in the body besides Basic", "/v1/introspect", "application/x-www-form-urlencoded", form(20) + creds, true, 400, "invalid_request",
			"api.md", "`client_id` or `client_secret` in the body besides Basic"},
		{"revoke, credentials in the body besides Basic", "/v1/revoke", "application/x-www-form-urlencoded", form(20) + "&client_secret=x", true, 400, "invalid_request",
			"api.md", "Only an authenticated request gets `400 invalid_request`"},
		{"introspect, no Basic, no body", "/v1/introspect", "text/plain", "", false, 401, "invalid_client",
			"api.md", "The client is authenticated before the body is read"},
		{"introspect form at 64 KiB", "/v1/introspect", "application/x-www-form-urlencoded", form(64 << 10), true, 200, "",
			"configuration.md", "the form bodies of `/v1/introspect` and `/v1/revoke` at 64 KiB as well (`400 invalid_request`, in OAuth's error format)"},
		{"introspect form over 64 KiB", "/v1/introspect", "application/x-www-form-urlencoded", form(64<<10 + 1), true, 400, "invalid_request",
			"configuration.md", "the form bodies of `/v1/introspect` and `/v1/revoke` at 64 KiB as well"},
		{"revoke form over 64 KiB", "/v1/revoke", "application/x-www-form-urlencoded", form(64<<10 + 1), true, 400, "invalid_request",
			"design.md", "JSON and OAuth form bodies at 64 KiB"},
		{"JSON over 64 KiB", "/v1/login", "application/json", `{"email":"` + strings.Repeat("x", 64<<10) + `"}`, false, 413, "",
			"configuration.md", "JSON bodies at 64 KiB (`413 payload_too_large`)"},
		{"page form at 16 KiB", "/login", "application/x-www-form-urlencoded", "email=a%40b.example&password=" + strings.Repeat("x", 16<<10-len("email=a%40b.example&password=")), false, 422, "",
			"configuration.md", "the forms of the browser pages at 16 KiB (a `400` \"Form not understood\" page)"},
		{"page form over 16 KiB", "/login", "application/x-www-form-urlencoded", "email=a%40b.example&password=" + strings.Repeat("x", 16<<10+1-len("email=a%40b.example&password=")), false, 400, "",
			"design.md", "the browser pages' forms at 16 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := os.ReadFile("../../docs/" + tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			if doc := strings.Join(strings.Fields(string(raw)), " "); !strings.Contains(doc, tt.quote) {
				t.Errorf("docs/%s does not say %q", tt.doc, tt.quote)
			}
			req, _ := http.NewRequestWithContext(t.Context(), "POST", base+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.ctype)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			if tt.basic {
				req.SetBasicAuth("svc", secret)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var answer struct {
				Error string `json:"error"`
			}
			if tt.code != "" {
				json.NewDecoder(resp.Body).Decode(&answer)
			}
			if resp.StatusCode != tt.status || answer.Error != tt.code {
				t.Errorf("POST %s (%d bytes) = %d %q, want %d %q", tt.path, len(tt.body), resp.StatusCode, answer.Error, tt.status, tt.code)
			}
		})
	}
}

// Every heading of the documentation is unique within its file: a second
// "## Passwords" splits one subject in two and makes its link anchor
// ambiguous.
func TestDocsHeadingsUnique(t *testing.T) {
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(files, readmePath) {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		fenced := false
		for i, line := range strings.Split(string(raw), "\n") {
			if strings.HasPrefix(line, "```") {
				fenced = !fenced
			}
			if fenced || !strings.HasPrefix(line, "#") {
				continue
			}
			h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
			if prev, ok := seen[h]; ok {
				t.Errorf("%s:%d: heading %q repeats line %d", f, i+1, line, prev)
			}
			seen[h] = i + 1
		}
	}
}

// --issuer has a default only on a loopback --addr with SQLite; the option
// help (and so docs/configuration.md) and the README say both cases.
func TestIssuerRequirementDocumented(t *testing.T) {
	e := &environ{getenv: noEnv, stdout: io.Discard, stderr: io.Discard}
	if _, err := loadConfig(e, "serve", "", []string{"--db", "postgres://latch@127.0.0.1:1/latch", "--secret-file", "s"}, nil); err == nil || !strings.Contains(err.Error(), "--issuer: is required with a PostgreSQL database") {
		t.Errorf("serve on PostgreSQL without --issuer: %v", err)
	}
	c := defaultConfig()
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	c.register(fs)
	raw, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `--issuer`.*$").FindString(string(raw))
	for where, text := range map[string]string{"--issuer's help": fs.Lookup("issuer").Usage, "the README's --issuer row": row} {
		if !strings.Contains(text, "loopback") || !strings.Contains(text, "PostgreSQL") {
			t.Errorf("%s does not say it is required with a non-loopback --addr and with PostgreSQL: %q", where, text)
		}
	}
}
