package main

import (
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"slices"
	"syscall"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/rolegate/rolegate/config"
)

// bareHash prints the CPU milliseconds of one bare argon2id hash (x/crypto's
// argon2.IDKey alone: no server, no database, no tokens) at the parameters
// rolegate serve would use with this environment, as the median of -n
// hashes run one after another. load.sh divides rolegate's CPU per login
// by it.
func bareHash(args []string, stdout io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("hash", flag.ContinueOnError)
	n := fs.Int("n", 30, "how many hashes to time")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || *n > 10000 {
		return fmt.Errorf("hash: -n must be between 1 and 10000")
	}
	cfg, err := config.Load(getenv, flag.NewFlagSet("config", flag.ContinueOnError), nil)
	if err != nil {
		return err
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	password := []byte("bench-password-correct-horse")
	samples := make([]time.Duration, *n)
	for i := range samples {
		start := cpuTime()
		argon2.IDKey(password, salt, uint32(cfg.Argon2Iterations), uint32(cfg.Argon2MemoryKiB), uint8(cfg.Argon2Parallelism), 32)
		samples[i] = cpuTime() - start
	}
	_, err = fmt.Fprintf(stdout, "%.1f\n", float64(medianDuration(samples))/1e6)
	return err
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func medianDuration(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}
