// Command rolegate is a policy-driven authorization and user-management
// service. See the README for its subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "rolegate:", err)
	}
	os.Exit(exitCode(err))
}

// exitCode is the process status for what run returned: 2 for a mistake
// in the command line, as the flag package does, and 1 for every other
// failure, such as a failing policy test, which CI reads as "the policy
// is wrong", not "the command was".
func exitCode(err error) int {
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue) || errors.Is(err, flag.ErrHelp):
		return 2
	}
	return 1
}

const usage = `usage: rolegate <command> [flags]

commands:
  serve                     run the HTTP server
  migrate [up|down|status]  apply, roll back one, or list schema migrations
  users create              create a user (--username U --role R --password-stdin)
  users import FILE         import users from a Django dumpdata export or a rolegate CSV/JSON file
  users list                print a table of users (--role R, --search S)
  keys init                 create the signing key file if there is none
  keys rotate               publish a new signing key (it signs after the JWKS cache time), drop keys no token can still use
  keys list                 list the signing keys: kid, created, signs from, state
  keys retire [--force] KID remove a signing key that no valid token needs
  config print              print every setting's effective value and its source
  healthcheck               probe a running server's /readyz (for container health checks)
  policy test|check|explain run the policy's tests, lint the policy files, or explain one decision
  policy publish            validate the policy files and store them as the version replicas serve
  policy versions           list published policy versions, newest (in force) first
  policy rollback VERSION   publish an older version again as the newest

Every command takes the configuration flags; run "rolegate serve -h" to list them.`

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg + "\n\n" + usage }

// run is the whole program; main only supplies the process's environment,
// so tests can run it too.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"no command given"}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, rest, getenv, stdout, stderr)
	case "users":
		return users(ctx, rest, getenv, stdin, stdout, stderr)
	case "keys":
		return keysCommand(ctx, rest, getenv, stdout, stderr)
	case "config":
		if len(rest) == 0 || rest[0] != "print" {
			return usageError{"want: rolegate config print"}
		}
		return printConfig(rest[1:], getenv, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, rest, getenv, stdout, stderr)
	case "policy":
		return policyCommand(ctx, rest, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}

// users runs the "users" subcommands.
func users(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	sub := ""
	if len(args) > 0 {
		sub = args[0]
	}
	switch sub {
	case "create":
		return createUser(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "import":
		return importUsers(ctx, args[1:], getenv, stdout, stderr)
	case "list":
		return listUsers(ctx, args[1:], getenv, stdout, stderr)
	}
	return usageError{"want: rolegate users create|import|list"}
}
