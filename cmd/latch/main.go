// Command latch is a self-hosted authentication server: JWT access tokens
// bound to server-side sessions, checked on every request, so a stolen
// token dies at logout.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "latch:", oneLine(err))
	os.Exit(exitCode(err))
}

// exitCode is 0 for success, 2 for a command line or configuration that
// could not be used, and 1 for any other failure.
func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return 2
	}
	return 1
}

// usageError marks a command line that could not be understood (exit 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

const usage = `latch is an authentication server whose tokens die when their session does.

Usage:
  latch <command> [flags]

Commands:
  serve      run the HTTP server (SQLite file latch.db by default)
  migrate    apply database schema migrations
  backup     copy a live SQLite database to a file, consistently
  users      create, list, disable and enable users
  sessions   list and revoke sessions
  keys       list and rotate signing keys
  clients    add, list and remove services that follow revocations
  audit      print the security audit log
  version    print the version

Run "latch <command> --help" for a command's flags. Exit status: 0 success,
1 failure, 2 usage or configuration error.
`

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("no command given (see \"latch --help\")")
	}
	env := &environ{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, env, rest)
	case "migrate":
		return migrateCmd(ctx, env, rest)
	case "backup":
		return backupCmd(ctx, env, rest)
	case "users":
		return usersCmd(ctx, env, rest)
	case "sessions":
		return sessionsCmd(ctx, env, rest)
	case "keys":
		return keysCmd(ctx, env, rest)
	case "clients":
		return clientsCmd(ctx, env, rest)
	case "audit":
		return auditCmd(ctx, env, rest)
	case "version", "--version":
		return versionCmd(env, rest)
	case "help", "-h", "--help", "-help":
		if len(rest) > 0 && rest[0] != "help" && !strings.HasPrefix(rest[0], "-") {
			return run(ctx, []string{rest[0], "--help"}, getenv, stdin, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usagef("unknown command %q (see \"latch --help\")", cmd)
}

// environ is the process surroundings a command may use.
type environ struct {
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
}

// oneLine keeps error output to a single line: the lines of an error (every
// bad option at once, a driver's list of addresses tried) are trimmed and
// separated by "; ".
func oneLine(err error) string {
	var b strings.Builder
	for line := range strings.Lines(err.Error()) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if b.Len() > 0 {
			if strings.HasSuffix(b.String(), ":") {
				b.WriteString(" ")
			} else {
				b.WriteString("; ")
			}
		}
		b.WriteString(line)
	}
	return b.String()
}
