// Package repo reads the scanned repository's own files — the policy and
// the scanners' configuration and ignore files, the base revision's
// lockfiles — from the working tree or from a git revision, and says which
// of them a change modifies. On a pull/merge request these files are read
// from the base revision: the change under review must not be able to
// loosen the rules it is judged by.
package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/secgate/secgate/internal/scratch"
)

// ErrOutsideTree is returned for a file that is a symlink leaving the tree.
var ErrOutsideTree = errors.New("is a symlink that leaves the scanned tree: refused")

// ReadFile reads rel (slash-separated, relative to root): from the working
// tree when rev is empty, else from revision rev (git show, no checkout).
// ok is false when the file does not exist there. In the working tree a
// symlink that resolves outside root is refused: a configuration file
// cannot be borrowed from elsewhere on the runner.
func ReadFile(ctx context.Context, root, rev, rel string) (data []byte, ok bool, err error) {
	if rev != "" {
		return show(ctx, root, rev, rel)
	}
	p := filepath.Join(root, filepath.FromSlash(rel))
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if err := inside(root, p); err != nil {
			return nil, false, err
		}
	}
	data, err = os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil // a dangling symlink
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading %s: %w", p, err)
	}
	return data, true, nil
}

// inside fails unless p, symlinks resolved, is within root.
func inside(root, p string) error {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return err
	}
	target, err := filepath.EvalSymlinks(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	rel, err := filepath.Rel(realRoot, target)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("%s %w (it points to %s)", p, ErrOutsideTree, target)
	}
	return nil
}

// show reads a file at a revision; ok is false when it did not exist there.
func show(ctx context.Context, root, rev, rel string) ([]byte, bool, error) {
	if err := VerifyRevision(ctx, root, rev); err != nil {
		return nil, false, err
	}
	cmd := exec.CommandContext(ctx, "git", "-C", root, "show", "--end-of-options", rev+":./"+rel)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := stderr.String()
		if strings.Contains(msg, "does not exist in") || strings.Contains(msg, "exists on disk, but not in") {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("git show %s:%s in %s: %v %s", rev, rel, root, err, strings.TrimSpace(msg))
	}
	return out, true, nil
}

