package repo

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
)

// Under WithIgnoredDirsMemo a tree's ignored directories are listed once
// (a directory ignored later in the run is not seen: one answer for every
// scanner), each tree on its own, and a caller cannot change what the
// next one gets; without it, every call reads the tree again.
func TestIgnoredDirsMemo(t *testing.T) {
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	write(t, dir, ".gitignore", "build/\nout/\n")
	write(t, dir, "build/a", "a\n")
	write(t, dir, "web/.gitignore", "dist/\n")
	write(t, dir, "web/dist/b", "b\n")

	ctx := WithIgnoredDirsMemo(context.Background())
	first, err := IgnoredDirs(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(first, []string{"build", "web/dist"}) {
		t.Fatalf("IgnoredDirs = %v", first)
	}
	first[0] = "changed by a caller"
	write(t, dir, "out/c", "c\n")
	again, _ := IgnoredDirs(ctx, dir)
	if !slices.Equal(again, []string{"build", "web/dist"}) {
		t.Errorf("under the memo, a second call = %v, want the first answer", again)
	}
	web, _ := IgnoredDirs(ctx, filepath.Join(dir, "web"))
	if !slices.Equal(web, []string{"dist"}) {
		t.Errorf("another root under the memo = %v, want [dist]", web)
	}
	fresh, _ := IgnoredDirs(context.Background(), dir)
	if !slices.Equal(fresh, []string{"build", "out", "web/dist"}) {
		t.Errorf("without the memo = %v, want the tree as it is now", fresh)
	}
}
