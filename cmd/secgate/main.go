// Command secgate is the security gate of a CI pipeline: secret scanning,
// dependency vulnerability scanning and container image checks, judged by a
// CVSS-tiered policy. See the README.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() { os.Exit(start(os.Args[1:])) }

// start is the process: the Docker action's change of user first, then
// the command line.
func start(args []string) int {
	if err := becomeWorkspaceOwner(os.Getenv, os.Stderr); err != nil {
		// Fail closed: better no verdict than one run with root's rights.
		fmt.Fprintln(os.Stderr, "secgate:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, os.Stdout, os.Stderr, os.LookupEnv)
}
