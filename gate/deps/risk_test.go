package deps

import (
	"bytes"
	"compress/gzip"
	"fmt"
	cachepkg "github.com/secgate/secgate/internal/cache"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secgate/secgate/policy"
)

// riskFixtures is the hand-written KEV catalog and EPSS scores (testdata/risk).
var riskFixtures = filepath.Join("..", "..", "testdata", "risk")

// riskDB is an offline database of the shared OSV data of npm with the KEV
// and EPSS fixtures; a file whose content is "" is left out.
func riskDB(t *testing.T, kev, epssCSV string) string {
	t.Helper()
	db := t.TempDir()
	zip, err := os.ReadFile(filepath.Join(sharedDB, "osv-scalibr", "npm", "all.zip"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(db, "osv-scalibr", "npm", "all.zip"), zip)
	if kev != "" {
		write(t, filepath.Join(db, filepath.FromSlash(KEVFile)), []byte(kev))
	}
	if epssCSV != "" {
		write(t, filepath.Join(db, filepath.FromSlash(EPSSFile)), gzipped(t, epssCSV))
	}
	return db
}

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(riskFixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func gzipped(t testing.TB, s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := io.WriteString(zw, s); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func npmTree(t *testing.T, pkgs map[string]string) string {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "package-lock.json"), lockfile(pkgs))
	return dir
}

func TestRiskDataAnnotatesFindings(t *testing.T) {
	db := riskDB(t, fixture(t, "known_exploited_vulnerabilities.json"), fixture(t, "epss_scores-current.csv"))
	res, err := scanDir(t, Options{Root: npmTree(t, map[string]string{"send": "0.18.0", "serve-static": "1.15.0", "lodash": "4.17.15"}), OfflineDB: db})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]policy.Finding{}
	for _, f := range res.Findings {
		got[f.ID] = f
	}
	send, static, lodash := got["GHSA-m6fv-jmcg-4jfg"], got["GHSA-cm22-4g7w-348p"], got["GHSA-29mw-wpgm-hmr9"]
	if k := send.KEV; k == nil || *k != (policy.KEV{CVE: "CVE-2024-43799", DateAdded: "2026-11-20", Ransomware: false}) {
		t.Errorf("send: KEV %+v", k)
	}
	if e := static.EPSS; e == nil || *e != (policy.EPSS{CVE: "CVE-2024-43800", Probability: 0.9, Percentile: 0.99504, Date: "2026-11-24"}) {
		t.Errorf("serve-static: EPSS %+v", e)
	}
	if lodash.KEV != nil || lodash.EPSS == nil || lodash.EPSS.Probability != 0.00302 {
		t.Errorf("lodash: KEV %+v EPSS %+v", lodash.KEV, lodash.EPSS)
	}
	if static.KEV != nil || send.EPSS != nil {
		t.Errorf("data given to findings whose CVE has none: %+v %+v", static.KEV, send.EPSS)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "KEV catalog 2026.11.24: 4 entries, released 2026-11-24; 1 of the findings are known exploited") {
		t.Errorf("notes %q", res.Notes)
	}

	// The policy's floors: the low send advisory fails the gate, the low
	// serve-static one with EPSS 0.9 blocks production.
	d := policy.Default().Decide(res.Findings, policy.Context{Now: now, Environment: "production"})
	tiers := map[string]string{}
	for _, f := range d.Findings {
		tiers[f.ID] = f.Severity.String() + " " + f.ScoreSource
	}
	for id, want := range map[string]string{
		"GHSA-m6fv-jmcg-4jfg": "critical CVSS_V4 vector; raised by KEV (deps.kev)",
		"GHSA-cm22-4g7w-348p": "high CVSS_V4 vector; raised by EPSS (deps.epss): 0.90 > 0.5",
		"GHSA-29mw-wpgm-hmr9": "medium CVSS_V3 vector",
	} {
		if tiers[id] != want {
			t.Errorf("%s: %q, want %q", id, tiers[id], want)
		}
	}
}

