package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchauth/latch"
)

// latch users create takes the password from the first line of stdin,
// exactly: without its line ending, without a byte-order mark an editor put
// before it, and without whatever follows.
func TestReadPassword(t *testing.T) {
	long := strings.Repeat("a", latch.MaxPasswordBytes+10)
	tests := []struct {
		name, stdin string
		want        string
		usage       bool // a usage error, for an empty first line
	}{
		{"one line", "correct horse battery\n", "correct horse battery", false},
		{"no line ending", "correct horse battery", "correct horse battery", false},
		{"CRLF", "correct horse battery\r\n", "correct horse battery", false},
		{"second line ignored", "correct horse battery\nsecond\n", "correct horse battery", false},
		{"CRLF and second line", "correct horse battery\r\nsecond\r\n", "correct horse battery", false},
		{"byte-order mark", "\ufeffcorrect horse battery\r\n", "correct horse battery", false},
		{"spaces kept", "  correct horse battery  \n", "  correct horse battery  ", false},
		{"lone CR stays, for validation to refuse", "a\rb\n", "a\rb", false},
		{"too long is not cut to fit", long + "\n", "", false},
		{"empty", "", "", true},
		{"empty first line", "\ncorrect horse battery\n", "", true},
		{"empty first line CRLF", "\r\nx\r\n", "", true},
		{"byte-order mark alone", "\ufeff\n", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readPassword(strings.NewReader(tt.stdin))
			if tt.usage {
				var ue *usageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), "first line") {
					t.Fatalf("readPassword(%q) = %q, %v; want a usage error about the first line", tt.stdin, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("readPassword(%q) = %v", tt.stdin, err)
			}
			if tt.name == "too long is not cut to fit" {
				if len(got) <= latch.MaxPasswordBytes {
					t.Fatalf("readPassword(%d bytes) = %d bytes, want more than %d so validation refuses it", len(tt.stdin), len(got), latch.MaxPasswordBytes)
				}
				return
			}
			if got != tt.want {
				t.Errorf("readPassword(%q) = %q, want %q", tt.stdin, got, tt.want)
			}
		})
	}
}

// The password latch users create stores is the one the user types to sign
// in, whatever line ending, byte-order mark or trailing lines the file had.
func TestUsersCreatePasswordFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := cli(t, dir, "", "migrate"); err != nil {
		t.Fatal(err)
	}
	const pw = "correct horse battery"
	for i, stdin := range []string{pw + "\n", pw + "\nsecond line\n", "\ufeff" + pw + "\r\n", "\ufeff" + pw + "\r\nsecond\r\n", pw} {
		email := fmt.Sprintf("u%d@example.com", i)
		if out, err := cli(t, dir, stdin, "users", "create", "--email", email); err != nil || !strings.Contains(out, "created user "+email) {
			t.Fatalf("users create < %q = %q, %v", stdin, out, err)
		}
		a := openTestApp(t, dir)
		if _, err := a.svc.Login(t.Context(), email, pw, latch.Device{IP: "127.0.0.1"}); err != nil {
			t.Errorf("users create < %q, then Login(%q, %q) = %v", stdin, email, pw, err)
		}
	}
	for _, stdin := range []string{"", "\n", "\r\nsecond\n", "\ufeff\n"} {
		_, _, code, err := runCLI(t, nil, stdin, "users", "create", "--email", "x@example.com", "--db", filepath.Join(dir, "latch.db"))
		if code != 2 || err == nil || !strings.Contains(err.Error(), "first line of stdin") {
			t.Errorf("users create < %q: exit %d, %v; want 2 and an error about the first line", stdin, code, err)
		}
	}
}

// openTestApp opens dir's database as an admin command does.
func openTestApp(t *testing.T, dir string) *app {
	t.Helper()
	env := &environ{getenv: noEnv, stdout: io.Discard, stderr: io.Discard}
	cfg, err := loadConfig(env, "users list", "", []string{"--db", filepath.Join(dir, "latch.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := openAdminApp(t.Context(), cfg, adminLogger(env, cfg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}
