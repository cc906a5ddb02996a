package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The lines of `go tool trace -d=parsed` tracestat reads: a goroutine's
// state changes, and the begin and end of named ranges (GC phases,
// stop-the-world pauses). It is Go's debug format, read as Go 1.26 prints
// it.
var (
	transition = regexp.MustCompile(`StateTransition Time=(\d+) GoID=(\d+) (\w+)->(\w+)`)
	rangeEvent = regexp.MustCompile(`(RangeBegin|RangeEnd) Time=(\d+) Name="([^"]+)"`)
	eventTime  = regexp.MustCompile(` Time=(\d+)`)
)

// traceStats is what tracestat measures.
type traceStats struct {
	span   int64   // ns from the first event to the last
	waits  []int64 // ns each runnable goroutine waited for a processor
	marks  []int64 // ns of each GC mark phase
	pauses []int64 // ns of each stop-the-world pause, tracing's own left out
}

// tracestat reads `go tool trace -d=parsed TRACE` on stdin and prints how
// long runnable goroutines waited to run, and the GC's cycles and pauses:
// what tells a tail made by the scheduler from one made by the GC.
//
//	go tool trace -d=parsed trace.out | peers tracestat
func tracestat(stdin io.Reader, stdout io.Writer) error {
	s, err := readTrace(stdin)
	if err != nil {
		return err
	}
	if len(s.waits) == 0 {
		return fmt.Errorf("tracestat: no goroutine ran in the trace (is it go tool trace -d=parsed output?)")
	}
	slices.Sort(s.waits)
	slices.Sort(s.pauses)
	pct := func(p float64) float64 { return ms(s.waits[min(len(s.waits)-1, int(p*float64(len(s.waits))))]) }
	over := func(limit int64) int {
		n := 0
		for _, w := range s.waits {
			if w > limit {
				n++
			}
		}
		return n
	}
	fmt.Fprintf(stdout, "trace: %.2f s\n", float64(s.span)/1e9)
	fmt.Fprintf(stdout, "waits of a runnable goroutine for a processor: %d; p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms; over 10 ms: %d\n",
		len(s.waits), pct(0.5), pct(0.9), pct(0.99), pct(0.999), ms(s.waits[len(s.waits)-1]), over(10_000_000))
	fmt.Fprintf(stdout, "GC: %d mark phases, %.1f ms in all (%.1f%% of the trace), the longest %.2f ms\n",
		len(s.marks), ms(sum(s.marks)), 100*float64(sum(s.marks))/float64(max(s.span, 1)), ms(slices.Max(append(s.marks, 0))))
	fmt.Fprintf(stdout, "stop-the-world pauses: %d, %.2f ms in all (%.2f%% of the trace), the longest %.3f ms\n",
		len(s.pauses), ms(sum(s.pauses)), 100*float64(sum(s.pauses))/float64(max(s.span, 1)), ms(slices.Max(append(s.pauses, 0))))
	return nil
}

func readTrace(r io.Reader) (traceStats, error) {
	var s traceStats
	runnableSince := map[string]int64{}
	begun := map[string]int64{}
	var first, last int64
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "M=") {
			continue
		}
		if m := eventTime.FindStringSubmatch(line); m != nil {
			t, _ := strconv.ParseInt(m[1], 10, 64)
			if first == 0 {
				first = t
			}
			last = max(last, t)
		}
		if m := transition.FindStringSubmatch(line); m != nil {
			t, _ := strconv.ParseInt(m[1], 10, 64)
			switch {
			case m[4] == "Runnable":
				runnableSince[m[2]] = t
			case m[3] == "Runnable" && m[4] == "Running":
				if since, ok := runnableSince[m[2]]; ok {
					s.waits = append(s.waits, t-since)
					delete(runnableSince, m[2])
				}
			}
			continue
		}
		m := rangeEvent.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		t, _ := strconv.ParseInt(m[2], 10, 64)
		name := m[3]
		isMark, isPause := name == "GC concurrent mark phase", strings.HasPrefix(name, "stop-the-world (GC")
		if !isMark && !isPause {
			continue
		}
		if m[1] == "RangeBegin" {
			begun[name] = t
			continue
		}
		start, ok := begun[name]
		if !ok {
			continue
		}
		delete(begun, name)
		if isMark {
			s.marks = append(s.marks, t-start)
		} else {
			s.pauses = append(s.pauses, t-start)
		}
	}
	s.span = last - first
	return s, sc.Err()
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }

func sum(xs []int64) int64 {
	var t int64
	for _, x := range xs {
		t += x
	}
	return t
}
