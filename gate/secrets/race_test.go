//go:build race

package secrets

// raceEnabled: the race detector makes the regex-heavy comparison with
// gitleaks ~10× slower, and it is one goroutine; under it, a sample.
const raceEnabled = true
