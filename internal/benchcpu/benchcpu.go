// Package benchcpu reports a benchmark's process CPU time per operation,
// as "cpu-ns/op", next to wall time: on a shared machine, wall time also
// counts the time other processes held the cores, CPU time only this
// process's work.
package benchcpu

import (
	"syscall"
	"testing"
	"time"
)

// Timer measures the CPU time since it started.
type Timer struct{ start time.Duration }

// Start starts a Timer.
func Start() Timer { return Timer{Now()} }

// Report reports the CPU time since t started, per operation of b.
func (t Timer) Report(b *testing.B) {
	b.ReportMetric(float64(Now()-t.start)/float64(b.N), "cpu-ns/op")
}

// Now is the CPU time the process has used, user and system.
func Now() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
