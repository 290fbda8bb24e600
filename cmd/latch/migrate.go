package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
)

const migrateUsage = `Usage: latch migrate [flags]

Applies pending schema migrations to the database and exits. latch serve
also applies them at start. A database migrated by a newer latch is refused.

Flags:
`

func migrateCmd(ctx context.Context, env *environ, args []string) error {
	cfg, err := loadConfig(env, "migrate", migrateUsage, args, nil)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := st.Migrate(ctx, nil)
	if err != nil {
		return fmt.Errorf("database %s: %w", cfg.dbForLogs(), err)
	}
	fmt.Fprintf(env.stdout, "applied %d migration(s); %s is current\n", n, cfg.dbForLogs())
	return nil
}
