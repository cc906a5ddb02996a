package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolegate/rolegate/config"
	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/internal/policylint"
	"github.com/rolegate/rolegate/internal/policytest"
	"github.com/rolegate/rolegate/internal/server"
	"github.com/rolegate/rolegate/models"
)

// publishFlags are the flags that say who publishes and why.
type publishFlags struct {
	by, comment string
}

func (f *publishFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.by, "by", "", "who publishes, kept with the version (default: $USER)")
	cmd.Flags().StringVar(&f.comment, "comment", "", "why, kept with the version")
}

func (c *cli) policyPublishCommand() *cobra.Command {
	var files policyFiles
	var who publishFlags
	cmd := &cobra.Command{Use: "publish", Short: "validate the policy files and store them as the version replicas serve"}
	files.register(cmd, true, true)
	who.register(cmd)
	return c.leaf(cmd, func(ctx context.Context, cfg config.Config, _ []string) error {
		return policyPublish(ctx, cfg, files, who, c.getenv, c.stdout)
	})
}

// policyPublish runs "rolegate policy publish": it validates the policy
// files as a reload would and stores them as the newest version, which
// every replica in database mode then serves.
func policyPublish(ctx context.Context, cfg config.Config, files policyFiles, who publishFlags, getenv func(string) string, stdout io.Writer) error {
	if err := checkVersionDatabase(cfg); err != nil {
		return fmt.Errorf("policy not published: %w", err)
	}
	fmt.Fprintf(stdout, "target database: %s\n", config.RedactURL(cfg.DatabaseURL))
	src, err := files.load(ctx, cfg)
	if err != nil {
		return fmt.Errorf("policy not published:\n%w", err)
	}
	return publish(ctx, cfg, src, who, getenv, stdout)
}

