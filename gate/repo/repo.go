// Package repo reads the scanned repository's own files — the policy and
// the scanners' configuration and ignore files, the base revision's
// lockfiles — from the working tree or from a git revision, and says which
// of them a change modifies. On a pull/merge request these files are read
// from the base revision: the change under review must not be able to
// loosen the rules it is judged by.
package repo

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/secgate/secgate/policy"
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
	r, err := Open(root)
	if err != nil {
		return nil, false, err
	}
	c, err := verify(r, root, rev)
	if err != nil {
		return nil, false, err
	}
	commit, err := r.CommitObject(c)
	if err != nil {
		return nil, false, fmt.Errorf("git revision %s in %s: %w", rev, root, err)
	}
	f, err := commit.File(path.Join(prefix(r, root), rel))
	if errors.Is(err, object.ErrFileNotFound) || errors.Is(err, object.ErrDirectoryNotFound) || errors.Is(err, object.ErrEntryNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading %s at %s in %s: %w", rel, rev, root, err)
	}
	content, err := f.Contents()
	if err != nil {
		return nil, false, fmt.Errorf("reading %s at %s in %s: %w", rel, rev, root, err)
	}
	return []byte(content), true, nil
}

// Open opens the git repository that holds dir (dir or a parent has its
// .git), with go-git: secgate needs no git binary, and reads a checkout
// owned by another user (git's "dubious ownership") as it is.
func Open(dir string) (*gogit.Repository, error) {
	r, err := gogit.PlainOpenWithOptions(dir, &gogit.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		return nil, fmt.Errorf("%s is not in a git repository: %w", dir, err)
	}
	return r, nil
}

// OpenForWalk opens the repository holding dir for reading many objects
// (a history scan): the pack files are mapped into memory and stay so
// between reads (go-git's default opens a pack for every object: 8x the
// time of git log on 5,000 commits). The caller calls close when done.
func OpenForWalk(dir string) (r *gogit.Repository, close func(), err error) {
	if gitDir := GitDir(dir); gitDir != "" {
		top := filepath.Dir(gitDir)
		packs := newPackFS(osfs.New(gitDir, osfs.WithBoundOS()), gitDir)
		st := filesystem.NewStorageWithOptions(packs, cache.NewObjectLRU(4*cache.MiByte), filesystem.Options{KeepDescriptors: true})
		closeAll := func() {
			st.Close()
			packs.close()
		}
		r, err := gogit.Open(st, osfs.New(top, osfs.WithBoundOS()))
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("%s: %w", top, err)
		}
		return r, closeAll, nil
	}
	// A worktree's or a submodule's .git file: go-git's own resolution.
	r, err = Open(dir)
	return r, func() {}, err
}

// GitDir is the .git directory of the repository holding dir, "" when
// there is none, or when .git is a file (a worktree's, a submodule's).
func GitDir(dir string) string {
	if dir == "" {
		return ""
	}
	d, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for {
		gitDir := filepath.Join(d, ".git")
		if fi, err := os.Stat(gitDir); err == nil && fi.IsDir() {
			return gitDir
		}
		if filepath.Dir(d) == d {
			return ""
		}
		d = filepath.Dir(d)
	}
}

// ResolveCommit resolves rev (a commit id, a branch, a tag, HEAD, rev~n)
// to a commit of r.
func ResolveCommit(r *gogit.Repository, rev string) (plumbing.Hash, error) {
	h, err := r.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return PeelCommit(r, *h)
}

// PeelCommit is the commit h names: h itself, or the commit an annotated
// tag h points at. (A reference's hash is peeled with it, not resolved
// as a revision: go-git looks a revision up among the references first,
// reading packed-refs for each candidate name — on a repository with
// 184 tags, 8% of its history scan.)
func PeelCommit(r *gogit.Repository, h plumbing.Hash) (plumbing.Hash, error) {
	if _, err := r.CommitObject(h); err == nil {
		return h, nil
	}
	tag, err := r.TagObject(h)
	if err != nil {
		return plumbing.ZeroHash, plumbing.ErrObjectNotFound
	}
	c, err := tag.Commit()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return c.Hash, nil
}

