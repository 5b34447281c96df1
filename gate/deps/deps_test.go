package deps

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secgate/secgate/gate/image"
	"github.com/secgate/secgate/gate/image/imagetest"
	"github.com/secgate/secgate/gate/repo/repotest"
	"github.com/secgate/secgate/gate/sign/signtest"
	"github.com/secgate/secgate/policy"
)

// sharedDB is the offline database of real OSV advisories (testdata/osvdb is
// a copy of ../shared/osv/db).
var sharedDB = filepath.Join("..", "..", "testdata", "osvdb")

var now = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)

func scanDir(t *testing.T, o Options) (policy.ScanResult, error) {
	t.Helper()
	if o.Now.IsZero() {
		o.Now = now
	}
	return New(o).Scan(context.Background())
}

func byKey(fs []policy.Finding) map[string]policy.Finding {
	m := map[string]policy.Finding{}
	for _, f := range fs {
		m[f.Location.Path+" "+f.Location.Package+"@"+f.Location.Version+" "+f.ID] = f
	}
	return m
}

type want struct {
	key, source, fix string
	score            float64 // -1: no score
	alias            string
	severity         policy.Severity // set when the database word decides
}

func TestOfflineScanFindsKnownAdvisories(t *testing.T) {
	res, err := scanDir(t, Options{Root: "testdata", OfflineDB: sharedDB})
	if err != nil {
		t.Fatal(err)
	}
	got := byKey(res.Findings)
	for _, w := range []want{
		{"maven/pom.xml org.apache.logging.log4j:log4j-core@2.14.1 GHSA-jfh8-c2jp-5v3q", policy.SourceCVSSv3, "upgrade org.apache.logging.log4j:log4j-core to 2.15.0", 10.0, "CVE-2021-44228", 0},
		{"maven/pom.xml org.apache.logging.log4j:log4j-core@2.14.1 GHSA-7rjr-3q55-vv33", policy.SourceCVSSv3, "upgrade org.apache.logging.log4j:log4j-core to 2.16.0", 9.0, "CVE-2021-45046", 0},
		{"maven/pom.xml org.apache.logging.log4j:log4j-core@2.14.1 GHSA-p6xc-xr62-6r2g", policy.SourceCVSSv3, "upgrade org.apache.logging.log4j:log4j-core to 2.17.0", 8.6, "CVE-2021-45105", 0},
		{"npm/package-lock.json minimist@1.2.5 GHSA-xvch-5gv4-984h", policy.SourceCVSSv3, "upgrade minimist to 1.2.6", 9.8, "CVE-2021-44906", 0},
		{"npm/package-lock.json lodash@4.17.15 GHSA-p6mc-m468-83gw", policy.SourceCVSSv3, "upgrade lodash to 4.17.20", 7.4, "CVE-2020-8203", 0},
		{"npm/package-lock.json lodash@4.17.15 GHSA-35jh-r3h4-6jhm", policy.SourceCVSSv3, "upgrade lodash to 4.17.21", 7.2, "CVE-2021-23337", 0},
		{"npm/package-lock.json lodash@4.17.15 GHSA-29mw-wpgm-hmr9", policy.SourceCVSSv3, "upgrade lodash to 4.17.21", 5.3, "CVE-2020-28500", 0},
		{"npm/package-lock.json cookie@0.4.0 GHSA-pxg6-pf52-xh8x", policy.SourceDatabase, "upgrade cookie to 0.7.0", -1, "CVE-2024-47764", policy.Low},
		{"python/requirements.txt requests@2.19.0 GHSA-j8r2-6x86-q33q", policy.SourceCVSSv3, "upgrade requests to 2.31.0", 6.1, "PYSEC-2023-74", 0},
		{"python/requirements.txt requests@2.19.0 PYSEC-2018-28", "", "upgrade requests to 2.20.0", -1, "CVE-2018-18074", 0},
		{"python/requirements.txt django@3.2.0 PYSEC-2022-304", "", "upgrade django to 3.2.16", -1, "CVE-2022-41323", 0},
		{"golang/go.mod golang.org/x/net@0.12.0 GHSA-2wrh-6pvc-2jm9", policy.SourceCVSSv3, "upgrade golang.org/x/net to 0.13.0", 6.1, "GO-2023-1988", 0},
		{"rust/Cargo.lock smallvec@1.6.0 RUSTSEC-2021-0003", policy.SourceCVSSv3, "upgrade smallvec to 1.6.1", 9.8, "GHSA-43w2-9j62-hq99", 0},
		{"ruby/Gemfile.lock rack@2.2.3 GHSA-hxqx-xwvh-44m2", "", "upgrade rack to 2.2.3.1", -1, "CVE-2022-30122", 0},
	} {
		f, ok := got[w.key]
		if !ok {
			t.Errorf("missing %s", w.key)
			continue
		}
		if f.ScoreSource != w.source || f.Fix != w.fix || !slices.Contains(f.Aliases, w.alias) || f.Severity != w.severity {
			t.Errorf("%s: source %q fix %q aliases %v severity %v; want %q %q %s %v", w.key, f.ScoreSource, f.Fix, f.Aliases, f.Severity, w.source, w.fix, w.alias, w.severity)
		}
		if (f.Score == nil) != (w.score < 0) || f.Score != nil && *f.Score != w.score {
			t.Errorf("%s: score %v, want %v", w.key, f.Score, w.score)
		}
		if f.Kind != policy.KindVulnerability || !strings.HasPrefix(f.Fingerprint, "vuln-") || f.Title == "" {
			t.Errorf("%s: incomplete finding %+v", w.key, f)
		}
	}

	perFile := map[string]int{}
	for _, f := range res.Findings {
		perFile[f.Location.Path]++
	}
	for file, n := range map[string]int{
		// python: 27 with PYSEC-2022-304, whose range (3.2 to 3.2.16) osv-scalibr
		// does not read (a GIT range comes first) and whose versions list has
		// 3.2, the Django==3.2.0 pip installs (equivalent.go).
		"maven/pom.xml": 3, "npm/package-lock.json": 5, "python/requirements.txt": 27,
		"golang/go.mod": 16, "rust/Cargo.lock": 1, "ruby/Gemfile.lock": 32,
	} {
		if perFile[file] != n {
			t.Errorf("%s: %d findings, want %d", file, perFile[file], n)
		}
	}
	for file := range perFile {
		if strings.HasPrefix(file, "fixed/") {
			t.Errorf("lockfiles with only fixed versions must give no finding: %s", file)
		}
	}
	// One finding per (package, version, advisory): aliases never repeat.
	seen := map[string]string{}
	for _, f := range res.Findings {
		for _, id := range f.Keys()[:1+len(f.Aliases)] {
			k := f.Location.Path + f.Location.Package + id
			if prev, dup := seen[k]; dup {
				t.Errorf("%s appears in two findings: %s and %s", id, prev, f.ID)
			}
			seen[k] = f.ID
		}
	}

	// The policy turns the scores into the tiers of the design.
	d := policy.Default().Decide(res.Findings, policy.Context{Now: now})
	tiers := map[string]policy.Severity{}
	for _, f := range d.Findings {
		tiers[f.ID] = f.Severity
	}
	for id, sev := range map[string]policy.Severity{
		"GHSA-jfh8-c2jp-5v3q": policy.Critical, "GHSA-p6xc-xr62-6r2g": policy.High,
		"GHSA-29mw-wpgm-hmr9": policy.Medium, "GHSA-pxg6-pf52-xh8x": policy.Low, "PYSEC-2018-28": policy.Medium,
	} {
		if tiers[id] != sev {
			t.Errorf("%s: tier %v, want %v", id, tiers[id], sev)
		}
	}
}

