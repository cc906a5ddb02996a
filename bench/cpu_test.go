package bench

import (
	"syscall"
	"testing"
	"time"
)

// cpuTimer reports the process's CPU time per operation as "cpu-ns/op"
// next to wall time: on a shared machine, wall time also counts the time
// other processes held the cores, CPU time only this one's work.
type cpuTimer struct{ start time.Duration }

func startCPU() cpuTimer { return cpuTimer{cpuTime()} }

func (c cpuTimer) report(b *testing.B) {
	b.ReportMetric(float64(cpuTime()-c.start)/float64(b.N), "cpu-ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
