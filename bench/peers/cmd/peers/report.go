package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// wrkResult is one wrk run: a RESULT line of bench/wrk/report.lua or
// once.lua, "RESULT <name>\t<req/s>\t<p50 ms>\t<p99 ms>\t<errors>".
type wrkResult struct{ rps, p50, p99, errors float64 }

// inprocResult is one INPROC line of peers inproc.
type inprocResult struct{ wall, cpu float64 }

type inprocKey struct {
	lines        int
	engine, mode string
}

// report prints the tables of a run, as Markdown, medians over the runs,
// and writes its plot.
func report(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	results := fs.String("results", "", "the RESULT lines of the wrk runs")
	inprocFile := fs.String("inproc", "", "the INPROC lines of peers inproc")
	membersFile := fs.String("members", "", "the output of peers members (optional)")
	svg := fs.String("svg", "", "write the plot here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	wrk, order, err := readWrk(*results)
	if err != nil {
		return err
	}
	in, inOrder, err := readInproc(*inprocFile)
	if err != nil {
		return err
	}
	printHTTP(stdout, wrk, order)
	printInproc(stdout, in, inOrder)
	if *membersFile != "" {
		if err := printMembers(stdout, *membersFile); err != nil {
			return err
		}
	}
	printCold(stdout, wrk, order)
	if *svg == "" {
		return nil
	}
	return os.WriteFile(*svg, []byte(plot(wrk, order, in, inOrder)), 0o644)
}

func readLines(path, prefix string, each func(fields []string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		rest, ok := strings.CutPrefix(sc.Text(), prefix)
		if !ok {
			continue
		}
		if err := each(strings.Split(rest, "\t")); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	return sc.Err()
}

func floats(ss []string) ([]float64, error) {
	out := make([]float64, len(ss))
	for i, s := range ss {
		var err error
		if out[i], err = strconv.ParseFloat(s, 64); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func readWrk(path string) (map[string][]wrkResult, []string, error) {
	runs := map[string][]wrkResult{}
	var order []string
	err := readLines(path, "RESULT ", func(f []string) error {
		if len(f) != 5 {
			return fmt.Errorf("want 5 fields, got %d", len(f))
		}
		v, err := floats(f[1:])
		if err != nil {
			return err
		}
		if _, seen := runs[f[0]]; !seen {
			order = append(order, f[0])
		}
		runs[f[0]] = append(runs[f[0]], wrkResult{v[0], v[1], v[2], v[3]})
		return nil
	})
	return runs, order, err
}

func readInproc(path string) (map[inprocKey][]inprocResult, []inprocKey, error) {
	runs := map[inprocKey][]inprocResult{}
	var order []inprocKey
	err := readLines(path, "INPROC\t", func(f []string) error {
		if len(f) != 6 {
			return fmt.Errorf("want 7 fields, got %d", len(f)+1)
		}
		lines, err := strconv.Atoi(f[0])
		if err != nil {
			return err
		}
		v, err := floats(f[3:5])
		if err != nil {
			return err
		}
		k := inprocKey{lines, f[1], f[2]}
		if _, seen := runs[k]; !seen {
			order = append(order, k)
		}
		runs[k] = append(runs[k], inprocResult{v[0], v[1]})
		return nil
	})
	return runs, order, err
}

func median[T any](rs []T, f func(T) float64) float64 {
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

func medianWrk(rs []wrkResult) wrkResult {
	return wrkResult{
		median(rs, func(r wrkResult) float64 { return r.rps }), median(rs, func(r wrkResult) float64 { return r.p50 }),
		median(rs, func(r wrkResult) float64 { return r.p99 }), median(rs, func(r wrkResult) float64 { return r.errors }),
	}
}

// httpName is the RESULT name of an HTTP engine's run at c connections.
func httpName(engine string, c int) string { return fmt.Sprintf("http c=%d %s", c, engine) }

// httpRuns lists the HTTP runs by connections and engine, in run order.
func httpRuns(order []string) (conns []int, engines []string) {
	for _, name := range order {
		var c int
		var e string
		if _, err := fmt.Sscanf(name, "http c=%d %s", &c, &e); err != nil {
			continue
		}
		if !slices.Contains(conns, c) {
			conns = append(conns, c)
		}
		if !slices.Contains(engines, e) {
			engines = append(engines, e)
		}
	}
	return conns, engines
}

func printHTTP(w io.Writer, wrk map[string][]wrkResult, order []string) {
	conns, engines := httpRuns(order)
	fmt.Fprintln(w, "### Over HTTP, the same questions rotating")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| engine | connections | runs | req/s | p50 ms | p99 ms | errors | req/s × OPA | p99 × OPA |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, c := range conns {
		opa := medianWrk(wrk[httpName("opa", c)])
		for _, e := range engines {
			rs := wrk[httpName(e, c)]
			if len(rs) == 0 {
				continue
			}
			m := medianWrk(rs)
			fmt.Fprintf(w, "| %s | %d | %d | %s | %.2f | %.2f | %.0f | %s | %s |\n", e, c, len(rs), thousands(m.rps), m.p50, m.p99, m.errors,
				ratio(m.rps, opa.rps), ratio(m.p99, opa.p99))
		}
	}
	fmt.Fprintln(w)
}

// engines of the in-process table, rolegate first.
func inprocEngines(order []inprocKey) (sizes []int, engines []string) {
	for _, k := range order {
		if !slices.Contains(sizes, k.lines) {
			sizes = append(sizes, k.lines)
		}
		if !slices.Contains(engines, k.engine) {
			engines = append(engines, k.engine)
		}
	}
	return sizes, engines
}

func printInproc(w io.Writer, in map[inprocKey][]inprocResult, order []inprocKey) {
	sizes, engines := inprocEngines(order)
	cpu := func(k inprocKey) float64 { return median(in[k], func(r inprocResult) float64 { return r.cpu }) }
	wall := func(k inprocKey) float64 { return median(in[k], func(r inprocResult) float64 { return r.wall }) }
	fmt.Fprintln(w, "### In process, CPU time per decision (wall time in brackets)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| policy lines | engine | runs | warm | cold (every call new) | warm × rolegate warm | cold × rolegate cold |")
	fmt.Fprintln(w, "|---:|---|---:|---:|---:|---:|---:|")
	for _, n := range sizes {
		rgWarm, rgCold := cpu(inprocKey{n, engines[0], "warm"}), cpu(inprocKey{n, engines[0], "cold"})
		for _, e := range engines {
			kw, kc := inprocKey{n, e, "warm"}, inprocKey{n, e, "cold"}
			fmt.Fprintf(w, "| %s | %s | %d | %s (%s) | %s (%s) | %s | %s |\n", thousands(float64(n)), e, len(in[kw]),
				fmtNs(cpu(kw)), fmtNs(wall(kw)), fmtNs(cpu(kc)), fmtNs(wall(kc)), ratio(cpu(kw), rgWarm), ratio(cpu(kc), rgCold))
		}
	}
	fmt.Fprintln(w)
}

// Cold-token RESULT names.
const (
	coldBaseline = "cold baseline GET /me/"
	coldMe       = "cold rolegate GET /me/"
	coldCheck    = "cold rolegate POST /v1/authz/check"
)

func printCold(w io.Writer, wrk map[string][]wrkResult, order []string) {
	base := medianWrk(wrk[coldBaseline])
	fmt.Fprintln(w, "### Cold tokens: every request a different user's new token")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| scenario | runs | req/s | p50 ms | p99 ms | errors | × baseline |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	for _, name := range order {
		if !strings.HasPrefix(name, "cold ") {
			continue
		}
		m := medianWrk(wrk[name])
		fmt.Fprintf(w, "| %s | %d | %s | %.2f | %.2f | %.0f | %s |\n", strings.TrimPrefix(name, "cold "), len(wrk[name]), thousands(m.rps), m.p50, m.p99, m.errors, ratio(m.rps, base.rps))
	}
	fmt.Fprintln(w)
}

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func fmtNs(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e4:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	case ns >= 1e3:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

// thousands renders n rounded, with thousands separated by commas.
func thousands(n float64) string {
	s := strconv.FormatInt(int64(n+0.5), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
