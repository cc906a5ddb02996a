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

// roleMapping is how a Django user's flags pick the role of a row that
// names none.
type roleMapping struct {
	superuser, staff, user string
}

// importUsers runs "rolegate users import FILE". It exits non-zero when any
// row failed, after importing all the others, so that a script notices;
// running it again once the file is fixed imports only what is missing.
// With --print-policy it only prints the export's Django groups as
// suggested policy lines.
func (c *cli) usersImportCommand() *cobra.Command {
	var roles roleMapping
	var printPolicy bool
	cmd := &cobra.Command{Use: "import FILE", Short: "import users, and a Django export's tenants, memberships and groups, from a Django dumpdata export or a rolegate CSV or JSON user file", Args: exactArgs("FILE")}
	cmd.Flags().StringVar(&roles.superuser, "superuser-role", "admin", "role of Django superusers whose row names no role")
	cmd.Flags().StringVar(&roles.staff, "staff-role", "staff", "role of Django staff (is_staff, not superusers) whose row names no role")
	cmd.Flags().StringVar(&roles.user, "user-role", "", "role of other users whose row names no role (default ROLEGATE_DEFAULT_ROLE)")
	cmd.Flags().BoolVar(&printPolicy, "print-policy", false, "print the export's Django group permissions as suggested policy lines, for review, and import nothing")
	return c.leaf(cmd, func(ctx context.Context, cfg config.Config, args []string) error {
		if printPolicy {
			return printSuggestedPolicy(args[0], c.stdout)
		}
		if roles.user == "" {
			roles.user = cfg.DefaultRole
		}
		return importUsers(ctx, cfg, args[0], roles, c.stdout, c.stderr)
	})
}

// printSuggestedPolicy prints the Django groups of file name as policy
// lines to review. It needs no database.
func printSuggestedPolicy(name string, stdout io.Writer) error {
	file, err := readImportFile(name)
	if err != nil {
		return err
	}
	return importer.SuggestPolicy(stdout, file.Groups)
}

func importUsers(ctx context.Context, cfg config.Config, name string, roles roleMapping, stdout, stderr io.Writer) error {
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
	sum, err := importer.ImportFile(ctx, st, file, importer.Options{
		HasRole: pol.HasRole, DefaultRole: roles.user, SuperuserRole: roles.superuser, StaffRole: roles.staff,
		HasTenantRole: pol.HasTenantRole, HasGroup: pol.HasGroup, Progress: bar.show,
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
		return fmt.Errorf("%d of %d rows failed (listed above); the others were imported", n, sum.Rows())
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
