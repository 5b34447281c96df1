// Command secgate is the security gate of a CI pipeline: secret scanning,
// dependency vulnerability scanning and container image checks, judged by a
// CVSS-tiered policy. See the README.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() { os.Exit(start(os.Args[1:])) }

// start is the process: the Docker action's change of user first, then
// the command line.
func start(args []string) int {
	if _, set := os.LookupEnv("GOGC"); !set {
		// A CI step shares its runner or pod: half the default heap
		// headroom, for about 3% more CPU (bench/secrets.sh: peak RSS
		// 147 -> 123 MB on a 5,000-commit history). GOGC set wins.
		debug.SetGCPercent(50)
	}
	if err := becomeWorkspaceOwner(os.Getenv, os.Stderr); err != nil {
		// Fail closed: better no verdict than one run with root's rights.
		fmt.Fprintln(os.Stderr, "secgate:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, os.Stdout, os.Stderr, os.LookupEnv)
}
