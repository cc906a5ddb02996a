package bench

import "github.com/rolegate/rolegate/internal/benchcpu"

// startCPU starts reporting the process's CPU time per operation.
func startCPU() benchcpu.Timer { return benchcpu.Start() }
