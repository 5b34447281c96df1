package secrets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/zricethezav/gitleaks/v8/report"
	"github.com/zricethezav/gitleaks/v8/sources"

	"github.com/secgate/secgate/gate/repo"
	"github.com/secgate/secgate/policy"
)

// A range's last pass (issue 24): once the walk has read what each commit
// adds, the head version of every path the range's commits touched (a
// merge: every path it changes against its first parent) is read as a
// file — the touched paths only, so it costs what the change costs, and
// not those whose head version is the base's, which bring nothing in —
// and a Git LFS pointer among them is read as the working file it stands
// for. Whatever the walk misses, the net result of the change is judged.
//
// The two passes find the same value twice wherever the walk saw it: the
// last pass's finding is dropped when the walk found the value in the same
// file, or in the same blob under another path (a rename). What is left
// of the last pass is either content the walk could not see (then new) or
// content the touched file already held on the base side: a value that
// the base's or the merge base's version of a touched path holds is
// marked existing, not new (a pull request that edits a file holding a
// known secret did not leak it; new_findings_only decides).

// lastPassMark is the commit message of the last pass's fragments: how
// its findings are told from the walk's (git refuses a NUL in a message).
const lastPassMark = "\x00secgate: the head version of a path the range touched"

// rangePass is what the last pass of a range needs and what it found.
type rangePass struct {
	head     plumbing.Hash
	baseTree plumbing.Hash              // the base's tree
	info     *sources.CommitInfo        // the last pass's fragments' (nil: no last pass ran)
	top      string                     // the repository's work tree, for LFS files ("" when none)
	touched  map[string]bool            // the paths the range's commits changed
	whole    map[pathBlob]bool          // the blobs the walk read whole, at their path
	readAt   map[plumbing.Hash][]string // blob → the paths the walk read it at
	last     map[string]plumbing.Hash   // path → the head blob the last pass read
	files    int
	bytes    int64
	notes    []string
	// the fingerprints of last-pass findings the base side already held
	existing map[string]bool
}

type pathBlob struct {
	path string
	blob plumbing.Hash
}

// blobSkips is what a walk left out, by reason, each path once.
type blobSkips struct {
	cov  policy.Coverage
	seen map[string]bool
}

// skip notes a blob left out of the scan, and why.
func (h *gitHistory) skip(why, path string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.left.add("blob", why, path)
}

