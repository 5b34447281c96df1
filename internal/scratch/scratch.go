// Package scratch finds a place for the temporary files a library insists
// on (a base revision's lockfiles, an image exported for the package
// scanner). secgate writes nothing else outside the paths its user names,
// and it runs under read-only root filesystems (docker run --read-only,
// Kubernetes readOnlyRootFilesystem): TMPDIR when it is writable, else the
// fallback the caller names — the scanned repository's .git directory
// (repo.GitDir), which every scanner skips and which a writable workspace
// holds —; else an error that says how to give it one.
package scratch

import (
	"errors"
	"fmt"
	"os"
)

// Dir makes a new directory for purpose (named in the error) and returns
// it with the function that removes it; fallback is where to make it when
// TMPDIR is not writable ("" none).
func Dir(purpose, prefix, fallback string) (string, func(), error) {
	dir, err := os.MkdirTemp("", prefix)
	if err == nil {
		return dir, func() { os.RemoveAll(dir) }, nil
	}
	tmpErr := err
	if fallback != "" {
		if dir, err := os.MkdirTemp(fallback, prefix); err == nil {
			return dir, func() { os.RemoveAll(dir) }, nil
		}
	}
	return "", nil, fmt.Errorf("%s needs a temporary directory, and TMPDIR (%s) is not writable: %w; give it one: docker run --tmpfs /tmp, a Kubernetes emptyDir on /tmp, or TMPDIR=<a writable directory>", purpose, os.TempDir(), unwrapPath(tmpErr))
}

// unwrapPath keeps the cause of a *PathError: MkdirTemp's path ends in a
// random pattern that says nothing to the user.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
