package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/latchauth/latch"
)

const clientsUsage = `Usage: latch clients <add|list|remove> [NAME] [flags]
  add NAME      register a service; prints its secret once, on stdout
  list          list registered services
  remove NAME   remove a service; its secret stops working at once

Services authenticate to the revocation feed (GET /v1/events), introspection
(POST /v1/introspect) and revocation (POST /v1/revoke) with HTTP Basic:
the name and the secret.
`

// clientsCmd takes the client name as a positional argument right after the
// subcommand (latch clients add notes --db …); flags follow it.
func clientsCmd(ctx context.Context, env *environ, args []string) error {
	var name string
	if len(args) >= 2 && (args[0] == "add" || args[0] == "remove") && !strings.HasPrefix(args[1], "-") {
		name, args = args[1], append([]string{args[0]}, args[2:]...)
	}
	needName := func() error {
		if name == "" {
			return usagef("a client NAME is required: latch clients %s NAME", args[0])
		}
		return nil
	}
	// A malformed NAME is a usage error, found before the database is
	// opened; the rule is the service's own.
	validName := func() error {
		if err := needName(); err != nil {
			return err
		}
		err := latch.ValidateClientName(name)
		if e, ok := errors.AsType[*latch.Error](err); ok {
			return usagef("invalid NAME %q: %s", name, e.Message)
		}
		if err != nil {
			return &usageError{err}
		}
		return nil
	}
	return dispatch(ctx, env, "clients", args, map[string]subcommand{
		"add": {usage: "Usage: latch clients add NAME\n\nPrints the new client's secret on stdout, once; only its hash is stored.\n\nFlags:\n",
			check: validName,
			run: func(ctx context.Context, a *app, env *environ) error {
				c, secret, err := a.svc.AddClient(ctx, name)
				if err != nil {
					return err
				}
				// The secret alone on stdout, so SECRET=$(latch clients add x) works;
				// the note goes to stderr.
				fmt.Fprintln(env.stdout, secret)
				fmt.Fprintf(env.stderr, "added client %s; its secret (above) is shown only this once\n", c.Name)
				return nil
			}},
		"list": {usage: "Usage: latch clients list\n\nFlags:\n",
			run: func(ctx context.Context, a *app, env *environ) error {
				list, err := a.svc.Clients(ctx)
				if err != nil {
					return err
				}
				table(env.stdout, "NAME\tCREATED", func(tw io.Writer) {
					for _, c := range list {
						fmt.Fprintf(tw, "%s\t%s\n", c.Name, ts(c.CreatedAt))
					}
				})
				return nil
			}},
		"remove": {usage: "Usage: latch clients remove NAME\n\nFlags:\n",
			check: needName,
			run: func(ctx context.Context, a *app, env *environ) error {
				if err := a.svc.RemoveClient(ctx, name); err != nil {
					return err
				}
				fmt.Fprintf(env.stdout, "removed client %s\n", name)
				return nil
			}},
	}, clientsUsage)
}
