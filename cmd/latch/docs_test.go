package main

import (
	"flag"
	"fmt"
	"os"
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
