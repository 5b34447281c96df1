package secrets

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/secgate/secgate/gate/secrets/secretstest"
	"github.com/secgate/secgate/policy"
)

// rangeFile is one file of a snapshot: its mode (a regular file when 0)
// and content (a symlink's target; a submodule's commit id in hex).
type rangeFile struct {
	mode filemode.FileMode
	data string
}

// rangeSnap is a commit's whole tree: slash-separated path → file.
type rangeSnap map[string]rangeFile

func (s rangeSnap) clone() rangeSnap {
	out := make(rangeSnap, len(s))
	for k, v := range s {
		out[k] = v
	}
	return out
}

// rangeRepo writes commits object by object with go-git (any tree, any
// parents: merges that match no parent, type changes, gitlinks), which
// git's porcelain makes hard to write on purpose.
type rangeRepo struct {
	t   testing.TB
	dir string
	r   *gogit.Repository
	n   int
}

func rangeNewRepo(t testing.TB) *rangeRepo {
	t.Helper()
	dir := t.TempDir()
	r, err := gogit.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, "refs/heads/main")); err != nil {
		t.Fatal(err)
	}
	return &rangeRepo{t: t, dir: dir, r: r}
}

// rangeEncoder is a git object that encodes itself (a tree, a commit).
type rangeEncoder interface {
	Encode(plumbing.EncodedObject) error
}

func (rr *rangeRepo) store(o rangeEncoder, typ plumbing.ObjectType) plumbing.Hash {
	rr.t.Helper()
	obj := rr.r.Storer.NewEncodedObject()
	obj.SetType(typ)
	if err := o.Encode(obj); err != nil {
		rr.t.Fatal(err)
	}
	h, err := rr.r.Storer.SetEncodedObject(obj)
	if err != nil {
		rr.t.Fatal(err)
	}
	return h
}

func (rr *rangeRepo) blob(data string) plumbing.Hash {
	rr.t.Helper()
	obj := rr.r.Storer.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	w, err := obj.Writer()
	if err != nil {
		rr.t.Fatal(err)
	}
	if _, err := w.Write([]byte(data)); err != nil {
		rr.t.Fatal(err)
	}
	w.Close()
	h, err := rr.r.Storer.SetEncodedObject(obj)
	if err != nil {
		rr.t.Fatal(err)
	}
	return h
}

// tree writes the tree of the files under dir ("" the root).
func (rr *rangeRepo) tree(s rangeSnap, dir string) plumbing.Hash {
	rr.t.Helper()
	subdirs := map[string]bool{}
	var entries []object.TreeEntry
	for p, f := range s {
		rel := p
		if dir != "" {
			var ok bool
			if rel, ok = strings.CutPrefix(p, dir+"/"); !ok {
				continue
			}
		}
		if first, _, nested := strings.Cut(rel, "/"); nested {
			subdirs[first] = true
			continue
		}
		mode := f.mode
		if mode == 0 {
			mode = filemode.Regular
		}
		h := plumbing.NewHash(f.data)
		if mode != filemode.Submodule {
			h = rr.blob(f.data)
		}
		entries = append(entries, object.TreeEntry{Name: rel, Mode: mode, Hash: h})
	}
	for d := range subdirs {
		entries = append(entries, object.TreeEntry{Name: d, Mode: filemode.Dir, Hash: rr.tree(s, path.Join(dir, d))})
	}
	// git's order: a directory sorts as its name and a slash
	key := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	sort.Slice(entries, func(i, j int) bool { return key(entries[i]) < key(entries[j]) })
	return rr.store(&object.Tree{Entries: entries}, plumbing.TreeObject)
}

// commit writes a commit of snapshot s with parents, and points main
// (and HEAD) at it.
func (rr *rangeRepo) commit(s rangeSnap, parents ...plumbing.Hash) plumbing.Hash {
	rr.t.Helper()
	rr.n++
	sig := object.Signature{Name: "t", Email: "t@example.com", When: time.Unix(1700000000+int64(rr.n)*60, 0)}
	c := &object.Commit{Author: sig, Committer: sig, Message: "commit " + string(rune('a'+rr.n%26)) + "\n",
		TreeHash: rr.tree(s, ""), ParentHashes: parents}
	h := rr.store(c, plumbing.CommitObject)
	if err := rr.r.Storer.SetReference(plumbing.NewHashReference("refs/heads/main", h)); err != nil {
		rr.t.Fatal(err)
	}
	return h
}

