//go:build fault && race

package fault_test

// raceEnabled says the tests, and so the binary they build, run with the
// race detector.
const raceEnabled = true
