package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rolegate/rolegate/bench/peers"
)

// inproc times every in-process engine at each policy size, runs times,
// interleaved, after checking every engine agrees with rolegate on the
// questions. Each timing prints one line:
// "INPROC\t<lines>\t<engine>\t<warm|cold>\t<wall ns>\t<CPU ns>\t<decisions>".
func inproc(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("inproc", flag.ContinueOnError)
	linesFlag := fs.String("lines", "10,1000,10000", "policy sizes (lines of bench.SyntheticPolicy), comma-separated")
	n := fs.Int("n", 2_000, "questions per size")
	runs := fs.Int("runs", 3, "timings of each engine and mode")
	benchtime := fs.Duration("benchtime", time.Second, "how long each timing runs, at least")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sizes, err := parseSizes(*linesFlag)
	if err != nil {
		return err
	}
	root, err := peers.RepoRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "peers-inproc")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	modelFile, regoFile := filepath.Join(root, "policy", "model.conf"), filepath.Join(root, "bench", "peers", "policy", "rolegate.rego")
	for _, lines := range sizes {
		deciders, qs, err := prepareSize(ctx, modelFile, regoFile, tmp, lines, *n)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "%d lines: %d questions, every engine agreeing with rolegate\n", lines, len(qs))
		for range *runs {
			for _, d := range deciders {
				for _, cold := range []bool{false, true} {
					t, err := peers.Time(ctx, d, qs, cold, *benchtime)
					if err != nil {
						return err
					}
					mode := "warm"
					if cold {
						mode = "cold"
					}
					fmt.Fprintf(stdout, "INPROC\t%d\t%s\t%s\t%.1f\t%.1f\t%d\n", lines, d.Name, mode, t.WallNs, t.CPUNs, t.Ops)
				}
			}
		}
	}
	return nil
}

// prepareSize builds the engines for a generated policy of lines lines and
// questions about it, and checks they agree.
func prepareSize(ctx context.Context, modelFile, regoFile, tmp string, lines, n int) ([]peers.Decider, []peers.Question, error) {
	p, err := peers.Synthetic(modelFile, tmp, lines)
	if err != nil {
		return nil, nil, err
	}
	v, err := p.Vocabulary()
	if err != nil {
		return nil, nil, err
	}
	qs := peers.Random(v, peers.Anyone{Roles: v.Roles}, uint64(lines), n)
	engines, err := peers.InProcess(ctx, p, regoFile, peers.Directory{})
	if err != nil {
		return nil, nil, err
	}
	if err := peers.Answer(ctx, engines[0], qs); err != nil {
		return nil, nil, err
	}
	for _, e := range engines[1:] {
		if err := peers.Agree(ctx, e, qs); err != nil {
			return nil, nil, fmt.Errorf("%d lines: %w", lines, err)
		}
	}
	d, err := peers.Deciders(engines, qs)
	return d, qs, err
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 10 {
			return nil, fmt.Errorf("policy size %q: want a number of lines, at least 10", f)
		}
		out = append(out, n)
	}
	return out, nil
}