// checkout writes s into the work tree (as git checkout would: files and
// symlinks; a submodule an empty directory).
func (rr *rangeRepo) checkout(s rangeSnap) {
	rr.t.Helper()
	for p, f := range s {
		full := filepath.Join(rr.dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			rr.t.Fatal(err)
		}
		var err error
		switch f.mode {
		case filemode.Symlink:
			err = os.Symlink(f.data, full)
		case filemode.Submodule:
			err = os.MkdirAll(full, 0o755)
		default:
			err = os.WriteFile(full, []byte(f.data), 0o644)
		}
		if err != nil {
			rr.t.Fatal(err)
		}
	}
}

// rangeScan scans dir (a range when base is set, else its whole history).
func rangeScan(t *testing.T, dir, base, head string) policy.ScanResult {
	t.Helper()
	opts := Options{Root: dir, History: base == ""}
	if base != "" {
		opts.Base, opts.Head = base, head
	}
	res, err := New(opts).Scan(context.Background())
	if err != nil {
		t.Fatalf("%s: %v", opts.Mode(), err)
	}
	return res
}

// rangeHas reports whether res holds tok at path p, found by its own rule
// (the fingerprint is of rule, path and value: the value itself).
func rangeHas(res policy.ScanResult, rule, p, tok string) bool {
	want := policy.Fingerprint(policy.KindSecret, rule, p, valueMAC(nil, tok))
	return slices.ContainsFunc(res.Findings, func(f policy.Finding) bool { return f.Fingerprint == want })
}

func rangeDescribe(res policy.ScanResult) string {
	var b strings.Builder
	for _, f := range res.Findings {
		b.WriteString("\n  " + f.Rule + " " + f.Location.Path + " " + string(f.Status))
	}
	b.WriteString("\n  coverage: commits " + strings.Repeat("|", res.Coverage.Commits))
	for _, s := range res.Coverage.Skipped {
		b.WriteString("\n  skipped " + s.What + ": " + s.Why + " " + strings.Join(s.Paths, ", "))
	}
	return b.String()
}

// rangeCase is one way to walk a token past a range scan: the repository
// it builds, the range (base "" for none), where the token ends up, and
// whether a --history scan must find it too.
type rangeCase struct {
	name    string
	build   func(t *testing.T, tok string) (dir, base, head string)
	path    string
	history bool
	tree    bool // a scan of the work tree must find it too
	// status the range must give it ("" for new)
	status policy.Status
}

