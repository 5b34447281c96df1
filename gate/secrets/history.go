package secrets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/mholt/archives"
	"github.com/sergi/go-diff/diffmatchpatch"
	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/sources"

	"github.com/secgate/secgate/gate/repo"
	"github.com/secgate/secgate/internal/cache"
)

// gitHistory yields what each commit adds, as `git log -p -U0
// --full-history` shows it to gitleaks' git source — the added lines of
// every added, modified, copied or renamed file, one fragment per hunk —
// without the git binary: the objects are read with go-git. The release
// image has no git (and so no shell and no package manager), and git
// refuses a checkout owned by another user ("dubious ownership"), which is
// what a container running as its own user sees; go-git reads the objects
// as they are.
//
// Where git log -p shows nothing, and so gitleaks reads nothing, a commit
// can still bring a secret in (issue 24); those are read here too:
//   - a merge, against its first parent (git show --first-parent), less
//     the files it takes unchanged from another parent: their content is
//     that parent's, read where its own commits brought it in (or, in a
//     range, the base's and not the range's); a file the merge resolves
//     itself, matching no parent, is read as any change;
//   - a type change (a symlink or a submodule becoming a file, or back),
//     and a binary becoming text: the new blob whole, as an added file;
//   - the edge of a shallow clone: its commits are root commits, the
//     whole tree added, as git log shows them (the coverage says so).
//
// In a range, a last pass reads the head version of every path the range
// touched (rangepass.go), so that what the walk misses is still judged.
type gitHistory struct {
	root       string // a directory of the repository
	base, head string // the range base..head; base "" is every commit of every ref
	cfg        *config.Config

	clean   *cache.Set                      // commits known to add nothing gitleaks finds (nil: no cache)
	scanned []plumbing.Hash                 // the commits diffed this run
	hits    int                             // the commits the cache spared
	trees   map[plumbing.Hash]plumbing.Hash // the tree of each commit listed (read only once the walk is done)
	shallow map[plumbing.Hash]bool          // a shallow clone's edge: commits read as roots
	edge    []plumbing.Hash                 // the edge commits the walk listed

	// what the walk left out and why, and in a range what the last pass
	// needs to know of the walk (rangepass.go)
	mu   sync.Mutex
	left blobSkips
	pass rangePass

	// skipPath's answers by path: a history changes the same paths again
	// and again, and the default allowlist's path regex is one large
	// alternation (8% of a history's reading, asked every time)
	skipMu sync.Mutex
	skips  map[string]bool

	names *names // the commits' messages and added paths (names.go)
}

// maxSkips bounds the paths whose skipPath answer is kept.
const maxSkips = 1 << 16

func (h *gitHistory) skipPath(path string) bool {
	h.skipMu.Lock()
	skip, ok := h.skips[path]
	h.skipMu.Unlock()
	if ok {
		return skip
	}
	skip = skipPath(h.cfg, path)
	h.skipMu.Lock()
	if h.skips == nil || len(h.skips) >= maxSkips {
		h.skips = map[string]bool{}
	}
	h.skips[path] = skip
	h.skipMu.Unlock()
	return skip
}

// commitWorkers is how many commits are diffed at once: go-git's diffs
// and object decoding are the cost, and each worker opens the repository
// for itself (a go-git repository is not safe for concurrent use).
var commitWorkers = max(2, runtime.GOMAXPROCS(0))

