// Command peers prepares, checks and reports bench/peers/run.sh's
// comparison of rolegate with OPA, plain Casbin and Cerbos.
//
//	peers prepare -out DIR [-n 10000 -seed 1 -users 10000 -cold-runs 3]
//	    the question set (rolegate's answers included, every in-process
//	    engine agreeing), the user file to import, OPA's data, Cerbos's
//	    policies and configuration, and their request files
//	peers tokens -dir DIR
//	    after the import: access tokens for the stored users, rolegate's
//	    request file and the cold-token request files
//	peers agree -kind rolegate|opa|cerbos -url URL -dir DIR
//	    ask a server every question of DIR over HTTP; exit 1 on the first
//	    answer that differs from rolegate's, printing the question
//	peers inproc [-lines 10,1000,10000 -n 10000 -runs 3 -benchtime 1s]
//	    time every in-process engine at each policy size, after checking
//	    they agree
//	peers members [-memberships 1000000 -tenants 100000 -n 2000 -runs 3 -benchtime 1s]
//	peers report -results FILE -inproc FILE [-members FILE] [-svg OUT]
//	    the tables of a run, with ratios, and its plot
//	go tool trace -d=parsed trace.out | peers tracestat
//	    how long runnable goroutines waited for a processor, and the GC's
//	    cycles and pauses, in an execution trace (run.sh's PROFILE_DIR)
//
// Everything runs from rolegate's checkout root, as run.sh does; the
// environment is rolegate's (ROLEGATE_JWT_KEY_FILE and the rest), for the
// tokens prepare signs.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: peers prepare|tokens|agree|inproc|members|report|tracestat [flags]")
	}
	switch args[0] {
	case "prepare":
		return prepare(ctx, args[1:], stderr)
	case "tokens":
		return tokens(ctx, args[1:], getenv, stderr)
	case "agree":
		return agree(ctx, args[1:], stderr)
	case "inproc":
		return inproc(ctx, args[1:], stdout, stderr)
	case "members":
		return members(ctx, args[1:], stdout, stderr)
	case "report":
		return report(args[1:], stdout)
	case "tracestat":
		return tracestat(os.Stdin, stdout)
	}
	return fmt.Errorf("unknown command %q", args[0])
}
