package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestTracestat checks the waits, GC phases and pauses read from a few
// lines of go tool trace -d=parsed, and that the trace's own
// stop-the-world is left out.
func TestTracestat(t *testing.T) {
	in := strings.Join([]string{
		`M=1 P=0 G=9 RangeBegin Time=1000000 Name="stop-the-world (start trace)" Scope=Goroutine(9)`,
		`M=1 P=0 G=9 RangeEnd Time=1500000 Name="stop-the-world (start trace)" Scope=Goroutine(9)`,
		`M=1 P=0 G=-1 StateTransition Time=2000000 GoID=7 Running->Runnable Reason=""`,
		`M=1 P=0 G=-1 StateTransition Time=14000000 GoID=7 Runnable->Running Reason=""`,
		`	runtime.gopark @ 0x1`,
		`M=1 P=1 G=-1 StateTransition Time=3000000 GoID=8 Waiting->Runnable Reason=""`,
		`M=1 P=1 G=-1 StateTransition Time=4000000 GoID=8 Runnable->Running Reason=""`,
		`M=1 P=1 G=36 RangeBegin Time=5000000 Name="GC concurrent mark phase" Scope=None`,
		`M=1 P=1 G=36 RangeBegin Time=5000000 Name="stop-the-world (GC sweep termination)" Scope=Goroutine(36)`,
		`M=1 P=1 G=36 RangeEnd Time=5200000 Name="stop-the-world (GC sweep termination)" Scope=Goroutine(36)`,
		`M=1 P=1 G=36 RangeEnd Time=9000000 Name="GC concurrent mark phase" Scope=None`,
		`M=1 P=1 G=36 RangeEnd Time=21000000 Name="unrelated" Scope=None`,
	}, "\n") + "\n"
	var out bytes.Buffer
	if err := tracestat(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"trace: 0.02 s",
		"waits of a runnable goroutine for a processor: 2; p50 12.000 ms, p90 12.000 ms, p99 12.000 ms, p99.9 12.000 ms, max 12.000 ms; over 10 ms: 1",
		"GC: 1 mark phases, 4.0 ms in all (20.0% of the trace), the longest 4.00 ms",
		"stop-the-world pauses: 1, 0.20 ms in all (1.00% of the trace), the longest 0.200 ms",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("got:\n%s\nwant a line containing %q", out.String(), want)
		}
	}
	if err := tracestat(strings.NewReader("not a trace\n"), &out); err == nil {
		t.Error("input without goroutines: got no error, want one")
	}
}
