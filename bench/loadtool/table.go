package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// result is one wrk run of one scenario, from a line
// "RESULT <scenario> <req/s> <p50 ms> <p99 ms> <errors>" that the lua
// scripts' done() prints.
type result struct {
	rps, p50, p99, errors float64
}

// printTable reads every RESULT line of files and prints, per scenario in
// first-seen order, the median of each figure over the runs, and its
// throughput relative to the scenario named "baseline GET /me/", or to the
// one named by a first argument "-baseline NAME".
func printTable(files []string, w io.Writer) error {
	base := "baseline GET /me/"
	if len(files) >= 2 && files[0] == "-baseline" {
		base, files = files[1], files[2:]
	}
	runs := map[string][]result{}
	var order []string
	for _, f := range files {
		if err := readResults(f, runs, &order); err != nil {
			return err
		}
	}
	baseline := median(runs[base], func(r result) float64 { return r.rps })
	fmt.Fprintf(w, "%-42s %5s %10s %9s %9s %8s %8s\n", "scenario", "runs", "req/s", "p50 ms", "p99 ms", "errors", "x base")
	for _, name := range order {
		rs := runs[name]
		rps := median(rs, func(r result) float64 { return r.rps })
		ratio := "-"
		if baseline > 0 {
			ratio = fmt.Sprintf("%.2f", rps/baseline)
		}
		fmt.Fprintf(w, "%-42s %5d %10.0f %9.2f %9.2f %8.0f %8s\n", name, len(rs), rps,
			median(rs, func(r result) float64 { return r.p50 }), median(rs, func(r result) float64 { return r.p99 }),
			median(rs, func(r result) float64 { return r.errors }), ratio)
	}
	return nil
}

func readResults(file string, runs map[string][]result, order *[]string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "RESULT ")
		if !ok {
			continue
		}
		fields := strings.Split(rest, "\t")
		if len(fields) != 5 {
			return fmt.Errorf("%s: bad line %q", file, sc.Text())
		}
		var nums [4]float64
		for i, s := range fields[1:] {
			if nums[i], err = strconv.ParseFloat(s, 64); err != nil {
				return fmt.Errorf("%s: %q: %w", file, sc.Text(), err)
			}
		}
		name := fields[0]
		if _, seen := runs[name]; !seen {
			*order = append(*order, name)
		}
		runs[name] = append(runs[name], result{nums[0], nums[1], nums[2], nums[3]})
	}
	return sc.Err()
}

func median(rs []result, f func(result) float64) float64 {
	if len(rs) == 0 {
		return 0
	}
	vs := make([]float64, len(rs))
	for i, r := range rs {
		vs[i] = f(r)
	}
	slices.Sort(vs)
	return vs[len(vs)/2]
}
