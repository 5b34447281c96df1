package secrets

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/secgate/secgate/gate/secrets/secretstest"
	"github.com/secgate/secgate/policy"
)

// rangeSkipped is the coverage's skip entry whose reason holds why.
func rangeSkipped(c policy.Coverage, why string) *policy.Skip {
	for i := range c.Skipped {
		if strings.Contains(c.Skipped[i].Why, why) {
			return &c.Skipped[i]
		}
	}
	return nil
}

// A range counts the commits it read, also those that gave no fragment
// (a deletion, a binary), and lists the blobs it left out with why.
func TestRangeCoverage(t *testing.T) {
	rr := rangeNewRepo(t)
	s := rangeSnap{"a.txt": {data: "a\n"}, "old.txt": {data: "old\n"}}
	base := rr.commit(s)
	s = s.clone()
	// a binary: not mostly text, and a magic number (readableText)
	s["img.dat"] = rangeFile{data: "\x7fELF\x02\x01\x01\x00" + strings.Repeat("\x00\x01\x02", 40)}
	c1 := rr.commit(s, base)
	s = s.clone()
	delete(s, "old.txt")
	c2 := rr.commit(s, c1)
	s = s.clone()
	s["vendor/lib"] = rangeFile{mode: filemode.Submodule, data: strings.Repeat("cd", 20)}
	head := rr.commit(s, c2)
	res := rangeScan(t, rr.dir, base.String(), head.String())
	if res.Coverage.Commits != 3 {
		t.Errorf("coverage: %d commits, want the 3 read", res.Coverage.Commits)
	}
	if sk := rangeSkipped(res.Coverage, "binary"); sk == nil || !slices.Equal(sk.Paths, []string{"img.dat"}) || sk.Count != 1 {
		t.Errorf("the binary is not listed once as skipped:%s", rangeDescribe(res))
	}
	if sk := rangeSkipped(res.Coverage, "submodule"); sk == nil || !slices.Equal(sk.Paths, []string{"vendor/lib"}) {
		t.Errorf("the submodule is not listed as skipped:%s", rangeDescribe(res))
	}
	if res.Coverage.Range == "" {
		t.Error("coverage names no range")
	}
}

// A shallow clone's history is read to its edge, and the coverage says
// where the edge is.
func TestRangeShallowEdgeInCoverage(t *testing.T) {
	src := t.TempDir()
	git(t, src, "init", "-q", "-b", "main")
	for _, n := range []string{"1", "2", "3"} {
		writeFile(t, src, "f"+n+".txt", n+"\n")
		git(t, src, "add", "-A")
		git(t, src, "commit", "-qm", n)
	}
	dir := filepath.Join(t.TempDir(), "clone")
	git(t, src, "clone", "-q", "--depth", "2", "file://"+src, dir)
	edge := git(t, dir, "rev-parse", "HEAD~1")
	res := rangeScan(t, dir, "", "")
	if res.Coverage.Commits != 2 {
		t.Errorf("coverage: %d commits, want the clone's 2", res.Coverage.Commits)
	}
	sk := rangeSkipped(res.Coverage, "shallow clone")
	if sk == nil || sk.Count != 1 || len(sk.Paths) != 1 || !strings.HasPrefix(edge, strings.TrimPrefix(sk.Paths[0], "commit ")) {
		t.Errorf("the shallow edge %s is not in the coverage:%s", edge, rangeDescribe(res))
	}
	// a complete clone has no edge to note
	full := rangeScan(t, src, "", "")
	if rangeSkipped(full.Coverage, "shallow clone") != nil || full.Coverage.Commits != 3 {
		t.Errorf("a complete clone:%s", rangeDescribe(full))
	}
}

