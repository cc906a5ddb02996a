package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/rolegate/rolegate/config"
	"github.com/rolegate/rolegate/internal/store"
)

func (c *cli) migrateCommand() *cobra.Command {
	up := func(ctx context.Context, cfg config.Config, _ []string) error { return migrateUp(ctx, cfg, c.stdout) }
	cmd := c.leaf(&cobra.Command{Use: "migrate [up|down|status]", Short: "apply pending schema migrations (as migrate up), or the command given"}, up)
	cmd.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return unknownCommand(cmd, args)
		}
		return nil
	}
	var yes bool
	down := &cobra.Command{Use: "down --yes", Short: "roll back the newest applied migration"}
	down.Flags().BoolVar(&yes, "yes", false, "roll it back; without --yes, only name the migration that would be rolled back")
	cmd.AddCommand(
		c.leaf(&cobra.Command{Use: "up", Short: "apply every pending migration"}, up),
		c.leaf(down, func(ctx context.Context, cfg config.Config, _ []string) error {
			return migrateDown(ctx, cfg, yes, down, c.stdout)
		}),
		c.leaf(&cobra.Command{Use: "status", Short: "list the migrations, applied or pending"},
			func(ctx context.Context, cfg config.Config, _ []string) error {
				return migrateStatus(ctx, cfg, c.stdout)
			}),
	)
	return cmd
}

// openForMigration opens the database without migrating it.
func openForMigration(ctx context.Context, cfg config.Config) (*store.Store, error) {
	return store.Open(ctx, cfg.DatabaseURL, store.Options{MaxConns: 2})
}

// migrateUp applies the pending migrations and names each, or says there
// were none.
func migrateUp(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	st, err := openForMigration(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	ran, err := st.MigrateUp(ctx)
	if err != nil {
		return err
	}
	if len(ran) == 0 {
		fmt.Fprintln(stdout, "nothing to apply: every migration has run")
	}
	for _, id := range ran {
		fmt.Fprintf(stdout, "applied %s\n", id)
	}
	return nil
}

// migrateDown rolls back the newest applied migration, once the operator
// has said --yes; without it, it names that migration and stops.
func migrateDown(ctx context.Context, cfg config.Config, yes bool, cmd *cobra.Command, stdout io.Writer) error {
	st, err := openForMigration(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if !yes {
		newest, err := newestApplied(ctx, st)
		if err != nil {
			return err
		}
		if newest == "" {
			fmt.Fprintln(stdout, "nothing to roll back: no migration has run")
			return nil
		}
		return usagef(cmd, "migrate down would roll back %s and lose what it holds; add --yes to roll it back", newest)
	}
	undone, err := st.MigrateDown(ctx)
	if err != nil {
		return err
	}
	if undone == "" {
		fmt.Fprintln(stdout, "nothing to roll back: no migration has run")
		return nil
	}
	fmt.Fprintf(stdout, "rolled back %s\n", undone)
	return nil
}

// newestApplied is the migration migrate down would roll back, or "".
func newestApplied(ctx context.Context, st *store.Store) (string, error) {
	status, err := st.MigrationStatus(ctx)
	if err != nil {
		return "", err
	}
	newest := ""
	for _, m := range status {
		if m.Applied {
			newest = m.ID
		}
	}
	return newest, nil
}

// migrateStatus lists every migration, applied or pending.
func migrateStatus(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	st, err := openForMigration(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	status, err := st.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	for _, m := range status {
		state := "pending"
		if m.Applied {
			state = "applied"
		}
		fmt.Fprintf(stdout, "%-8s %s\n", state, m.ID)
	}
	return nil
}
