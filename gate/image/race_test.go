//go:build race

package image

// raceEnabled: the race detector makes byte-heavy tests 7× slower; those run
// without it in a step of their own in .ci/run.
const raceEnabled = true