// ShallowCommits is the edge of a shallow clone: the commits listed in
// .git/shallow, which the clone has but whose parents it does not (none
// for a complete clone). git reads them as root commits; so must a walk.
func ShallowCommits(r *gogit.Repository) (map[plumbing.Hash]bool, error) {
	shallow, err := r.Storer.Shallow()
	if err != nil {
		return nil, fmt.Errorf("reading the shallow clone's edge: %w", err)
	}
	m := make(map[plumbing.Hash]bool, len(shallow))
	for _, h := range shallow {
		m[h] = true
	}
	return m, nil
}

// WorkFile is the file rel (slash-separated) of the work tree top, as a
// path to open: symlinks resolved, and refused (ErrOutsideTree) when they
// lead out of top. A missing file is an fs.ErrNotExist error.
func WorkFile(top, rel string) (string, error) {
	p := filepath.Join(top, filepath.FromSlash(rel))
	if _, err := os.Lstat(p); err != nil {
		return "", err
	}
	if err := inside(top, p); err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", err // dangling: not there
	}
	return real, nil
}

// VerifyRevision fails when rev does not name a commit of the repository
// at root, naming a shallow clone as the likely cause.
func VerifyRevision(ctx context.Context, root, rev string) error {
	r, err := Open(root)
	if err != nil {
		return fmt.Errorf("git revision %q not found: %w", rev, err)
	}
	_, err = verify(r, root, rev)
	return err
}

func verify(r *gogit.Repository, root, rev string) (plumbing.Hash, error) {
	if rev == "" || strings.HasPrefix(rev, "-") {
		return plumbing.ZeroHash, fmt.Errorf("invalid git revision %q", rev)
	}
	h, err := ResolveCommit(r, rev)
	if err == nil {
		return h, nil
	}
	if shallow, serr := r.Storer.Shallow(); serr == nil && len(shallow) > 0 {
		return plumbing.ZeroHash, fmt.Errorf("git revision %q not found in %s: the clone is shallow, fetch the history (e.g. actions/checkout with fetch-depth: 0, GIT_DEPTH: 0 in GitLab)", rev, root)
	}
	return plumbing.ZeroHash, fmt.Errorf("git revision %q not found in %s: %v", rev, root, err)
}

// prefix is dir's path within r's work tree, slash-separated, "" at its root.
func prefix(r *gogit.Repository, dir string) string {
	wt, err := r.Worktree()
	if err != nil {
		return ""
	}
	top, err1 := filepath.EvalSymlinks(wt.Filesystem.Root())
	abs, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return ""
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	rel, err := filepath.Rel(top, abs)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return ""
	}
	return filepath.ToSlash(rel)
}