// The walk and the last pass find a value once: at the commit and path
// where the walk found it, also after a rename; the last pass alone finds
// it at the head.
func TestRangeLastPassDedupe(t *testing.T) {
	tok := secretstest.GitHubPAT(t)
	rr := rangeNewRepo(t)
	s := rangeSnap{"README.md": {data: "x\n"}}
	base := rr.commit(s)
	s = s.clone()
	s["conf/a.env"] = rangeFile{data: "ONE=1\nGITHUB_TOKEN=" + tok + "\n"}
	intro := rr.commit(s, base)
	s = s.clone()
	s["conf/a.env"] = rangeFile{data: "ZERO=0\nONE=1\nGITHUB_TOKEN=" + tok + "\n"}
	edit := rr.commit(s, intro)
	res := rangeScan(t, rr.dir, base.String(), edit.String())
	if len(res.Findings) != 1 || res.Findings[0].Location.Commit != intro.String() || res.Findings[0].Location.Path != "conf/a.env" {
		t.Errorf("want one finding, at the commit that brought the token in (%s):%s", intro, rangeDescribe(res))
	}
	// a pure rename: the walk reads nothing, the last pass reads the
	// blob the walk found the token in under its old name
	s2 := s.clone()
	s2["conf/b.env"] = s2["conf/a.env"]
	delete(s2, "conf/a.env")
	moved := rr.commit(s2, edit)
	res = rangeScan(t, rr.dir, base.String(), moved.String())
	if len(res.Findings) != 1 || res.Findings[0].Location.Commit != intro.String() {
		t.Errorf("a rename counted the token twice, or lost its commit:%s", rangeDescribe(res))
	}
	// the last pass alone: its finding is located at the head
	if res.Findings[0].Location.Commit == moved.String() {
		t.Error("the rename's finding is the last pass's")
	}
}

// A range that edits a file holding a secret the base already held
// reports that value existing; a value it brings in is new.
func TestRangeExistingInTouchedFile(t *testing.T) {
	old, tok := secretstest.GitHubPAT(t), secretstest.GitHubPAT(t)
	rr := rangeNewRepo(t)
	s := rangeSnap{"ci/deploy.sh": {data: "#!/bin/sh\nexport OLD_TOKEN=" + old + "\necho one\n"}}
	base := rr.commit(s)
	s = s.clone()
	s["ci/deploy.sh"] = rangeFile{data: "#!/bin/sh\nexport OLD_TOKEN=" + old + "\necho two\nexport NEW_TOKEN=" + tok + "\n"}
	head := rr.commit(s, base)
	res := rangeScan(t, rr.dir, base.String(), head.String())
	status := map[string]policy.Status{}
	for _, f := range res.Findings {
		status[f.Fingerprint] = f.Status
	}
	fp := func(v string) string {
		return policy.Fingerprint(policy.KindSecret, "github-pat", "ci/deploy.sh", valueMAC(nil, v))
	}
	if status[fp(old)] != policy.StatusExisting || status[fp(tok)] != policy.StatusNew || len(res.Findings) != 2 {
		t.Errorf("want the base's value existing and the range's new:%s", rangeDescribe(res))
	}
}

