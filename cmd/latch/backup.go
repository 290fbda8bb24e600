package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/latchauth/latch/postgres"
	"github.com/latchauth/latch/sqlite"
)

const backupUsage = `Usage: latch backup --to FILE [--db latch.db]

Writes a consistent copy of a SQLite database to FILE while latch serve
keeps running (SQLite's VACUUM INTO: one read transaction, writers are not
blocked), then checks the copy (integrity check and schema version). FILE
must not exist; the copy is created with mode 0600 and appears under its
name only when complete.

The installation secret (--secret-file) is not in the database: back it up
once, separately, and keep it apart from the database copies. For
PostgreSQL, use pg_dump or your provider's backups.

Flags:
`

func backupCmd(ctx context.Context, env *environ, args []string) error {
	var to string
	cfg, err := loadConfig(env, "backup", backupUsage, args, func(fs *flag.FlagSet) {
		fs.StringVar(&to, "to", "", "write the copy to this `file` (must not exist)")
	})
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case to == "":
		return usagef("--to FILE is required")
	case postgres.IsURL(cfg.DB):
		return usagef("--db is a PostgreSQL URL; back it up with pg_dump")
	}
	if _, err := os.Stat(cfg.DB); err != nil {
		return fmt.Errorf("backup: database: %w", err)
	}
	st, err := sqlite.Open(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Backup(ctx, to); err != nil {
		return err
	}
	if err := sqlite.Verify(ctx, to); err != nil {
		return fmt.Errorf("backup written to %s but it does not check out: %w", to, err)
	}
	fi, err := os.Stat(to)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "backed up %s to %s (%d bytes); integrity and schema verified\n", cfg.DB, to, fi.Size())
	return nil
}
