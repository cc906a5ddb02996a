// Command loadtool prepares and reports bench/load.sh's runs.
//
//	loadtool users [-copy] -n N -password P -out users.csv   a rolegate CSV user file (or COPY CSV), every user with one precomputed hash
//	loadtool tokens -url URL -username U -password P -n N -out FILE   N logins; FILE gets one refresh token a line, FILE.access one access token
//	loadtool copy-columns   the columns of users -copy, for COPY
//	loadtool hash [-n N]   the median CPU ms of one bare argon2id hash at rolegate's parameters (from the environment)
//	loadtool table [-baseline NAME] FILE...   the medians of the RESULT lines wrk's scripts printed, with ratios to the baseline
//	loadtool load -url URL [-method M -body B -token T -connections N -duration D] -name NAME   one load run printing a RESULT line as wrk's scripts do, for hosts without wrk
//	loadtool flood -url URL -kind K -attacker U ... -third U ...   one flood of issue 10 item 3, with a third user's logins timed during it (bench/flood.sh)
//	loadtool flood-table FILE...   the medians of the FLOOD lines of several runs
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadtool:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: loadtool users|tokens|copy-columns|hash|table|load|flood|flood-table [flags]")
	}
	switch args[0] {
	case "users":
		return writeUsers(args[1:])
	case "tokens":
		return mintTokens(args[1:])
	case "hash":
		return bareHash(args[1:], stdout, os.Getenv)
	case "table":
		return printTable(args[1:], stdout)
	case "load":
		return load(args[1:], stdout)
	case "flood":
		return flood(args[1:], stdout)
	case "flood-table":
		return floodTable(args[1:], stdout)
	case "copy-columns":
		_, err := fmt.Fprintln(stdout, CopyColumns)
		return err
	}
	return fmt.Errorf("unknown command %q", args[0])
}