// Changed lists the files matching the pathspecs (a path relative to
// root, or ":(glob)**/NAME": NAME in any directory) that differ between
// revision base and the working tree (committed or not, untracked files
// included, ignored ones not), slash-separated and relative to root,
// sorted.
func Changed(ctx context.Context, root, base string, pathspecs ...string) ([]string, error) {
	r, err := Open(root)
	if err != nil {
		return nil, err
	}
	c, err := verify(r, root, base)
	if err != nil {
		return nil, err
	}
	commit, err := r.CommitObject(c)
	if err != nil {
		return nil, err
	}
	tree, err := commit.Tree()
	if err != nil {
		return nil, err
	}
	pre := prefix(r, root)
	if pre != "" {
		if tree, err = tree.Tree(pre); errors.Is(err, object.ErrDirectoryNotFound) {
			tree = &object.Tree{}
		} else if err != nil {
			return nil, err
		}
	}
	var literal, names []string
	for _, p := range pathspecs {
		if name, ok := strings.CutPrefix(p, ":(glob)**/"); ok {
			names = append(names, name)
		} else {
			literal = append(literal, p)
		}
	}
	matches := func(p string) bool {
		return slices.Contains(literal, p) || slices.Contains(names, path.Base(p))
	}
	// The base revision's version of each matching file…
	inBase := map[string]plumbing.Hash{}
	err = tree.Files().ForEach(func(f *object.File) error {
		if matches(f.Name) {
			inBase[f.Name] = f.Hash
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// …against the working tree's.
	now := map[string]plumbing.Hash{}
	ignored, err := ignoreMatcher(r, root)
	if err != nil {
		return nil, err
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			switch {
			case rel == ".":
			case d.Name() == ".git":
				return filepath.SkipDir
			case len(names) == 0 && !slices.ContainsFunc(literal, func(l string) bool { return strings.HasPrefix(l, rel+"/") }):
				return filepath.SkipDir // no literal path below it
			case ignored.ignores(rel, true) && !ignored.tracked[rel]:
				return filepath.SkipDir // untracked and ignored (node_modules…): git does not list it either
			}
			return nil
		}
		if !matches(rel) {
			return nil
		}
		if _, tracked := inBase[rel]; !tracked && ignored.ignores(rel, false) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if now[rel], err = BlobID(bytes.NewReader(data), int64(len(data))); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("comparing %s with %s: %w", root, base, err)
	}
	var out []string
	for p, h := range inBase {
		if now[p] != h {
			out = append(out, p)
		}
	}
	for p := range now {
		if _, ok := inBase[p]; !ok {
			out = append(out, p)
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
// builds), is judged by the .gitignore files inside it alone. A
// directory holding tracked files is not ignored as a whole.
func IgnoredDirs(ctx context.Context, root string) ([]string, error) {
	if memo, ok := ctx.Value(ignoredMemoKey{}).(*ignoredMemo); ok {
		return memo.get(ctx, root)
	}
	return ignoredDirs(ctx, root)
}

// WithIgnoredDirsMemo returns a context under which IgnoredDirs lists each
// tree's ignored directories once: every scanner of files asks for the
// same tree's (the secret scan, deps twice, manifests, Dockerfiles), and
// each answer walked the tree and read the repository's index again, ~5
// ms of a warm run's 250 here. For one run: the tree is read once, as
// the scanners read it.
func WithIgnoredDirsMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, ignoredMemoKey{}, &ignoredMemo{m: map[string]*ignoredAnswer{}})
}

type ignoredMemoKey struct{}

type ignoredMemo struct {
	mu sync.Mutex
	m  map[string]*ignoredAnswer
}

type ignoredAnswer struct {
	once sync.Once
	dirs []string
	err  error
}

func (m *ignoredMemo) get(ctx context.Context, root string) ([]string, error) {
	m.mu.Lock()
	a, ok := m.m[root]
	if !ok {
		a = &ignoredAnswer{}
		m.m[root] = a
	}
	m.mu.Unlock()
	a.once.Do(func() { a.dirs, a.err = ignoredDirs(ctx, root) })
	return slices.Clone(a.dirs), a.err
}

func ignoredDirs(ctx context.Context, root string) ([]string, error) {
	var r *gogit.Repository
	if opened, err := Open(root); err == nil {
		r = opened
	}
	m, err := ignoreMatcher(r, root)
	if err != nil {
		return nil, fmt.Errorf("reading the ignore files of %s: %w", root, err)
	}
	var dirs []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			return nil // unreadable: the scanners say so
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !d.IsDir() || p == root {
			return nil
		}
		if d.Name() == ".git" {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if m.ignores(rel, true) && !m.tracked[rel] {
			dirs = append(dirs, rel)
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing the ignored directories of %s: %w", root, err)
	}
	slices.Sort(dirs)
	return dirs, nil
}

// matcher applies a tree's ignore rules to paths relative to the tree.
type matcher struct {
	m       gitignore.Matcher
	domain  []string        // the tree's path within the repository, as split parts
	tracked map[string]bool // directories (relative to the tree) that hold tracked files
}

func (m *matcher) ignores(rel string, isDir bool) bool {
	return m.m.Match(append(slices.Clone(m.domain), strings.Split(rel, "/")...), isDir)
}

// ignoreMatcher reads the ignore rules that apply to root (see IgnoredDirs);
// r is root's repository, nil when there is none.
func ignoreMatcher(r *gogit.Repository, root string) (*matcher, error) {
	m := &matcher{tracked: map[string]bool{}}
	var patterns []gitignore.Pattern
	top := root
	if r != nil {
		if wt, err := r.Worktree(); err == nil {
			top = wt.Filesystem.Root()
			pre := prefix(r, root)
			if pre != "" {
				m.domain = strings.Split(pre, "/")
			}
			// info/exclude and the .gitignore files from the top down to root's parent.
			ps, err := readPatterns(filepath.Join(top, ".git", "info", "exclude"), nil)
			if err != nil {
				return nil, err
			}
			patterns = append(patterns, ps...)
			for i := range m.domain {
				dir := slices.Clone(m.domain[:i])
				ps, err := readPatterns(filepath.Join(slices.Concat([]string{top}, dir, []string{".gitignore"})...), dir)
				if err != nil {
					return nil, err
				}
				patterns = append(patterns, ps...)
			}
			if gitignore.NewMatcher(patterns).Match(m.domain, true) {
				// The repository ignores the tree itself: its own rules only.
				patterns, m.domain, top = nil, nil, root
			} else if idx, err := r.Storer.Index(); err == nil {
				for _, e := range idx.Entries {
					rel, ok := strings.CutPrefix(e.Name, pre)
					if pre != "" && (!ok || !strings.HasPrefix(rel, "/")) {
						continue
					}
					for d := path.Dir(strings.TrimPrefix(rel, "/")); d != "." && d != "/" && !m.tracked[d]; d = path.Dir(d) {
						m.tracked[d] = true
					}
				}
			}
		}
	}
	ps, err := gitignore.ReadPatterns(osfs.New(top), m.domain)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	m.m = gitignore.NewMatcher(append(patterns, ps...))
	return m, nil
}

// readPatterns parses one ignore file (absent: none), its patterns
// relative to domain.
func readPatterns(file string, domain []string) ([]gitignore.Pattern, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ps []gitignore.Pattern
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if !strings.HasPrefix(line, "#") && strings.TrimSpace(line) != "" {
			ps = append(ps, gitignore.ParsePattern(line, slices.Clone(domain)))
		}
	}
	return ps, nil
}

// Prefix is root's path within its repository, slash-separated, without a
// trailing slash: "" at the repository's root or outside any repository.
func Prefix(ctx context.Context, root string) string {
	r, err := Open(root)
	if err != nil {
		return ""
	}
	return prefix(r, root)
}

// HasCommit reports whether the repository at root holds commit rev.
func HasCommit(ctx context.Context, root, rev string) bool {
	r, err := Open(root)
	if err != nil {
		return false
	}
	_, err = ResolveCommit(r, rev)
	return err == nil
}

// MergeBase is the merge base of a and b, "" when there is none in the
// clone. A shallow clone's edges end the walks (go-git's own merge base
// fails on the first parent the clone lacks): a common commit within
// both histories is found, none beyond them.
func MergeBase(ctx context.Context, root, a, b string) string {
	r, err := Open(root)
	if err != nil {
		return ""
	}
	var hs [2]plumbing.Hash
	for i, rev := range []string{a, b} {
		if hs[i], err = ResolveCommit(r, rev); err != nil {
			return ""
		}
	}
	mb, ok := mergeBase(r, hs[0], hs[1])
	if !ok {
		return ""
	}
	return mb.String()
}

// mergeBase walks b's history to the first commits of a's (the common
// frontier) and keeps those no other of them reaches: git's best common
// ancestors; the newest when several.
func mergeBase(r *gogit.Repository, a, b plumbing.Hash) (plumbing.Hash, bool) {
	shallow, err := ShallowCommits(r)
	if err != nil {
		return plumbing.ZeroHash, false
	}
	reach := func(from plumbing.Hash) map[plumbing.Hash]bool {
		set := map[plumbing.Hash]bool{}
		_ = ancestors(r, from, nil, shallow, func(c *object.Commit) bool { set[c.Hash] = true; return true })
		return set // a missing commit ends the walk where it is
	}
	ofA := reach(a)
	var frontier []*object.Commit
	seen := map[plumbing.Hash]bool{}
	queue := []plumbing.Hash{b}
	for len(queue) > 0 {
		h := queue[0]
		queue = queue[1:]
		if seen[h] {
			continue
		}
		seen[h] = true
		c, err := r.CommitObject(h)
		if err != nil {
			continue
		}
		if ofA[h] {
			frontier = append(frontier, c)
			continue
		}
		if !shallow[h] {
			queue = append(queue, c.ParentHashes...)
		}
	}
	var below []map[plumbing.Hash]bool // each frontier commit's history, once (one walk each)
	if len(frontier) > 1 {
		for _, d := range frontier {
			below = append(below, reach(d.Hash))
		}
	}
	var best *object.Commit
	for i, c := range frontier {
		dominated := false
		for j := range below {
			if i != j && below[j][c.Hash] {
				dominated = true
				break
			}
		}
		if !dominated && (best == nil || c.Committer.When.After(best.Committer.When)) {
			best = c
		}
	}
	if best == nil {
		return plumbing.ZeroHash, false
	}
	return best.Hash, true
}

// ErrNoTrustedBase is a push of a branch whose trusted base cannot be
// known: the clone holds neither its previous head nor a merge base with
// the default branch. Judged whole, the branch would be judged by its own
// policy and ignore files, and could excuse what it adds.
var ErrNoTrustedBase = errors.New("no trusted base")

// PushBase decides the base of a push's range scan from the previous head
// (before) and the new one (after): before itself when the clone has it.
// Else (a new branch, before all zeros, or a forced push whose previous
// head is gone): a push of branch, not the default branch, is judged from
// its merge base with origin/<defaultBranch> (else a local branch of
// that name: defaultBranchRef) — the policy and ignore
// files the merge base's, the branch's changes to them config changes —
// and without one it is an error wrapping ErrNoTrustedBase (fail closed);
// a push of the default branch itself, or of no branch (a tag: branch ""),
// from the merge base when there is one, else the whole tree. note says
// which, for the report.
func PushBase(ctx context.Context, root, before, after, defaultBranch, branch string) (base, note string, err error) {
	short := func(s string) string { return s[:min(len(s), 12)] }
	if strings.Trim(before, "0") != "" && HasCommit(ctx, root, before) {
		return before, "push " + short(before) + ".." + short(after), nil
	}
	why := "a new branch"
	if strings.Trim(before, "0") != "" {
		why = "a forced push whose previous head " + short(before) + " is not in the clone"
	}
	head := after
	if head == "" {
		head = "HEAD"
	}
	if branch != "" && branch != defaultBranch {
		if defaultBranch == "" {
			return "", "", fmt.Errorf("%w: push of branch %s (%s), and the run does not name the repository's default branch to judge it from", ErrNoTrustedBase, branch, why)
		}
		mb := MergeBase(ctx, root, defaultBranchRefAt(root, defaultBranch), head)
		if mb == "" {
			return "", "", fmt.Errorf("%w: push of branch %s (%s): the clone holds no merge base of it with the default branch %s (origin/%s), so the branch would be judged by its own policy: either the default branch could not be fetched (fetch the whole history: `fetch-depth: 0` on actions/checkout, `GIT_DEPTH: 0` on GitLab), or the branch shares no history with %s (rebase it on %s)", ErrNoTrustedBase, branch, why, defaultBranch, defaultBranch, defaultBranch, defaultBranch)
		}
		if mb == after {
			return "", fmt.Sprintf("push (%s) of a commit of %s's own history: the whole tree is judged", why, defaultBranch), nil
		}
		return mb, fmt.Sprintf("push (%s): judged from the merge base with %s, %s", why, defaultBranch, short(mb)), nil
	}
	if defaultBranch != "" {
		if mb := MergeBase(ctx, root, defaultBranchRefAt(root, defaultBranch), head); mb != "" && mb != after {
			return mb, fmt.Sprintf("push (%s): judged from the merge base with %s, %s", why, defaultBranch, short(mb)), nil
		}
	}
	return "", fmt.Sprintf("push (%s), with no merge base with the default branch: the whole tree is judged", why), nil
}

// DefaultBranchBase is the base of a run whose event gives none (a tag,
// a schedule, a manual run, a workflow_run of a push...): the one rule
// of every platform. A checkout whose head (the checkout's HEAD when "")
// is the default branch's tip or in its history is main's own code, and
// is judged whole (base ""); any other is judged from its merge base
// with the default branch — origin/<defaultBranch>, which the pipeline
// fetched, else a local branch of that name — so that its own policy
// and ignore files cannot excuse what it adds; no merge base (an orphan
// commit, a default branch the clone lacks) is an error wrapping
// ErrNoTrustedBase. what names the run for the note and the error. The
// head is returned as a commit id.
func DefaultBranchBase(ctx context.Context, root, defaultBranch, head, what string) (base, headID, note string, err error) {
	r, err := Open(root)
	if err != nil {
		return "", "", "", fmt.Errorf("%w: %s: %v, so whether its code is the default branch %s's cannot be known, and the change could be judged by its own policy: check the repository out with git (actions/checkout with git on the runner), or pass the base (--base) of a trusted commit", ErrNoTrustedBase, what, err, defaultBranch)
	}
	h, err := ResolveCommit(r, cmp.Or(head, "HEAD"))
	if err != nil {
		return "", "", "", fmt.Errorf("%w: %s: the checkout's commit %s is not in the clone at %s: %v", ErrNoTrustedBase, what, cmp.Or(head, "HEAD"), root, err)
	}
	mb := MergeBase(ctx, root, defaultBranchRef(r, defaultBranch), h.String())
	switch {
	case mb == "":
		return "", "", "", fmt.Errorf("%w: %s, commit %s: the clone holds no merge base of it with the default branch %s, so it would be judged by its own policy: either the default branch could not be fetched (fetch the whole history: `fetch-depth: 0` on actions/checkout, `GIT_DEPTH: 0` on GitLab), or the commit shares no history with %s; or pass the base (--base) of a trusted commit", ErrNoTrustedBase, what, h.String()[:12], defaultBranch, defaultBranch)
	case mb == h.String():
		return "", h.String(), fmt.Sprintf("%s of a commit of %s's own history: the whole tree is judged", what, defaultBranch), nil
	}
	return mb, h.String(), fmt.Sprintf("%s of a commit not on %s: judged from the merge base with %s, %s", what, defaultBranch, defaultBranch, mb[:12]), nil
}

// defaultBranchRef is the default branch as the clone holds it:
// origin/<branch>, which the pipeline fetches, else a local branch of
// that name (a clone with no origin branch: the checkout's own branch, or
// one the runner made from the origin's). Always by its full reference
// name: go-git resolves a short "origin/main" as refs/tags/origin/main
// first, a tag any author of a change can push to make their own commit
// "the default branch" (red team, round 3).
func defaultBranchRef(r *gogit.Repository, branch string) string {
	remote := plumbing.NewRemoteReferenceName("origin", branch)
	if _, err := r.Reference(remote, true); err != nil {
		local := plumbing.NewBranchReferenceName(branch)
		if _, err := r.Reference(local, true); err == nil {
			return local.String()
		}
	}
	return remote.String()
}

// defaultBranchRefAt is defaultBranchRef of the repository at root.
func defaultBranchRefAt(root, branch string) string {
	r, err := Open(root)
	if err != nil {
		return plumbing.NewRemoteReferenceName("origin", branch).String()
	}
	return defaultBranchRef(r, branch)
}

// IndexEntry is what git's index says of a tracked file.
type IndexEntry struct {
	Blob        [20]byte // the blob id of its staged content
	Size        int64
	ModTime     time.Time
	ChangeTime  time.Time // ctime: set by the kernel on every write, never by touch
	Inode, Dev  uint32    // as git keeps them: the low 32 bits
	statChecked bool      // the entry has a ctime and an inode to compare
}

// Unchanged says whether the file of info still has e's content by git's
// rules, without reading it: the same size, modification and change
// times, inode and device, and a modification time older than the index
// (racy-clean). The size and modification time alone were not enough: a
// step before the gate that rewrites a tracked file at the same size and
// puts its time back (touch -r, cp -p, tar, rsync -t) made the secret
// cache skip a file that now holds a token (red team, session 8); the
// change time moves on every write. Where the change time cannot be read
// (not Linux), nothing is unchanged: the file is read.
func Unchanged(e IndexEntry, info os.FileInfo, indexTime time.Time) bool {
	if !e.statChecked || e.Size != info.Size() || !e.ModTime.Equal(info.ModTime()) || !info.ModTime().Before(indexTime) {
		return false
	}
	ctime, ino, dev, ok := changeStat(info)
	return ok && ctime.Equal(e.ChangeTime) && ino == e.Inode && dev == e.Dev
}

// Index maps the tracked files under root (absolute paths) to their index
// entries, with the index's own modification time; nil when root is not
// in a repository. A file Unchanged from its entry has the entry's
// content: its blob id is known without reading it.
func Index(root string) (map[string]IndexEntry, time.Time) {
	r, err := Open(root)
	if err != nil {
		return nil, time.Time{}
	}
	wt, err := r.Worktree()
	if err != nil {
		return nil, time.Time{}
	}
	idx, err := r.Storer.Index()
	if err != nil {
		return nil, time.Time{}
	}
	fi, err := os.Stat(filepath.Join(wt.Filesystem.Root(), ".git", "index"))
	if err != nil {
		return nil, time.Time{}
	}
	out := make(map[string]IndexEntry, len(idx.Entries))
	top := wt.Filesystem.Root()
	for _, e := range idx.Entries {
		if e.Stage != 0 || e.SkipWorktree || e.IntentToAdd {
			continue
		}
		out[filepath.Join(top, filepath.FromSlash(e.Name))] = IndexEntry{
			Blob: e.Hash, Size: int64(e.Size), ModTime: e.ModifiedAt,
			ChangeTime: e.CreatedAt, Inode: e.Inode, Dev: e.Dev,
			statChecked: !e.CreatedAt.IsZero() && e.Inode != 0,
		}
	}
	return out, fi.ModTime()
}

// SkipDirs are directories the scanners of files (manifests, Dockerfiles)
// never read: git's own, and other projects' code.
var SkipDirs = []string{".git", "node_modules", "vendor", "third_party"}

// WalkFiles calls visit for every regular file under root (p its path,
// rel slash-separated from root) of at most maxSize bytes, except in
// SkipDirs, in directories named in exclude, and in those the tree's own
// ignore rules exclude; coverage records the ignored directories. An
// unreadable directory is skipped, as by every scanner.
func WalkFiles(ctx context.Context, root string, exclude []string, maxSize int64, coverage *policy.Coverage, visit func(p, rel string) error) error {
	ignored, err := IgnoredDirs(ctx, root)
	if err != nil {
		return err
	}
	if len(ignored) > 0 {
		coverage.AddSkip("directory", "ignored by the tree's own .gitignore", ignored...)
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && (slices.Contains(SkipDirs, d.Name()) || slices.Contains(exclude, d.Name()) || slices.Contains(ignored, rel)) {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil || !info.Mode().IsRegular() || info.Size() > maxSize {
			return nil
		}
		return visit(p, rel)
	})
}

// Locate says where file f lies relative to the git repository holding
// dir (the scanned tree, which may be a subdirectory of it): top is the
// repository's work tree, rel f's slash-separated path in it, ok whether f
// is inside top. A tree in no repository is its own top. This, and not the
// scanned tree, is the line between a policy file (the repository's: read
// from the base revision on a pull/merge request, a change to it a
// finding) and a document the pipeline brings from outside (read as
// given): in a monorepo scanned one directory at a time, a file beside the
// scanned directory is still the change's to edit.
//
// f is inside when its path is, as written or with links resolved: a
// repository file that the change turns into a link out of the tree stays
// the repository's (ReadFile refuses the link), and a path through a link
// to the checkout (/tmp → /private/tmp) is still in it.
func Locate(dir, f string) (top, rel string, ok bool) {
	top, err := filepath.Abs(dir)
	if err != nil {
		return "", "", false
	}
	if r, err := Open(dir); err == nil {
		if wt, err := r.Worktree(); err == nil {
			if t, err := filepath.Abs(wt.Filesystem.Root()); err == nil {
				top = t
			}
		}
	}
	abs, err := filepath.Abs(f)
	if err != nil {
		return top, "", false
	}
	tops := []string{top}
	if real, err := filepath.EvalSymlinks(top); err == nil && real != top {
		tops = append(tops, real)
	}
	files := []string{abs}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		files = append(files, real)
	} else if d, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		files = append(files, filepath.Join(d, filepath.Base(abs))) // absent in the working tree: maybe at base
	}
	for _, t := range tops {
		for _, a := range files {
			r, err := filepath.Rel(t, a)
			if err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) {
				return t, filepath.ToSlash(r), true
			}
		}
	}
	return top, "", false
}
