package repo

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/secgate/secgate/gate/repo/repotest"
)

// TestOpenForWalkMappedPacks: objects in a pack (git gc) are read through
// its memory map, large ones (over go-git's 16 kB, which it reopens the
// pack for) and deltas alike, the same as git has them.
func TestOpenForWalkMappedPacks(t *testing.T) {
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	big := strings.Repeat("a line of a large file, to be stored as a delta\n", 1000)
	for i, content := range []string{big, big + "one more line\n", "small\n"} {
		if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		git(t, dir, "add", "f.txt")
		git(t, dir, "commit", "-q", "-m", string(rune('a'+i)))
	}
	git(t, dir, "gc", "-q", "--aggressive")
	packs, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "*.pack"))
	if len(packs) != 1 {
		t.Fatalf("packs after git gc: %v", packs)
	}
	r, done, err := OpenForWalk(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	for _, rev := range []string{"HEAD~2", "HEAD~1", "HEAD"} {
		want := repotest.Git(t, dir, "show", rev+":f.txt")
		c, err := r.CommitObject(plumbing.NewHash(repotest.Git(t, dir, "rev-parse", rev)))
		if err != nil {
			t.Fatal(err)
		}
		f, err := c.File("f.txt")
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.Contents()
		if err != nil || strings.TrimSpace(got) != want {
			t.Errorf("%s:f.txt read through the mapped pack: %d bytes, %v; git has %d", rev, len(got), err, len(want))
		}
	}
}

// TestPackFSRefusesOutside: a pack name that is a symlink leaving the .git
// directory is not mapped; the bound file system decides, and refuses.
func TestPackFSRefusesOutside(t *testing.T) {
	gitDir, outside := t.TempDir(), t.TempDir()
	secret := filepath.Join(outside, "x.pack")
	if err := os.WriteFile(secret, []byte("not ours"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(gitDir, "objects", "pack"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(gitDir, "objects", "pack", "pack-x.pack")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(gitDir, "objects", "pack", "pack-y.pack"), []byte("PACK inside"), 0o644); err != nil {
		t.Fatal(err)
	}
	fs := newPackFS(osfs.New(gitDir, osfs.WithBoundOS()), gitDir)
	defer fs.close()
	if f, err := fs.Open("objects/pack/pack-x.pack"); err == nil {
		data, _ := io.ReadAll(f)
		t.Errorf("a pack symlinked out of the .git directory was opened: %q", data)
	}
	if _, ok := fs.maps["objects/pack/pack-x.pack"]; ok {
		t.Error("a pack symlinked out of the .git directory was mapped")
	}
	f, err := fs.Open("objects/pack/pack-y.pack")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.(*mappedFile); !ok {
		t.Errorf("a pack inside the .git directory is a %T, not mapped", f)
	}
	data, err := io.ReadAll(f)
	if err != nil || string(data) != "PACK inside" {
		t.Errorf("mapped pack read %q, %v", data, err)
	}
	if _, err := f.Write([]byte("x")); err == nil {
		t.Error("a mapped pack took a write")
	}
}