func TestRiskDataAbsentIsANote(t *testing.T) {
	res, err := scanDir(t, Options{Root: npmTree(t, map[string]string{"send": "0.18.0"}), OfflineDB: riskDB(t, "", "")})
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(res.Notes, "\n")
	for _, want := range []string{"no KEV data (", "kev/known_exploited_vulnerabilities.json): known-exploited advisories were not raised", "no EPSS data (", "epss/epss_scores-current.csv.gz): likely-exploited"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
	if res.Findings[0].KEV != nil || res.Findings[0].EPSS != nil {
		t.Error("data from nowhere")
	}
}

func TestRiskDataStaleOrBrokenFailsClosed(t *testing.T) {
	kev, epss := fixture(t, "known_exploited_vulnerabilities.json"), fixture(t, "epss_scores-current.csv")
	tree := npmTree(t, map[string]string{"send": "0.18.0"})
	// Both fixtures are of 2026-11-24; the OSV data of 2026-11-25.
	later := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		kev, epss string
		maxAge    time.Duration
		want      string
	}{
		{"stale KEV", kev, "", 8 * 24 * time.Hour, "KEV catalog "},
		{"stale EPSS", "", epss, 8 * 24 * time.Hour, "EPSS scores "},
		{"KEV not JSON", "<html>rate limited</html>", "", 0, "not CISA's JSON feed"},
		{"KEV truncated", strings.Replace(kev, `"count": 4`, `"count": 1400`, 1), "", 0, "count says 1400 entries, it lists 4"},
		{"KEV empty", `{"catalogVersion":"x","dateReleased":"2026-11-24T00:00:00Z","count":0,"vulnerabilities":[]}`, "", 0, "lists no vulnerability"},
		{"EPSS without its date line", "", strings.SplitN(epss, "\n", 2)[1], 0, "no #model_version"},
		{"EPSS without a score", "", "#model_version:v1,score_date:2026-11-24T00:00:00+0000\ncve,epss,percentile\n", 0, "no score"},
		{"EPSS bad score", "", epss + "CVE-2024-43799,high,0.5\n", 0, "the scores of CVE-2024-43799 do not parse"},
		// NaN parses as a float and fails every comparison: a floor never applied
		{"EPSS NaN", "", epss + "CVE-2024-43799,NaN,0.5\n", 0, "the scores of CVE-2024-43799 do not parse"},
		{"EPSS nan percentile", "", epss + "CVE-2024-43799,0.9,nan\n", 0, "the scores of CVE-2024-43799 do not parse"},
		// a date in the future never goes stale
		{"KEV from the future", strings.Replace(kev, `"dateReleased": "2026-11-24`, `"dateReleased": "2099-11-24`, 1), "", 8 * 24 * time.Hour, "in the future"},
		{"EPSS from the future", "", strings.Replace(epss, "score_date:2026-11-24", "score_date:2099-11-24", 1), 8 * 24 * time.Hour, "in the future"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := riskDB(t, tc.kev, tc.epss)
			_, err := scanDir(t, Options{Root: tree, OfflineDB: db, MaxDBAge: tc.maxAge, Now: later})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if tc.maxAge > 0 && !strings.Contains(tc.name, "future") && !strings.Contains(err.Error(), "is 8 days old (as of 2026-11-24), over deps.max_db_age (8d)") {
				t.Errorf("error %v does not say how old", err)
			}
			if tc.maxAge > 0 && !strings.Contains(err.Error(), db) {
				t.Errorf("error %v does not name the file", err)
			}
		})
	}
	// Within the limit, the same data is read.
	if _, err := scanDir(t, Options{Root: tree, OfflineDB: riskDB(t, kev, epss), MaxDBAge: 10 * 24 * time.Hour, Now: later}); err != nil {
		t.Errorf("fresh enough: %v", err)
	}
}

func TestEPSSReadsExtraColumnsInAnyOrder(t *testing.T) {
	csv := "#model_version:v2025.03.14,score_date:2026-11-24T00:00:00+0000\r\npercentile,cve,vendor,epss\r\n0.5,CVE-2024-1,acme,0.25\r\n0.9,CVE-2024-2,acme,0.75\r\n"
	s, err := parseEPSS(strings.NewReader(csv), map[string]bool{"CVE-2024-2": true})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.scores["CVE-2024-2"]; got != (policy.EPSS{CVE: "CVE-2024-2", Probability: 0.75, Percentile: 0.9, Date: "2026-11-24"}) || len(s.scores) != 1 || s.model != "v2025.03.14" {
		t.Errorf("scores %+v, model %q", s.scores, s.model)
	}
	if _, err := parseEPSS(strings.NewReader("#score_date:2026-11-24\ncve,probability\n"), nil); err == nil || !strings.Contains(err.Error(), "lacks cve, epss or percentile") {
		t.Errorf("error %v", err)
	}
}

