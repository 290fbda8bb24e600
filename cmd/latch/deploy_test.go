package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// unit is the [Service] settings of a systemd unit file that matter here.
type unit struct {
	execStart []string
	env       map[string]string
	stopAfter time.Duration
}

// readUnit parses a unit file: ExecStart split into words (double quotes
// group, as systemd does), uncommented Environment= assignments, and
// TimeoutStopSec.
func readUnit(t *testing.T, path string) unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unit{env: map[string]string{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(key, "#") {
			continue
		}
		switch key {
		case "ExecStart":
			if u.execStart != nil {
				t.Fatalf("%s: more than one ExecStart", path)
			}
			u.execStart = splitCommand(t, val)
		case "Environment":
			for _, kv := range splitCommand(t, val) {
				k, v, _ := strings.Cut(kv, "=")
				u.env[k] = v
			}
		case "TimeoutStopSec":
			d, err := time.ParseDuration(val)
			if err != nil {
				t.Fatalf("%s: TimeoutStopSec=%s: %v", path, val, err)
			}
			u.stopAfter = d
		}
	}
	if u.execStart == nil {
		t.Fatalf("%s: no ExecStart", path)
	}
	return u
}

func splitCommand(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, inWord = !quoted, true
		case r == ' ' && !quoted:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
			}
			inWord = false
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unterminated quote in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// remap moves the unit's absolute paths into the test's directories.
func remap(args []string, paths map[string]string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		for from, to := range paths {
			a = strings.Replace(a, from, to, 1)
		}
		out[i] = a
	}
	return out
}

// The service's command line is parsed and validated by the real serve
// command, with the example config file the unit names: a renamed flag or
// config key fails here.
func TestSystemdUnit(t *testing.T) {
	state := t.TempDir()
	paths := map[string]string{"/etc/latch/": "../../deploy/", "/var/lib/latch/": state + "/"}
	u := readUnit(t, "../../deploy/latch.service")
	if filepath.Base(u.execStart[0]) != "latch" || u.execStart[1] != "serve" {
		t.Fatalf("ExecStart = %q, want latch serve …", u.execStart)
	}
	args := append(remap(u.execStart[2:], paths), "--print-config")
	out, _, code, err := runCLI(t, u.env, "", append([]string{"serve"}, args...)...)
	if code != 0 {
		t.Fatalf("latch serve %q: exit %d: %v", args, code, err)
	}
	cfg, err := load(t, u.env, remap(u.execStart[2:], paths)...)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ConfigFile == "" || !strings.Contains(out, "# file ") {
		t.Errorf("the unit's config file was not read:\n%s", out)
	}
	// systemd must wait out the whole drain before it kills.
	if u.stopAfter <= cfg.ShutdownDelay+cfg.ShutdownTimeout {
		t.Errorf("TimeoutStopSec=%v, but the drain may take %v + %v", u.stopAfter, cfg.ShutdownDelay, cfg.ShutdownTimeout)
	}
	if cfg.MetricsAddr == "" {
		t.Error("the example config serves /metrics on the public listener")
	}
}

// The backup unit's command really backs up a database.
func TestSystemdBackupUnit(t *testing.T) {
	state, backups := t.TempDir(), t.TempDir()
	paths := map[string]string{"/etc/latch/": "../../deploy/", "/var/lib/latch/": state + "/", "/var/lib/latch-backups/": backups + "/"}
	if _, err := cli(t, state, "", "migrate"); err != nil {
		t.Fatal(err)
	}
	u := readUnit(t, "../../deploy/latch-backup.service")
	if filepath.Base(u.execStart[0]) != "latch" || u.execStart[1] != "backup" {
		t.Fatalf("ExecStart = %q, want latch backup …", u.execStart)
	}
	args := remap(u.execStart[1:], paths)
	for i := range args {
		args[i] = strings.ReplaceAll(args[i], "${INVOCATION_ID}", "0123456789abcdef0123456789abcdef")
	}
	out, _, code, err := runCLI(t, u.env, "", args...)
	if code != 0 || !strings.Contains(out, "verified") {
		t.Fatalf("latch %q: exit %d: %v\n%s", args, code, err, out)
	}
	if m, _ := filepath.Glob(filepath.Join(backups, "latch-*.db")); len(m) != 1 {
		t.Errorf("backups: %v", m)
	}
}