func (h *gitHistory) Fragments(ctx context.Context, yield sources.FragmentsFunc) error {
	// the repository that lists the commits is then the first worker's
	// (a repository's pack indexes are in memory: one set a worker)
	r, done, err := repo.OpenForWalk(h.root)
	if err != nil {
		return err
	}
	defer done()
	commits, err := h.commits(r)
	if err != nil {
		return err
	}
	var jobs []walkJob
	if h.clean != nil {
		kept := commits[:0]
		for _, c := range commits {
			if h.clean.Has(cache.ID(c)) {
				h.hits++
				if h.base != "" {
					// nothing to find in it, but the last pass
					// reads the paths it touched
					jobs = append(jobs, walkJob{commit: c, touchOnly: true})
				}
			} else {
				kept = append(kept, c)
			}
		}
		commits = kept
	}
	h.scanned = commits
	// oldest first, as listed from the references back: a history's
	// largest commits are usually its first (the initial import, the
	// vendored trees), and a long fragment dealt out last leaves the
	// other workers idle while it runs (requests: 4.05 -> 3.40 s)
	for i := len(commits) - 1; i >= 0; i-- {
		jobs = append(jobs, walkJob{commit: commits[i]})
	}
	work := make(chan walkJob)
	var (
		wg, walked sync.WaitGroup
		mu         sync.Mutex
		errs       []error
	)
	workers := min(commitWorkers, max(1, len(jobs)))
	if h.base != "" {
		workers = commitWorkers // the last pass's paths are dealt out too
	}
	for i := range workers {
		wr, done := r, func() {}
		if i > 0 {
			if wr, done, err = repo.OpenForWalk(h.root); err != nil {
				break // opened once already: the workers started scan it all
			}
		}
		w := &walker{r: wr, trees: map[plumbing.Hash]*object.Tree{}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer done()
			for j := range work {
				var err error
				if j.path != "" {
					err = h.readHead(ctx, w, j, yield)
				} else {
					err = h.commit(ctx, w, j.commit, j.touchOnly, yield)
					walked.Done()
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	send := func(j walkJob) bool {
		select {
		case work <- j:
			return true
		case <-ctx.Done():
			return false
		}
	}
	walked.Add(len(jobs))
	sent := 0
	for _, j := range jobs {
		if !send(j) {
			break
		}
		sent++
	}
	walked.Add(sent - len(jobs))
	if h.base != "" && sent == len(jobs) {
		// the last pass, once the walk has said what it touched
		walked.Wait()
		paths, err := h.touchedAtHead(r)
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
		for _, j := range paths {
			if !send(j) {
				break
			}
		}
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// walkJob is a worker's next piece: a commit to diff (touchOnly: only the
// paths it touches noted), or a path of the last pass.
type walkJob struct {
	commit    plumbing.Hash
	touchOnly bool
	path      string
	entry     object.TreeEntry // the path's head version
	walked    bool             // the walk read that blob whole at this path
}

// commits lists the commits to scan: those reachable from head and not
// from base, or with no base those reachable from any reference and HEAD
// (git log --all).
func (h *gitHistory) commits(r *gogit.Repository) ([]plumbing.Hash, error) {
	var starts []plumbing.Hash
	exclude := map[plumbing.Hash]bool{}
	shallow, err := repo.ShallowCommits(r)
	if err != nil {
		return nil, err
	}
	h.shallow = shallow
	if h.base != "" {
		b, err := repo.ResolveCommit(r, h.base)
		if err != nil {
			return nil, err
		}
		if err := walk(r, []plumbing.Hash{b}, nil, shallow, func(c *object.Commit) { exclude[c.Hash] = true }); err != nil {
			return nil, err
		}
		bc, err := r.CommitObject(b)
		if err != nil {
			return nil, fmt.Errorf("commit %s: %w", b, err)
		}
		h.pass.baseTree = bc.TreeHash
		hd, err := repo.ResolveCommit(r, h.head)
		if err != nil {
			return nil, err
		}
		starts = append(starts, hd)
		h.pass.head = hd
	} else {
		if head, err := r.Head(); err == nil {
			starts = append(starts, head.Hash())
		}
		refs, err := r.References()
		if err != nil {
			return nil, err
		}
		err = refs.ForEach(func(ref *plumbing.Reference) error {
			if ref.Type() != plumbing.HashReference {
				return nil
			}
			if c, err := repo.PeelCommit(r, ref.Hash()); err == nil {
				starts = append(starts, c)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	var out []plumbing.Hash
	h.trees = map[plumbing.Hash]plumbing.Hash{}
	err = walk(r, starts, exclude, shallow, func(c *object.Commit) {
		out = append(out, c.Hash)
		h.trees[c.Hash] = c.TreeHash
		if shallow[c.Hash] {
			h.edge = append(h.edge, c.Hash)
		}
	})
	if err != nil {
		return nil, err
	}
	return out, h.tags(r)
}

// maxTagChain bounds a chain of tags of tags followed to its commit.
const maxTagChain = 16

// tags notes the annotated tags' names, messages and taggers (names.tag):
// in a range those whose commit the walk listed (a tag pushed with the
// range's commits), with no base every annotated tag (git log --all
// reads no tag object, a token in one is as public as in a commit). A
// tag object that does not read is passed over: it is not what was
// pushed to be scanned.
func (h *gitHistory) tags(r *gogit.Repository) error {
	refs, err := r.Tags()
	if err != nil {
		return fmt.Errorf("listing the tags: %w", err)
	}
	return refs.ForEach(func(ref *plumbing.Reference) error {
		var chain []*object.Tag
		target := ref.Hash()
		for len(chain) < maxTagChain {
			t, err := r.TagObject(target)
			if err != nil {
				break // a lightweight tag, or the end of the chain
			}
			chain = append(chain, t)
			target = t.Target
			if t.TargetType != plumbing.TagObject {
				break
			}
		}
		_, walked := h.trees[target]
		if h.base != "" && !walked {
			return nil // not a tag of the range
		}
		// the reference's own name: a lightweight tag has nothing else,
		// and it is published like any other (an annotated tag's object
		// usually repeats it, and is read below)
		if len(chain) == 0 || chain[0].Name != ref.Name().Short() {
			h.names.tagName(target.String(), ref.Name().Short())
		}
		for _, t := range chain {
			h.names.tag(target.String(), t)
		}
		return nil
	})
}

// walk visits every commit reachable from starts, each once, none of
// exclude's (nor what only they reach). The commits of a shallow clone's
// edge are visited, their parents not (the clone has none of them: git
// log stops there too).
func walk(r *gogit.Repository, starts []plumbing.Hash, exclude, shallow map[plumbing.Hash]bool, visit func(*object.Commit)) error {
	seen := map[plumbing.Hash]bool{}
	stack := append([]plumbing.Hash(nil), starts...)
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[c] || exclude[c] {
			continue
		}
		seen[c] = true
		commit, err := r.CommitObject(c)
		if err != nil {
			return fmt.Errorf("commit %s: %w", c, err)
		}
		visit(commit)
		if !shallow[c] {
			stack = append(stack, commit.ParentHashes...)
		}
	}
	return nil
}

// commit yields the fragments of what one commit adds to its first
// parent (see gitHistory); touchOnly notes the paths it touches, for the
// last pass of a range, and reads nothing.
func (h *gitHistory) commit(ctx context.Context, w *walker, hash plumbing.Hash, touchOnly bool, yield sources.FragmentsFunc) error {
	if err := h.commitChanges(ctx, w, hash, touchOnly, yield); err != nil {
		return fmt.Errorf("commit %s: %w", hash, err)
	}
	return nil
}

func (h *gitHistory) commitChanges(ctx context.Context, w *walker, hash plumbing.Hash, touchOnly bool, yield sources.FragmentsFunc) error {
	r := w.r
	c, err := r.CommitObject(hash)
	if err != nil {
		return err
	}
	parents := c.ParentHashes
	tree, err := w.tree(c.TreeHash)
	if err != nil {
		return err
	}
	var parent *object.Tree
	switch {
	case h.shallow[hash] && h.base != "":
		// the edge of a shallow clone in a range: what the commits
		// between it and the base changed is not in the clone; against
		// the base's tree, what it holds that the base does not
		parents = nil
		if parent, err = w.tree(h.pass.baseTree); err != nil {
			return err
		}
	case h.shallow[hash]:
		parents = nil // the edge of a shallow clone: a root commit, as git log shows it
	case len(parents) > 0:
		if parent, err = h.parentTree(w, parents[0]); err != nil {
			return err
		}
	}
	var changes object.Changes
	if len(parents) > 1 {
		changes, err = h.mergeChanges(w, parent, tree, parents[1:])
	} else {
		changes, err = w.changes(parent, tree)
	}
	if err != nil {
		return err
	}
	if len(parents) < 2 {
		h.touch(changes) // a merge's: all it changes against its first parent
	}
	if touchOnly {
		return nil
	}
	info := &sources.CommitInfo{
		AuthorName:  c.Author.Name,
		AuthorEmail: c.Author.Email,
		Date:        c.Author.When.UTC().Format(time.RFC3339),
		Message:     strings.TrimSpace(c.Message),
		SHA:         hash.String(),
		Remote:      &sources.RemoteInfo{}, // no links to a hosting platform
	}
	h.names.commit(info.SHA, c.Message, c.Author, c.Committer, changes)
	for _, ch := range changes {
		if err := ctx.Err(); err != nil {
			return err
		}
		if ch.To.Name == "" {
			continue // a deletion adds nothing
		}
		if ch.To.TreeEntry.Mode == filemode.Submodule {
			h.skip("a submodule: its commits are another repository's", ch.To.Name)
			continue
		}
		if ch.From.Name != "" && fileKind(ch.From.TreeEntry.Mode) != fileKind(ch.To.TreeEntry.Mode) {
			// a type change (git log's --diff-filter=t, which gitleaks
			// drops): the new blob whole, as an added file
			ch.From = object.ChangeEntry{}
		}
		if ch.From.Name != "" && ch.From.TreeEntry.Hash == ch.To.TreeEntry.Hash {
			continue // a rename or a mode change: nothing added
		}
		if err := h.change(ctx, r, ch, info, yield); err != nil {
			return fmt.Errorf("%s: %w", ch.To.Name, err)
		}
	}
	return nil
}

// fileKind is what a tree entry is, for a type change: a file (whatever
// its executable bit), a symlink or a submodule.
func fileKind(m filemode.FileMode) filemode.FileMode {
	switch m {
	case filemode.Symlink, filemode.Submodule, filemode.Dir:
		return m
	}
	return filemode.Regular
}

// mergeChanges is what a merge commit adds against its first parent
// (first: its tree, nil for none), less the files it takes unchanged from
// one of its other parents: the files whose blob is no parent's. Renames
// are not looked for: such a file is read against the same path of the
// first parent, or whole. In a range, all the merge changes against its
// first parent is touched (the last pass reads it).
func (h *gitHistory) mergeChanges(w *walker, first, tree *object.Tree, others []plumbing.Hash) (object.Changes, error) {
	parents := []*object.Tree{first}
	for _, p := range others {
		pt, err := h.parentTree(w, p)
		if err != nil {
			return nil, err
		}
		parents = append(parents, pt)
	}
	var changes object.Changes
	if err := w.noParents(parents, tree, "", &changes); err != nil {
		return nil, err
	}
	if h.base != "" {
		var all object.Changes
		if err := w.diff(first, tree, "", &all); err != nil {
			return nil, err
		}
		h.touch(all)
	}
	return changes, nil
}

// noParents appends the files of tree b (under prefix) whose blob none of
// the parents' trees (nil: empty) has at the same path, each a change
// from the first parent's entry (a file, else none). A subtree that one
// parent has as it is holds no such file and is not opened: a clean
// merge opens only the directories both sides changed (one diff against
// the first parent opens every directory the other side changed).
func (w *walker) noParents(parents []*object.Tree, b *object.Tree, prefix string, out *object.Changes) error {
	for i := range b.Entries {
		eb := &b.Entries[i]
		same := false
		var subs []*object.Tree
		var first *object.TreeEntry
		for k, pt := range parents {
			var ea *object.TreeEntry
			if pt != nil {
				ea = entryNamed(pt, eb.Name)
			}
			if ea != nil && ea.Hash == eb.Hash {
				same = true
				break
			}
			if k == 0 && ea != nil && ea.Mode != filemode.Dir {
				first = ea
			}
			if eb.Mode == filemode.Dir {
				var sub *object.Tree
				if ea != nil && ea.Mode == filemode.Dir {
					t, err := w.tree(ea.Hash)
					if err != nil {
						return err
					}
					sub = t
				}
				subs = append(subs, sub)
			}
		}
		if same {
			continue
		}
		name := path.Join(prefix, eb.Name)
		if eb.Mode == filemode.Dir {
			sb, err := w.tree(eb.Hash)
			if err != nil {
				return err
			}
			if err := w.noParents(subs, sb, name, out); err != nil {
				return err
			}
			continue
		}
		c := &object.Change{To: object.ChangeEntry{Name: name, Tree: b, TreeEntry: *eb}}
		if first != nil {
			c.From = object.ChangeEntry{Name: name, Tree: parents[0], TreeEntry: *first}
		}
		*out = append(*out, c)
	}
	return nil
}

// entryNamed is t's entry named name, nil when none. Entries are in git's
// order, a directory sorted as its name and a slash; a tree out of order
// (written by hand) may hide one: then the file reads as the merge's own,
// more read, never less.
func entryNamed(t *object.Tree, name string) *object.TreeEntry {
	key := func(e *object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	i := sort.Search(len(t.Entries), func(i int) bool { return key(&t.Entries[i]) >= name })
	for ; i < len(t.Entries); i++ {
		e := &t.Entries[i]
		if e.Name == name {
			return e
		}
		if key(e) > name+"/" {
			break
		}
	}
	return nil
}

// parentTree is the tree of commit p. The walk noted the trees of the
// commits it listed; a range's base side is read here.
func (h *gitHistory) parentTree(w *walker, p plumbing.Hash) (*object.Tree, error) {
	if t, ok := h.trees[p]; ok {
		return w.tree(t)
	}
	c, err := w.r.CommitObject(p)
	if err != nil {
		return nil, err
	}
	return w.tree(c.TreeHash)
}

// change yields the added lines of one file, or its archive's entries.
func (h *gitHistory) change(ctx context.Context, r *gogit.Repository, ch *object.Change, info *sources.CommitInfo, yield sources.FragmentsFunc) error {
	path := ch.To.Name
	if h.skipPath(path) {
		h.skip("a path the secret rules allowlist", path)
		return nil
	}
	newData, err := blob(r, ch.To.TreeEntry.Hash)
	if err != nil {
		return err
	}
	var oldData []byte
	if ch.From.Name != "" {
		if oldData, err = blob(r, ch.From.TreeEntry.Hash); err != nil {
			return err
		}
	}
	emit := func(f sources.Fragment, err error) error {
		f.CommitSHA, f.CommitInfo = info.SHA, info
		return yield(f, err)
	}
	// archives first, as the tree walk tries any file that is not text
	// (brotli has no magic number); a guess that does not open is text
	if !isMostlyText(newData) {
		if format, _, err := archives.Identify(ctx, "", bytes.NewReader(newData)); err == nil && format != nil {
			t := &treeFiles{cfg: h.cfg}
			var archiveErrs []error
			// (a bound's error is yielded: the scan fails closed, or notes it)
			err := t.fragments(ctx, bytes.NewReader(newData), path, asArchive+format.Extension(), emit, &archiveErrs)
			if err == nil && len(archiveErrs) == 0 {
				h.read(info, ch, true, len(newData))
				return nil
			}
			if isBinary(newData) {
				h.read(info, ch, true, len(newData))
				h.skip("an archive that does not open (or not wholly), not read", path)
				return nil // like gitleaks: an archive that does not open is skipped
			}
		}
	}
	// the one rule of what is text (readableText), as the tree walk's
	newData, oldData = textOf(newData), textOf(oldData)
	if isBinary(oldData) && !isBinary(newData) {
		oldData = nil // a binary becoming text: git shows no lines, the text is new whole
	}
	h.read(info, ch, oldData == nil || isBinary(newData), len(newData))
	if isBinary(newData) {
		h.skip("binary, not read", path)
		return nil
	}
	for _, hk := range addedLines(string(oldData), string(newData)) {
		if err := emit(sources.Fragment{Raw: hk.text, FilePath: path, StartLine: hk.start}, nil); err != nil {
			return err
		}
	}
	return nil
}

func blob(r *gogit.Repository, h plumbing.Hash) ([]byte, error) {
	b, err := r.BlobObject(h)
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", h, err)
	}
	rc, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	// the size is known: one allocation (io.ReadAll grows a slice step
	// by step, and copies at each step); a size past 64 MB, which a
	// damaged pack may claim, is not trusted for it
	buf := bytes.NewBuffer(make([]byte, 0, min(b.Size, 64<<20)+bytes.MinRead))
	_, err = buf.ReadFrom(rc)
	return buf.Bytes(), err
}

// isBinary: not mostly text in UTF-8 or UTF-16 (textdecode.go), where
// git's test (a NUL byte in the first 8000 bytes) drops text with a NUL.
func isBinary(data []byte) bool {
	return isBinaryContent(data)
}

// hunk is a run of added lines: text starting at line start of the new file.
type hunk struct {
	start int
	text  string
}

// addedLines diffs two versions of a file by line and returns the added
// runs, as `git diff -U0` would show them: the lines a hunk adds, with the
// line of the new file they start at. The diff is go-diff's on lines
// (go-git's utils/diff.Do), each distinct line one rune; the lines are
// numbered here in one pass (go-diff's own DiffLinesToRunes spells every
// line number out as text first: half the cost of a history's diffs).
func addedLines(old, new string) []hunk {
	if new == "" {
		return nil
	}
	if old == "" {
		return []hunk{{start: 1, text: new}}
	}
	ids := make(map[string]rune, strings.Count(new, "\n")+1)
	a, _, ok := lineRunes(old, ids)
	b, at, ok2 := lineRunes(new, ids)
	if !ok || !ok2 {
		// more distinct lines than runes (go-diff would panic): the
		// new version whole, which holds every added line
		return []hunk{{start: 1, text: new}}
	}
	dmp := diffmatchpatch.New()
	// go-git's setting: a deadline far off (the same diff on a slow
	// machine), which also turns on go-diff's half-match speed-up
	dmp.DiffTimeout = time.Hour
	var (
		out  []hunk
		line = 0     // lines of the new version before the current diff
		open = false // the last hunk still grows (only deletions since)
	)
	for _, d := range dmp.DiffMainRunes(a, b, false) {
		n := utf8.RuneCountInString(d.Text)
		switch d.Type {
		case diffmatchpatch.DiffEqual:
			line += n
			open = false
		case diffmatchpatch.DiffInsert:
			if open {
				out[len(out)-1].text = new[at[out[len(out)-1].start-1]:at[line+n]]
			} else {
				out = append(out, hunk{start: line + 1, text: new[at[line]:at[line+n]]})
				open = true
			}
			line += n
		}
	}
	return out
}

// lineRunes numbers the lines of text (each with its "\n", the last one
// maybe without) by ids, adding the new ones, and returns one rune per
// line and where each line starts (and, last, len(text)). ok is false
// when there are more distinct lines than runes.
func lineRunes(text string, ids map[string]rune) (runes []rune, at []int, ok bool) {
	n := strings.Count(text, "\n") + 1
	runes, at = make([]rune, 0, n), make([]int, 0, n+1)
	for i := 0; i < len(text); {
		end := strings.IndexByte(text[i:], '\n') + 1
		if end == 0 {
			end = len(text) - i
		}
		line := text[i : i+end]
		r, seen := ids[line]
		if !seen {
			// 1, 2, … skipping the surrogates, which are not runes
			r = rune(len(ids) + 1)
			if r >= 0xD800 {
				r += 0x800
			}
			if r > utf8.MaxRune {
				return nil, nil, false
			}
			ids[line] = r
		}
		runes, at = append(runes, r), append(at, i)
		i += end
	}
	return runes, append(at, len(text)), true
}

// walker is one worker's repository and its decoded trees: consecutive
// commits share most of their trees, and go-git's own tree diff decodes
// every tree it visits again (4 s of the 5,000-commit history).
type walker struct {
	r     *gogit.Repository
	trees map[plumbing.Hash]*object.Tree
}

// maxTrees bounds a walker's decoded trees.
const maxTrees = 1024

func (w *walker) tree(h plumbing.Hash) (*object.Tree, error) {
	if t, ok := w.trees[h]; ok {
		return t, nil
	}
	t, err := w.r.TreeObject(h)
	if err != nil {
		return nil, err
	}
	if len(w.trees) >= maxTrees {
		clear(w.trees)
	}
	w.trees[h] = t
	return t, nil
}

// changes is the file changes from tree a (nil: none) to b, renames
// detected as git does by default (50% similar, up to 1000 files).
func (w *walker) changes(a, b *object.Tree) (object.Changes, error) {
	var out object.Changes
	if err := w.diff(a, b, "", &out); err != nil {
		return nil, err
	}
	inserts, deletes := false, false
	for _, c := range out {
		inserts = inserts || c.From.Name == ""
		deletes = deletes || c.To.Name == ""
	}
	if !inserts || !deletes {
		return out, nil
	}
	return object.DetectRenames(out, &object.DiffTreeOptions{DetectRenames: true, RenameScore: 50, RenameLimit: 1000})
}

// diff appends the changes between two trees (either nil) under prefix.
func (w *walker) diff(a, b *object.Tree, prefix string, out *object.Changes) error {
	inA := map[string]*object.TreeEntry{}
	if a != nil {
		for i := range a.Entries {
			inA[a.Entries[i].Name] = &a.Entries[i]
		}
	}
	if b != nil {
		for i := range b.Entries {
			eb := &b.Entries[i]
			ea := inA[eb.Name]
			delete(inA, eb.Name)
			if ea != nil && ea.Hash == eb.Hash && ea.Mode == eb.Mode {
				continue
			}
			if err := w.pair(a, ea, b, eb, path.Join(prefix, eb.Name), out); err != nil {
				return err
			}
		}
	}
	for name, ea := range inA {
		if err := w.pair(a, ea, nil, nil, path.Join(prefix, name), out); err != nil {
			return err
		}
	}
	return nil
}

// pair compares one name of two trees: subtrees are walked, files become
// a change (an insert, a delete or a modification).
func (w *walker) pair(ta *object.Tree, ea *object.TreeEntry, tb *object.Tree, eb *object.TreeEntry, name string, out *object.Changes) error {
	aDir := ea != nil && ea.Mode == filemode.Dir
	bDir := eb != nil && eb.Mode == filemode.Dir
	if aDir || bDir {
		var sa, sb *object.Tree
		var err error
		if aDir {
			if sa, err = w.tree(ea.Hash); err != nil {
				return err
			}
		}
		if bDir {
			if sb, err = w.tree(eb.Hash); err != nil {
				return err
			}
		}
		if err := w.diff(sa, sb, name, out); err != nil {
			return err
		}
	}
	fileA, fileB := ea != nil && !aDir, eb != nil && !bDir
	if !fileA && !fileB {
		return nil
	}
	c := &object.Change{}
	if fileA {
		c.From = object.ChangeEntry{Name: name, Tree: ta, TreeEntry: *ea}
	}
	if fileB {
		c.To = object.ChangeEntry{Name: name, Tree: tb, TreeEntry: *eb}
	}
	*out = append(*out, c)
	return nil
}
