package repo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/secgate/secgate/gate/repo/repotest"
)

func git(t *testing.T, dir string, args ...string) { repotest.Git(t, dir, args...) }

func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadFileFromTreeAndRevision(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	write(t, dir, ".secgate.yml", "base\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "base")
	write(t, dir, ".secgate.yml", "changed\n")
	write(t, dir, "web/osv-scanner.toml", "new\n")

	for _, tt := range []struct {
		rev, rel, want string
		ok             bool
	}{
		{"", ".secgate.yml", "changed\n", true},
		{"HEAD", ".secgate.yml", "base\n", true},
		{"HEAD", "web/osv-scanner.toml", "", false},
		{"", "missing.yml", "", false},
	} {
		data, ok, err := ReadFile(ctx, dir, tt.rev, tt.rel)
		if err != nil || ok != tt.ok || string(data) != tt.want {
			t.Errorf("ReadFile(%q, %q) = %q, %v, %v; want %q, %v", tt.rev, tt.rel, data, ok, err, tt.want, tt.ok)
		}
	}
	if _, _, err := ReadFile(ctx, dir, "no-such-rev", ".secgate.yml"); err == nil || !strings.Contains(err.Error(), `git revision "no-such-rev" not found`) {
		t.Errorf("bad revision: %v", err)
	}

	changed, err := Changed(ctx, dir, "HEAD", ".secgate.yml", ":(glob)**/osv-scanner.toml", ".gitleaksignore")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{".secgate.yml", "web/osv-scanner.toml"}; !reflect.DeepEqual(changed, want) {
		t.Errorf("Changed = %v, want %v (modified and untracked)", changed, want)
	}
}

func TestReadFileRefusesSymlinksOutOfTheTree(t *testing.T) {
	ctx := context.Background()
	outside := t.TempDir()
	write(t, outside, "policy.yml", "lenient\n")
	dir := t.TempDir()
	write(t, dir, "ci/policy.yml", "in tree\n")
	for name, target := range map[string]string{
		"out.yml":      filepath.Join(outside, "policy.yml"),
		"climb.yml":    filepath.Join("..", filepath.Base(outside), "policy.yml"),
		"in.yml":       filepath.Join("ci", "policy.yml"),
		"dangling.yml": filepath.Join("ci", "nope.yml"),
	} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, rel := range []string{"out.yml", "climb.yml"} {
		if _, _, err := ReadFile(ctx, dir, "", rel); !errors.Is(err, ErrOutsideTree) {
			t.Errorf("%s: err = %v, want ErrOutsideTree", rel, err)
		}
	}
	if data, ok, err := ReadFile(ctx, dir, "", "in.yml"); err != nil || !ok || string(data) != "in tree\n" {
		t.Errorf("in-tree symlink: %q %v %v", data, ok, err)
	}
	if _, ok, err := ReadFile(ctx, dir, "", "dangling.yml"); err != nil || ok {
		t.Errorf("dangling symlink: %v %v, want absent", ok, err)
	}
}

// IgnoredDirs (go-git's gitignore) agrees with git ls-files on a tree with
// nested .gitignore files, a negation, info/exclude, an anchored pattern,
// a tracked directory that a pattern matches, and from a subdirectory.
func TestIgnoredDirsMatchesGit(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	write(t, dir, ".gitignore", "build/\n*.tmp/\n/vendor\nlogs\n!keep/logs\n")
	write(t, dir, "web/.gitignore", "node_modules/\ndist\n")
	write(t, dir, ".git/info/exclude", "scratch/\n")
	write(t, dir, "tracked/x.txt", "x\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "base")
	write(t, dir, ".gitignore", "build/\n*.tmp/\n/vendor\nlogs\n!keep/logs\ntracked/\n")
	for _, d := range []string{"build/a", "cache.tmp", "vendor/m", "sub/vendor", "logs", "keep/logs", "web/node_modules/p", "web/dist", "web/src", "scratch", "tracked/new", "src/logs"} {
		write(t, dir, d+"/f", "f\n")
	}
	write(t, dir, "src/main.go", "package main\n") // else git lists src/ too: all it holds is ignored
	for _, root := range []string{dir, filepath.Join(dir, "web")} {
		got, err := IgnoredDirs(ctx, root)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, p := range strings.Split(repotest.Git(t, root, "-c", "core.excludesFile="+os.DevNull, "ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory", "--", "."), "\x00") {
			if d, ok := strings.CutSuffix(p, "/"); ok && d != "" {
				want = append(want, d)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("IgnoredDirs(%s) = %v, git ls-files says %v", root, got, want)
		}
	}
}

// TestBlobID: git's blob ids (as `git hash-object` gives them), with the
// standard library's SHA-1 registered for go-git's own hashing.
func TestBlobID(t *testing.T) {
	for data, want := range map[string]string{
		"":              "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391",
		"hello world\n": "3b18e512dba79e4c8300dd08aeb37f8e728b8dad",
	} {
		got, err := BlobID(strings.NewReader(data), int64(len(data)))
		if err != nil || got.String() != want {
			t.Errorf("BlobID(%q) = %s, %v; want %s", data, got, err, want)
		}
		if h := plumbing.ComputeHash(plumbing.BlobObject, []byte(data)); h.String() != want {
			t.Errorf("go-git's hash of %q = %s, want %s", data, h, want)
		}
	}
}

// Locate draws the line at the git repository's work tree, not at the
// scanned directory: a file beside it is in, a file outside is not; a
// repository file that is a link leaving the tree stays the repository's
// (ReadFile refuses to follow it), a link to the checkout is followed, a
// file absent from the working tree (maybe in the base revision) is in.
func TestLocate(t *testing.T) {
	top, outside := t.TempDir(), t.TempDir()
	git(t, top, "init", "-q")
	for _, d := range []string{"app", "vex"} {
		if err := os.MkdirAll(filepath.Join(top, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(top, "vex", "a.json"), filepath.Join(outside, "b.json")} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(outside, "b.json"), filepath.Join(top, "vex", "out.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(top, filepath.Join(outside, "checkout")); err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(top, "app")
	for _, c := range []struct {
		f, rel string
		ok     bool
	}{
		{filepath.Join(top, "vex", "a.json"), "vex/a.json", true},
		{filepath.Join(app, "..", "vex", "a.json"), "vex/a.json", true},
		{filepath.Join(top, "vex", "gone.json"), "vex/gone.json", true},
		{filepath.Join(top, "vex", "out.json"), "vex/out.json", true},
		{filepath.Join(outside, "checkout", "vex", "a.json"), "vex/a.json", true},
		{filepath.Join(outside, "b.json"), "", false},
		{filepath.Join(top, "..", filepath.Base(outside), "b.json"), "", false},
	} {
		_, rel, ok := Locate(app, c.f)
		if rel != c.rel || ok != c.ok {
			t.Errorf("Locate(app, %s) = %q, %t; want %q, %t", c.f, rel, ok, c.rel, c.ok)
		}
	}
	// A tree in no repository is its own top.
	if _, rel, ok := Locate(outside, filepath.Join(outside, "b.json")); !ok || rel != "b.json" {
		t.Errorf("outside any repository: %q, %t", rel, ok)
	}
}

// DefaultBranchBase, the rule for a run whose event gives no base (red
// team A4, A5): a head in the default branch's history is judged whole;
// any other from its merge base with origin/<default> (a local branch of
// that name when the clone has no origin one); an orphan, or a default
// branch the clone lacks, is ErrNoTrustedBase.
func TestDefaultBranchBase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	commit := func(msg string) string {
		repotest.Write(t, dir, map[string]string{"f": msg + "\n"})
		repotest.Git(t, dir, "add", ".")
		repotest.Git(t, dir, "commit", "-qm", msg)
		return repotest.Git(t, dir, "rev-parse", "HEAD")
	}
	repotest.Git(t, dir, "init", "-q", "-b", "main")
	one := commit("one")
	two := commit("two")
	repotest.Git(t, dir, "checkout", "-q", "-b", "feat", one)
	feat := commit("feat")
	repotest.Git(t, dir, "checkout", "-q", "--orphan", "orphan")
	orphan := commit("orphan")
	for _, tt := range []struct {
		name, def, head, base, note, err string
	}{
		{name: "the default branch's tip", def: "main", head: two, note: "own history"},
		{name: "in the default branch's history", def: "main", head: one, note: "own history"},
		{name: "a feature commit", def: "main", head: feat, base: one, note: "merge base with main"},
		{name: "the checkout's HEAD (the orphan)", def: "main", err: "no merge base"},
		{name: "an orphan commit", def: "main", head: orphan, err: "no merge base"},
		{name: "a default branch the clone lacks", def: "trunk", head: feat, err: "fetch-depth: 0"},
	} {
		base, head, note, err := DefaultBranchBase(ctx, dir, tt.def, tt.head, "tag v1")
		if tt.err != "" {
			if !errors.Is(err, ErrNoTrustedBase) || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "tag v1") {
				t.Errorf("%s: base %q, err %v, want ErrNoTrustedBase naming %q", tt.name, base, err, tt.err)
			}
			continue
		}
		if err != nil || base != tt.base || head != tt.head || !strings.Contains(note, tt.note) {
			t.Errorf("%s: base %q head %q note %q err %v, want base %q head %q note ~%q", tt.name, base, head, note, err, tt.base, tt.head, tt.note)
		}
	}
	// origin/main, when the clone has it, is the default branch: not the
	// local branch of that name
	repotest.Git(t, dir, "update-ref", "refs/remotes/origin/main", feat)
	if base, _, note, err := DefaultBranchBase(ctx, dir, "main", two, "schedule"); err != nil || base != one || !strings.Contains(note, "merge base") {
		t.Errorf("with origin/main at feat, two: base %q note %q err %v, want base %s", base, note, err, one)
	}
	// A tag named origin/main (or main), which the author of a change can
	// push and a CI clone fetches with every tag, does not make their
	// commit the default branch (red team round 3: go-git resolves the
	// short name origin/main as refs/tags/origin/main first).
	repotest.Git(t, dir, "update-ref", "refs/remotes/origin/main", two)
	repotest.Git(t, dir, "tag", "origin/main", feat)
	repotest.Git(t, dir, "tag", "refs/remotes/origin/main", feat)
	if base, _, note, err := DefaultBranchBase(ctx, dir, "main", feat, "tag v2"); err != nil || base != one || !strings.Contains(note, "merge base") {
		t.Errorf("a tag origin/main at feat: base %q note %q err %v, want feat judged from %s", base, note, err, one)
	}
	if base, _, err := PushBase(ctx, dir, strings.Repeat("0", 40), feat, "main", "feat3"); err != nil || base != one {
		t.Errorf("a new branch's push with a tag origin/main at it: base %q err %v, want %s", base, err, one)
	}
}
