//go:build race

package httpapi_test

// raceEnabled reports a -race build, whose argon2id runs about ten times
// slower.
const raceEnabled = true
