package secrets

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/zricethezav/gitleaks/v8/report"
	"github.com/zricethezav/gitleaks/v8/sources"
)

// A token in a file's name, or in a commit's message, author or
// committer, is as exposed as one in a file's content (red team F5: a
// pull request adding a file named creds-ghp_… passed every mode; A3:
// git -c user.name="bot <ghp_…>" commit passed too). Names and messages are read by
// the provider-format rules only, the glued form too (TextScanner.Learn):
// the generic rules would read a path's words as assignments. A name's
// finding is located at the path, line 0; a message's at the commit, no
// path (an identity's too). No path allowlist applies: a name is not a file's content.

// nameTag marks a finding of a name or a message.
const nameTag = "secgate:name"

// names collects what a walk saw besides contents: the paths a tree
// holds, the paths a commit added and each commit's message.
type names struct {
	mu    sync.Mutex
	texts []nameText
	seen  map[nameText]bool
}

// nameText is one name or message to read, where a finding of it is;
// in is what the finding's title says it was found in.
type nameText struct {
	text, path, commit, in string
}

// the titles' suffixes, which say where the token is: line 0 and no path
// do not
const (
	inName      = " (in a file name)"
	inMessage   = " (in a commit message)"
	inAuthor    = " (in a commit author)"
	inCommitter = " (in a commit committer)"
	inTagMsg    = " (in an annotated tag's message)"
	inTagger    = " (in an annotated tag's tagger)"
	inTagName   = " (in a tag name)"
)

func (n *names) add(text, path, commit, in string) {
	t := nameText{text, path, commit, in}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.seen[t] {
		return
	}
	if n.seen == nil {
		n.seen = map[nameText]bool{}
	}
	n.seen[t] = true
	n.texts = append(n.texts, t)
}

// addPath notes each name of a path's (its directories', its file's),
// located at the path up to it: a token in a directory's name is one
// finding, at the directory, however many files are under it.
func (n *names) addPath(p, commit string) {
	for i := 0; i < len(p); {
		j := strings.IndexByte(p[i:], '/')
		if j < 0 {
			j = len(p) - i
		}
		n.add(p[i:i+j], p[:i+j], commit, inName)
		i += j + 1
	}
}

// commit notes a commit's message, its author's and committer's
// identities ("name <email>") and the paths its changes add (a rename's
// new name included).
func (n *names) commit(sha, message string, author, committer object.Signature, changes object.Changes) {
	if n == nil {
		return
	}
	n.add(message, "", sha, inMessage)
	n.add(author.Name+" <"+author.Email+">", "", sha, inAuthor)
	n.add(committer.Name+" <"+committer.Email+">", "", sha, inCommitter)
	for _, ch := range changes {
		if ch.To.Name != "" && ch.From.Name != ch.To.Name {
			n.addPath(ch.To.Name, sha)
		}
	}
}

// tagName notes a tag reference's name (a lightweight tag has nothing
// else; it is pushed and listed like a branch). The finding is at commit,
// the commit the tag names.
func (n *names) tagName(commit, name string) {
	if n != nil {
		n.add(name, "", commit, inTagName)
	}
}

// tag notes an annotated tag's name, message and tagger identity: a
// release's notes are pushed and published like a commit's message (red
// team attack7 F5). The finding is at commit, the commit the tag names.
func (n *names) tag(commit string, t *object.Tag) {
	if n == nil {
		return
	}
	n.add(t.Name, "", commit, inTagName)
	n.add(t.Message, "", commit, inTagMsg)
	n.add(t.Tagger.Name+" <"+t.Tagger.Email+">", "", commit, inTagger)
}

// treeNames lists every path under root, directories included, but git's
// own data and the directories the tree's .gitignore ignores (ignored,
// by path relative to root: treeFiles.ignored).
func treeNames(ctx context.Context, root string, ignored map[string]bool) (*names, error) {
	n := &names{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == root {
			return nil // the tree walk reports what it could not read
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel := relPath(root, path)
		if d.IsDir() && (d.Name() == ".git" || ignored[rel]) {
			return filepath.SkipDir
		}
		n.add(d.Name(), rel, "", inName)
		return nil
	})
	return n, err
}

// nameBatch is how many one-line names are read as one text: the rules'
// keywords are looked for once a batch, and a batch with a finding is
// read again a name at a time, to locate it (113,482 names of a module
// cache: 3.7 s a name at a time).
const nameBatch = 512

// detect returns the findings of the names, located at their paths (line
// 0) or commits.
func (n *names) detect(ctx context.Context, d *contentDetector) []report.Finding {
	if n == nil || len(n.texts) == 0 {
		return nil
	}
	det := d.provider()
	prefixes := providerPrefixes(d.detector.cfg)
	var out []report.Finding
	one := func(t nameText) {
		texts := append([][]byte{[]byte(t.text)}, unglued([]byte(t.text), prefixes)...)
		seen := map[string]bool{}
		for _, text := range texts {
			for _, g := range det.DetectContext(ctx, sources.Fragment{Raw: string(text), StartLine: 1}) {
				if seen[g.Secret] {
					continue
				}
				seen[g.Secret] = true
				g.File, g.Commit = t.path, t.commit
				g.StartLine, g.EndLine, g.StartColumn, g.EndColumn = 0, 0, 0, 0
				g.Line, g.Match = "", ""
				g.Tags = append(g.Tags, nameTag)
				g.Description += t.in
				out = append(out, g)
			}
		}
	}
	var batch []nameText
	var text strings.Builder
	flush := func() {
		if len(batch) > 0 && len(det.DetectContext(ctx, sources.Fragment{Raw: text.String(), StartLine: 1})) > 0 {
			for _, t := range batch {
				one(t)
			}
		}
		batch = batch[:0]
		text.Reset()
	}
	for _, t := range n.texts {
		if ctx.Err() != nil {
			return out
		}
		switch {
		case strings.TrimSpace(t.text) == "":
		case strings.ContainsAny(t.text, "\r\n") || len(unglued([]byte(t.text), prefixes)) > 0:
			one(t) // a message, or a token glued to the word before it
		default:
			batch = append(batch, t)
			text.WriteString(t.text)
			text.WriteByte('\n')
			if len(batch) == nameBatch {
				flush()
			}
		}
	}
	flush()
	return out
}

// names returns the findings of the scan's names: the tree's paths, or
// the walked commits' messages and added paths.
func (s *Scanner) names(ctx context.Context, d *contentDetector, root string, tree *treeFiles, hist *gitHistory) ([]report.Finding, error) {
	if hist != nil {
		return hist.names.detect(ctx, d), nil
	}
	n, err := treeNames(ctx, root, tree.ignored)
	if err != nil {
		return nil, err
	}
	return n.detect(ctx, d), nil
}
