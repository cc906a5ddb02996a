//go:build fault && !race

package fault_test

const raceEnabled = false
