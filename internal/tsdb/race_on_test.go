//go:build race

package tsdb

// raceEnabled skips measurements the race detector would distort.
const raceEnabled = true