func TestDownloadRiskData(t *testing.T) {
	kev, epss := fixture(t, "known_exploited_vulnerabilities.json"), gzipped(t, fixture(t, "epss_scores-current.csv"))
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		switch r.URL.Path {
		case "/feeds/known_exploited_vulnerabilities.json":
			io.WriteString(w, kev)
		case "/epss_scores-current.csv.gz":
			w.Write(epss)
		case "/eol/debian.json":
			io.WriteString(w, `[{"cycle":"13","releaseDate":"2025-08-09","eol":"2030-06-30","latest":"13.2","lts":false}]`)
		case "/eol/alpine-linux.json":
			io.WriteString(w, `{"message": "rate limited"}`)
		case "/broken.json":
			io.WriteString(w, `{"vulnerabilities": [`)
		default:
			eco := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/all.zip")
			http.ServeFile(w, r, filepath.Join(sharedDB, "osv-scalibr", eco, "all.zip"))
		}
	}))
	defer srv.Close()
	opts := func(db, kevPath string) Options {
		return Options{Root: npmTree(t, map[string]string{"send": "0.18.0", "serve-static": "1.15.0"}), OfflineDB: db, DownloadDB: true, DBURL: srv.URL,
			KEVURL: srv.URL + kevPath, EPSSURL: srv.URL + "/epss_scores-current.csv.gz"}
	}
	db := t.TempDir()
	res, err := scanDir(t, opts(db, "/feeds/known_exploited_vulnerabilities.json"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range res.Findings {
		if f.KEV != nil || f.EPSS != nil {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d findings with KEV or EPSS data after the download, want 2 (requests %v)", n, paths)
	}
	if b, err := os.ReadFile(filepath.Join(db, filepath.FromSlash(KEVFile))); err != nil || string(b) != kev {
		t.Errorf("KEV catalog not stored unchanged: %v", err)
	}

	// A broken download fails the run and leaves the previous copy.
	_, err = scanDir(t, opts(db, "/broken.json"))
	if err == nil || !strings.Contains(err.Error(), "downloading "+srv.URL+"/broken.json") {
		t.Errorf("error %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(db, filepath.FromSlash(KEVFile))); string(b) != kev {
		t.Error("a broken download replaced the catalog")
	}
	_, err = scanDir(t, opts(t.TempDir(), "/missing.json"))
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("error %v", err)
	}

	// The end-of-life data of the image checks comes along.
	db = t.TempDir()
	o := opts(db, "/feeds/known_exploited_vulnerabilities.json")
	o.EOLProducts, o.EOLURL = []string{"debian"}, srv.URL+"/eol"
	if _, err := scanDir(t, o); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(db, "eol", "debian.json")); err != nil || !strings.Contains(string(b), `"cycle":"13"`) {
		t.Errorf("eol/debian.json: %s, %v", b, err)
	}
	o.EOLProducts, o.OfflineDB = []string{"alpine-linux"}, t.TempDir()
	if _, err := scanDir(t, o); err == nil || !strings.Contains(err.Error(), "not endoflife.date's list of release cycles") {
		t.Errorf("a rate-limit page stored as end-of-life data: %v", err)
	}
}

// The real files' sizes: KEV ~1,500 entries (1.3 MB), EPSS ~300,000 rows
// (2.2 MB compressed). Loading both must cost ≤ 100 ms and ≤ 30 MB a run.
func BenchmarkLoadKEV(b *testing.B) {
	path := filepath.Join(b.TempDir(), "kev.json")
	var s strings.Builder
	s.WriteString(`{"title":"CISA Catalog of Known Exploited Vulnerabilities","catalogVersion":"2026.11.24","dateReleased":"2026-11-24T17:02:11.2213Z","count":1500,"vulnerabilities":[`)
	for i := range 1500 {
		if i > 0 {
			s.WriteString(",")
		}
		fmt.Fprintf(&s, `{"cveID":"CVE-2020-%05d","vendorProject":"Vendor %d","product":"Product","vulnerabilityName":"Vendor Product Remote Code Execution Vulnerability","dateAdded":"2022-03-25","shortDescription":"%s","requiredAction":"Apply mitigations per vendor instructions or discontinue use of the product if mitigations are unavailable.","dueDate":"2022-04-15","knownRansomwareCampaignUse":"Unknown","notes":"https://nvd.nist.gov/vuln/detail/CVE-2020-%05d","cwes":["CWE-78"]}`,
			i, i, strings.Repeat("A description of the flaw. ", 20), i)
	}
	s.WriteString("]}")
	if err := os.WriteFile(path, []byte(s.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		c, err := loadKEV(path)
		if err != nil || len(c.entries) != 1500 {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadEPSS(b *testing.B) {
	path := filepath.Join(b.TempDir(), "epss.csv.gz")
	var s strings.Builder
	s.WriteString("#model_version:v2025.03.14,score_date:2026-11-24T12:55:00Z\ncve,epss,percentile\n")
	for i := range 300000 {
		fmt.Fprintf(&s, "CVE-%d-%05d,0.%05d,0.%05d\n", 1999+i/20000, i%20000, i%99991, i%99989)
	}
	if err := os.WriteFile(path, gzipped(b, s.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	// A scan with a few hundred findings' CVEs.
	want := map[string]bool{}
	for i := range 300 {
		want[fmt.Sprintf("CVE-2010-%05d", i*7)] = true
	}
	b.ReportAllocs()
	for b.Loop() {
		sc, err := loadEPSS(path, want)
		if err != nil || len(sc.scores) != 300 {
			b.Fatalf("%v, %d scores", err, len(sc.scores))
		}
	}
}

// riskServer stands in for CISA's and FIRST's download sites; it counts
// the fetches and can be told to fail.
type riskServer struct {
	srv        *httptest.Server
	mu         sync.Mutex
	kev, epss  int
	failStatus int
}

func newRiskServer(t *testing.T) *riskServer {
	kev, epss := fixture(t, "known_exploited_vulnerabilities.json"), gzipped(t, fixture(t, "epss_scores-current.csv"))
	rs := &riskServer{}
	rs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs.mu.Lock()
		defer rs.mu.Unlock()
		if rs.failStatus != 0 {
			http.Error(w, "unavailable", rs.failStatus)
			return
		}
		switch r.URL.Path {
		case "/feeds/known_exploited_vulnerabilities.json":
			rs.kev++
			io.WriteString(w, kev)
		case "/epss_scores-current.csv.gz":
			rs.epss++
			w.Write(epss)
		case "/broken.json":
			io.WriteString(w, `<html>rate limited</html>`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(rs.srv.Close)
	return rs
}

func (rs *riskServer) counts() (int, int) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.kev, rs.epss
}

// Without an offline database, the KEV catalog and EPSS scores are
// fetched at run time (from injectable URLs: httptest here), kept in the
// cache directory and used again within a day; a fetch that fails fails
// closed unless the floor is off or a cached copy stands in; a stale
// copy fails closed as an offline file does.
func TestRiskDataFetchedAtRunTime(t *testing.T) {
	api := &fakeOSV{t: t, records: records(t, "npm"), matches: map[string][]string{
		"npm/send@0.18.0": {"GHSA-m6fv-jmcg-4jfg"}, "npm/serve-static@1.15.0": {"GHSA-cm22-4g7w-348p"},
	}}
	osv := httptest.NewServer(api)
	defer osv.Close()
	rs := newRiskServer(t)
	tree := npmTree(t, map[string]string{"send": "0.18.0", "serve-static": "1.15.0"})
	cache := t.TempDir()
	opts := func(mod func(*Options)) Options {
		o := Options{Root: tree, APIURL: osv.URL, FetchRisk: true, MaxDBAge: 7 * 24 * time.Hour,
			KEVURL: rs.srv.URL + "/feeds/known_exploited_vulnerabilities.json", EPSSURL: rs.srv.URL + "/epss_scores-current.csv.gz"}
		if mod != nil {
			mod(&o)
		}
		return o
	}
	annotated := func(res policy.ScanResult) (kev, epss int) {
		for _, f := range res.Findings {
			if f.KEV != nil {
				kev++
			}
			if f.EPSS != nil {
				epss++
			}
		}
		return kev, epss
	}

	// No cache directory: fetched into a temporary one, every run.
	for range 2 {
		res, err := scanDir(t, opts(nil))
		if err != nil {
			t.Fatal(err)
		}
		if k, e := annotated(res); k != 1 || e != 1 {
			t.Fatalf("%d findings with KEV, %d with EPSS, want 1 and 1; notes %q", k, e, res.Notes)
		}
	}
	if k, e := rs.counts(); k != 2 || e != 2 {
		t.Errorf("fetches without a cache: KEV %d EPSS %d, want 2 and 2", k, e)
	}

	// A page that is not the feed fails closed, naming what it is not.
	_, err := scanDir(t, opts(func(o *Options) { o.KEVURL = rs.srv.URL + "/broken.json" }))
	if err == nil || !strings.Contains(err.Error(), "not CISA's JSON feed") {
		t.Errorf("a broken download without a cache: error %v", err)
	}

	// With a cache directory: fetched once, then read from the cache.
	store, err := cachepkg.Open(cache, 0, testCacheKey)
	if err != nil {
		t.Fatal(err)
	}
	withCache := func(o *Options) { o.CacheDir, o.Cache = cache, store }
	for range 2 {
		if _, err := scanDir(t, opts(withCache)); err != nil {
			t.Fatal(err)
		}
	}
	// (the broken run fetched EPSS once more)
	if k, e := rs.counts(); k != 3 || e != 4 {
		t.Errorf("fetches with a cache: KEV %d EPSS %d, want one more each", k, e)
	}
	kevCopy := filepath.Join(cache, "risk", filepath.FromSlash(KEVFile))
	if _, err := os.Stat(kevCopy); err != nil {
		t.Fatalf("no cached copy: %v", err)
	}
	// Whoever can write the cache directory (a poisoned CI cache) cannot
	// turn the floors off: a KEV catalog of one unrelated entry, planted where
	// the copy is written, is not read, nor is an entry under another key.
	empty := fmt.Sprintf(`{"title":"CISA Catalog of Known Exploited Vulnerabilities","catalogVersion":"2026.11.24","dateReleased":"%s","count":1,"vulnerabilities":[{"cveID":"CVE-2000-0001","dateAdded":"2026-11-24","knownRansomwareCampaignUse":"Unknown"}]}`, now.Format(time.RFC3339))
	if err := os.WriteFile(kevCopy, []byte(empty), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := scanDir(t, opts(withCache))
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := annotated(res); k != 1 {
		t.Errorf("a planted KEV file was read: %d findings with KEV, want 1", k)
	}
	attacker, _ := cachepkg.Open(cache, 0, []byte("the attacker's own key, 32 bytes"))
	if _, err := scanDir(t, opts(func(o *Options) { withCache(o); o.Cache = attacker })); err != nil {
		t.Fatal(err)
	}
	if k, e := rs.counts(); k != 4 || e != 5 {
		t.Errorf("entries under another key must not be trusted: KEV %d EPSS %d fetches, want 4 and 5", k, e)
	}
	if _, err := scanDir(t, opts(withCache)); err != nil { // and the attacker's entries are replaced
		t.Fatal(err)
	}

	// The source down: with a copy fetched over a day ago, the copy stands
	// in (within deps.max_db_age); without one, the run fails closed.
	rs.mu.Lock()
	rs.failStatus = http.StatusServiceUnavailable
	rs.mu.Unlock()
	later := func(o *Options) { withCache(o); o.Now = now.Add(25 * time.Hour) } // the copies are over a day old
	res, err = scanDir(t, opts(later))
	if err != nil {
		t.Fatalf("a cached copy within deps.max_db_age must stand in: %v", err)
	}
	if k, e := annotated(res); k != 1 || e != 1 || !strings.Contains(strings.Join(res.Notes, "\n"), "fetching it failed") {
		t.Errorf("KEV %d EPSS %d, notes %q", k, e, res.Notes)
	}
	// ... but not a stale one: the fixtures are of 2026-11-24.
	_, err = scanDir(t, opts(func(o *Options) { withCache(o); o.Now = time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC) }))
	if err == nil || !strings.Contains(err.Error(), "over deps.max_db_age") || !strings.Contains(err.Error(), kevCopy) {
		t.Errorf("a stale cached copy: error %v, want it named and failing closed", err)
	}
	_, err = scanDir(t, opts(nil))
	if err == nil || !strings.Contains(err.Error(), "CISA's KEV catalog (the deps.kev floor): downloading "+rs.srv.URL) ||
		!strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "failing closed") || !strings.Contains(err.Error(), "FIRST's EPSS scores (the deps.epss floor)") {
		t.Errorf("unreachable source, no cache: error %v", err)
	}
	// A floor that is off needs nothing: the run passes without its data.
	res, err = scanDir(t, opts(func(o *Options) { o.KEVOff, o.EPSSOff = true, true }))
	if err != nil {
		t.Fatalf("both floors off: %v", err)
	}
	if k, e := annotated(res); k != 0 || e != 0 || !strings.Contains(strings.Join(res.Notes, "\n"), "deps.kev and deps.epss are off") {
		t.Errorf("floors off: KEV %d EPSS %d notes %q", k, e, res.Notes)
	}
	_, err = scanDir(t, opts(func(o *Options) { o.EPSSOff = true }))
	if err == nil || strings.Contains(err.Error(), "EPSS") {
		t.Errorf("KEV on, EPSS off, source down: error %v, want the KEV failure only", err)
	}
}
