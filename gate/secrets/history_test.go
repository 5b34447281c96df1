package secrets

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/go-git/go-git/v5/utils/diff"
	"github.com/sergi/go-diff/diffmatchpatch"
	"github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/sources"

	"github.com/secgate/secgate/gate/secrets/secretstest"
)

// rawFindings runs gitleaks' detector over a source's fragments and keys
// each finding by rule, file, commit, line and secret.
func rawFindings(t *testing.T, root string, src func(*detect.Detector) sources.Source) []string {
	t.Helper()
	ctx := context.Background()
	cfg, _, err := loadConfig(ctx, root, "")
	if err != nil {
		t.Fatal(err)
	}
	d := detect.NewDetectorContext(ctx, cfg)
	d.IgnoreGitleaksAllow = ignoreInlineAllow
	var (
		mu  sync.Mutex
		out []string
	)
	err = src(d).Fragments(ctx, func(fr sources.Fragment, ferr error) error {
		if ferr != nil {
			t.Errorf("source error: %v", ferr)
			return nil
		}
		if fr.CommitInfo != nil && fr.CommitInfo.Message == lastPassMark {
			return nil // a range's last pass: git log has none (TestRedTeamRange)
		}
		//lint:ignore SA1019 DetectContext takes the deprecated alias until gitleaks v9
		for _, g := range d.DetectContext(ctx, detect.Fragment(fr)) {
			mu.Lock()
			out = append(out, fmt.Sprintf("%s %s %s:%d %x", g.RuleID, g.Commit[:8], g.File, g.StartLine, sha256.Sum256([]byte(g.Secret))))
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// historyRepo is a repository whose history has what a diff can do: files
// added, edited in the middle, renamed as they are and renamed with an
// edit, deleted, a symlink, a binary, a file with no final newline, a
// branch merged with a merge commit and one never merged.
func historyRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	tok := func() string { return secretstest.GitHubPAT(t) }
	aws := func() string { return secretstest.AWSKeyID(t) }
	commit := func(msg string) { git(t, dir, "add", "-A"); git(t, dir, "commit", "-qm", msg) }
	git(t, dir, "init", "-q", "-b", "main")
	writeFile(t, dir, "README.md", "hello\n")
	writeFile(t, dir, "ci/deploy.sh", "#!/bin/sh\nset -e\nexport GITHUB_TOKEN="+tok()+"\necho done\n")
	writeFile(t, dir, "config/app.env", "A=1\nB=2\nC=3\nD=4\nE=5\n")
	writeFile(t, dir, "noeol.txt", "key = "+aws())
	if err := os.WriteFile(filepath.Join(dir, "blob.bin"), append([]byte("\x00\x01binary "), []byte(tok())...), 0o644); err != nil {
		t.Fatal(err)
	}
	commit("one")
	writeFile(t, dir, "config/app.env", "A=1\nB=2\nTOKEN="+tok()+"\nD=4\nE=5\nF="+aws()+"\n")
	writeFile(t, dir, "ci/deploy.sh", "#!/bin/sh\nset -e\nexport GITHUB_TOKEN=$CI_TOKEN\necho done\n")
	commit("two: edits in the middle and a removal")
	git(t, dir, "mv", "config/app.env", "config/prod.env")
	commit("three: a pure rename")
	if err := os.MkdirAll(filepath.Join(dir, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "mv", "noeol.txt", "docs/noeol.txt")
	writeFile(t, dir, "docs/noeol.txt", "key = "+aws()+"\nsecond = "+tok()+"\n")
	commit("four: a rename with an edit")
	if err := os.Symlink("config/prod.env", filepath.Join(dir, "link.env")); err != nil {
		t.Fatal(err)
	}
	commit("five: a symlink")
	git(t, dir, "checkout", "-q", "-b", "feature")
	writeFile(t, dir, "feature.go", "package f\n\nconst token = \""+tok()+"\"\n")
	commit("feature")
	git(t, dir, "checkout", "-q", "main")
	writeFile(t, dir, "main.txt", "on main "+aws()+"\n")
	commit("six: on main")
	git(t, dir, "merge", "-q", "--no-ff", "-m", "merge feature", "feature")
	git(t, dir, "checkout", "-q", "-b", "unmerged")
	writeFile(t, dir, "wip.sh", "curl -u bot:"+tok()+" https://api.github.com\n")
	commit("unmerged work")
	git(t, dir, "checkout", "-q", "main")
	if err := os.Remove(filepath.Join(dir, "ci", "deploy.sh")); err != nil {
		t.Fatal(err)
	}
	commit("seven: a deletion")
	git(t, dir, "tag", "-a", "v1", "-m", "v1")
	return dir
}

// The go-git history gives what gitleaks' own git source (git log -p)
// gives, on the whole history (--all) and on a range.
func TestHistoryMatchesGitleaksGitSource(t *testing.T) {
	dir := historyRepo(t)
	for _, tt := range []struct {
		name, base, head, logOpts string
		expect                    []string // findings the fixture must give
	}{
		{"history", "", "", "--full-history --all --diff-filter=tuxdb",
			[]string{" ci/deploy.sh:3 ", " config/app.env:3 ", " config/app.env:6 ", " docs/noeol.txt:2 ", " feature.go:3 ", " wip.sh:1 ", " main.txt:1 "}},
		{"range", "HEAD~4", "HEAD", "--full-history --diff-filter=tuxdb HEAD~4..HEAD", []string{" feature.go:3 ", " main.txt:1 "}},
		{"range over the merge", "feature~1", "main", "--full-history --diff-filter=tuxdb feature~1..main", []string{" feature.go:3 ", " main.txt:1 "}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ours := rawFindings(t, dir, func(*detect.Detector) sources.Source {
				h := &gitHistory{root: dir, base: tt.base, head: tt.head}
				cfg, _, _ := loadConfig(context.Background(), dir, "")
				h.cfg = &cfg
				return h
			})
			theirs := rawFindings(t, dir, func(d *detect.Detector) sources.Source {
				cmd, err := sources.NewGitLogCmdContext(context.Background(), dir, tt.logOpts)
				if err != nil {
					t.Fatal(err)
				}
				return &sources.Git{Cmd: cmd, Config: &d.Config, Remote: &sources.RemoteInfo{}, Sema: d.Sema}
			})
			for _, e := range tt.expect {
				if !slices.ContainsFunc(theirs, func(s string) bool { return strings.Contains(s, e) }) {
					t.Errorf("gitleaks' git source has no finding at%s: the fixture proves less than it says", e)
				}
			}
			if !slices.Equal(ours, theirs) {
				t.Errorf("go-git history differs from git log -p:\nours:\n  %s\ngitleaks:\n  %s", strings.Join(ours, "\n  "), strings.Join(theirs, "\n  "))
			}
		})
	}
}

func TestAddedLines(t *testing.T) {
	for _, tt := range []struct {
		old, new string
		want     []hunk
	}{
		{"", "a\nb\n", []hunk{{1, "a\nb\n"}}},
		{"a\nb\n", "a\nb\n", nil},
		{"a\nb\nc\n", "a\nX\nc\n", []hunk{{2, "X\n"}}},
		{"a\nb\nc\n", "a\nc\nY\nZ\n", []hunk{{3, "Y\nZ\n"}}},
		{"a\nb\n", "P\na\nb\nQ", []hunk{{1, "P\n"}, {4, "Q"}}},
		{"a\nb\nc\nd\n", "a\nX\nY\nd\n", []hunk{{2, "X\nY\n"}}},
		{"x\n", "", nil},
	} {
		if got := addedLines(tt.old, tt.new); !slices.Equal(got, tt.want) {
			t.Errorf("addedLines(%q, %q) = %+v, want %+v", tt.old, tt.new, got, tt.want)
		}
	}
}

// TestAddedLinesAsGoGit holds addedLines to what it replaced, go-git's
// utils/diff.Do (go-diff's line mode), on this package's sources edited
// at random: lines dropped, added, moved and repeated.
func TestAddedLinesAsGoGit(t *testing.T) {
	goGit := func(old, new string) []hunk {
		if old == "" {
			if new == "" {
				return nil
			}
			return []hunk{{start: 1, text: new}}
		}
		var (
			out  []hunk
			line = 1
			open = false
		)
		for _, d := range diff.Do(old, new) {
			n := strings.Count(d.Text, "\n")
			if !strings.HasSuffix(d.Text, "\n") {
				n++
			}
			switch d.Type {
			case diffmatchpatch.DiffEqual:
				line += n
				open = false
			case diffmatchpatch.DiffInsert:
				if open {
					out[len(out)-1].text += d.Text
				} else {
					out = append(out, hunk{start: line, text: d.Text})
					open = true
				}
				line += n
			}
		}
		return out
	}
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) < 10 {
		t.Fatal(files, err)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	edits, hunks := 0, 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		old := strings.SplitAfter(string(data), "\n")
		for range 6 {
			lines := slices.Clone(old)
			for range 1 + rnd.IntN(12) {
				i := rnd.IntN(len(lines))
				switch rnd.IntN(4) {
				case 0: // dropped
					lines = slices.Delete(lines, i, min(len(lines), i+1+rnd.IntN(5)))
				case 1: // added
					lines = slices.Insert(lines, i, fmt.Sprintf("added %d\n", rnd.IntN(1000)))
				case 2: // repeated
					lines = slices.Insert(lines, i, lines[rnd.IntN(len(lines))])
				case 3: // the last line without its line break
					lines[len(lines)-1] = strings.TrimSuffix(lines[len(lines)-1], "\n")
				}
				if len(lines) == 0 {
					lines = []string{"x"}
				}
			}
			o, n := string(data), strings.Join(lines, "")
			for _, pair := range [][2]string{{o, n}, {n, o}} {
				want := goGit(pair[0], pair[1])
				if got := addedLines(pair[0], pair[1]); !slices.Equal(got, want) {
					t.Fatalf("%s edited: addedLines = %+v\ngo-git's diff: %+v", f, got, want)
				}
				edits++
				hunks += len(want)
			}
		}
	}
	if hunks < edits {
		t.Errorf("%d edits gave only %d hunks", edits, hunks)
	}
}

// TestAddedLinesTooManyLines: more distinct lines than runes (go-diff's
// own line mode panics there) gives the new version whole.
func TestAddedLinesTooManyLines(t *testing.T) {
	var b strings.Builder
	for i := range utf8.MaxRune {
		fmt.Fprintf(&b, "%x\n", i)
	}
	if _, _, ok := lineRunes(b.String(), map[string]rune{}); ok {
		t.Fatal("lineRunes numbered more lines than there are runes")
	}
	got := addedLines("a\n", b.String())
	if len(got) != 1 || got[0].start != 1 || len(got[0].text) != b.Len() {
		t.Errorf("addedLines gave %d hunks, want the new version whole", len(got))
	}
}