func (s *blobSkips) add(what, why, path string) {
	key := what + "\x00" + why + "\x00" + path
	if s.seen[key] {
		return
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[key] = true
	s.cov.AddSkip(what, why, path)
}

// touch notes the paths changes touch (in a range).
func (h *gitHistory) touch(changes object.Changes) {
	if h.base == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pass.touched == nil {
		h.pass.touched = map[string]bool{}
	}
	for _, ch := range changes {
		for _, p := range []string{ch.From.Name, ch.To.Name} {
			if p != "" {
				h.pass.touched[p] = true
			}
		}
	}
}

// read notes a blob read (in a range): by the walk, for the last pass to
// know what it saw; by the last pass, for the coverage.
func (h *gitHistory) read(info *sources.CommitInfo, ch *object.Change, whole bool, size int) {
	if h.base == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if info == h.pass.info {
		h.pass.files++
		h.pass.bytes += int64(size)
		return
	}
	if h.pass.readAt == nil {
		h.pass.readAt, h.pass.whole = map[plumbing.Hash][]string{}, map[pathBlob]bool{}
	}
	if at := h.pass.readAt[ch.To.TreeEntry.Hash]; !slices.Contains(at, ch.To.Name) {
		h.pass.readAt[ch.To.TreeEntry.Hash] = append(at, ch.To.Name)
	}
	if whole {
		h.pass.whole[pathBlob{ch.To.Name, ch.To.TreeEntry.Hash}] = true
	}
}

// touchedAtHead lists the last pass's paths: the touched paths that are
// files at the head, less those whose head blob the walk read whole
// there. Called once the walk is done, before any path is dealt out.
func (h *gitHistory) touchedAtHead(r *gogit.Repository) ([]walkJob, error) {
	c, err := r.CommitObject(h.pass.head)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", h.pass.head, err)
	}
	h.pass.info = &sources.CommitInfo{
		AuthorName:  c.Author.Name,
		AuthorEmail: c.Author.Email,
		Date:        c.Author.When.UTC().Format(time.RFC3339),
		Message:     lastPassMark,
		SHA:         c.Hash.String(),
		Remote:      &sources.RemoteInfo{},
	}
	if wt, err := r.Worktree(); err == nil {
		h.pass.top = wt.Filesystem.Root()
	}
	w := &walker{r: r, trees: map[plumbing.Hash]*object.Tree{}}
	tree, err := w.tree(c.TreeHash)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", h.pass.head, err)
	}
	// a path whose head version is the base's brings nothing in
	baseTree, err := w.tree(h.pass.baseTree)
	if err != nil {
		return nil, fmt.Errorf("the base's tree %s: %w", h.pass.baseTree, err)
	}
	var jobs []walkJob
	for _, p := range slices.Sorted(maps.Keys(h.pass.touched)) {
		e, err := w.find(tree, p)
		if err != nil {
			return nil, fmt.Errorf("%s at %s: %w", p, h.pass.head, err)
		}
		if e == nil || e.Mode == filemode.Dir || e.Mode == filemode.Submodule {
			continue // not a file at the head (deleted, or the old name of a rename)
		}
		be, err := w.find(baseTree, p)
		if err != nil {
			return nil, fmt.Errorf("%s at %s: %w", p, h.base, err)
		}
		if be != nil && be.Hash == e.Hash && be.Mode == e.Mode {
			continue
		}
		// a blob the walk read whole there is not read again (the same
		// findings), but an LFS pointer's working file still is
		jobs = append(jobs, walkJob{path: p, entry: *e, walked: h.pass.whole[pathBlob{p, e.Hash}]})
	}
	return jobs, nil
}

// readHead reads the head version of one touched path as an added file,
// and the working file of an LFS pointer.
func (h *gitHistory) readHead(ctx context.Context, w *walker, j walkJob, yield sources.FragmentsFunc) error {
	h.mu.Lock()
	if h.pass.last == nil {
		h.pass.last = map[string]plumbing.Hash{}
	}
	h.pass.last[j.path] = j.entry.Hash
	h.mu.Unlock()
	if !j.walked {
		ch := &object.Change{To: object.ChangeEntry{Name: j.path, TreeEntry: j.entry}}
		if err := h.change(ctx, w.r, ch, h.pass.info, yield); err != nil {
			return fmt.Errorf("%s at %s: %w", j.path, h.pass.head, err)
		}
	}
	if j.entry.Mode == filemode.Symlink {
		return nil
	}
	pointer, err := lfsPointer(w.r, j.entry.Hash)
	if err != nil || pointer == nil {
		return err
	}
	return h.readLFS(ctx, j.path, pointer, yield)
}

// maxLFSPointer is the size a Git LFS pointer file is below (its spec).
const maxLFSPointer = 1024

// lfsPointer is the blob's content when it is a Git LFS pointer file,
// else nil.
func lfsPointer(r *gogit.Repository, h plumbing.Hash) ([]byte, error) {
	b, err := r.BlobObject(h)
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", h, err)
	}
	if b.Size >= maxLFSPointer {
		return nil, nil
	}
	data, err := blob(r, h)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(data, []byte("version https://git-lfs.github.com/spec/v1\n")) ||
		bytes.HasPrefix(data, []byte("version https://hawser.github.com/spec/v1\n")) {
		return data, nil
	}
	return nil, nil
}

