package secrets

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/secgate/secgate/gate/repo/repotest"
	"github.com/secgate/secgate/gate/secrets/secretstest"
)

// The working-tree scan leaves out what the tree's own ignore rules leave
// out (git's view: .gitignore files up to the repository's root, nested
// ones, .git/info/exclude), as the other scanners of files do, and says so
// in its coverage; a tracked file is read whatever the rules say (a
// change that commits a token and then ignores its directory hides
// nothing); outside a repository nothing is ignored.
func TestWorkingTreeHonoursGitignore(t *testing.T) {
	files := map[string]string{}
	dir := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	token := func(rel string) {
		files[rel] = "token = \"" + secretstest.GitHubPAT(t) + "\"\n"
		write(rel, files[rel])
	}
	repotest.Git(t, dir, "init", "-q", "-b", "main")
	write("src/app.go", "package app\n")
	token("legacy/config.txt") // tracked, then its directory ignored
	repotest.Git(t, dir, "add", ".")
	repotest.Git(t, dir, "commit", "-qm", "base")
	write(".gitignore", "build/\nlegacy/\n")
	write("sub/.gitignore", "tmp/\n")
	write(".git/info/exclude", "scratch/\n")
	token("build/out.js")      // build output
	token("sub/tmp/cache.txt") // nested .gitignore
	token("scratch/notes.txt") // info/exclude
	token("src/config.txt")    // not ignored, untracked

	found := func(root string) []string {
		var out []string
		for _, f := range scan(t, Options{Root: root}).Findings {
			out = append(out, f.Location.Path)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	if got, want := found(dir), []string{"legacy/config.txt", "src/config.txt"}; !slices.Equal(got, want) {
		t.Errorf("in the repository: findings in %v, want %v", got, want)
	}
	res := scan(t, Options{Root: dir})
	var ignored []string
	for _, s := range res.Coverage.Skipped {
		if s.What == "directory" && s.Why == "ignored by the tree's own .gitignore" {
			ignored = append(ignored, s.Paths...)
		}
	}
	slices.Sort(ignored)
	if want := []string{"build", "scratch", "sub/tmp"}; !slices.Equal(ignored, want) {
		t.Errorf("coverage skipped as ignored: %v, want %v (all: %+v)", ignored, want, res.Coverage.Skipped)
	}

	// The same files, no repository: every token is found.
	plain := t.TempDir()
	for rel, content := range files {
		p := filepath.Join(plain, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(content), 0o644)
	}
	os.WriteFile(filepath.Join(plain, ".gitignore"), []byte("build/\nlegacy/\n"), 0o644)
	os.WriteFile(filepath.Join(plain, "sub", ".gitignore"), []byte("tmp/\n"), 0o644)
	want := []string{"build/out.js", "legacy/config.txt", "scratch/notes.txt", "src/config.txt", "sub/tmp/cache.txt"}
	if got := found(plain); !slices.Equal(got, want) {
		t.Errorf("outside a repository: findings in %v, want %v", got, want)
	}
}