// TestRedTeamRange: each row is a class of issue 24 a pull request used to
// carry a real-format GitHub token past the range scan (and the history
// scan) with the gate green; every variant must now be found.
func TestRedTeamRange(t *testing.T) {
	classes := []struct {
		class    string
		variants []rangeCase
	}{
		{"1 transitions the range walk skipped", []rangeCase{
			{name: "an evil merge: a file in neither parent", path: "deploy/secret.env", history: true,
				build: func(t *testing.T, tok string) (string, string, string) {
					rr := rangeNewRepo(t)
					s := rangeSnap{"README.md": {data: "hello\n"}}
					base := rr.commit(s)
					side := s.clone()
					side["feature.go"] = rangeFile{data: "package f\n"}
					f := rr.commit(side, base)
					main := s.clone()
					main["main.go"] = rangeFile{data: "package m\n"}
					m := rr.commit(main, base)
					merged := side.clone()
					merged["main.go"] = main["main.go"]
					merged["deploy/secret.env"] = rangeFile{data: "GITHUB_TOKEN=" + tok + "\n"}
					head := rr.commit(merged, m, f)
					return rr.dir, base.String(), head.String()
				}},
			{name: "a conflict resolved with a new line in a file both parents changed", path: "config.yml", history: true,
				build: func(t *testing.T, tok string) (string, string, string) {
					rr := rangeNewRepo(t)
					s := rangeSnap{"config.yml": {data: "a: 1\nb: 2\n"}}
					base := rr.commit(s)
					one, two := s.clone(), s.clone()
					one["config.yml"] = rangeFile{data: "a: 10\nb: 2\n"}
					two["config.yml"] = rangeFile{data: "a: 11\nb: 2\n"}
					p1, p2 := rr.commit(one, base), rr.commit(two, base)
					merged := s.clone()
					merged["config.yml"] = rangeFile{data: "a: 10\ntoken: " + tok + "\nb: 2\n"}
					head := rr.commit(merged, p1, p2)
					return rr.dir, base.String(), head.String()
				}},
			{name: "a symlink that becomes a file", path: "link.env", history: true,
				build: func(t *testing.T, tok string) (string, string, string) {
					rr := rangeNewRepo(t)
					s := rangeSnap{"real.env": {data: "A=1\n"}, "link.env": {mode: filemode.Symlink, data: "real.env"}}
					base := rr.commit(s)
					s = s.clone()
					s["link.env"] = rangeFile{data: "TOKEN=" + tok + "\n"}
					head := rr.commit(s, base)
					return rr.dir, base.String(), head.String()
				}},
			{name: "a submodule that becomes a file", path: "vendor/lib", history: true,
				build: func(t *testing.T, tok string) (string, string, string) {
					rr := rangeNewRepo(t)
					s := rangeSnap{"README.md": {data: "x\n"}, "vendor/lib": {mode: filemode.Submodule, data: strings.Repeat("ab", 20)}}
					base := rr.commit(s)
					s = s.clone()
					s["vendor/lib"] = rangeFile{data: "token = \"" + tok + "\"\n"}
					head := rr.commit(s, base)
					return rr.dir, base.String(), head.String()
				}},
			{name: "a binary that becomes text", path: "data/blob.dat", history: true,
				build: func(t *testing.T, tok string) (string, string, string) {
					rr := rangeNewRepo(t)
					s := rangeSnap{"data/blob.dat": {data: "\x00\x01\x02 header\nkeep this line\n"}}
					base := rr.commit(s)
					s = s.clone()
					s["data/blob.dat"] = rangeFile{data: "keep this line\nGITHUB_TOKEN=" + tok + "\n"}
					head := rr.commit(s, base)
					return rr.dir, base.String(), head.String()
				}},
			{name: "a merge bringing back an old version of a file that held the token", path: "ci/deploy.sh", history: true,
				build: func(t *testing.T, tok string) (string, string, string) {
					rr := rangeNewRepo(t)
					s := rangeSnap{"ci/deploy.sh": {data: "#!/bin/sh\nexport GITHUB_TOKEN=" + tok + "\n"}}
					old := rr.commit(s)
					s = s.clone()
					s["ci/deploy.sh"] = rangeFile{data: "#!/bin/sh\nexport GITHUB_TOKEN=$CI_TOKEN\n"}
					base := rr.commit(s, old)
					pr := s.clone()
					pr["docs.md"] = rangeFile{data: "docs\n"}
					p := rr.commit(pr, base)
					back := pr.clone()
					back["ci/deploy.sh"] = rangeFile{data: "#!/bin/sh\nexport GITHUB_TOKEN=" + tok + "\n"}
					head := rr.commit(back, p, old) // the merge takes old's version
					return rr.dir, base.String(), head.String()
				}},
		}},
		{"5 Git LFS", []rangeCase{
			{name: "a pointer whose working file is text", path: "models/settings.json", tree: true,
				build: func(t *testing.T, tok string) (string, string, string) {
					rr := rangeNewRepo(t)
					s := rangeSnap{".gitattributes": {data: "models/** filter=lfs diff=lfs merge=lfs -text\n"}}
					base := rr.commit(s)
					content := "{\"github_token\": \"" + tok + "\"}\n"
					s = s.clone()
					s["models/settings.json"] = rangeFile{data: rangeLFSPointer(content)}
					head := rr.commit(s, base)
					rr.checkout(rangeSnap{".gitattributes": s[".gitattributes"], "models/settings.json": {data: content}})
					return rr.dir, base.String(), head.String()
				}},
			{name: "a pointer whose working file is a zip", path: "assets/bundle.blob!config/.env", tree: true,
				build: func(t *testing.T, tok string) (string, string, string) {
					rr := rangeNewRepo(t)
					s := rangeSnap{"assets/bundle.blob": {data: rangeLFSPointer("old")}}
					base := rr.commit(s)
					z := rangeZip(t, "config/.env", "GITHUB_TOKEN="+tok+"\n")
					s = s.clone()
					s["assets/bundle.blob"] = rangeFile{data: rangeLFSPointer(z)}
					head := rr.commit(s, base)
					rr.checkout(rangeSnap{"assets/bundle.blob": {data: z}})
					return rr.dir, base.String(), head.String()
				}},
		}},
		{"7 a shallow clone", []rangeCase{
			{name: "depth 1: the edge commit holds the token", path: "app/config.py", history: true,
				build: func(t *testing.T, tok string) (string, string, string) {
					src := t.TempDir()
					git(t, src, "init", "-q", "-b", "main")
					writeFile(t, src, "README.md", "x\n")
					git(t, src, "add", "-A")
					git(t, src, "commit", "-qm", "one")
					writeFile(t, src, "app/config.py", "TOKEN = '"+tok+"'\n")
					git(t, src, "add", "-A")
					git(t, src, "commit", "-qm", "two")
					dir := filepath.Join(t.TempDir(), "clone")
					git(t, src, "clone", "-q", "--depth", "1", "file://"+src, dir)
					return dir, "", ""
				}},
			{name: "depth 2: the edge is a merge, the token in the range above it", path: "app/settings.env", history: true,
				build: func(t *testing.T, tok string) (string, string, string) {
					src := t.TempDir()
					git(t, src, "init", "-q", "-b", "main")
					writeFile(t, src, "README.md", "x\n")
					git(t, src, "add", "-A")
					git(t, src, "commit", "-qm", "one")
					git(t, src, "checkout", "-q", "-b", "side")
					writeFile(t, src, "side.txt", "side\n")
					git(t, src, "add", "-A")
					git(t, src, "commit", "-qm", "side")
					git(t, src, "checkout", "-q", "main")
					writeFile(t, src, "main.txt", "main\n")
					git(t, src, "add", "-A")
					git(t, src, "commit", "-qm", "main")
					git(t, src, "merge", "-q", "--no-ff", "-m", "merge", "side")
					writeFile(t, src, "app/settings.env", "GITHUB_TOKEN="+tok+"\n")
					git(t, src, "add", "-A")
					git(t, src, "commit", "-qm", "token")
					writeFile(t, src, "later.txt", "later\n")
					git(t, src, "add", "-A")
					git(t, src, "commit", "-qm", "later")
					dir := filepath.Join(t.TempDir(), "clone")
					git(t, src, "clone", "-q", "--depth", "3", "file://"+src, dir)
					if s, err := os.ReadFile(filepath.Join(dir, ".git", "shallow")); err != nil || len(bytes.Fields(s)) != 1 {
						t.Fatalf("the clone's edge is not one commit: %q %v", s, err)
					}
					return dir, "HEAD~2", "HEAD"
				}},
		}},
	}
	for _, c := range classes {
		for _, v := range c.variants {
			t.Run(c.class+"/"+v.name, func(t *testing.T) {
				tok := secretstest.GitHubPAT(t)
				dir, base, head := v.build(t, tok)
				if base != "" {
					res := rangeScan(t, dir, base, head)
					if !rangeHas(res, "github-pat", v.path, tok) {
						t.Errorf("range %s..%s: the token at %s passed:%s", base, head, v.path, rangeDescribe(res))
					}
					if res.Coverage.Commits == 0 {
						t.Errorf("range: coverage says 0 commits")
					}
					want := v.status
					if want == "" {
						want = policy.StatusNew
					}
					for _, f := range res.Findings {
						if f.Location.Path == v.path && f.Status != want {
							t.Errorf("range: %s is %s, want %s", f.Location.Path, f.Status, want)
						}
					}
				}
				if v.history || base == "" {
					res := rangeScan(t, dir, "", "")
					if !rangeHas(res, "github-pat", v.path, tok) {
						t.Errorf("history: the token at %s passed:%s", v.path, rangeDescribe(res))
					}
				}
				if v.tree {
					res, err := New(Options{Root: dir}).Scan(context.Background())
					if err != nil || !rangeHas(res, "github-pat", v.path, tok) {
						t.Errorf("tree: the token at %s passed (%v):%s", v.path, err, rangeDescribe(res))
					}
				}
			})
		}
	}
}