// readLFS reads the working file of an LFS pointer committed at rel, when
// the work tree holds other content for it (the smudged object): inside
// the tree only, a symlink out of it refused.
func (h *gitHistory) readLFS(ctx context.Context, rel string, pointer []byte, yield sources.FragmentsFunc) error {
	if h.skipPath(rel) {
		return nil // noted by the pointer's read
	}
	if h.pass.top == "" {
		h.skip("a Git LFS pointer with no work tree to read the object from: only the pointer read", rel)
		return nil
	}
	p, err := repo.WorkFile(h.pass.top, rel)
	switch {
	case errors.Is(err, repo.ErrOutsideTree):
		h.skip("a Git LFS file whose working copy is a symlink out of the tree: only the pointer read", rel)
		return nil
	case errors.Is(err, fs.ErrNotExist):
		h.skip("a Git LFS object not in the work tree: only the pointer read", rel)
		return nil
	case err != nil:
		h.skip(fmt.Sprintf("a Git LFS file not readable (%v): only the pointer read", err), rel)
		return nil
	}
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() {
		h.skip("a Git LFS file whose working copy is not a regular file: only the pointer read", rel)
		return nil
	}
	if fi.Size() == int64(len(pointer)) {
		if same, err := fileIs(p, pointer); err == nil && same {
			h.skip("a Git LFS object not fetched (the work tree holds the pointer): only the pointer read", rel)
			return nil
		}
	}
	t := &treeFiles{root: h.pass.top, cfg: h.cfg}
	err = t.scanFile(ctx, p, func(f sources.Fragment, ferr error) error {
		if rest, ok := strings.CutPrefix(f.FilePath, p); ok {
			f.FilePath = rel + rest
		}
		f.CommitSHA, f.CommitInfo = h.pass.info.SHA, h.pass.info
		return yield(f, ferr)
	})
	h.mu.Lock()
	h.pass.files += t.coverage.Files
	h.pass.bytes += t.coverage.Bytes
	for _, s := range t.coverage.Skipped {
		for _, sp := range s.Paths {
			h.left.add(s.What, s.Why, sp)
		}
	}
	h.pass.notes = append(h.pass.notes, t.notes...)
	h.mu.Unlock()
	if err != nil {
		return fmt.Errorf("the Git LFS file %s: %w", rel, err)
	}
	return nil
}

// fileIs reports whether the file at p holds exactly data.
func fileIs(p string, data []byte) (bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return false, err
	}
	defer f.Close()
	got, err := io.ReadAll(io.LimitReader(f, int64(len(data))+1))
	return bytes.Equal(got, data), err
}

// settle drops the last pass's findings that the walk gave already (the
// same value in the same file, the file followed across renames by its
// head blob: the paths the walk read that blob at), and
// notes those the base side already held (see markExisting). key is the
// fingerprint key.
func (h *gitHistory) settle(ctx context.Context, d *contentDetector, raw []report.Finding, key []byte) []report.Finding {
	if h.pass.info == nil {
		return raw
	}
	isLast := func(g report.Finding) bool { return g.Message == lastPassMark && g.Commit == h.pass.info.SHA }
	inFile := map[[2]string]bool{}
	for _, g := range raw {
		if !isLast(g) {
			inFile[[2]string{g.File, g.Secret}] = true
		}
	}
	walked := func(g report.Finding) bool {
		if inFile[[2]string{g.File, g.Secret}] {
			return true
		}
		p, inner, archived := strings.Cut(g.File, sources.InnerPathSeparator)
		for _, alias := range h.pass.readAt[h.pass.last[p]] {
			if archived {
				alias += sources.InnerPathSeparator + inner
			}
			if inFile[[2]string{alias, g.Secret}] {
				return true
			}
		}
		return false
	}
	out := raw[:0:0]
	var fresh []report.Finding
	for _, g := range raw {
		if isLast(g) {
			if walked(g) {
				continue
			}
			fresh = append(fresh, g)
		}
		out = append(out, g)
	}
	if len(fresh) == 0 {
		return out
	}
	held := h.baseValues(ctx, d, fresh)
	for _, g := range fresh {
		if held[g.Secret] {
			if h.pass.existing == nil {
				h.pass.existing = map[string]bool{}
			}
			h.pass.existing[policy.Fingerprint(policy.KindSecret, g.RuleID, relPath(h.root, g.File), valueMAC(key, g.Secret))] = true
		}
	}
	return out
}

