package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/latchauth/latch"
)

// subcommand runs one admin action with an open app.
type subcommand struct {
	usage string
	flags func(fs *flag.FlagSet)
	// check, if set, validates the command line before the database is
	// opened, so a usage error changes nothing.
	check func() error
	run   func(ctx context.Context, a *app, env *environ) error
}

// dispatch picks a subcommand, parses its flags and runs it against the
// database a running server may be using; effects apply from that server's
// next request.
func dispatch(ctx context.Context, env *environ, group string, args []string, subs map[string]subcommand, groupUsage string) error {
	if len(args) == 0 {
		return usagef("no %s subcommand given (see \"latch %s --help\")", group, group)
	}
	if isHelp(args[0]) {
		fmt.Fprint(env.stdout, groupUsage)
		return nil
	}
	sub, ok := subs[args[0]]
	if !ok {
		return usagef("unknown %s subcommand %q (see \"latch %s --help\")", group, args[0], group)
	}
	cfg, err := loadConfig(env, group+" "+args[0], sub.usage, args[1:], sub.flags)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if sub.check != nil {
		if err := sub.check(); err != nil {
			return err
		}
	}
	a, err := openAdminApp(ctx, cfg, adminLogger(env, cfg))
	if err != nil {
		return err
	}
	defer a.Close()
	return sub.run(ctx, a, env)
}

// adminLogger logs an admin command's security events (a user disabled, a
// session revoked) on stderr, in the configured format, as the server logs
// its own: the audit table is not the only record.
func adminLogger(env *environ, cfg Config) *slog.Logger {
	return newLogger(env.stderr, cfg).With("component", "cli")
}

func table(w io.Writer, header string, rows func(tw io.Writer)) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	rows(tw)
	tw.Flush()
}

func ts(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// ---- users ----

const usersUsage = `Usage: latch users <create|list|disable|enable> [flags]

  create --email EMAIL   create a user; the password is the first line of stdin
  list                   list users
  disable --email EMAIL  disable a user and end all their sessions at once
  enable --email EMAIL   allow a disabled user to sign in again
`

func usersCmd(ctx context.Context, env *environ, args []string) error {
	var email, pw string
	emailFlag := func(fs *flag.FlagSet) { fs.StringVar(&email, "email", "", "the user's `email`") }
	needEmail := func() error {
		if strings.TrimSpace(email) == "" {
			return usagef("--email is required")
		}
		return nil
	}
	setDisabled := func(disabled bool) func(ctx context.Context, a *app, env *environ) error {
		return func(ctx context.Context, a *app, env *environ) error {
			// Look the user up first to report the email as stored, not as
			// typed (" Bob@example.com " finds bob@example.com).
			u, err := a.svc.UserByEmail(ctx, email)
			if err != nil {
				return err
			}
			if err := a.svc.SetUserDisabled(ctx, u.Email, disabled); err != nil {
				return err
			}
			state := "enabled"
			if disabled {
				state = "disabled; every session ended"
			}
			fmt.Fprintf(env.stdout, "%s: %s\n", printable(u.Email), state)
			return nil
		}
	}
	return dispatch(ctx, env, "users", args, map[string]subcommand{
		"create": {usage: "Usage: latch users create --email EMAIL < password-file\n\nReads the password from the first line of stdin, never from argv: up to a\nnewline (LF or CRLF), after the UTF-8 byte-order mark a file may start with.\nThe rest of stdin is ignored.\n\nFlags:\n", flags: emailFlag,
			check: func() (err error) {
				if err := needEmail(); err != nil {
					return err
				}
				pw, err = readPassword(env.stdin)
				return err
			},
			run: func(ctx context.Context, a *app, env *environ) error {
				u, err := a.svc.CreateUser(ctx, email, pw)
				if err != nil {
					return err
				}
				fmt.Fprintf(env.stdout, "created user %s (%s)\n", u.Email, u.ID)
				return nil
			}},
		"list": {usage: "Usage: latch users list\n\nFlags:\n",
			run: func(ctx context.Context, a *app, env *environ) error {
				us, err := a.svc.Users(ctx)
				if err != nil {
					return err
				}
				table(env.stdout, "ID\tEMAIL\tCREATED\tDISABLED", func(tw io.Writer) {
					for _, u := range us {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.ID, printable(u.Email), ts(u.CreatedAt), ts(u.DisabledAt))
					}
				})
				return nil
			}},
		"disable": {usage: "Usage: latch users disable --email EMAIL\n\nDisables the user and ends every session at once.\n\nFlags:\n", flags: emailFlag, check: needEmail, run: setDisabled(true)},
		"enable":  {usage: "Usage: latch users enable --email EMAIL\n\nFlags:\n", flags: emailFlag, check: needEmail, run: setDisabled(false)},
	}, usersUsage)
}