// An LFS pointer's working file is read only inside the tree: a symlink
// out of it is refused, a pointer left unsmudged is said, both in the
// coverage.
func TestRangeLFSWorkingFileRefused(t *testing.T) {
	tok := secretstest.GitHubPAT(t)
	outside := filepath.Join(t.TempDir(), "secret.json")
	if err := os.WriteFile(outside, []byte(`{"token": "`+tok+`"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	rr := rangeNewRepo(t)
	base := rr.commit(rangeSnap{"README.md": {data: "x\n"}})
	s := rangeSnap{"README.md": {data: "x\n"}, "models/out.json": {data: rangeLFSPointer("a")}, "models/kept.json": {data: rangeLFSPointer("b")}}
	head := rr.commit(s, base)
	if err := os.MkdirAll(filepath.Join(rr.dir, "models"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(rr.dir, "models", "out.json")); err != nil {
		t.Fatal(err)
	}
	rr.checkout(rangeSnap{"models/kept.json": s["models/kept.json"]})
	res := rangeScan(t, rr.dir, base.String(), head.String())
	if len(res.Findings) != 0 {
		t.Errorf("a file out of the tree was read:%s", rangeDescribe(res))
	}
	if sk := rangeSkipped(res.Coverage, "symlink out of the tree"); sk == nil || !slices.Equal(sk.Paths, []string{"models/out.json"}) {
		t.Errorf("the refused symlink is not in the coverage:%s", rangeDescribe(res))
	}
	if sk := rangeSkipped(res.Coverage, "not fetched"); sk == nil || !slices.Equal(sk.Paths, []string{"models/kept.json"}) {
		t.Errorf("the unsmudged pointer is not in the coverage:%s", rangeDescribe(res))
	}
	// the same symlink pointing inside the tree is read
	if err := os.Remove(filepath.Join(rr.dir, "models", "out.json")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, rr.dir, "data/real.json", `{"token": "`+tok+`"}`)
	if err := os.Symlink(filepath.Join("..", "data", "real.json"), filepath.Join(rr.dir, "models", "out.json")); err != nil {
		t.Fatal(err)
	}
	res = rangeScan(t, rr.dir, base.String(), head.String())
	if !rangeHas(res, "github-pat", "models/out.json", tok) {
		t.Errorf("the working file inside the tree was not read:%s", rangeDescribe(res))
	}
}

// A range whose head is the edge of a shallow clone (the commits down to
// the base not fetched) reads the edge against the base's tree: what it
// holds that the base does not is new, what the base holds is not the
// range's; the coverage says the commits between were not read.
func TestRangeShallowEdgeAgainstBase(t *testing.T) {
	old, tok := secretstest.GitHubPAT(t), secretstest.GitHubPAT(t)
	src := t.TempDir()
	git(t, src, "init", "-q", "-b", "main")
	writeFile(t, src, "a.env", "OLD_TOKEN="+old+"\n")
	git(t, src, "add", "-A")
	git(t, src, "commit", "-qm", "base")
	git(t, src, "branch", "base")
	writeFile(t, src, "c.txt", "between\n")
	git(t, src, "add", "-A")
	git(t, src, "commit", "-qm", "between")
	writeFile(t, src, "b.env", "NEW_TOKEN="+tok+"\n")
	git(t, src, "add", "-A")
	git(t, src, "commit", "-qm", "head")
	dir := filepath.Join(t.TempDir(), "clone")
	git(t, src, "clone", "-q", "--depth", "1", "--no-single-branch", "file://"+src, dir)
	res := rangeScan(t, dir, "origin/base", "origin/main")
	if !rangeHas(res, "github-pat", "b.env", tok) || len(res.Findings) != 1 || res.Findings[0].Status != policy.StatusNew {
		t.Errorf("want the head's new token alone, new:%s", rangeDescribe(res))
	}
	if rangeSkipped(res.Coverage, "shallow clone") == nil || res.Coverage.Commits != 1 {
		t.Errorf("the shallow edge is not in the coverage:%s", rangeDescribe(res))
	}
}

// entryNamed finds a name among entries in git's order, where a directory
// sorts as its name and a slash (after "a-b" and "a.c", before "a0").
func TestRangeTreeEntry(t *testing.T) {
	tr := &object.Tree{Entries: []object.TreeEntry{
		{Name: "a-b", Mode: filemode.Regular},
		{Name: "a.c", Mode: filemode.Regular},
		{Name: "a", Mode: filemode.Dir},
		{Name: "a0", Mode: filemode.Regular},
		{Name: "b", Mode: filemode.Symlink},
	}}
	for _, name := range []string{"a-b", "a.c", "a", "a0", "b"} {
		if e := entryNamed(tr, name); e == nil || e.Name != name {
			t.Errorf("entry(%q) = %v", name, e)
		}
	}
	for _, name := range []string{"", "a-", "a/", "a1", "c", "0"} {
		if e := entryNamed(tr, name); e != nil {
			t.Errorf("entry(%q) = %q, want none", name, e.Name)
		}
	}
}

// Names git allows and go-git's path lookup refuses (a control character,
// a backslash before a dot-dot) are read by the walk and the last pass
// alike: neither fails the scan nor skips the file.
func TestRangeOddPathNames(t *testing.T) {
	for _, name := range []string{"conf/we\tird.env", `conf/..\x.env`, "conf/line\nbreak.env"} {
		tok := secretstest.GitHubPAT(t)
		rr := rangeNewRepo(t)
		s := rangeSnap{name: {data: "A=1\n"}}
		base := rr.commit(s)
		s = rangeSnap{name: {data: "A=1\nGITHUB_TOKEN=" + tok + "\n"}}
		head := rr.commit(s, base)
		res := rangeScan(t, rr.dir, base.String(), head.String())
		if !rangeHas(res, "github-pat", name, tok) {
			t.Errorf("%q: the token passed:%s", name, rangeDescribe(res))
		}
	}
}