func TestOfflineScanFixedVersionsOnly(t *testing.T) {
	res, err := scanDir(t, Options{Root: "testdata/fixed", OfflineDB: sharedDB})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 0 {
		t.Errorf("findings on fixed versions: %+v", res.Findings)
	}
	if !strings.Contains(strings.Join(res.Notes, " "), "3 packages in 2 lockfiles") {
		t.Errorf("notes %v: the packages must have been checked", res.Notes)
	}
}

// copyTree copies testdata subdirectories into a temporary root.
func copyTree(t *testing.T, dirs ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range dirs {
		err := filepath.Walk(filepath.Join("testdata", d), func(p string, fi os.FileInfo, err error) error {
			if err != nil || fi.IsDir() {
				return err
			}
			rel, _ := filepath.Rel("testdata", p)
			return writeFile(filepath.Join(root, rel), mustRead(t, p))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMissingEcosystemDatabaseFailsClosed(t *testing.T) {
	db := t.TempDir()
	if err := writeFile(filepath.Join(db, "osv-scalibr", "npm", "all.zip"), mustRead(t, filepath.Join(sharedDB, "osv-scalibr", "npm", "all.zip"))); err != nil {
		t.Fatal(err)
	}
	root := copyTree(t, "npm", "python")
	_, err := scanDir(t, Options{Root: root, OfflineDB: db})
	if err == nil || !strings.Contains(err.Error(), "PyPI") || !strings.Contains(err.Error(), "failing closed") {
		t.Fatalf("err = %v, want a fail-closed error naming PyPI", err)
	}
	if _, err := scanDir(t, Options{Root: root, OfflineDB: filepath.Join(db, "nope")}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("a missing database directory: %v", err)
	}
}

func TestMalformedLockfile(t *testing.T) {
	root := copyTree(t, "npm")
	if err := writeFile(filepath.Join(root, "web", "package-lock.json"), []byte(`{"lockfileVersion": 3, "packages": {`)); err != nil {
		t.Fatal(err)
	}
	res, err := scanDir(t, Options{Root: root, OfflineDB: sharedDB})
	if err == nil || !strings.Contains(err.Error(), "web/package-lock.json: cannot parse as javascript/packagelockjson") {
		t.Fatalf("err = %v, want one naming web/package-lock.json", err)
	}
	if len(res.Findings) != 5 {
		t.Errorf("the other lockfiles must still be reported: %d findings", len(res.Findings))
	}

	res, err = scanDir(t, Options{Root: root, OfflineDB: sharedDB, SkipUnparsable: true})
	if err != nil || len(res.Findings) != 5 || !strings.Contains(strings.Join(res.Notes, " "), "web/package-lock.json") {
		t.Errorf("with deps.unparsable: warn: err %v, %d findings, notes %v", err, len(res.Findings), res.Notes)
	}
}

func TestOSVScannerTomlIgnores(t *testing.T) {
	root := copyTree(t, "npm")
	toml := `[[IgnoredVulns]]
id = "CVE-2021-44906"
ignoreUntil = 2027-01-31
reason = "minimist is only used by the build, not at runtime"

[[IgnoredVulns]]
id = "GHSA-29mw-wpgm-hmr9"
ignoreUntil = 2026-01-01
reason = "expired long ago"

[[PackageOverrides]]
name = "cookie"
ecosystem = "npm"
ignore = true
reason = "vendored fork, patched"

[[PackageOverrides]]
name = "lodash"
group = "dev"
ignore = true
reason = "only in dev dependencies"
`
	if err := writeFile(filepath.Join(root, "npm", ConfigFile), []byte(toml)); err != nil {
		t.Fatal(err)
	}
	res, err := scanDir(t, Options{Root: root, OfflineDB: sharedDB})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]policy.Finding{}
	for _, f := range res.Findings {
		got[f.ID] = f
	}
	if len(got) != 5 {
		t.Errorf("ignored findings must stay in the result: %d", len(got))
	}
	if ig := got["GHSA-xvch-5gv4-984h"].Ignored; ig == nil || ig.Expires != "2027-01-31" || ig.Source != "npm/osv-scanner.toml" || !strings.Contains(ig.Reason, "build") {
		t.Errorf("ignore by alias: %+v", ig)
	}
	if ig := got["GHSA-29mw-wpgm-hmr9"].Ignored; ig != nil {
		t.Errorf("an expired ignore must not apply: %+v", ig)
	}
	if ig := got["GHSA-pxg6-pf52-xh8x"].Ignored; ig == nil || ig.Reason != "vendored fork, patched" {
		t.Errorf("package override: %+v", ig)
	}
	if ig := got["GHSA-35jh-r3h4-6jhm"].Ignored; ig != nil {
		t.Errorf("an override for the dev group must not ignore a production dependency: %+v", ig)
	}

	if err := writeFile(filepath.Join(root, "npm", ConfigFile), []byte("[[IgnoredVulns]]\nidd = \"x\"\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := scanDir(t, Options{Root: root, OfflineDB: sharedDB}); err == nil || !strings.Contains(err.Error(), "osv-scanner.toml") {
		t.Errorf("a bad osv-scanner.toml: %v", err)
	}
}

func TestExclude(t *testing.T) {
	root := copyTree(t, "npm", "maven")
	res, err := scanDir(t, Options{Root: root, OfflineDB: sharedDB, Exclude: []string{"maven"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Findings {
		if strings.HasPrefix(f.Location.Path, "maven/") {
			t.Fatalf("excluded directory scanned: %s", f.Location.Path)
		}
	}
	if len(res.Findings) != 5 {
		t.Errorf("%d findings, want the 5 of npm/", len(res.Findings))
	}
}

func TestNoLockfiles(t *testing.T) {
	res, err := scanDir(t, Options{Root: t.TempDir(), OfflineDB: sharedDB})
	if err != nil || len(res.Findings) != 0 || !strings.Contains(strings.Join(res.Notes, ""), "no lockfile") || !res.Coverage.Empty() {
		t.Errorf("err %v findings %d notes %v coverage %+v", err, len(res.Findings), res.Notes, res.Coverage)
	}
	_, err = scanDir(t, Options{Root: t.TempDir(), OfflineDB: sharedDB, RequireLockfiles: true})
	if err == nil || !strings.Contains(err.Error(), "no lockfile or manifest found") || !strings.Contains(err.Error(), "deps.require_lockfiles is true") {
		t.Errorf("require_lockfiles: err = %v", err)
	}
	res, err = scanDir(t, Options{Root: copyTree(t, "npm", "python"), OfflineDB: sharedDB})
	if err != nil || res.Coverage.Lockfiles != 2 || res.Coverage.Packages == 0 {
		t.Errorf("err %v coverage %+v, want 2 lockfiles", err, res.Coverage)
	}
}

// records reads real OSV records from the shared database.
func records(t *testing.T, eco string) map[string][]byte {
	t.Helper()
	zr, err := zip.OpenReader(filepath.Join(sharedDB, "osv-scalibr", eco, "all.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		var r struct{ ID string }
		if json.Unmarshal(b, &r) == nil {
			out[r.ID] = b
		}
	}
	return out
}

// fakeOSV is an OSV API serving real records: querybatch answers from a
// fixed package → ids table, /v1/vulns/{id} with the record.
type fakeOSV struct {
	t       *testing.T
	matches map[string][]string // "ecosystem/name@version" → ids
	records map[string][]byte
	mu      sync.Mutex
	queries []string
	gets    []string
	fail    int // status to answer querybatch with, when set
	delay   time.Duration
	// user and password, when set, are required on every request (basic auth).
	user, password string
	getFail        int // status to answer GETs of GHSA records with (secgate's alias lookups), when set
}

func (f *fakeOSV) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.user != "" {
		if u, p, ok := r.BasicAuth(); !ok || u != f.user || p != f.password {
			f.t.Errorf("%s %s without the URL's credentials", r.Method, r.URL.Path)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/querybatch":
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			f.t.Errorf("querybatch content type %q", ct)
		}
		time.Sleep(f.delay)
		if f.fail != 0 {
			http.Error(w, "unavailable", f.fail)
			return
		}
		var body struct {
			Queries []struct {
				Package struct{ Name, Ecosystem string }
				Version string
			}
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			f.t.Errorf("querybatch body: %v", err)
		}
		type vuln struct {
			ID       string `json:"id"`
			Modified string `json:"modified"`
		}
		var out struct {
			Results []struct {
				Vulns []vuln `json:"vulns,omitempty"`
			} `json:"results"`
		}
		for _, q := range body.Queries {
			k := q.Package.Ecosystem + "/" + q.Package.Name + "@" + q.Version
			f.mu.Lock()
			f.queries = append(f.queries, k)
			f.mu.Unlock()
			var res struct {
				Vulns []vuln `json:"vulns,omitempty"`
			}
			for _, id := range f.matches[k] {
				res.Vulns = append(res.Vulns, vuln{ID: id, Modified: "2024-01-01T00:00:00Z"})
			}
			out.Results = append(out.Results, res)
		}
		_ = json.NewEncoder(w).Encode(out)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/vulns/"):
		id := strings.TrimPrefix(r.URL.Path, "/v1/vulns/")
		f.mu.Lock()
		f.gets = append(f.gets, id)
		f.mu.Unlock()
		if f.getFail != 0 && strings.HasPrefix(id, "GHSA-") {
			http.Error(w, "unavailable", f.getFail)
			return
		}
		b, ok := f.records[id]
		if !ok {
			http.Error(w, `{"code":5,"message":"Bug not found."}`, http.StatusNotFound)
			return
		}
		_, _ = w.Write(b)
	default:
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
	}
}

func TestOSVAPI(t *testing.T) {
	recs := records(t, "npm")
	for id, b := range records(t, "PyPI") {
		recs[id] = b
	}
	api := &fakeOSV{t: t, records: recs, matches: map[string][]string{
		"npm/lodash@4.17.15":   {"GHSA-p6mc-m468-83gw", "GHSA-35jh-r3h4-6jhm", "GHSA-29mw-wpgm-hmr9"},
		"npm/minimist@1.2.5":   {"GHSA-xvch-5gv4-984h"},
		"npm/cookie@0.4.0":     {"GHSA-pxg6-pf52-xh8x"},
		"PyPI/requests@2.19.0": {"PYSEC-2023-74"}, // no vector of its own: its GHSA twin's decides
	}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	root := copyTree(t, "npm")
	if err := writeFile(filepath.Join(root, "requirements.txt"), []byte("requests==2.19.0\n")); err != nil {
		t.Fatal(err)
	}

	res, err := scanDir(t, Options{Root: root, APIURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]policy.Finding{}
	for _, f := range res.Findings {
		got[f.ID] = f
	}
	if len(got) != 6 {
		t.Errorf("%d findings, want 6: %v", len(got), slices.Sorted(maps.Keys(got)))
	}
	if f := got["GHSA-xvch-5gv4-984h"]; f.Score == nil || *f.Score != 9.8 || f.Fix != "upgrade minimist to 1.2.6" {
		t.Errorf("minimist: %+v", f)
	}
	py := got["PYSEC-2023-74"]
	if py.Score == nil || *py.Score != 6.1 || py.ScoreSource != policy.SourceAliasPrefix+policy.SourceCVSSv3 {
		t.Errorf("alias fallback: score %v source %q, want 6.1 from the GHSA twin", py.Score, py.ScoreSource)
	}
	if !slices.Contains(api.gets, "GHSA-j8r2-6x86-q33q") {
		t.Errorf("the twin was not fetched: GETs %v", api.gets)
	}
	if !slices.Contains(api.queries, "npm/lodash@4.17.15") || !slices.Contains(api.queries, "PyPI/requests@2.19.0") {
		t.Errorf("queries %v", api.queries)
	}
	// The API mode reads no KEV or EPSS data, and says so.
	if !strings.Contains(strings.Join(res.Notes, "\n"), "no KEV or EPSS data: they are read from an offline database") {
		t.Errorf("notes %q", res.Notes)
	}
	if !strings.Contains(New(Options{APIURL: srv.URL}).Target(), "OSV API "+srv.URL) {
		t.Error("the target must name the API")
	}
	pass := "not" + "-a-real-" + "password"
	if tg := New(Options{APIURL: "https://bot:" + pass + "@osv-proxy.internal"}).Target(); strings.Contains(tg, pass) {
		t.Errorf("credentials of the API URL leak into the report: %s", tg)
	}
}

// Credentials in the API URL (a mirror behind basic auth) are sent on
// every request, the querybatch POSTs and the advisory GETs alike, and
// appear in no message.
func TestOSVAPIURLCredentials(t *testing.T) {
	pass := "mirror-" + "pw-" + "Qx7f2K"
	api := &fakeOSV{t: t, records: records(t, "PyPI"), user: "bot", password: pass, matches: map[string][]string{
		"PyPI/requests@2.19.0": {"PYSEC-2023-74"}, // no vector: the twin is fetched with a GET
	}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	root := t.TempDir()
	if err := writeFile(filepath.Join(root, "requirements.txt"), []byte("requests==2.19.0\n")); err != nil {
		t.Fatal(err)
	}
	withCreds := strings.Replace(srv.URL, "http://", "http://bot:"+pass+"@", 1)
	res, err := scanDir(t, Options{Root: root, APIURL: withCreds})
	if err != nil {
		t.Fatal(err)
	}
	if len(api.queries) == 0 || len(api.gets) == 0 || len(res.Findings) != 1 {
		t.Fatalf("queries %v gets %v findings %d", api.queries, api.gets, len(res.Findings))
	}

	api.getFail = http.StatusBadGateway // the error names the URL, without the password
	_, err = scanDir(t, Options{Root: root, APIURL: withCreds})
	if err == nil || strings.Contains(err.Error(), pass) || !strings.Contains(err.Error(), "failing closed: GET "+srv.URL+"/v1/vulns/GHSA-") {
		t.Errorf("err = %v", err)
	}
}

func TestOSVAPIFailuresFailClosed(t *testing.T) {
	root := copyTree(t, "npm")
	// Every refusal fails closed with its status named: a mirror that wants
	// credentials (401, 403) or throttles (429) is not "no vulnerabilities".
	for name, api := range map[string]*fakeOSV{
		"server error": {fail: http.StatusServiceUnavailable},
		"unauthorized": {fail: http.StatusUnauthorized},
		"forbidden":    {fail: http.StatusForbidden},
		"rate limited": {fail: http.StatusTooManyRequests},
	} {
		t.Run(name, func(t *testing.T) {
			api.t = t
			srv := httptest.NewServer(api)
			defer srv.Close()
			_, err := scanDir(t, Options{Root: root, APIURL: srv.URL})
			status := fmt.Sprintf("%d %s", api.fail, http.StatusText(api.fail))
			if err == nil || !strings.Contains(err.Error(), "failing closed") || !strings.Contains(err.Error(), srv.URL) || !strings.Contains(err.Error(), status) {
				t.Errorf("err = %v, want a fail-closed error naming %s and %q", err, srv.URL, status)
			}
		})
	}
	// The same for the advisory records secgate fetches itself.
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests} {
		t.Run(fmt.Sprintf("advisory GET %d", status), func(t *testing.T) {
			recs := records(t, "PyPI")
			api := &fakeOSV{t: t, records: recs, getFail: status,
				matches: map[string][]string{"PyPI/requests@2.19.0": {"PYSEC-2023-74"}}}
			srv := httptest.NewServer(api)
			defer srv.Close()
			_, err := scanDir(t, Options{Root: copyTree(t, "python"), APIURL: srv.URL})
			want := fmt.Sprintf("%d %s", status, http.StatusText(status))
			if err == nil || !strings.Contains(err.Error(), "failing closed: GET "+srv.URL+"/v1/vulns/GHSA-") || !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v, want a fail-closed error naming the GET and %q", err, want)
			}
		})
	}
	t.Run("timeout", func(t *testing.T) {
		api := &fakeOSV{t: t, delay: 500 * time.Millisecond}
		srv := httptest.NewServer(api)
		defer srv.Close()
		_, err := scanDir(t, Options{Root: root, APIURL: srv.URL, HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}})
		if err == nil || !strings.Contains(err.Error(), "failing closed") {
			t.Errorf("a timed-out query must fail closed, got %v", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		_, err := scanDir(t, Options{Root: root, APIURL: url})
		if err == nil || !strings.Contains(err.Error(), url) {
			t.Errorf("an unreachable API must fail closed naming it, got %v", err)
		}
	})
}

func TestDownloadDB(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.Path)
		mu.Unlock()
		switch r.URL.Path {
		case "/kev.json": // the KEV catalog and EPSS scores come with the OSV data
			http.ServeFile(w, r, filepath.Join(riskFixtures, "known_exploited_vulnerabilities.json"))
		case "/epss.csv.gz":
			w.Write(gzipped(t, fixture(t, "epss_scores-current.csv")))
		default:
			eco := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/all.zip")
			http.ServeFile(w, r, filepath.Join(sharedDB, "osv-scalibr", eco, "all.zip"))
		}
	}))
	defer srv.Close()
	db := t.TempDir()
	res, err := scanDir(t, Options{Root: copyTree(t, "npm"), OfflineDB: db, DownloadDB: true, DBURL: srv.URL, KEVURL: srv.URL + "/kev.json", EPSSURL: srv.URL + "/epss.csv.gz"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 5 {
		t.Errorf("%d findings after download, want 5", len(res.Findings))
	}
	if !slices.Contains(got, "/npm/all.zip") {
		t.Errorf("requests %v", got)
	}
	if _, err := os.Stat(filepath.Join(db, "osv-scalibr", "npm", "all.zip")); err != nil {
		t.Errorf("database not stored: %v", err)
	}

	srv.Close()
	_, err = scanDir(t, Options{Root: copyTree(t, "npm"), OfflineDB: t.TempDir(), DownloadDB: true, DBURL: srv.URL, KEVURL: srv.URL + "/kev.json", EPSSURL: srv.URL + "/epss.csv.gz"})
	if err == nil {
		t.Error("a failed download must fail closed")
	}
}

func git(t *testing.T, dir string, args ...string) { repotest.Git(t, dir, args...) }

func lockfile(pkgs map[string]string) []byte {
	var b strings.Builder
	b.WriteString(`{"name":"app","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"app","version":"1.0.0"}`)
	for _, name := range slices.Sorted(maps.Keys(pkgs)) {
		b.WriteString(`,"node_modules/` + name + `":{"version":"` + pkgs[name] + `"}`)
	}
	b.WriteString("}}")
	return []byte(b.String())
}

func TestNewVersusExisting(t *testing.T) {
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	if err := writeFile(filepath.Join(dir, "web", "package-lock.json"), lockfile(map[string]string{"lodash": "4.17.15"})); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "base")
	// The change bumps lodash (still vulnerable to its three advisories),
	// adds minimist, and adds a Python service.
	if err := writeFile(filepath.Join(dir, "web", "package-lock.json"), lockfile(map[string]string{"lodash": "4.17.19", "minimist": "1.2.5"})); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(filepath.Join(dir, "api", "requirements.txt"), []byte("requests==2.19.0\n")); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "change")

	res, err := scanDir(t, Options{Root: dir, OfflineDB: sharedDB, Base: "HEAD~1"})
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]policy.Status{}
	for _, f := range res.Findings {
		status[f.Location.Package+" "+f.ID] = f.Status
	}
	for k, want := range map[string]policy.Status{
		"lodash GHSA-35jh-r3h4-6jhm":   policy.StatusExisting,
		"lodash GHSA-29mw-wpgm-hmr9":   policy.StatusExisting,
		"lodash GHSA-p6mc-m468-83gw":   policy.StatusExisting, // fixed in 4.17.20
		"minimist GHSA-xvch-5gv4-984h": policy.StatusNew,
		"requests PYSEC-2018-28":       policy.StatusNew,
	} {
		if status[k] != want {
			t.Errorf("%s: status %q, want %q", k, status[k], want)
		}
	}
	if _, err := scanDir(t, Options{Root: dir, OfflineDB: sharedDB, Base: "no-such-rev"}); err == nil || !strings.Contains(err.Error(), "no-such-rev") {
		t.Errorf("a bad base revision: %v", err)
	}
}

// dockerArchive writes a `docker save` tarball of an image built from
// layers, each a map of path → content.
func dockerArchive(t *testing.T, layers ...map[string]string) string {
	t.Helper()
	return imagetest.Archive(t, "registry.example/shop:1.0", imagetest.Build(t, imagetest.Spec{Layers: layers}))
}

const debianStatus = `Package: zlib1g
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 168
Maintainer: Mark Brown <broonie@debian.org>
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1
Description: compression library - runtime

`

func TestImagePackages(t *testing.T) {
	// Container scanning reads what is installed (npm's hidden lockfile in
	// node_modules, wheels, jars, Go binaries, dpkg/apk databases), as
	// `npm ci` leaves it in an image.
	archive := dockerArchive(t,
		map[string]string{"etc/hostname": "shop\n"},
		map[string]string{"app/node_modules/.package-lock.json": string(lockfile(map[string]string{"lodash": "4.17.15"}))},
	)
	res, err := scanDir(t, Options{Root: t.TempDir(), OfflineDB: sharedDB, Images: []string{"docker-archive:" + archive}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 3 {
		t.Fatalf("%d findings in the image, want lodash's 3: %+v %v", len(res.Findings), res.Findings, res.Notes)
	}
	for _, f := range res.Findings {
		l := f.Location
		if l.Image != "docker-archive:"+archive || l.Package != "lodash" || l.Path != "/app/node_modules/.package-lock.json" || !strings.HasPrefix(l.Layer, "1 sha256:") {
			t.Errorf("finding not located by image, layer and package: %+v", l)
		}
	}

	// A Debian image: the shared database has no Debian data, so the scan
	// must fail closed rather than report a clean image.
	debian := dockerArchive(t, map[string]string{
		"etc/os-release":      "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
		"var/lib/dpkg/status": debianStatus,
	})
	_, err = scanDir(t, Options{Root: t.TempDir(), OfflineDB: sharedDB, Images: []string{"docker-archive:" + debian}})
	if err == nil || !strings.Contains(err.Error(), "no Debian data") {
		t.Errorf("err = %v, want a fail-closed error naming Debian", err)
	}

	res, err = scanDir(t, Options{Root: t.TempDir(), OfflineDB: sharedDB, Images: []string{"registry.example/shop:1.0"}})
	if err != nil || !strings.Contains(strings.Join(res.Notes, "\n"), "registry.example/shop:1.0: packages NOT scanned") {
		t.Errorf("a registry reference must be said to be unscanned: %v %v", err, res.Notes)
	}
}

func TestRunLibraryRecoversAPanic(t *testing.T) {
	_, _, err := runLibrary(context.Background(), slog.New(slog.DiscardHandler), func(engine) (vulnResults, error) {
		var p *vulnResults
		_ = p.Results // a nil pointer dereference: a real runtime panic
		return vulnResults{}, nil
	})
	if err == nil || !strings.Contains(err.Error(), "osv-scalibr panicked: runtime error: invalid memory address") {
		t.Fatalf("err = %v", err)
	}
	// The library's lock was released: the next call runs.
	if _, _, err := runLibrary(context.Background(), slog.New(slog.DiscardHandler), func(engine) (vulnResults, error) {
		return vulnResults{}, nil
	}); err != nil {
		t.Fatal(err)
	}
}

// A vulnerability's tracking key leaves out the version (an upgrade that
// does not fix the advisory keeps it), and the path an image archive was
// read from (a temporary file in CI).
func TestVulnerabilityFingerprints(t *testing.T) {
	fps := func(t *testing.T, o Options) map[string]string {
		t.Helper()
		res, err := scanDir(t, o)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, f := range res.Findings {
			m[f.Location.Package+" "+f.ID] = f.Fingerprint
		}
		return m
	}
	tree := func(version string) string {
		dir := t.TempDir()
		if err := writeFile(filepath.Join(dir, "web", "package-lock.json"), lockfile(map[string]string{"lodash": version})); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	old, bumped := fps(t, Options{Root: tree("4.17.15"), OfflineDB: sharedDB}), fps(t, Options{Root: tree("4.17.19"), OfflineDB: sharedDB})
	k := "lodash GHSA-35jh-r3h4-6jhm" // fixed in 4.17.21: both versions have it
	if old[k] == "" || old[k] != bumped[k] {
		t.Errorf("%s: fingerprint %q before the bump, %q after; want one, unchanged", k, old[k], bumped[k])
	}
	if old[k] == old["lodash GHSA-29mw-wpgm-hmr9"] {
		t.Error("two advisories of one package share a fingerprint")
	}

	archive := dockerArchive(t, map[string]string{"app/node_modules/.package-lock.json": string(lockfile(map[string]string{"lodash": "4.17.15"}))})
	moved := filepath.Join(t.TempDir(), "elsewhere.tar")
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(moved, data, 0o644); err != nil {
		t.Fatal(err)
	}
	a := fps(t, Options{Root: t.TempDir(), OfflineDB: sharedDB, Images: []string{"docker-archive:" + archive}})
	b := fps(t, Options{Root: t.TempDir(), OfflineDB: sharedDB, Images: []string{"docker-archive:" + moved}})
	if a[k] == "" || a[k] != b[k] {
		t.Errorf("the same image at two paths: %q and %q", a[k], b[k])
	}
	if a[k] == old[k] {
		t.Error("a finding in an image has the fingerprint of one in a lockfile")
	}
}

// On a pull/merge request, osv-scanner.toml is the base revision's: an
// ignore the change adds for its own advisory does not apply.
func TestIgnoreFileFromBaseRevision(t *testing.T) {
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	if err := writeFile(filepath.Join(dir, "web", "package-lock.json"), lockfile(map[string]string{"lodash": "4.17.15"})); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "base")
	toml := "[[IgnoredVulns]]\nid = \"GHSA-35jh-r3h4-6jhm\"\nreason = \"not reachable\"\n"
	if err := writeFile(filepath.Join(dir, "web", ConfigFile), []byte(toml)); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "ignore it")
	ignored := func(o Options) bool {
		t.Helper()
		res, err := scanDir(t, o)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range res.Findings {
			if f.ID == "GHSA-35jh-r3h4-6jhm" {
				return f.Ignored != nil
			}
		}
		t.Fatal("GHSA-35jh-r3h4-6jhm not found")
		return false
	}
	if !ignored(Options{Root: dir, OfflineDB: sharedDB}) {
		t.Error("the working tree's osv-scanner.toml must apply outside a pull request")
	}
	if ignored(Options{Root: dir, OfflineDB: sharedDB, Base: "HEAD~1"}) {
		t.Error("the ignore added by the change applied to the change")
	}
	if !ignored(Options{Root: dir, OfflineDB: sharedDB, Base: "HEAD"}) {
		t.Error("an ignore already on the base revision must apply")
	}
}

// Every exclusion is anchored at the scanned root: a directory above it
// with an excluded name (a runner's /home/runner/work, a checkout under
// tmp/) does not exclude the whole tree.
func TestExcludeIsAnchoredAtTheRoot(t *testing.T) {
	for _, tt := range []struct {
		exclude  string
		above    string // directory name above the root
		excluded bool   // whether web/ (the only lockfile) is excluded
	}{
		{"work", "work", false},
		{"g:**/work/**", "work", false},
		{"r:.*work.*", "work", false},
		{"web", "src", true},
		{"g:**/web/**", "src", true},
		{"g:we?", "src", true},
		{"r:^web", "src", true},
		{"app/web", "app", false}, // a path is relative to the root, not to what is above it
	} {
		t.Run(tt.exclude, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), tt.above, "repo")
			if err := writeFile(filepath.Join(root, "web", "package-lock.json"), lockfile(map[string]string{"lodash": "4.17.15"})); err != nil {
				t.Fatal(err)
			}
			res, err := scanDir(t, Options{Root: root, OfflineDB: sharedDB, Exclude: []string{tt.exclude}})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(res.Findings) == 0; got != tt.excluded {
				t.Errorf("exclude %q under %s/: %d findings, want excluded=%v", tt.exclude, tt.above, len(res.Findings), tt.excluded)
			}
		})
	}
}

// A repository inside a directory that ignores it (gitlab-ci-local's
// .gitlab-ci-local/builds/<job> under a .gitignore of *, a checkout under
// an ignored tmp/) has its lockfiles scanned; its own .gitignore still
// applies inside it.
func TestNestedRepositoryUnderIgnoredDirectory(t *testing.T) {
	outer := t.TempDir()
	git(t, outer, "init", "-q", "-b", "main")
	if err := writeFile(filepath.Join(outer, ".gitignore"), []byte("*\n")); err != nil {
		t.Fatal(err)
	}
	for name, root := range map[string]string{
		"a plain copy":      filepath.Join(outer, ".gitlab-ci-local", "builds", "job"),
		"a nested checkout": filepath.Join(outer, "tmp", "checkout"),
	} {
		t.Run(name, func(t *testing.T) {
			if err := writeFile(filepath.Join(root, "web", "package-lock.json"), lockfile(map[string]string{"lodash": "4.17.15"})); err != nil {
				t.Fatal(err)
			}
			// Its own ignore rules: a vendored copy it ignores.
			if err := writeFile(filepath.Join(root, ".gitignore"), []byte("vendored/\n")); err != nil {
				t.Fatal(err)
			}
			if err := writeFile(filepath.Join(root, "vendored", "package-lock.json"), lockfile(map[string]string{"minimist": "1.2.5"})); err != nil {
				t.Fatal(err)
			}
			if name == "a nested checkout" {
				git(t, root, "init", "-q", "-b", "main")
			}
			res, err := scanDir(t, Options{Root: root, OfflineDB: sharedDB})
			if err != nil {
				t.Fatal(err)
			}
			pkgs := map[string]bool{}
			for _, f := range res.Findings {
				pkgs[f.Location.Path+" "+f.Location.Package] = true
			}
			if !pkgs["web/package-lock.json lodash"] {
				t.Errorf("the tree's lockfile was not scanned: findings %v, notes %v", pkgs, res.Notes)
			}
			if pkgs["vendored/package-lock.json minimist"] {
				t.Error("the tree's own .gitignore was not applied")
			}
		})
	}
}

// A fault matrix of the OSV API's answers that are HTTP 200 but not
// answers: each fails closed, naming the URL, quickly (no retries).
func TestOSVAPIMalformedAnswersFailClosed(t *testing.T) {
	root := t.TempDir()
	if err := writeFile(filepath.Join(root, "package-lock.json"), lockfile(map[string]string{"minimist": "1.2.5", "lodash": "4.17.15"})); err != nil {
		t.Fatal(err)
	}
	minimist := records(t, "npm")["GHSA-xvch-5gv4-984h"]
	lodash := records(t, "npm")["GHSA-35jh-r3h4-6jhm"]
	ok := `{"results":[{"vulns":[{"id":"GHSA-xvch-5gv4-984h","modified":"2024-01-01T00:00:00Z"}]},{}]}`
	for name, tt := range map[string]struct {
		batch  string // querybatch answer
		record []byte // GET /v1/vulns/GHSA-xvch-5gv4-984h answer
		want   string
	}{
		"empty object":         {`{}`, minimist, "no results for 2 queries"},
		"fewer results":        {`{"results":[{}]}`, minimist, "1 results for 2 queries"},
		"more results":         {`{"results":[{},{},{}]}`, minimist, "3 results for 2 queries"},
		"html from a proxy":    {`<html><body>Service Unavailable</body></html>`, minimist, "malformed answer"},
		"truncated":            {`{"results":[{"vulns":[{"id":"GHSA-xv`, minimist, "malformed answer"},
		"results not an array": {`{"results":{"vulns":[]}}`, minimist, "malformed answer"},
		"vulnerability, no id": {`{"results":[{"vulns":[{"modified":"2024-01-01T00:00:00Z"}]},{}]}`, minimist, "a vulnerability without an id"},
		"another record":       {ok, lodash, `asked for GHSA-xvch-5gv4-984h, the answer is the record "GHSA-35jh-r3h4-6jhm"`},
		"empty record":         {ok, []byte(`{}`), `the answer is the record ""`},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.Method == http.MethodPost && r.URL.Path == "/v1/querybatch":
					_, _ = io.WriteString(w, tt.batch)
				case r.URL.Path == "/v1/vulns/GHSA-xvch-5gv4-984h":
					_, _ = w.Write(tt.record)
				default:
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			start := time.Now()
			_, err := scanDir(t, Options{Root: root, APIURL: srv.URL})
			if err == nil || !strings.Contains(err.Error(), "failing closed") || !strings.Contains(err.Error(), srv.URL) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v\nwant a fail-closed error naming %s and %q", err, srv.URL, tt.want)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Logf("took %v (library retries)", d)
			}
		})
	}
}