// readPassword reads the first line of r, so a password never appears in
// argv (visible to every user through ps) or in shell history. The line
// ends at "\n" or "\r\n", and what follows is ignored. A leading UTF-8
// byte-order mark is dropped: Notepad starts files with one, and the user
// could never type it when signing in.
func readPassword(r io.Reader) (string, error) {
	// Long enough for the longest valid password with a mark and "\r\n",
	// plus a byte: a longer line is returned longer than MaxPasswordBytes,
	// for validation to refuse, never cut to a length that passes.
	const maxLine = len(bom) + latch.MaxPasswordBytes + len("\r\n") + 1
	line, err := bufio.NewReader(io.LimitReader(r, int64(maxLine))).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	line = strings.TrimPrefix(line, bom)
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", usagef("no password on the first line of stdin (latch users create --email EMAIL < password-file)")
	}
	return line, nil
}

// bom is the UTF-8 encoding of the byte-order mark, U+FEFF.
const bom = "\ufeff"

// ---- sessions ----

const sessionsUsage = `Usage: latch sessions <list|revoke> [flags]

  list --user EMAIL                 list a user's sessions, live and recently ended
  revoke --user EMAIL | --session ID  end every session of a user, or one session
`

func sessionsCmd(ctx context.Context, env *environ, args []string) error {
	var user, session string
	flags := func(fs *flag.FlagSet) {
		fs.StringVar(&user, "user", "", "the user's `email`")
		fs.StringVar(&session, "session", "", "a session `id`")
	}
	return dispatch(ctx, env, "sessions", args, map[string]subcommand{
		"list": {usage: "Usage: latch sessions list --user EMAIL\n\nFlags:\n", flags: flags,
			check: func() error {
				if strings.TrimSpace(user) == "" || session != "" {
					return usagef("--user is required (and --session is not used here)")
				}
				return nil
			},
			run: func(ctx context.Context, a *app, env *environ) error {
				views, err := a.svc.UserSessions(ctx, user)
				if err != nil {
					return err
				}
				table(env.stdout, "ID\tCREATED\tLAST SEEN\tIP\tSTATE\tUSER AGENT", func(tw io.Writer) {
					for _, v := range views {
						state := "active"
						if !v.EndedAt.IsZero() {
							state = fmt.Sprintf("ended %s (%s)", ts(v.EndedAt), v.EndReason)
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, ts(v.CreatedAt), ts(v.LastSeenAt), printable(v.IP), state, printable(v.UserAgent))
					}
				})
				return nil
			}},
		"revoke": {usage: "Usage: latch sessions revoke --user EMAIL | --session ID\n\nFlags:\n", flags: flags,
			check: func() error {
				if (strings.TrimSpace(user) == "") == (strings.TrimSpace(session) == "") {
					return usagef("give exactly one of --user or --session")
				}
				return nil
			},
			run: func(ctx context.Context, a *app, env *environ) error {
				switch {
				case session != "":
					if err := a.svc.AdminRevokeSession(ctx, latch.SessionID(session)); err != nil {
						return err
					}
					fmt.Fprintf(env.stdout, "session %s revoked\n", printable(session))
				default:
					u, err := a.svc.UserByEmail(ctx, user)
					if err != nil {
						return err
					}
					n, err := a.svc.AdminRevokeUserSessions(ctx, u.Email)
					if err != nil {
						return err
					}
					fmt.Fprintf(env.stdout, "%d session(s) of %s revoked\n", n, printable(u.Email))
				}
				return nil
			}},
	}, sessionsUsage)
}

// ---- keys ----

const keysUsage = `Usage: latch keys <list|rotate>

  list     list signing keys with their status and dates (a pending key is published
           and signs from its date; superseded ones verify until their tokens
           expire, then retire)
  rotate   add a new signing key: published at once, signing 6 minutes later
`

