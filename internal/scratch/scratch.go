// Package scratch finds a place for the temporary files a library insists
// on (a base revision's lockfiles, an image exported for the package
// scanner). secgate writes nothing else outside the paths its user names,
// and it runs under read-only root filesystems (docker run --read-only,
// Kubernetes readOnlyRootFilesystem): TMPDIR when it is writable, else the
// scanned repository's .git directory, which every scanner skips and which
// a writable workspace holds; else an error that says how to give it one.
package scratch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Dir makes a new directory for purpose (named in the error) and returns
// it with the function that removes it. workspace is the scanned tree; ""
// when there is none.
func Dir(purpose, prefix, workspace string) (string, func(), error) {
	dir, err := os.MkdirTemp("", prefix)
	if err == nil {
		return dir, func() { os.RemoveAll(dir) }, nil
	}
	tmpErr := err
	if gitDir := findGitDir(workspace); gitDir != "" {
		if dir, err := os.MkdirTemp(gitDir, prefix); err == nil {
			return dir, func() { os.RemoveAll(dir) }, nil
		}
	}
	return "", nil, fmt.Errorf("%s needs a temporary directory, and TMPDIR (%s) is not writable: %w; give it one: docker run --tmpfs /tmp, a Kubernetes emptyDir on /tmp, or TMPDIR=<a writable directory>", purpose, os.TempDir(), unwrapPath(tmpErr))
}

// findGitDir is the .git directory of the repository holding dir, "" when
// there is none (or .git is a file: a worktree's or a submodule's).
func findGitDir(dir string) string {
	if dir == "" {
		return ""
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for {
		p := filepath.Join(dir, ".git")
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
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
