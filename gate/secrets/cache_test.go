package secrets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secgate/secgate/gate/repo"
	"github.com/secgate/secgate/gate/secrets/secretstest"
	"github.com/secgate/secgate/internal/cache"
	"github.com/secgate/secgate/policy"
)

// findingKeys is what must not change between a cold and a warm run.
func findingKeys(res policy.ScanResult) []string {
	var out []string
	for _, f := range res.Findings {
		out = append(out, fmt.Sprintf("%s %s:%d %s %s", f.Rule, f.Location.Path, f.Location.Line, f.Location.Commit, f.Fingerprint))
	}
	slices.Sort(out)
	return out
}

// withClean adds files with nothing to find to a secretstest tree (whose
// files all hold a planted value).
func withClean(t *testing.T, tr *secretstest.Tree) *secretstest.Tree {
	t.Helper()
	for rel, content := range map[string]string{"src/main.go": "package main\n\nfunc main() {}\n", "docs/guide.md": "# Guide\n\nRun it.\n", "config/app.yaml": "port: 8080\n"} {
		p := filepath.Join(tr.Root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

func cached(t *testing.T, dir string, o Options) policy.ScanResult {
	t.Helper()
	store, err := cache.Open(dir, 0, testCacheKey)
	if err != nil {
		t.Fatal(err)
	}
	o.Cache, o.CacheVersion = store, "test"
	return scan(t, o)
}

func cacheNote(res policy.ScanResult) string {
	for _, n := range res.Notes {
		if strings.HasPrefix(n, "cache: ") {
			return n
		}
	}
	return ""
}

// A warm run gives the cold run's findings and coverage, without scanning
// the clean files again; a changed file is scanned (its new secret found);
// a rule change (.gitleaks.toml) scans everything; no cache file holds any
// piece of a planted value.
func TestTreeCache(t *testing.T) {
	tr := withClean(t, secretstest.New(t))
	dir := t.TempDir()
	cold := cached(t, dir, Options{Root: tr.Root})
	if len(cold.Findings) == 0 {
		t.Fatal("the fixture has no finding: the test proves nothing")
	}
	warm := cached(t, dir, Options{Root: tr.Root})
	if !slices.Equal(findingKeys(cold), findingKeys(warm)) {
		t.Errorf("warm findings differ:\n%v\n%v", findingKeys(cold), findingKeys(warm))
	}
	if cold.Coverage.Files != warm.Coverage.Files || cold.Coverage.Bytes != warm.Coverage.Bytes {
		t.Errorf("coverage: cold %+v, warm %+v", cold.Coverage, warm.Coverage)
	}
	if n := cacheNote(warm); !strings.Contains(n, "cache: ") || strings.HasPrefix(n, "cache: 0 files") {
		t.Errorf("the warm run skipped nothing: %q", n)
	}

	// One clean file gets a secret: found.
	clean := filepath.Join(tr.Root, "cache-probe.txt")
	if err := os.WriteFile(clean, []byte("nothing here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cached(t, dir, Options{Root: tr.Root}) // now cached as clean
	tok := secretstest.GitHubPAT(t)
	if err := os.WriteFile(clean, []byte("token = "+tok+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	changed := cached(t, dir, Options{Root: tr.Root})
	if !slices.ContainsFunc(changed.Findings, func(f policy.Finding) bool { return f.Location.Path == "cache-probe.txt" }) {
		t.Error("the secret added to a cached file was not found")
	}

	// A rule that matches a line of a cached, clean file: a new digest.
	if err := os.WriteFile(clean, []byte("nothing here but zorblax-7731\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cached(t, dir, Options{Root: tr.Root})
	if err := os.WriteFile(filepath.Join(tr.Root, RepoConfigFile), []byte("[[rules]]\nid = \"zorblax\"\nregex = '''zorblax-[0-9]{4}'''\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ruled := cached(t, dir, Options{Root: tr.Root})
	if !slices.ContainsFunc(ruled.Findings, func(f policy.Finding) bool { return f.Rule == "zorblax" }) {
		t.Error("a new rule did not invalidate the cache: its match in a cached file was missed")
	}

	// No piece of any planted value in any cache file.
	values := append(tr.Values(), tok)
	files, _ := os.ReadDir(dir)
	if len(files) == 0 {
		t.Fatal("no cache file written")
	}
	for _, f := range files {
		data, _ := os.ReadFile(filepath.Join(dir, f.Name()))
		for _, v := range values {
			for i := 0; i+6 <= len(v); i++ {
				if strings.Contains(string(data), v[i:i+6]) {
					t.Fatalf("%s holds a piece of a planted value", f.Name())
				}
			}
		}
	}
}

// A corrupt cache is a warning and a full scan, never an error nor a
// missed finding.
func TestCorruptCacheIsIgnored(t *testing.T) {
	tr := withClean(t, secretstest.New(t))
	dir := t.TempDir()
	cold := cached(t, dir, Options{Root: tr.Root})
	files, _ := os.ReadDir(dir)
	if len(files) != 1 {
		t.Fatalf("cache files %v", files)
	}
	p := filepath.Join(dir, files[0].Name())
	data, _ := os.ReadFile(p)
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	res := cached(t, dir, Options{Root: tr.Root})
	if !slices.Equal(findingKeys(cold), findingKeys(res)) {
		t.Error("findings differ after a corrupt cache")
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "ignored (authentication failed") {
		t.Errorf("warnings %q", res.Warnings)
	}
	if n := cacheNote(res); !strings.HasPrefix(n, "cache: 0 files") {
		t.Errorf("a corrupt cache was trusted: %q", n)
	}
}

// Two runs at once on one cache directory: both right, the cache whole.
func TestConcurrentRunsShareACache(t *testing.T) {
	tr := withClean(t, secretstest.New(t))
	dir := t.TempDir()
	want := findingKeys(scan(t, Options{Root: tr.Root}))
	var wg sync.WaitGroup
	results := make([]policy.ScanResult, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			store, _ := cache.Open(dir, 0, testCacheKey)
			res, err := New(Options{Root: tr.Root, Cache: store, CacheVersion: "test"}).Scan(context.Background())
			if err != nil {
				t.Error(err)
			}
			results[i] = res
		}()
	}
	wg.Wait()
	for i, res := range results {
		if !slices.Equal(findingKeys(res), want) || len(res.Warnings) != 0 {
			t.Errorf("run %d: %v, warnings %q", i, findingKeys(res), res.Warnings)
		}
	}
	if res := cached(t, dir, Options{Root: tr.Root}); len(res.Warnings) != 0 || strings.HasPrefix(cacheNote(res), "cache: 0 files") {
		t.Errorf("after concurrent runs: %q, %q", res.Warnings, cacheNote(res))
	}
}

// History and ranges share the commits' cache: after a full-history scan,
// the range of one new commit scans that commit, and the history again
// scans only what is new; the findings are a cold run's.
func TestCommitCache(t *testing.T) {
	dir, _, _ := gitRepo(t)
	cdir := t.TempDir()
	cold := cached(t, cdir, Options{Root: dir, History: true})
	warm := cached(t, cdir, Options{Root: dir, History: true})
	if !slices.Equal(findingKeys(cold), findingKeys(warm)) || len(cold.Findings) == 0 {
		t.Errorf("history: cold %v, warm %v", findingKeys(cold), findingKeys(warm))
	}
	if warm.Coverage.Commits != cold.Coverage.Commits {
		t.Errorf("commits: cold %d, warm %d", cold.Coverage.Commits, warm.Coverage.Commits)
	}
	// Commit two removed a token: it added nothing gitleaks finds, so it
	// is the one the cache spares (one and three have findings).
	if n := cacheNote(warm); !strings.HasPrefix(n, "cache: 1 commits") {
		t.Errorf("warm history: %q", n)
	}
	writeFile(t, dir, "notes.txt", "plain\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "four")
	rng := cached(t, cdir, Options{Root: dir, Base: "HEAD~1", Head: "HEAD"})
	if len(rng.Findings) != 0 || rng.Coverage.Commits != 1 {
		t.Errorf("range of the new commit: %v, %d commits", findingKeys(rng), rng.Coverage.Commits)
	}
	again := cached(t, cdir, Options{Root: dir, History: true})
	if n := cacheNote(again); !strings.HasPrefix(n, "cache: 2 commits") {
		t.Errorf("history after the range: %q (commit two and four known clean)", n)
	}
	if !slices.Equal(findingKeys(again), findingKeys(cold)) {
		t.Error("history findings changed")
	}
}

// A tracked file as the index has it is not read: its content is named by
// the index's blob id. A file read is named by the SHA-256 of its bytes,
// and the two kinds never give one key.
func TestFileContent(t *testing.T) {
	dir, _, _ := gitRepo(t)
	p := filepath.Join(dir, "README.md")
	index, at := repo.Index(dir)
	e, ok := index[p]
	if !ok {
		t.Fatalf("README.md not in the index: %v", index)
	}
	info, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	vouched, err := contentOf(p, info, index, at)
	if err != nil || !vouched.fromIndex || !bytes.Equal(vouched.id[:20], e.Blob[:]) {
		t.Fatalf("contentOf = %+v, %v; want the index's %x", vouched, err, e.Blob)
	}
	read, err := contentOf(p, info, nil, time.Time{})
	if want := sha256.Sum256(data); err != nil || read.fromIndex || read.id != want {
		t.Errorf("read: %+v, %v; want the SHA-256 %x", read, err, want)
	}
	if fileKey("README.md", vouched) == fileKey("README.md", read) {
		t.Error("a vouched-for and a read content give one key")
	}
	// the tag, not the bytes: a blob id zero-padded is not a SHA-256
	padded := fileContent{id: vouched.id}
	if fileKey("README.md", vouched) == fileKey("README.md", padded) {
		t.Error("the kinds of content id are not told apart in the key")
	}
	if fileKey("README.md", read) == fileKey("docs/README.md", read) {
		t.Error("the path is not in the key")
	}
	// The index says it, the file is not read: a removed file still has
	// its id while its stat matches the entry.
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if got, err := contentOf(p, info, index, at); err != nil || got != vouched {
		t.Errorf("from the index only: %+v, %v", got, err)
	}
}

// testCacheKey authenticates the test stores (internal/cache.Key).
var testCacheKey = []byte("secgate test cache key, 32 bytes")

// A step before the gate rewrites a tracked file at the same size and
// puts its modification time back (touch -r, cp -p, rsync -t): the index
// vouched for the old content by size and time, the secret cache skipped
// the file, and a token in it passed a warm run that a cold run failed
// (red team, session 8). The change time moves on every write: the file
// is read. Comparing size and modification time only fails it.
func TestFileContentRewrittenWithItsTimeBack(t *testing.T) {
	dir, _, _ := gitRepo(t)
	p := filepath.Join(dir, "README.md")
	index, at := repo.Index(dir)
	before, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := contentOf(p, before, index, at); err != nil || !c.fromIndex {
		t.Fatalf("before the rewrite: %+v, %v; want the index's id", c, err)
	}
	time.Sleep(10 * time.Millisecond) // a change time that differs on coarse clocks
	changed := bytes.Repeat([]byte("x"), len(old))
	if err := os.WriteFile(p, changed, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, before.ModTime(), before.ModTime()); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
		t.Fatalf("the rewrite did not keep size and time: %d %v", after.Size(), after.ModTime())
	}
	got, err := contentOf(p, after, index, at)
	if want := sha256.Sum256(changed); err != nil || got.fromIndex || got.id != want {
		t.Errorf("rewritten with its time back: %+v, %v; want the new bytes' SHA-256", got, err)
	}
}