// validate refuses what a reload would refuse (a policy that does not
// compile or fails its tests) and what "policy check" calls an error.
func validate(src authz.Source, cfg config.Config) (*authz.Policy, error) {
	var errs authz.LoadErrors
	for _, f := range policylint.Check(src, policylint.CheckOptions{DefaultRole: cfg.DefaultRole}) {
		if f.Severity == policylint.Error {
			errs = append(errs, authz.LoadError{File: f.File, Line: f.Line, Reason: f.Message})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	p, err := authz.Compile(src)
	if err != nil {
		return nil, err
	}
	if err := policytest.Tester(p, src); err != nil {
		return nil, err
	}
	return p, nil
}

// checkVersionDatabase refuses, in production, to keep policy versions in
// SQLite: replicas in production run on PostgreSQL, so a SQLite database
// there is a forgotten ROLEGATE_DATABASE_URL (most often the development
// default), and a version published to it would reach no replica. The
// check comes before the database is opened, which would create the file.
func checkVersionDatabase(cfg config.Config) error {
	if !cfg.Production() || !cfg.IsSQLite() {
		return nil
	}
	what := "is SQLite"
	if cfg.IsDefault("database-url") {
		what = "is the development default, SQLite"
	}
	return fmt.Errorf("%s: %s %s; with ROLEGATE_ENV=production, name the replicas' PostgreSQL database",
		cfg.Origin("database-url"), config.RedactURL(cfg.DatabaseURL), what)
}

// publish validates src and stores it as the newest version, unless the
// newest already holds the same text.
func publish(ctx context.Context, cfg config.Config, src authz.Source, who publishFlags, getenv func(string) string, stdout io.Writer) error {
	p, err := validate(src, cfg)
	if err != nil {
		return fmt.Errorf("policy not published:\n%w", err)
	}
	st, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	latest, err := st.LatestPolicyVersion(ctx)
	if err == nil && latest.Version == p.Version() && latest.Tests == string(src.Tests) {
		fmt.Fprintf(stdout, "policy version %s is already the newest (#%d); nothing published\n", latest.Version, latest.ID)
		return nil
	}
	if err != nil && !isNotFound(err) {
		return err
	}
	v, err := st.PublishPolicyVersion(ctx, models.PolicyVersion{
		Version: p.Version(), Model: string(src.Model), Policy: string(src.Policy), Routes: string(src.Routes), Tests: string(src.Tests),
		PublishedBy: or(who.by, getenv("USER")), Comment: who.comment,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "published policy version %s (#%d)\n", v.Version, v.ID)
	return nil
}

func isNotFound(err error) bool {
	me, ok := err.(*models.Error)
	return ok && me.Code == models.ENOTFOUND
}

// versionsShown is how many versions "policy versions" lists by default.
const versionsShown = 20

func (c *cli) policyVersionsCommand() *cobra.Command {
	var limit int
	cmd := &cobra.Command{Use: "versions", Short: "list published policy versions, newest (in force) first"}
	cmd.Flags().IntVar(&limit, "limit", versionsShown, "most versions to list")
	return c.leaf(cmd, func(ctx context.Context, cfg config.Config, _ []string) error {
		if limit < 1 {
			return usagef(cmd, "--limit must be at least 1")
		}
		return policyVersions(ctx, cfg, limit, c.stdout)
	})
}

// policyVersions runs "rolegate policy versions": the published versions,
// newest first, the one in force marked with "*".
func policyVersions(ctx context.Context, cfg config.Config, limit int, stdout io.Writer) error {
	if err := checkVersionDatabase(cfg); err != nil {
		return err
	}
	st, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	vs, err := st.ListPolicyVersions(ctx, limit)
	if err != nil {
		return err
	}
	if len(vs) == 0 {
		fmt.Fprintln(stdout, "no policy version is published; run 'rolegate policy publish'")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\tID\tVERSION\tPUBLISHED_AT\tBY\tCOMMENT")
	for i, v := range vs {
		mark := ""
		if i == 0 {
			mark = "*"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", mark, v.ID, v.Version[:12], v.PublishedAt.Format(time.RFC3339), orDash(v.PublishedBy), orDash(v.Comment))
	}
	return tw.Flush()
}

// policyRollback runs "rolegate policy rollback VERSION": it publishes an
// older version's text again as the newest, after validating it again
// (the tests or the default role may have changed since).
func (c *cli) policyRollbackCommand() *cobra.Command {
	var who publishFlags
	cmd := &cobra.Command{Use: "rollback VERSION", Short: "publish an older version again as the newest", Args: exactArgs("VERSION")}
	who.register(cmd)
	return c.leaf(cmd, func(ctx context.Context, cfg config.Config, args []string) error {
		return policyRollback(ctx, cfg, args[0], who, c.getenv, c.stdout)
	})
}

func policyRollback(ctx context.Context, cfg config.Config, prefix string, who publishFlags, getenv func(string) string, stdout io.Writer) error {
	if err := checkVersionDatabase(cfg); err != nil {
		return fmt.Errorf("nothing rolled back: %w", err)
	}
	fmt.Fprintf(stdout, "target database: %s\n", config.RedactURL(cfg.DatabaseURL))
	old, err := findVersion(ctx, cfg, prefix)
	if err != nil {
		return err
	}
	if who.comment == "" {
		who.comment = fmt.Sprintf("rollback to %s (#%d)", old.Version[:12], old.ID)
	}
	return publish(ctx, cfg, authz.PublishedSource(old), who, getenv, stdout)
}

// findVersion reads the newest row of the version that prefix names.
func findVersion(ctx context.Context, cfg config.Config, prefix string) (models.PolicyVersion, error) {
	st, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return models.PolicyVersion{}, err
	}
	defer st.Close()
	v, err := st.PolicyVersionByPrefix(ctx, prefix)
	switch me, ok := err.(*models.Error); {
	case ok && me.Code == models.ENOTFOUND:
		return v, fmt.Errorf("%s: 'rolegate policy versions' lists them", me.Message)
	case ok && me.Code == models.EINVALID:
		return v, usageError{me.Message}
	}
	return v, err
}
