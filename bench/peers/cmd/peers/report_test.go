package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReport checks the tables take medians over the runs and the ratios
// against OPA, rolegate and the baseline, and that the plot is SVG.
func TestReport(t *testing.T) {
	dir := t.TempDir()
	results := filepath.Join(dir, "results.txt")
	inprocFile := filepath.Join(dir, "inproc.txt")
	svg := filepath.Join(dir, "peers.svg")
	write := func(path, text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(results, strings.Join([]string{
		"RESULT http c=64 rolegate\t300\t1\t9\t0",
		"RESULT http c=64 opa\t100\t2\t20\t0",
		"RESULT http c=64 rolegate\t200\t1\t10\t0",
		"RESULT http c=64 opa\t110\t2\t30\t0",
		"RESULT http c=64 rolegate\t250\t1\t11\t0",
		"RESULT http c=64 opa\t90\t2\t25\t0",
		"RESULT cold baseline GET /me/\t1000\t1\t5\t0",
		"RESULT cold rolegate GET /me/\t1500\t1\t5\t0",
		"noise",
	}, "\n")+"\n")
	write(inprocFile, strings.Join([]string{
		"INPROC\t10\trolegate Decide\twarm\t120\t100\t5",
		"INPROC\t10\trolegate Decide\tcold\t12000\t10000\t5",
		"INPROC\t10\tOPA rego (prepared query)\twarm\t25000\t20000\t5",
		"INPROC\t10\tOPA rego (prepared query)\tcold\t30000\t25000\t5",
	}, "\n")+"\n")
	var out bytes.Buffer
	if err := report([]string{"-results", results, "-inproc", inprocFile, "-svg", svg}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| rolegate | 64 | 3 | 250 | 1.00 | 10.00 | 0 | 2.50 | 0.40 |",
		"| opa | 64 | 3 | 100 | 2.00 | 25.00 | 0 | 1.00 | 1.00 |",
		"| 10 | OPA rego (prepared query) | 1 | 20.0 µs (25.0 µs) | 25.0 µs (30.0 µs) | 200.00 | 2.50 |",
		"| rolegate GET /me/ | 1 | 1,500 | 1.00 | 5.00 | 0 | 1.50 |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report:\n%s\nwant a row %q", out.String(), want)
		}
	}
	f, err := os.Open(svg)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	for {
		if _, err := dec.Token(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("the plot is not well-formed XML: %v", err)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%v): got %q, want %q", n, got, want)
		}
	}
}
