package deps

import (
	"archive/zip"
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secgate/secgate/internal/cache"
	"github.com/secgate/secgate/policy"
)

var testCacheKey = []byte("secgate test cache key, 32 bytes")

// copyDB copies the shared offline database, to be changed by a test.
func copyDB(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(sharedDB, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(sharedDB, p)
		if err := writeFile(filepath.Join(dst, rel), mustRead(t, p)); err != nil {
			return err
		}
		return os.Chtimes(filepath.Join(dst, rel), fi.ModTime(), fi.ModTime())
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// withdrawAdvisory rewrites one record of an ecosystem zip as affecting
// nothing: the same number of records, the same dates.
func withdrawAdvisory(t *testing.T, db, eco, id string) {
	t.Helper()
	path := filepath.Join(db, "osv-scalibr", eco, "all.zip")
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(path + ".new")
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(out)
	dropped := false
	for _, f := range zr.File {
		r, _ := f.Open()
		h := f.FileHeader
		w, err := zw.CreateHeader(&h)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name == id+".json" {
			dropped = true
			_, err = io.WriteString(w, `{"id":"`+id+`","modified":"2026-11-20T00:00:00Z","affected":[]}`)
		} else {
			_, err = io.Copy(w, r)
		}
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
	zr.Close()
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	out.Close()
	if !dropped {
		t.Fatalf("%s not in %s", id, path)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

const cacheHit = "cache: the lockfiles' scan read from the cache"

func fromCache(res policy.ScanResult) bool {
	return slices.ContainsFunc(res.Notes, func(n string) bool { return strings.HasPrefix(n, cacheHit) })
}

func withoutCacheNote(res policy.ScanResult) policy.ScanResult {
	res.Notes = slices.DeleteFunc(slices.Clone(res.Notes), func(n string) bool { return strings.HasPrefix(n, cacheHit) })
	return res
}

func findingIDs(res policy.ScanResult) []string {
	var out []string
	for _, f := range res.Findings {
		s := f.Location.Path + " " + f.Location.Package + "@" + f.Location.Version + " " + f.ID
		if f.Ignored != nil {
			s += " (ignored)"
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// An unchanged tree and database are served from the cache, exactly as
// scanned; each thing the result is a function of, when it changes, makes
// the next run scan again and find what a fresh scan finds.
func TestCacheServesOnlyWhatIsUnchanged(t *testing.T) {
	root := copyTree(t, "npm")
	// pip follows -r itself, whatever the file's name: its content counts.
	if err := writeFile(filepath.Join(root, "api", "requirements.txt"), []byte("-r base.in\n")); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(filepath.Join(root, "api", "base.in"), []byte("requests==2.19.0\n")); err != nil {
		t.Fatal(err)
	}
	db := copyDB(t)
	store, err := cache.Open(t.TempDir(), 0, testCacheKey)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Root: root, OfflineDB: db, Cache: store, CacheVersion: "test", Now: now}
	scan := func(o Options) policy.ScanResult {
		t.Helper()
		res, err := scanDir(t, o)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	uncached := o
	uncached.Cache = nil
	fresh := func() policy.ScanResult { t.Helper(); return scan(uncached) }

	cold := scan(o)
	if fromCache(cold) || len(cold.Findings) < 5 {
		t.Fatalf("cold run: %d findings, notes %q", len(cold.Findings), cold.Notes)
	}
	warm := scan(o)
	if !fromCache(warm) {
		t.Fatal("an unchanged tree was scanned again")
	}
	if !reflect.DeepEqual(withoutCacheNote(warm), cold) {
		t.Errorf("the cached result differs:\ncold %+v\nwarm %+v", cold, warm)
	}

	steps := []struct {
		name   string
		change func()
		opts   func(Options) Options
	}{
		{"a lockfile", func() {
			writeFile(filepath.Join(root, "npm", "package-lock.json"), lockfile(map[string]string{"lodash": "4.17.21", "minimist": "1.2.5"}))
		}, nil},
		{"a file pip includes", func() {
			writeFile(filepath.Join(root, "api", "base.in"), []byte("requests==2.31.0\n"))
		}, nil},
		{"a new lockfile", func() {
			writeFile(filepath.Join(root, "web", "package-lock.json"), lockfile(map[string]string{"cookie": "0.4.0"}))
		}, nil},
		{"an osv-scanner.toml", func() {
			writeFile(filepath.Join(root, "npm", ConfigFile), []byte("[[IgnoredVulns]]\nid = \"GHSA-xvch-5gv4-984h\"\nignoreUntil = 2026-11-26\nreason = \"for a day\"\n"))
		}, nil},
		// The same files, a day later: the ignore has expired.
		{"an ignore's expiry", func() {}, func(o Options) Options { o.Now = now.Add(36 * time.Hour); return o }},
		{"the database", func() { withdrawAdvisory(t, db, "npm", "GHSA-xvch-5gv4-984h") }, nil},
		{"the exclusions", func() {}, func(o Options) Options { o.Exclude = []string{"web"}; return o }},
	}
	for _, st := range steps {
		st.change()
		if st.opts != nil {
			o = st.opts(o)
			uncached = st.opts(uncached)
		}
		want := fresh()
		got := scan(o)
		if fromCache(got) {
			t.Errorf("%s changed: served from the cache", st.name)
		}
		if !slices.Equal(findingIDs(got), findingIDs(want)) {
			t.Errorf("%s changed: %v, a fresh scan finds %v", st.name, findingIDs(got), findingIDs(want))
		}
		if again := scan(o); !fromCache(again) || !slices.Equal(findingIDs(again), findingIDs(want)) {
			t.Errorf("%s changed: the next run is not served its result (%v)", st.name, findingIDs(again))
		}
	}
	if slices.Equal(findingIDs(cold), findingIDs(fresh())) {
		t.Fatal("the steps changed no finding: the test proves nothing")
	}

}

// Data that goes over deps.max_db_age between two runs, within one day of
// age (the notes' "N days old" the same): an error, never a result served.
func TestCacheStaleDataIsNotServed(t *testing.T) {
	root := copyTree(t, "npm")
	_, newest, err := zipFacts(filepath.Join(sharedDB, "osv-scalibr", "npm", "all.zip"))
	if err != nil {
		t.Fatal(err)
	}
	store, _ := cache.Open(t.TempDir(), 0, testCacheKey)
	o := Options{Root: root, OfflineDB: sharedDB, Cache: store, CacheVersion: "test", MaxDBAge: 36 * time.Hour, Now: newest.Add(25 * time.Hour)}
	if _, err := scanDir(t, o); err != nil {
		t.Fatal(err)
	}
	if res, err := scanDir(t, o); err != nil || !fromCache(res) {
		t.Fatalf("not cached: %v", err)
	}
	o.Now = newest.Add(47 * time.Hour)
	if res, err := scanDir(t, o); err == nil || !strings.Contains(err.Error(), "max_db_age") {
		t.Errorf("stale data after a cached run: %v (cached %v)", err, fromCache(res))
	}
}

// A forged entry — what a pull request that can write the cache directory
// plants: an empty result under the right name, authenticated with a key
// of its own — is not served; the scan runs and finds what is there.
func TestCacheForgedEntryIsRejected(t *testing.T) {
	root := copyTree(t, "npm")
	dir := t.TempDir()
	store, _ := cache.Open(dir, 0, testCacheKey)
	o := Options{Root: root, OfflineDB: sharedDB, Cache: store, CacheVersion: "test", Now: now}
	s := New(o)
	digest, err := s.treeDigest(context.Background(), root, nil)
	if err != nil {
		t.Fatal(err)
	}
	attacker, _ := cache.Open(dir, 0, []byte("the attacker's own key, 32 bytes"))
	if err := attacker.Put("deps-lockfiles", digest, []byte(`{"Findings":null,"Notes":["no lockfile or manifest found"]}`), now); err != nil {
		t.Fatal(err)
	}
	res, err := scanDir(t, o)
	if err != nil {
		t.Fatal(err)
	}
	if fromCache(res) || len(res.Findings) != 5 {
		t.Errorf("a forged entry was trusted: %d findings, notes %q", len(res.Findings), res.Notes)
	}
	// The attacker's entry was under the right name: the genuine run
	// replaced it, and is served next time.
	if again, _ := scanDir(t, o); !fromCache(again) {
		t.Error("the genuine result was not kept")
	}
}

// Results from the OSV API are served for an hour, then asked again.
func TestCacheAPIResultsExpire(t *testing.T) {
	api := &fakeOSV{t: t, records: records(t, "npm"), matches: map[string][]string{
		"npm/lodash@4.17.15": {"GHSA-p6mc-m468-83gw", "GHSA-35jh-r3h4-6jhm", "GHSA-29mw-wpgm-hmr9"},
	}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	root := t.TempDir()
	if err := writeFile(filepath.Join(root, "package-lock.json"), lockfile(map[string]string{"lodash": "4.17.15"})); err != nil {
		t.Fatal(err)
	}
	store, _ := cache.Open(t.TempDir(), 0, testCacheKey)
	o := Options{Root: root, APIURL: srv.URL, Cache: store, CacheVersion: "test"}
	queries := func() int { api.mu.Lock(); defer api.mu.Unlock(); return len(api.queries) }
	for _, step := range []struct {
		after  time.Duration
		cached bool
	}{{0, false}, {59 * time.Minute, true}, {61 * time.Minute, false}, {90 * time.Minute, true}} {
		o.Now = now.Add(step.after)
		before := queries()
		res, err := scanDir(t, o)
		if err != nil {
			t.Fatal(err)
		}
		if fromCache(res) != step.cached || (queries() == before) != step.cached || len(res.Findings) != 3 {
			t.Errorf("after %s: cached %v, API asked %v, %d findings", step.after, fromCache(res), queries() > before, len(res.Findings))
		}
	}
}

// An image's packages are cached by the archive's content.
func TestCacheImagePackages(t *testing.T) {
	archive := dockerArchive(t, map[string]string{"app/node_modules/.package-lock.json": string(lockfile(map[string]string{"lodash": "4.17.15"}))})
	store, _ := cache.Open(t.TempDir(), 0, testCacheKey)
	o := Options{Root: t.TempDir(), OfflineDB: sharedDB, Images: []string{"docker-archive:" + archive}, Cache: store, CacheVersion: "test"}
	cold, err := scanDir(t, o)
	if err != nil || len(cold.Findings) != 3 {
		t.Fatalf("cold: %v %d", err, len(cold.Findings))
	}
	warm, err := scanDir(t, o)
	imageHit := func(res policy.ScanResult) bool {
		return slices.Contains(res.Notes, "cache: the packages of docker-archive:"+archive+" read from the cache (the same content, the same database)")
	}
	if err != nil || !imageHit(warm) || !reflect.DeepEqual(cold.Findings, warm.Findings) {
		t.Errorf("warm: %v cached %v", err, imageHit(warm))
	}
	// Another image at the same path.
	other := dockerArchive(t, map[string]string{"app/node_modules/.package-lock.json": string(lockfile(map[string]string{"lodash": "4.17.21"}))})
	if err := os.Rename(other, archive); err != nil {
		t.Fatal(err)
	}
	res, err := scanDir(t, o)
	if err != nil || len(res.Findings) != 0 || imageHit(res) {
		t.Errorf("another image at the same path: %v, %d findings, notes %q", err, len(res.Findings), res.Notes)
	}
}