const keysRotateUsage = `Usage: latch keys rotate [--activate-in DURATION]

Adds a new signing key. It is published in the JWKS and verifies at once, and
every server signs with it from --activate-in later: by then every node has
re-read its keys (within 5 minutes) and every verifier that honours the JWKS's
max-age (60s) has it, so no valid token meets an unknown key. Use
--activate-in 0 when the current key must stop signing at once (suspected
compromise); tokens it signed stay valid until they expire. A key still
pending from an earlier rotation keeps its date and signs from then on.
At most 24h.

Flags:
`

func keysCmd(ctx context.Context, env *environ, args []string) error {
	activateIn := latch.DefaultKeyPrepublish
	return dispatch(ctx, env, "keys", args, map[string]subcommand{
		"list": {usage: "Usage: latch keys list\n\nLists every signing key, newest first: pending ones (published, signing from\ntheir date), the one that signs, superseded ones that still verify until their\ntokens have expired, and retired ones.\n\nFlags:\n",
			run: func(ctx context.Context, a *app, env *environ) error {
				ks, err := a.svc.Keys(ctx)
				if err != nil {
					return err
				}
				table(env.stdout, "KID\tALG\tSTATUS\tSIGNS FROM\tRETIRES\tRETIRED", func(tw io.Writer) {
					for _, k := range ks {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Algorithm, k.State, ts(k.CreatedAt), ts(k.RetiresAt), ts(k.RetiredAt))
					}
				})
				return nil
			}},
		"rotate": {usage: keysRotateUsage,
			flags: func(fs *flag.FlagSet) {
				fs.DurationVar(&activateIn, "activate-in", activateIn, "publish the key now and sign with it from this `duration` later (0: at once)")
			},
			check: func() error {
				if activateIn < 0 || activateIn > latch.MaxKeyPrepublish {
					return usagef("--activate-in must be between 0 and %v", latch.MaxKeyPrepublish)
				}
				return nil
			},
			run: func(ctx context.Context, a *app, env *environ) error {
				k, err := a.svc.RotateKey(ctx, activateIn)
				if err != nil {
					return err
				}
				fmt.Fprintf(env.stdout, "new signing key %s; published now, signing from %s on every server\n", k.ID, ts(k.CreatedAt))
				return nil
			}},
	}, keysUsage)
}

// ---- audit ----

const auditUsage = `Usage: latch audit [--user EMAIL] [--since DURATION] [--limit N]

Prints security events, newest first.

Flags:
`

// maxAuditLimit caps latch audit --limit: a larger export belongs to a
// database query, not to a terminal table held in memory.
const maxAuditLimit = 10000

func auditCmd(ctx context.Context, env *environ, args []string) error {
	var (
		user  string
		since time.Duration
		limit int
	)
	cfg, err := loadConfig(env, "audit", auditUsage, args, func(fs *flag.FlagSet) {
		fs.StringVar(&user, "user", "", "only events of this user `email`")
		fs.DurationVar(&since, "since", 0, "only events newer than this `duration`, e.g. 24h (0: no time limit)")
		fs.IntVar(&limit, "limit", 100, fmt.Sprintf("at most this many events, 1 to %d", maxAuditLimit))
	})
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case since < 0:
		return usagef("--since must not be negative (0: no time limit)")
	case limit < 1 || limit > maxAuditLimit:
		return usagef("--limit must be between 1 and %d", maxAuditLimit)
	}
	a, err := openAdminApp(ctx, cfg, adminLogger(env, cfg))
	if err != nil {
		return err
	}
	defer a.Close()
	evs, err := a.svc.Audit(ctx, user, since, limit)
	if err != nil {
		return err
	}
	table(env.stdout, "TIME\tEVENT\tOUTCOME\tUSER\tSESSION\tEMAIL\tIP\tDETAIL", func(tw io.Writer) {
		for _, e := range evs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ts(e.At), e.Type, e.Outcome, dash(string(e.UserID)), dash(string(e.SessionID)), dash(e.Email), dash(e.IP), printable(e.Detail))
		}
	})
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return printable(s)
}

// printable escapes what a client could have put into a stored field so an
// operator's terminal shows it instead of obeying it: control characters
// (escape sequences, newlines that would forge table rows), invisible
// formatting characters, and tabs (which tabwriter treats as columns).
func printable(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			fmt.Fprintf(&b, "\\u%04x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
