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
	var ue *usageError
	if errors.As(err, &ue) {
		os.Exit(2)
	}
	os.Exit(1)
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
  users      create, list, disable and enable users
  sessions   list and revoke sessions
  keys       list and rotate signing keys
  clients    add, list and remove services that follow revocations
  audit      print the security audit log
  version    print the version

Run "latch <command> --help" for a command's flags.
`

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usagef("no command given")
	}
	env := &environ{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, env, rest)
	case "migrate":
		return migrateCmd(ctx, env, rest)
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
		fmt.Fprintln(stdout, "latch", version())
		return nil
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usagef("unknown command %q", cmd)
}

// environ is the process surroundings a command may use.
type environ struct {
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
}

// oneLine keeps error output to a single line.
func oneLine(err error) string {
	s := err.Error()
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r == '\n' || r == '\r' {
			r = ' '
		}
		out = append(out, r)
	}
	return string(out)
}