// rangeLFSPointer is the Git LFS pointer file of content (its spec v1).
func rangeLFSPointer(content string) string {
	sum := sha256.Sum256([]byte(content))
	return "version https://git-lfs.github.com/spec/v1\noid sha256:" + hex.EncodeToString(sum[:]) + "\nsize " + strconv.Itoa(len(content)) + "\n"
}

func rangeZip(t *testing.T, name, content string) string {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// rangePool is the files the generated histories change.
var rangePool = []string{"app.txt", "conf/settings.env", "scripts/run.sh", "conf/deep/keys.ini"}

// rangeHistory is a generated history: base (no token), head, and what
// lies between.
type rangeHistory struct {
	rr                 *rangeRepo
	base, head         plumbing.Hash
	baseSnap, headSnap rangeSnap
	touched            map[string]bool // paths some commit of the range changed (a merge: against its first parent)
	planted            int             // commits that brought the token in
}

// rangeGenerate builds a history from ops, one byte an operation on a file
// of rangePool (the high bits choose it): an edit, a deletion, a type
// change (file <-> symlink, file -> submodule), a binary, the token
// planted, a commit on a side branch, a merge of it (with the token added
// by the merge itself when bit 3 is set). The range base..head holds the
// token at least once; the base does not.
func rangeGenerate(t testing.TB, ops []byte, tok string) *rangeHistory {
	t.Helper()
	rr := rangeNewRepo(t)
	cur := rangeSnap{"README.md": {data: "readme\n"}}
	h := &rangeHistory{rr: rr, baseSnap: cur, touched: map[string]bool{}}
	h.base = rr.commit(cur)
	mainHead, side, sideHead := h.base, cur.clone(), h.base
	planted := "x = 1\nGITHUB_TOKEN=" + tok + "\n"
	commitMain := func(next rangeSnap, parents ...plumbing.Hash) {
		for p, f := range next {
			if cur[p] != f {
				h.touched[p] = true
			}
		}
		for p := range cur {
			if _, ok := next[p]; !ok {
				h.touched[p] = true
			}
		}
		mainHead, cur = rr.commit(next, parents...), next
	}
	for i, b := range ops {
		file := rangePool[int(b>>4)%len(rangePool)]
		next := cur.clone()
		switch b % 8 {
		case 0:
			next[file] = rangeFile{data: "line " + strconv.Itoa(i) + "\nvalue = " + strconv.Itoa(int(b)) + "\n"}
		case 1:
			delete(next, file)
		case 2:
			if next[file].mode == filemode.Symlink {
				next[file] = rangeFile{data: "was a link " + strconv.Itoa(i) + "\n"}
			} else {
				next[file] = rangeFile{mode: filemode.Symlink, data: "README.md"}
			}
		case 3:
			next[file] = rangeFile{data: "\x00\x01binary " + strconv.Itoa(i)}
		case 4:
			next[file] = rangeFile{data: planted}
			h.planted++
		case 5:
			side = side.clone()
			side[file] = rangeFile{data: "side " + strconv.Itoa(i) + "\n"}
			sideHead = rr.commit(side, sideHead)
			continue
		case 6:
			for p, f := range side {
				next[p] = f
			}
			if b&8 != 0 {
				next[rangePool[(int(b>>4)+1)%len(rangePool)]] = rangeFile{data: planted}
				h.planted++
			}
			commitMain(next, mainHead, sideHead)
			side, sideHead = next.clone(), mainHead
			continue
		case 7:
			next[file] = rangeFile{mode: filemode.Submodule, data: strings.Repeat("0123456789", 4)}
		}
		commitMain(next, mainHead)
	}
	if h.planted == 0 {
		next := cur.clone()
		next[rangePool[0]] = rangeFile{data: planted}
		h.planted++
		commitMain(next, mainHead)
	}
	h.head, h.headSnap = mainHead, cur
	// every commit moves main, a side branch's too: the history scan
	// reads HEAD, so main ends where the range does
	if err := rr.r.Storer.SetReference(plumbing.NewHashReference("refs/heads/main", mainHead)); err != nil {
		t.Fatal(err)
	}
	return h
}

// rangeFoundToken reports whether res holds tok at any path of rangePool.
func rangeFoundToken(res policy.ScanResult, tok string) bool {
	for _, p := range rangePool {
		if rangeHas(res, "github-pat", p, tok) {
			return true
		}
	}
	return false
}

// FuzzRangeTransitions: whatever sequence of edits, deletions, type
// changes, binaries, side commits and merges a history makes, a token one
// of its commits brings in is found by the range scan (and the history
// scan).
func FuzzRangeTransitions(f *testing.F) {
	for _, seed := range [][]byte{
		{0x04},                   // planted
		{0x13, 0x14, 0x10},       // binary -> text with the token, then edited
		{0x22, 0x24},             // symlink -> file with the token
		{0x07, 0x04},             // submodule -> file with the token
		{0x05, 0x15, 0x0e},       // side commits, a merge adding the token itself
		{0x04, 0x01, 0x00},       // planted, deleted, the path written again
		{0x45, 0x06, 0x54, 0x32}, // a merge, then the token, then a type change
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 24 {
			ops = ops[:24]
		}
		tok := secretstest.GitHubPAT(t)
		h := rangeGenerate(t, ops, tok)
		res := rangeScan(t, h.rr.dir, h.base.String(), h.head.String())
		if !rangeFoundToken(res, tok) {
			t.Fatalf("ops %x: the range missed the token:%s", ops, rangeDescribe(res))
		}
		if res.Coverage.Commits == 0 {
			t.Fatalf("ops %x: coverage says 0 commits", ops)
		}
		if res = rangeScan(t, h.rr.dir, "", ""); !rangeFoundToken(res, tok) {
			t.Fatalf("ops %x: the history missed the token:%s", ops, rangeDescribe(res))
		}
	})
}