// VerifyRevision fails when rev does not name a commit of the repository
// at root, naming a shallow clone as the likely cause.
func VerifyRevision(ctx context.Context, root, rev string) error {
	if rev == "" || strings.HasPrefix(rev, "-") {
		return fmt.Errorf("invalid git revision %q", rev)
	}
	cmd := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if shallow(ctx, root) {
			return fmt.Errorf("git revision %q not found in %s: the clone is shallow, fetch the history (e.g. actions/checkout with fetch-depth: 0, GIT_DEPTH: 0 in GitLab)", rev, root)
		}
		return fmt.Errorf("git revision %q not found in %s: %v %s", rev, root, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

func shallow(ctx context.Context, root string) bool {
	out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--is-shallow-repository").Output()
	return err == nil && strings.TrimSpace(string(out)) == "true"
}

// Changed lists the files matching the pathspecs that differ between
// revision base and the working tree (committed or not, untracked files
// included), slash-separated and relative to root, sorted.
func Changed(ctx context.Context, root, base string, pathspecs ...string) ([]string, error) {
	if err := VerifyRevision(ctx, root, base); err != nil {
		return nil, err
	}
	// Paths relative to root, also when root is a subdirectory of the repository.
	diff := append([]string{"-C", root, "diff", "--name-only", "--no-renames", "--relative", base, "--"}, pathspecs...)
	untracked := append([]string{"-C", root, "ls-files", "--others", "--exclude-standard", "--"}, pathspecs...)
	var out []string
	for _, args := range [][]string{diff, untracked} {
		cmd := exec.CommandContext(ctx, "git", args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("git %s in %s: %v %s", args[2], root, err, strings.TrimSpace(stderr.String()))
		}
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" && !slices.Contains(out, l) {
				out = append(out, l)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// IgnoredDirs lists the directories under root (slash-separated, relative
// to root, sorted) that the tree's own ignore rules exclude: its
// .gitignore files and those above it up to its repository's root (and
// the repository's info/exclude), never the rules of a directory that
// encloses the repository, nor the user's global excludes file. A tree
// that is not a repository, or that an enclosing repository ignores as a
// whole (a checkout under an ignored build/ or tmp/, gitlab-ci-local's
// builds), is judged by the .gitignore files inside it alone.
func IgnoredDirs(ctx context.Context, root string) ([]string, error) {
	args := []string{"-C", root, "-c", "core.excludesFile=" + os.DevNull}
	if !inWorkTree(ctx, root) || ignoredItself(ctx, root) {
		gitDir, cleanup, err := scratch.Dir("reading the ignore files of "+root, "secgate-ignores-", root)
		if err != nil {
			return nil, err
		}
		defer cleanup()
		if out, err := exec.CommandContext(ctx, "git", "init", "-q", "--bare", gitDir).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("git init: %v %s", err, strings.TrimSpace(string(out)))
		}
		args = append(args, "--git-dir="+gitDir, "--work-tree="+root)
	}
	cmd := exec.CommandContext(ctx, "git", append(args, "ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory", "--", ".")...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing the ignored directories of %s: git ls-files: %v %s", root, err, strings.TrimSpace(stderr.String()))
	}
	var dirs []string
	for _, p := range strings.Split(string(b), "\x00") {
		if d, ok := strings.CutSuffix(p, "/"); ok && d != "" && d != "." {
			dirs = append(dirs, d)
		}
	}
	slices.Sort(dirs)
	return dirs, nil
}

func inWorkTree(ctx context.Context, root string) bool {
	out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--is-inside-work-tree").Output()
	return err == nil && strings.TrimSpace(string(out)) == "true"
}

// ignoredItself reports whether the repository enclosing root ignores root.
func ignoredItself(ctx context.Context, root string) bool {
	return exec.CommandContext(ctx, "git", "-C", root, "-c", "core.excludesFile="+os.DevNull, "check-ignore", "-q", ".").Run() == nil
}

// Prefix is root's path within its repository, slash-separated, without a
// trailing slash: "" at the repository's root or outside any repository.
func Prefix(ctx context.Context, root string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--show-prefix").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(strings.TrimSpace(string(out)), "/")
}

// HasCommit reports whether the repository at root holds commit rev.
func HasCommit(ctx context.Context, root, rev string) bool {
	return exec.CommandContext(ctx, "git", "-C", root, "cat-file", "-e", rev+"^{commit}").Run() == nil
}

// MergeBase is the merge base of a and b, "" when there is none.
func MergeBase(ctx context.Context, root, a, b string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", root, "merge-base", a, b).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// FetchBase makes a shallow clone hold the base revision of a range scan
// (CI checkouts fetch little history by default): it fetches the commit,
// then deepens the clone, with the credentials the checkout left; failing
// that, the error ends with fix, the CI's own way to fetch the history.
func FetchBase(ctx context.Context, root, base, fix string) error {
	if base == "" || HasCommit(ctx, root, base) {
		return nil
	}
	var stderr bytes.Buffer
	for _, args := range [][]string{{"fetch", "--no-tags", "--quiet", "origin", base}, {"fetch", "--no-tags", "--quiet", "--deepen=1000"}} {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", root}, args...)...)
		cmd.Stderr = &stderr
		if cmd.Run() == nil && HasCommit(ctx, root, base) {
			return nil
		}
	}
	return fmt.Errorf("the base revision %s is not in the clone, and fetching it failed (%s): %s", base[:min(len(base), 12)], strings.TrimSpace(stderr.String()), fix)
}

// PushBase decides the base of a push's range scan from the previous head
// (before) and the new one (after): before itself when the clone has it;
// for a new branch (before all zeros) or a forced push whose previous head
// is gone, the merge base with the default branch; else "" (the whole tree
// is judged). note says which, for the report.
func PushBase(ctx context.Context, root, before, after, defaultBranch string) (base, note string) {
	short := func(s string) string { return s[:min(len(s), 12)] }
	if strings.Trim(before, "0") != "" && HasCommit(ctx, root, before) {
		return before, "push " + short(before) + ".." + short(after)
	}
	why := "a new branch"
	if strings.Trim(before, "0") != "" {
		why = "a forced push whose previous head is gone"
	}
	if defaultBranch != "" {
		head := after
		if head == "" {
			head = "HEAD"
		}
		if mb := MergeBase(ctx, root, "origin/"+defaultBranch, head); mb != "" && mb != after {
			return mb, fmt.Sprintf("push (%s): judged from the merge base with %s, %s", why, defaultBranch, short(mb))
		}
	}
	return "", fmt.Sprintf("push (%s), with no merge base with the default branch: the whole tree is judged", why)
}
