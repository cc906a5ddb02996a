package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/rolegate/rolegate/config"
	"github.com/rolegate/rolegate/internal/account"
	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/internal/server"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/models"
)

// loadConfig parses the configuration flags of a subcommand, plus any the
// subcommand registered on fs first.
func loadConfig(fs *flag.FlagSet, args []string, getenv func(string) string, stderr io.Writer) (config.Config, error) {
	fs.SetOutput(stderr)
	cfg, err := config.Load(getenv, fs, args)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return cfg, fmt.Errorf("configuration:\n%w", err)
	}
	return cfg, err
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(flag.NewFlagSet("serve", flag.ContinueOnError), args, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
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
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("metrics listener: %w", err)
		}
		fmt.Fprintf(stdout, "rolegate metrics on %s\n", mln.Addr())
		go func() {
			if err := srv.ServeMetrics(ctx, mln); err != nil {
				log.Error("metrics listener stopped", "err", err)
			}
		}()
	}
	if cfg.PprofAddr != "" {
		pln, err := net.Listen("tcp", cfg.PprofAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("pprof listener: %w", err)
		}
		fmt.Fprintf(stdout, "rolegate pprof on %s\n", pln.Addr())
		go func() {
			if err := server.ServePprof(ctx, pln); err != nil {
				log.Error("pprof listener stopped", "err", err)
			}
		}()
	}
	// Subscribe before announcing the listener, so no SIGHUP can arrive
	// while its default action (exit) still applies.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go reloadOnHangup(ctx, srv, hup)
	fmt.Fprintf(stdout, "rolegate listening on %s\n", ln.Addr())
	return srv.Serve(ctx, ln)
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

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	cfg, err := loadConfig(fs, args, getenv, stderr)
	if err != nil {
		return err
	}
	direction := "up"
	if fs.NArg() > 0 {
		direction = fs.Arg(0)
	}
	if fs.NArg() > 1 || (direction != "up" && direction != "down" && direction != "status") {
		return usageError{"want: rolegate migrate [up|down|status]"}
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	defer st.Close()
	switch direction {
	case "up":
		err = st.Migrate(ctx)
	case "down":
		err = st.MigrateDown(ctx)
	}
	if err != nil {
		return err
	}
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

func createUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("users create", flag.ContinueOnError)
	username := fs.String("username", "", "username (required)")
	email := fs.String("email", "", "email address")
	role := fs.String("role", "", "role, one the policy defines (required)")
	first := fs.String("first-name", "", "first name")
	last := fs.String("last-name", "", "last name")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input (required)")
	cfg, err := loadConfig(fs, args, getenv, stderr)
	if err != nil {
		return err
	}
	if *username == "" || *role == "" || !*fromStdin {
		return usageError{"users create needs --username, --role and --password-stdin"}
	}
	password, err := readPassword(stdin)
	if err != nil {
		return err
	}
	u := &models.User{Username: account.NormalizeUsername(*username), Email: *email, FirstName: *first, LastName: *last, Role: *role, IsActive: true}
	if err := checkNewUser(cfg, u, password); err != nil {
		return err
	}
	hasher, err := server.NewHasher(cfg)
	if err != nil {
		return err
	}
	if u.PasswordHash, err = hasher.Hash(ctx, auth.Requester{Account: u.Username}, password); err != nil {
		return err
	}
	st, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	created, err := st.CreateUser(ctx, u)
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(stdout, "created user %d: %s (%s)\n", created.ID, created.Username, created.Role)
	return nil
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
// the policy defines its role.
func checkNewUser(cfg config.Config, u *models.User, password string) error {
	var problems []string
	add := func(field, msg string) {
		if msg != "" {
			problems = append(problems, field+": "+msg)
		}
	}
	add("username", account.CheckUsername(u.Username))
	add("email", account.CheckEmail(u.Email))
	add("first-name", account.CheckName(u.FirstName))
	add("last-name", account.CheckName(u.LastName))
	for _, p := range (auth.PasswordPolicy{MinLength: cfg.PasswordMinLength}).Check(password, u.Username) {
		add("password", p)
	}
	pol, err := authz.Load(cfg.PolicyModel, cfg.PolicyFile)
	if err != nil {
		return fmt.Errorf("load policy:\n%w", err)
	}
	if !pol.HasRole(u.Role) {
		add("role", fmt.Sprintf("%q is not a role the policy defines (%s)", u.Role, strings.Join(pol.Roles(), ", ")))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

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

func rotateKeys(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(flag.NewFlagSet("keys rotate", flag.ContinueOnError), args, getenv, stderr)
	if err != nil {
		return err
	}
	keep := max(cfg.AccessTTL, cfg.RefreshTTL) + auth.Leeway
	added, dropped, err := auth.RotateKeys(cfg.JWTKeyFile, keep, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "added signing key %s\n", added.ID)
	for _, k := range dropped {
		fmt.Fprintf(stdout, "dropped key %s (replaced over %s ago)\n", k.ID, keep)
	}
	fmt.Fprintln(stdout, "running servers verify with the new key on first sight, and sign with it within a minute")
	return nil
}

func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	target := fs.String("url", "", "URL to probe (default: /readyz on the configured address)")
	cfg, err := loadConfig(fs, args, getenv, stderr)
	if err != nil {
		return err
	}
	if *target == "" {
		host, port, err := net.SplitHostPort(cfg.Addr)
		if err != nil {
			return err
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		*target = "http://" + net.JoinHostPort(host, port) + "/readyz"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *target, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", *target, resp.Status)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
