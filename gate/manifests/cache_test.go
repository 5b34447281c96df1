package manifests

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secgate/secgate/internal/cache"
	"github.com/secgate/secgate/policy"
)

var (
	testCacheKey = []byte("secgate test cache key, 32 bytes")
	cacheNow     = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
)

// copyFixtures copies testdata/tree, to be changed by a test.
func copyFixtures(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "tree")
	if err := os.CopyFS(dst, os.DirFS("testdata/tree")); err != nil {
		t.Fatal(err)
	}
	return dst
}

func fromCache(res policy.ScanResult) bool { return slices.Contains(res.Notes, cacheHit) }

// asJSON is a result as the report carries it, without the cache's note.
func asJSON(t *testing.T, res policy.ScanResult) string {
	t.Helper()
	res.Notes = slices.DeleteFunc(slices.Clone(res.Notes), func(n string) bool { return n == cacheHit })
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func scanWith(t *testing.T, o Options) policy.ScanResult {
	t.Helper()
	res, err := New(o).Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// An unchanged tree under unchanged options is served from the cache,
// exactly as a scan without the cache gives it; each input the result is
// a function of, when it changes, makes the next run read the files again
// and give what a fresh scan gives.
func TestCacheServesOnlyWhatIsUnchanged(t *testing.T) {
	root := copyFixtures(t)
	store, err := cache.Open(t.TempDir(), 0, testCacheKey)
	if err != nil {
		t.Fatal(err)
	}
	base := Options{Root: root, Tiers: map[string]policy.Severity{CheckRoot: policy.Medium}, CacheVersion: "test", Now: cacheNow}
	cached := func(o Options) Options { o.Cache = store; return o }

	// check runs o with and without the cache: the same result, served
	// from the cache or not as want says.
	check := func(name string, o Options, wantHit bool) policy.ScanResult {
		t.Helper()
		got := scanWith(t, cached(o))
		if fromCache(got) != wantHit {
			t.Errorf("%s: served from the cache %v, want %v", name, fromCache(got), wantHit)
		}
		if fresh := scanWith(t, o); asJSON(t, got) != asJSON(t, fresh) {
			t.Errorf("%s: the cached run's result differs from a scan without the cache:\n%s\n%s", name, asJSON(t, got), asJSON(t, fresh))
		}
		return got
	}

	first := check("first run", base, false)
	if len(first.Findings) == 0 || len(first.Deployments) == 0 || len(first.Warnings) == 0 {
		t.Fatalf("the fixtures gave %d findings, %d deployments, %d warnings: the test needs each", len(first.Findings), len(first.Deployments), len(first.Warnings))
	}
	check("unchanged", base, true)

	// One manifest changed: read again, and its new finding is there.
	compose := filepath.Join(root, "compose.yaml")
	data, err := os.ReadFile(compose)
	if err != nil {
		t.Fatal(err)
	}
	changed := bytes.Replace(data, []byte("    user: root\n"), []byte("    user: root\n    privileged: true\n"), 1)
	if bytes.Equal(changed, data) {
		t.Fatal("compose.yaml has no 'user: root' line to follow")
	}
	if err := os.WriteFile(compose, changed, 0o644); err != nil {
		t.Fatal(err)
	}
	res := check("compose.yaml changed", base, false)
	if !slices.ContainsFunc(res.Findings, func(f policy.Finding) bool { return f.Rule == CheckPrivileged && f.Location.Path == "compose.yaml" }) {
		t.Errorf("the changed compose.yaml's privileged service was not found: %v", res.Findings)
	}
	check("compose.yaml changed, again", base, true)

	// A new manifest, and one renamed (same content, another path).
	agent, err := os.ReadFile(filepath.Join(root, "deploy", "agent.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "deploy", "agent2.yaml"), agent, 0o644); err != nil {
		t.Fatal(err)
	}
	check("a manifest added", base, false)
	if err := os.Rename(filepath.Join(root, "deploy", "agent2.yaml"), filepath.Join(root, "deploy", "agent3.yaml")); err != nil {
		t.Fatal(err)
	}
	res = check("a manifest renamed", base, false)
	if !slices.ContainsFunc(res.Findings, func(f policy.Finding) bool { return f.Location.Path == "deploy/agent3.yaml" }) {
		t.Error("the renamed manifest's findings are not at its new path")
	}

	// The options the result depends on.
	tiers := base
	tiers.Tiers = map[string]policy.Severity{CheckRoot: policy.Critical}
	res = check("a check's tier changed", tiers, false)
	if i := slices.IndexFunc(res.Findings, func(f policy.Finding) bool { return f.Rule == CheckRoot }); i < 0 || res.Findings[i].Severity != policy.Critical {
		t.Error("the new tier is not the findings'")
	}
	excl := base
	excl.Exclude = []string{"deploy"}
	check("a directory excluded", excl, false)
	build := base
	build.CacheVersion = "another build"
	check("another build", build, false)
	check("back to the first options", base, true)
}

// An entry that does not verify under the store's key (planted by whoever
// can write the directory) is not served: the files are read, a warning
// says so, and the genuine result replaces it.
func TestCacheForgedEntryIsRejected(t *testing.T) {
	root := copyFixtures(t)
	dir := t.TempDir()
	store, _ := cache.Open(dir, 0, testCacheKey)
	var log bytes.Buffer
	o := Options{Root: root, Cache: store, CacheVersion: "test", Now: cacheNow, Logger: slog.New(slog.NewTextHandler(&log, nil))}
	s := New(o)
	var walked policy.Coverage
	files, err := s.walk(context.Background(), &walked)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := s.digest(walked, files)
	if err != nil {
		t.Fatal(err)
	}
	attacker, _ := cache.Open(dir, 0, []byte("the attacker's own key, 32 bytes"))
	if err := attacker.Put(cacheName, digest, []byte(`{"Findings":null,"Notes":["0 workload(s) and 0 Compose service(s) checked"]}`), cacheNow); err != nil {
		t.Fatal(err)
	}
	res := scanWith(t, o)
	if fromCache(res) || len(res.Findings) == 0 {
		t.Errorf("a forged entry was trusted: %d findings, notes %q", len(res.Findings), res.Notes)
	}
	if !strings.Contains(log.String(), "authentication failed") {
		t.Errorf("no warning about the forged entry: %q", log.String())
	}
	if again := scanWith(t, o); !fromCache(again) {
		t.Error("the genuine result was not kept")
	}
}

// A file that changes between the walk's hash and its reading gives a
// fresh run's result, which is not kept under the walk's key.
func TestCacheFileChangedDuringScan(t *testing.T) {
	root := copyFixtures(t)
	store, _ := cache.Open(t.TempDir(), 0, testCacheKey)
	o := Options{Root: root, Cache: store, CacheVersion: "test", Now: cacheNow}
	s := New(o)
	var walked policy.Coverage
	files, err := s.walk(context.Background(), &walked)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "compose.yaml"), []byte("services:\n  x:\n    image: x\n    privileged: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.cachedCheck(context.Background(), walked, files); err != nil {
		t.Fatal(err)
	}
	digest, _ := s.digest(walked, files)
	if payload, _ := store.Get(cacheName, digest, cacheNow, 0); payload != nil {
		t.Error("a result read from changed files was kept under the key of the files before the change")
	}
}
