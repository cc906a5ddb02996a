package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolegate/rolegate/config"
	"github.com/rolegate/rolegate/internal/account"
	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/internal/policytest"
	"github.com/rolegate/rolegate/internal/server"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

func (c *cli) serveCommand() *cobra.Command {
	return c.leaf(&cobra.Command{Use: "serve", Short: "run the HTTP server"},
		func(ctx context.Context, cfg config.Config, _ []string) error {
			return serve(ctx, cfg, c.getenv, c.stderr)
		})
}

// serve runs the server, logging to stderr. Everything it says goes
// through the one logger, so that a collector reading the stream gets
// only log lines: the listeners, the startup facts, and the error that
// stops it, which main then does not print again.
func serve(ctx context.Context, cfg config.Config, getenv func(string) string, stderr io.Writer) error {
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	if err := runServer(ctx, cfg, getenv, log); err != nil {
		log.Error("rolegate stopped", "err", err.Error())
		return loggedError{err}
	}
	return nil
}

func runServer(ctx context.Context, cfg config.Config, getenv func(string) string, log *slog.Logger) error {
	// The side listeners stop when serve returns, also on a failure.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if limit, ok := memoryLimit(cfg, getenv); ok {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(limit))
	}
	if getenv("GOGC") == "" {
		// Go's default, 100, lets a login flood's heap (19 MiB per argon2id
		// hash) double between collections; see docs/performance.md.
		defer debug.SetGCPercent(debug.SetGCPercent(cfg.GCPercent))
	}
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if cfg.MetricsAddr != "" {
		if err := sideListener(ctx, log, "metrics", cfg.MetricsAddr, srv.ServeMetrics); err != nil {
			return err
		}
	}
	if cfg.PprofAddr != "" {
		if err := sideListener(ctx, log, "pprof", cfg.PprofAddr, server.ServePprof); err != nil {
			return err
		}
	}
	// Subscribe before announcing the listener, so no SIGHUP can arrive
	// while its default action (exit) still applies.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go reloadOnHangup(ctx, srv, hup)
	return srv.Serve(ctx, ln)
}

// sideListener listens on addr and serves there until ctx is done,
// logging where.
func sideListener(ctx context.Context, log *slog.Logger, name, addr string, serve func(context.Context, net.Listener) error) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s listener: %w", name, err)
	}
	server.LogAlways(log, name+" listening", "addr", ln.Addr().String())
	go func() {
		if err := serve(ctx, ln); err != nil {
			log.Error(name+" listener stopped", "err", err)
		}
	}()
	return nil
}

// memoryLimit is the soft memory limit serve sets, in bytes, and whether
// it sets one: ROLEGATE_MEMORY_LIMIT, unless it is 0 or GOMEMLIMIT is set
// (the Go runtime has already applied that). Without a limit the garbage
// collector lets the heap grow to twice what was live at the last
// collection, and every argon2id hash allocates 19 MiB, so a login flood
// peaks far above the memory the server needs.
func memoryLimit(cfg config.Config, getenv func(string) string) (int64, bool) {
	limit := cfg.MemoryLimitBytes()
	if limit == 0 || getenv("GOMEMLIMIT") != "" {
		return 0, false
	}
	return limit, true
}

// reloadOnHangup reloads the policy and the signing keys on every SIGHUP
// until ctx is done.
func reloadOnHangup(ctx context.Context, srv *server.Server, hup <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			srv.Reload(ctx, "sighup")
		}
	}
}

// newUserFlags are the flags of "users create".
type newUserFlags struct {
	username, email, role, first, last string
	fromStdin                          bool
}