// Offline data is checked, not trusted: a zip with no advisory is as
// missing, and the data's age is reported, warned about and enforced.
func TestOfflineDatabaseChecked(t *testing.T) {
	root := t.TempDir()
	if err := writeFile(filepath.Join(root, "package-lock.json"), lockfile(map[string]string{"lodash": "4.17.15"})); err != nil {
		t.Fatal(err)
	}
	asOf := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	db := func(t *testing.T, recs map[string][]byte) string {
		dir := t.TempDir()
		path := filepath.Join(dir, "osv-scalibr", "npm", "all.zip")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, id := range slices.Sorted(maps.Keys(recs)) {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: id + ".json", Method: zip.Deflate, Modified: asOf})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(recs[id]); err != nil {
				t.Fatal(err)
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	full := db(t, records(t, "npm"))

	t.Run("an empty ecosystem zip fails closed", func(t *testing.T) {
		empty := db(t, nil)
		_, err := scanDir(t, Options{Root: root, OfflineDB: empty})
		if err == nil || !strings.Contains(err.Error(), "holds no npm advisory") || !strings.Contains(err.Error(), "failing closed") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("the age is reported", func(t *testing.T) {
		res, err := scanDir(t, Options{Root: root, OfflineDB: full, Now: asOf.Add(24 * time.Hour), MaxDBAge: 7 * 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Join(res.Notes, "\n"); !strings.Contains(n, "offline npm data: 14 advisories, as of 2026-11-01 (1 days old)") {
			t.Errorf("notes %q", n)
		}
		if len(res.Warnings) != 0 || len(res.Findings) == 0 {
			t.Errorf("warnings %v findings %d", res.Warnings, len(res.Findings))
		}
	})
	t.Run("stale data is warned about", func(t *testing.T) {
		res, err := scanDir(t, Options{Root: root, OfflineDB: full, Now: asOf.Add(5 * 24 * time.Hour), MaxDBAge: 7 * 24 * time.Hour})
		if err != nil || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "offline npm data is 5 days old") {
			t.Errorf("err %v warnings %v", err, res.Warnings)
		}
	})
	t.Run("data over the limit fails", func(t *testing.T) {
		_, err := scanDir(t, Options{Root: root, OfflineDB: full, Now: asOf.Add(30 * 24 * time.Hour), MaxDBAge: 7 * 24 * time.Hour})
		if err == nil || !strings.Contains(err.Error(), "the npm data is 30 days old (as of 2026-11-01), over deps.max_db_age (7d)") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("a truncated zip fails closed", func(t *testing.T) {
		dir := db(t, records(t, "npm"))
		path := filepath.Join(dir, "osv-scalibr", "npm", "all.zip")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data[:len(data)/2], 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = scanDir(t, Options{Root: root, OfflineDB: dir})
		if err == nil || !strings.Contains(err.Error(), "failing closed") || !strings.Contains(err.Error(), "npm") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("a record that does not parse is skipped, the others match", func(t *testing.T) {
		recs := records(t, "npm")
		recs["GHSA-zzzz-zzzz-zzzz"] = []byte(`{"id": "GHSA-zzzz-zzzz-zzzz", "affected": [`)
		res, err := scanDir(t, Options{Root: root, OfflineDB: db(t, recs)})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Findings) == 0 {
			t.Error("one bad record hid the others")
		}
	})
	t.Run("no limit", func(t *testing.T) {
		if _, err := scanDir(t, Options{Root: root, OfflineDB: full, Now: asOf.Add(365 * 24 * time.Hour)}); err != nil {
			t.Error(err)
		}
	})
}

// The same image gives the same package findings from every source: a
// docker-archive, an OCI layout and a registry (read by gate/image and
// written as an archive for osv-scanner).
func TestImagePackagesEverySource(t *testing.T) {
	img := imagetest.Build(t, imagetest.Spec{Layers: []map[string]string{
		{"etc/hostname": "shop\n"},
		{"app/node_modules/.package-lock.json": string(lockfile(map[string]string{"lodash": "4.17.15"}))},
	}})
	host := signtest.Registry(t)
	imagetest.Push(t, host+"/shop:1.0", img)
	refs := []string{
		"docker-archive:" + imagetest.Archive(t, "registry.example/shop:1.0", img),
		"oci-layout:" + imagetest.Layout(t, img),
		host + "/shop:1.0",
	}
	export := func(ctx context.Context, ref string) (string, func(), error) {
		return image.Export(ctx, ref, image.Options{})
	}
	var sets []string
	for _, ref := range refs {
		res, err := scanDir(t, Options{Root: t.TempDir(), OfflineDB: sharedDB, Images: []string{ref}, ExportImage: export})
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		var keys []string
		for _, f := range res.Findings {
			l := f.Location
			if l.Image != ref || !strings.HasPrefix(l.Layer, "1 sha256:") {
				t.Errorf("%s: finding not located by the image as given and its layer: %+v", ref, l)
			}
			keys = append(keys, f.ID+" "+l.Package+" "+l.Version+" "+l.Path)
		}
		slices.Sort(keys)
		sets = append(sets, strings.Join(keys, "\n"))
	}
	if sets[0] == "" || sets[1] != sets[0] || sets[2] != sets[0] {
		t.Fatalf("the sources disagree:\narchive:\n%s\nlayout:\n%s\nregistry:\n%s", sets[0], sets[1], sets[2])
	}
	// Without the image reader, a registry image says it was not scanned.
	res, err := scanDir(t, Options{Root: t.TempDir(), OfflineDB: sharedDB, Images: []string{refs[2]}})
	if err != nil || !strings.Contains(strings.Join(res.Notes, "\n"), "packages NOT scanned") {
		t.Fatalf("no reader: %v %v", err, res.Notes)
	}
}

// TestTransportRecordsRefusals checks the transport on its own: the
// library's logged errors catch the same statuses today (the rows above
// pass without it), but the transport is what fails closed when a library
// version stops logging one. Changing its ">= 400" to ">= 500" fails it.
func TestTransportRecordsRefusals(t *testing.T) {
	for _, tt := range []struct {
		method, path string
		status       int
		recorded     bool
	}{
		{http.MethodPost, "/v1/querybatch", http.StatusUnauthorized, true},
		{http.MethodPost, "/v1/querybatch", http.StatusForbidden, true},
		{http.MethodPost, "/v1/querybatch", http.StatusTooManyRequests, true},
		{http.MethodPost, "/v1/querybatch", http.StatusNotFound, true},
		{http.MethodGet, "/v1/vulns/GHSA-j8r2-6x86-q33q", http.StatusUnauthorized, true},
		{http.MethodGet, "/v1/vulns/GHSA-j8r2-6x86-q33q", http.StatusForbidden, true},
		{http.MethodGet, "/v1/vulns/GHSA-j8r2-6x86-q33q", http.StatusTooManyRequests, true},
		{http.MethodGet, "/v1/vulns/GHSA-j8r2-6x86-q33q", http.StatusNotFound, false}, // no such advisory: an answer
		{http.MethodGet, "/osv-scalibr/PyPI/all.zip", http.StatusForbidden, true},
	} {
		t.Run(tt.method+" "+tt.path+" "+http.StatusText(tt.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "refused", tt.status)
			}))
			defer srv.Close()
			tr := newTransport(Options{APIURL: srv.URL, DBURL: srv.URL, HTTPClient: srv.Client()})
			target := DefaultAPIURL + tt.path
			if strings.HasSuffix(tt.path, ".zip") {
				target = DefaultDBURL + tt.path
			}
			req, err := http.NewRequest(tt.method, target, strings.NewReader(`{"queries":[{}]}`))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			err = tr.failure()
			status := fmt.Sprintf("%d %s", tt.status, http.StatusText(tt.status))
			switch {
			case !tt.recorded && err != nil:
				t.Errorf("recorded %v, want nothing", err)
			case tt.recorded && (err == nil || !strings.Contains(err.Error(), "failing closed") || !strings.Contains(err.Error(), status) || !strings.Contains(err.Error(), srv.URL)):
				t.Errorf("err = %v, want a fail-closed error naming %s and %q", err, srv.URL, status)
			}
		})
	}
}
