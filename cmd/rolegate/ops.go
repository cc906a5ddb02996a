package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolegate/rolegate/config"
	"github.com/rolegate/rolegate/internal/auth"
)

// newLogger logs at level to w, as JSON or text; format "auto" picks text
// when w is a terminal, for people, and JSON otherwise, for collectors.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	l.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: l}
	if format == "text" || (format == "auto" && isTerminal(w)) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func (c *cli) configPrintCommand() *cobra.Command {
	return c.leaf(&cobra.Command{Use: "print", Short: "print every setting's effective value and its source"},
		func(_ context.Context, cfg config.Config, _ []string) error { return printConfig(cfg, c.stdout) })
}

// printConfig prints every setting's effective value and where it came
// from, secrets redacted. An invalid configuration prints nothing but its
// problems (the command fails before it gets here), so that no half-true
// table is taken for the configuration in force.
func printConfig(cfg config.Config, stdout io.Writer) error {
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tVALUE\tSOURCE")
	if cfg.ConfigFile != "" {
		fmt.Fprintf(tw, "config\t%s\t\n", cfg.ConfigFile)
	}
	for _, e := range cfg.Describe() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Flag, e.Value, e.Source)
	}
	return tw.Flush()
}

// initKeys creates the signing key file, unless there is one already.
// Production servers never create it, so deployments run this once.
func initKeys(cfg config.Config, stdout io.Writer) error {
	_, statErr := os.Stat(cfg.JWTKeyFile)
	ks, err := auth.LoadOrCreateKeys(cfg.JWTKeyFile)
	if err != nil {
		return err
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		fmt.Fprintf(stdout, "created %s with signing key %s\n", cfg.JWTKeyFile, ks.SignerAt(time.Now()).ID)
		return nil
	}
	fmt.Fprintf(stdout, "%s already holds %d signing key(s); left unchanged\n", cfg.JWTKeyFile, len(ks.Keys()))
	return nil
}