func (c *cli) usersCreateCommand() *cobra.Command {
	var f newUserFlags
	cmd := &cobra.Command{Use: "create --username U --role R --password-stdin", Short: "create a user directly in the configured database"}
	cmd.Flags().StringVar(&f.username, "username", "", "username (required)")
	cmd.Flags().StringVar(&f.email, "email", "", "email address")
	cmd.Flags().StringVar(&f.role, "role", "", "role, one the policy defines (required)")
	cmd.Flags().StringVar(&f.first, "first-name", "", "first name")
	cmd.Flags().StringVar(&f.last, "last-name", "", "last name")
	cmd.Flags().BoolVar(&f.fromStdin, "password-stdin", false, "read the password from the first line of standard input (required)")
	return c.leaf(cmd, func(ctx context.Context, cfg config.Config, _ []string) error {
		if f.username == "" || f.role == "" || !f.fromStdin {
			return usagef(cmd, "users create needs --username, --role and --password-stdin")
		}
		return createUser(ctx, cfg, f, c.stdin, c.stdout)
	})
}

func createUser(ctx context.Context, cfg config.Config, f newUserFlags, stdin io.Reader, stdout io.Writer) error {
	password, err := readPassword(stdin)
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
	u := &models.User{Username: account.NormalizeUsername(f.username), Email: f.email, FirstName: f.first, LastName: f.last, Role: f.role, IsActive: true}
	if err := checkNewUser(cfg, pol, u, password); err != nil {
		return err
	}
	hasher, err := server.NewHasher(cfg)
	if err != nil {
		return err
	}
	if u.PasswordHash, err = hasher.Hash(ctx, auth.Requester{Account: u.Username}, password); err != nil {
		return err
	}
	created, err := st.CreateUser(ctx, u)
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(stdout, "created user %d: %s (%s)\n", created.ID, created.Username, created.Role)
	return nil
}

// policyInForce is the policy a server with cfg would serve: the files,
// or in database mode the newest version published in st, compiled and
// tested as the server does.
func policyInForce(ctx context.Context, cfg config.Config, st *store.Store) (*authz.Policy, error) {
	m, err := authz.NewManager(ctx, server.PolicyLoader(cfg, st), policytest.Tester, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, fmt.Errorf("load policy:\n%w", err)
	}
	return m.Current(), nil
}

// readPassword reads the first line of r, without its line ending.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}

// checkNewUser applies the API's rules for a new account, and checks that
// pol defines its role. Each problem is a line, by the flag that set the
// attribute.
func checkNewUser(cfg config.Config, pol *authz.Policy, u *models.User, password string) error {
	var problems []string
	add := func(field string, msgs ...string) {
		for _, msg := range msgs {
			problems = append(problems, flagName(field)+": "+msg)
		}
	}
	invalid := models.FieldsOf(account.Validate(u.Patch()), server.PasswordPolicy(cfg).Validate("password", password, u))
	for _, field := range account.Fields {
		add(field, invalid[field]...)
	}
	add("password", invalid["password"]...)
	if !pol.HasRole(u.Role) {
		add("role", fmt.Sprintf("%q is not a role the policy defines (%s)", u.Role, strings.Join(pol.Roles(), ", ")))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

// flagName is the flag of "users create" that sets the attribute an API
// field name names: first-name for first_name.
func flagName(field string) string { return strings.ReplaceAll(field, "_", "-") }

// describe renders a domain error for the terminal.
func describe(err error) error {
	e := models.AsError(err)
	if len(e.Fields) == 0 {
		return err
	}
	var lines []string
	for field, msgs := range e.Fields {
		lines = append(lines, field+": "+strings.Join(msgs, " "))
	}
	return errors.New(strings.Join(lines, "\n"))
}

func (c *cli) healthcheckCommand() *cobra.Command {
	var target string
	cmd := &cobra.Command{Use: "healthcheck", Short: "probe a running server's /readyz (for container health checks)"}
	cmd.Flags().StringVar(&target, "url", "", "URL to probe (default: /readyz on the configured address)")
	return c.leaf(cmd, func(ctx context.Context, cfg config.Config, _ []string) error {
		return healthcheck(ctx, cfg, target, c.stdout)
	})
}

func healthcheck(ctx context.Context, cfg config.Config, target string, stdout io.Writer) error {
	if target == "" {
		host, port, err := net.SplitHostPort(cfg.Addr)
		if err != nil {
			return err
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		target = "http://" + net.JoinHostPort(host, port) + "/readyz"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", target, resp.Status)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
