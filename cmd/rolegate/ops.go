package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

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

// printConfig prints every setting's effective value and where it came
// from, secrets redacted. It prints even an invalid configuration, then
// lists its problems and fails.
func printConfig(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(flag.NewFlagSet("config print", flag.ContinueOnError), args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tVALUE\tSOURCE")
	if cfg.ConfigFile != "" {
		fmt.Fprintf(tw, "config\t%s\t\n", cfg.ConfigFile)
	}
	for _, e := range cfg.Describe() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Flag, e.Value, e.Source)
	}
	tw.Flush()
	return err
}

// initKeys creates the signing key file, unless there is one already.
// Production servers never create it, so deployments run this once.
func initKeys(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(flag.NewFlagSet("keys init", flag.ContinueOnError), args, getenv, stderr)
	if err != nil {
		return err
	}
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
