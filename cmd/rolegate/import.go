package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolegate/rolegate/config"
	"github.com/rolegate/rolegate/internal/importer"
	"github.com/rolegate/rolegate/internal/server"
)

// importUsers runs "rolegate users import FILE". It exits non-zero when any
// row failed, after importing all the others, so that a script notices;
// running it again once the file is fixed imports only what is missing.
func (c *cli) usersImportCommand() *cobra.Command {
	var superuserRole string
	cmd := &cobra.Command{Use: "import FILE", Short: "import users from a Django dumpdata export or a rolegate CSV or JSON user file", Args: exactArgs("FILE")}
	cmd.Flags().StringVar(&superuserRole, "superuser-role", "admin", "role of Django superusers whose row names no role")
	return c.leaf(cmd, func(ctx context.Context, cfg config.Config, args []string) error {
		return importUsers(ctx, cfg, args[0], superuserRole, c.stdout, c.stderr)
	})
}

func importUsers(ctx context.Context, cfg config.Config, name, superuserRole string, stdout, stderr io.Writer) error {
	start := time.Now()
	file, err := readImportFile(name)
	if err != nil {
		return err
	}
	st, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	pol, err := policyInForce(ctx, cfg, st)
	if err != nil {
		return err
	}
	bar := newProgressBar(stderr)
	sum, err := importer.Import(ctx, st, file.Rows, importer.Options{
		HasRole: pol.HasRole, DefaultRole: cfg.DefaultRole, SuperuserRole: superuserRole, Progress: bar.show,
	})
	bar.finish()
	sum.Elapsed = time.Since(start) // reading the file is part of the work
	return report(sum, err, stdout, stderr)
}

// report lists the failed rows, then the imported rows with a warning and
// those imported under a deleted user's id, on stderr and the summary on
// stdout, and returns the error the command ends with: the database's, or
// one that counts the failed rows.
func report(sum importer.Summary, err error, stdout, stderr io.Writer) error {
	for _, f := range sum.Failures {
		fmt.Fprintf(stderr, "%s: %s\n", f.Ref, f.Reason)
	}
	for _, w := range sum.Warnings {
		fmt.Fprintf(stderr, "%s: warning: %s\n", w.Ref, w.Reason)
	}
	for _, r := range sum.Revived {
		fmt.Fprintf(stderr, "%s: id %d belonged to a deleted user; imported as a new account (the deleted user's tokens stay refused)\n", r.Ref, r.ID)
	}
	fmt.Fprintln(stdout, sum)
	if err != nil {
		return err
	}
	if n := len(sum.Failures); n > 0 {
		return fmt.Errorf("%d of %d rows failed (listed above); the others were imported", n, sum.Total)
	}
	return nil
}

func readImportFile(name string) (*importer.File, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	file, err := importer.Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return file, nil
}

// progressBar draws an import's progress on one terminal line. On anything
// but a terminal it draws nothing, so logs get only the summary line.
type progressBar struct {
	w       io.Writer // nil when not a terminal
	percent int
}

func newProgressBar(w io.Writer) *progressBar {
	if !isTerminal(w) {
		return &progressBar{}
	}
	return &progressBar{w: w, percent: -1}
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

const barWidth = 40

// show redraws the bar when the percentage moves.
func (b *progressBar) show(done, total int) {
	if b.w == nil {
		return
	}
	percent := 100
	if total > 0 {
		percent = done * 100 / total
	}
	if percent == b.percent {
		return
	}
	b.percent = percent
	filled := percent * barWidth / 100
	fmt.Fprintf(b.w, "\r[%s%s] %3d%% %d/%d rows", strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), percent, done, total)
}

// finish ends the bar's line.
func (b *progressBar) finish() {
	if b.w != nil && b.percent >= 0 {
		fmt.Fprintln(b.w)
	}
}