// baseValues is the set of values found in the base's and the merge
// base's versions of the paths of the last pass's findings and of the
// touched paths gone at the head (a rename's old name). An error leaves
// the set short: the findings stay new.
func (h *gitHistory) baseValues(ctx context.Context, d *contentDetector, fresh []report.Finding) map[string]bool {
	held := map[string]bool{}
	r, done, err := repo.OpenForWalk(h.root)
	if err != nil {
		return held
	}
	defer done()
	base, err := repo.ResolveCommit(r, h.base)
	if err != nil {
		return held
	}
	bc, err := r.CommitObject(base)
	if err != nil {
		return held
	}
	sides := []*object.Commit{bc}
	if hc, err := r.CommitObject(h.pass.head); err == nil {
		if mbs, err := hc.MergeBase(bc); err == nil {
			sides = append(sides, mbs...)
		}
	}
	paths := map[string]bool{}
	for _, g := range fresh {
		p, _, _ := strings.Cut(g.File, sources.InnerPathSeparator)
		paths[p] = true
	}
	for p := range h.pass.touched {
		if _, ok := h.pass.last[p]; !ok {
			paths[p] = true
		}
	}
	w := &walker{r: r, trees: map[plumbing.Hash]*object.Tree{}}
	for _, c := range sides {
		tree, err := w.tree(c.TreeHash)
		if err != nil {
			continue
		}
		for p := range paths {
			e, err := w.find(tree, p)
			if err != nil || e == nil || e.Mode == filemode.Dir || e.Mode == filemode.Submodule {
				continue
			}
			data, err := blob(r, e.Hash)
			if err != nil {
				continue
			}
			if data = textOf(data); isBinary(data) { // read as the walk reads it
				continue
			}
			for _, g := range d.Detect(ctx, sources.Fragment{Raw: string(data), FilePath: p, StartLine: 1}) {
				held[g.Secret] = true
			}
		}
	}
	return held
}

// markExisting marks the findings of values the base side already held
// in the touched files existing (see settle).
func (h *gitHistory) markExisting(findings []policy.Finding) {
	for i := range findings {
		if h.pass.existing[findings[i].Fingerprint] {
			findings[i].Status = policy.StatusExisting
		}
	}
}

// coverage is what the walk read and left out. mode names the range.
func (h *gitHistory) coverage(mode string) policy.Coverage {
	c := h.left.cov
	c.Skipped = slices.Clone(c.Skipped)
	c.Commits, c.Range = len(h.scanned)+h.hits, mode
	c.Files, c.Bytes = h.pass.files, h.pass.bytes
	if len(h.edge) > 0 {
		s := policy.Skip{What: "history", Count: len(h.edge),
			Why: "the parents of a shallow clone's edge commits (not fetched): the edge commits were read whole, as root commits (git log does the same); fetch more history to judge what they changed"}
		if h.base != "" {
			s.Why = "the commits between a shallow clone's edge and the base (not fetched): the edge commits were read against the base's tree; fetch more history to judge each commit"
		}
		for _, e := range h.edge[:min(5, len(h.edge))] {
			s.Paths = append(s.Paths, "commit "+e.String()[:12])
		}
		c.Skipped = append(c.Skipped, s)
	}
	return c
}

// find is the entry at path p (slash-separated) of tree t, nil when none.
// go-git's own lookup refuses names git allows (a control character, a
// backslash before a dot-dot): it would fail the scan on them.
func (w *walker) find(t *object.Tree, p string) (*object.TreeEntry, error) {
	for {
		name, rest, nested := strings.Cut(p, "/")
		e := entryNamed(t, name)
		if !nested || e == nil {
			return e, nil
		}
		if e.Mode != filemode.Dir {
			return nil, nil
		}
		sub, err := w.tree(e.Hash)
		if err != nil {
			return nil, err
		}
		t, p = sub, rest
	}
}
