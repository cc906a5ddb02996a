// Command rolegate is a policy-driven authorization and user-management
// service. See the README for its subcommands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/rolegate/rolegate/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	printError(os.Stderr, err)
	os.Exit(exitCode(err))
}

// printError writes what stopped the command for the person who ran it,
// unless the command already logged it (serve logs everything, so that
// its output is log lines only).
func printError(w io.Writer, err error) {
	var logged loggedError
	if err == nil || errors.As(err, &logged) {
		return
	}
	fmt.Fprintln(w, "rolegate:", err)
}

// loggedError is an error its command has already written to its log.
type loggedError struct{ error }

func (e loggedError) Unwrap() error { return e.error }

// exitCode is the process status for what run returned: 2 for a mistake
// in the command line, as the flag package does, and 1 for every other
// failure, such as a failing policy test, which CI reads as "the policy
// is wrong", not "the command was".
func exitCode(err error) int {
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return 2
	}
	return 1
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// run is the whole program; main only supplies the process's environment,
// so tests can run it too.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	c := &cli{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	root := c.rootCommand()
	// Never nil: cobra would read os.Args instead.
	root.SetArgs(append([]string{}, args...))
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}

// rootCommand is every command of rolegate.
//
// The command line library is spf13/cobra: its flags (pflag) may follow
// positional arguments, a command's help lists its own flags apart from
// inherited ones, and it is what kubectl, docker and gh use, so operators
// already know the shape of its help.
func (c *cli) rootCommand() *cobra.Command {
	root := group("rolegate", "a policy-driven authorization and user-management service",
		c.serveCommand(),
		c.migrateCommand(),
		group("users", "create, import, list users, and set their passwords",
			c.usersCreateCommand(), c.usersImportCommand(), c.usersListCommand(), c.usersSetPasswordCommand()),
		c.tenantsCommand(),
		c.keysCommand(),
		group("config", "show the configuration", c.configPrintCommand()),
		c.healthcheckCommand(),
		c.policyCommand(),
		c.versionCommand(),
	)
	root.Use = "rolegate <command>"
	root.Long = "rolegate is a policy-driven authorization and user-management service.\n" +
		"Every command takes the global settings its --help lists; each is also a\n" +
		"ROLEGATE_* variable and a key of the --config file."
	root.Version = versionString()
	root.Flags().BoolP("version", "v", false, "print the version, commit and Go release of this binary")
	root.SetVersionTemplate("{{.Version}}\n")
	root.SilenceErrors, root.SilenceUsage = true, true
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(flagError)
	root.SetUsageFunc(writeUsage)
	return root
}

func (c *cli) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print the version, commit and Go release of this binary",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(c.stdout, versionString())
			return err
		},
	}
}

// keysCommand holds the signing key commands. Each is a leaf over a plain
// function of the configuration.
func (c *cli) keysCommand() *cobra.Command {
	var force bool
	retire := &cobra.Command{Use: "retire [--force] [--] KID", Short: "remove a signing key that no valid token needs", Args: exactArgs("KID"),
		Annotations: map[string]string{dashArgAnnotation: "KID"}}
	retire.Flags().BoolVar(&force, "force", false, "retire the key even if it signs now or its tokens may still be valid (a leaked key)")
	return group("keys", "manage the token signing keys",
		c.leaf(&cobra.Command{Use: "init", Short: "create the signing key file if there is none"},
			func(_ context.Context, cfg config.Config, _ []string) error { return initKeys(cfg, c.stdout) }),
		c.leaf(&cobra.Command{Use: "rotate", Short: "publish a new signing key (it signs after the JWKS cache time), drop keys no token can still use"},
			func(ctx context.Context, cfg config.Config, _ []string) error {
				return rotateKeys(ctx, cfg, c.getenv, c.stdout, c.stderr)
			}),
		c.leaf(&cobra.Command{Use: "list", Short: "list the signing keys: kid, created, signs from, state"},
			func(_ context.Context, cfg config.Config, _ []string) error { return listKeys(cfg, c.stdout) }),
		c.leaf(retire, func(ctx context.Context, cfg config.Config, args []string) error {
			return retireKey(ctx, cfg, args[0], force, c.getenv, c.stdout, c.stderr)
		}),
	)
}
