package main

import (
	"fmt"
	"io"
	"strconv"
)

// printMembers prints the table of peers members's output: CPU per
// decision in a tenant at its count of memberships, medians over the runs,
// and what building the engines' copies of the directory took.
func printMembers(w io.Writer, path string) error {
	type build struct{ what, secs, mb string }
	var builds []build
	for _, kind := range []string{"TABLES", "OPADATA"} {
		if err := readLines(path, kind+"\t", func(f []string) error {
			if len(f) != 3 {
				return fmt.Errorf("want 4 fields, got %d", len(f)+1)
			}
			builds = append(builds, build{kind, f[1], f[2]})
			return nil
		}); err != nil {
			return err
		}
	}
	in := map[inprocKey][]inprocResult{}
	var order []inprocKey
	if err := readLines(path, "MEMBERS\t", func(f []string) error {
		if len(f) != 6 {
			return fmt.Errorf("want 7 fields, got %d", len(f)+1)
		}
		n, err := strconv.Atoi(f[0])
		if err != nil {
			return err
		}
		v, err := floats(f[3:5])
		if err != nil {
			return err
		}
		k := inprocKey{n, f[1], f[2]}
		if _, seen := in[k]; !seen {
			order = append(order, k)
		}
		in[k] = append(in[k], inprocResult{v[0], v[1]})
		return nil
	}); err != nil || len(order) == 0 {
		return err
	}
	cpu := func(k inprocKey) float64 { return median(in[k], func(r inprocResult) float64 { return r.cpu }) }
	wall := func(k inprocKey) float64 { return median(in[k], func(r inprocResult) float64 { return r.wall }) }
	fmt.Fprintf(w, "### In process, in a tenant, at %s memberships: CPU time per decision (wall time in brackets)\n\n", thousands(float64(order[0].lines)))
	fmt.Fprintln(w, "| engine | runs | warm | × rolegate |")
	fmt.Fprintln(w, "|---|---:|---:|---:|")
	for _, k := range order {
		fmt.Fprintf(w, "| %s | %d | %s (%s) | %s |\n", k.engine, len(in[k]), fmtNs(cpu(k)), fmtNs(wall(k)), ratio(cpu(k), cpu(order[0])))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| the directory as | built in | heap |")
	fmt.Fprintln(w, "|---|---:|---:|")
	for _, b := range builds {
		what := "tables for rolegate and Casbin (peers.Standings)"
		if b.what == "OPADATA" {
			what = "OPA's data (from Go values) and its prepared query"
		}
		fmt.Fprintf(w, "| %s | %s s | %s MB |\n", what, b.secs, b.mb)
	}
	fmt.Fprintln(w)
	return nil
}