// TestRangeCoversTree: on generated histories, the findings of a range
// are a superset of those of a tree scan of its head's checkout on the
// files the range touched (those whose head version is not the base's:
// the others bring nothing in) — same rule, path and value, so the same
// fingerprint. The base holds no token, so every one is new.
func TestRangeCoversTree(t *testing.T) {
	rnd := rand.New(rand.NewPCG(24, 7))
	compared := 0
	for i := range 12 {
		ops := make([]byte, 6+rnd.IntN(14))
		for j := range ops {
			ops[j] = byte(rnd.IntN(256))
		}
		tok := secretstest.GitHubPAT(t)
		h := rangeGenerate(t, ops, tok)
		h.rr.checkout(h.headSnap)
		got := rangeScan(t, h.rr.dir, h.base.String(), h.head.String())
		tree, err := New(Options{Root: h.rr.dir}).Scan(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		inRange := map[string]bool{}
		for _, f := range got.Findings {
			inRange[f.Fingerprint] = true
			if f.Status != policy.StatusNew {
				t.Errorf("history %d (ops %x): %s at %s is %s, want new (the base holds no token)", i, ops, f.Rule, f.Location.Path, f.Status)
			}
		}
		for _, f := range tree.Findings {
			p := f.Location.Path
			if !h.touched[p] || h.baseSnap[p] == h.headSnap[p] {
				continue
			}
			compared++
			if !inRange[f.Fingerprint] {
				t.Errorf("history %d (ops %x): the tree scan finds %s at %s, the range does not:%s", i, ops, f.Rule, p, rangeDescribe(got))
			}
		}
	}
	t.Logf("%d tree findings on touched files compared", compared)
	if compared < 6 {
		t.Errorf("only %d tree findings on touched files compared: the histories prove little", compared)
	}
}
