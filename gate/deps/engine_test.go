package deps

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/secgate/secgate/policy"
)

// SECGATE_TEST_DEPS_ENGINE=osv-scanner runs every test of the package on
// the reference engine (osv-scanner v2.5.0's scanner) instead of the
// default one: the whole suite is then a differential test of the two,
// beside TestEnginesAgree.
func TestMain(m *testing.M) {
	switch os.Getenv("SECGATE_TEST_DEPS_ENGINE") {
	case "scalibr":
		defaultEngine = scalibrEngine{}
	case "osv-scanner":
		if !haveReference {
			fmt.Fprintln(os.Stderr, "SECGATE_TEST_DEPS_ENGINE=osv-scanner needs the reference engine: go test -tags osvscanner")
			os.Exit(2)
		}
		defaultEngine = referenceEngine(nil)
	}
	os.Exit(m.Run())
}

// corpus writes a tree with a lockfile of each common format, vulnerable
// packages from the shared database, and the cases osv-scanner treats
// specially: a go directive (left out), a local path and a git URL in
// requirements (reported, not matched), a workspace link, SBOMs.
func corpus(t *testing.T) string {
	t.Helper()
	root := copyTree(t, "npm", "python", "golang", "maven", "rust", "ruby", "fixed")
	files := map[string]string{
		"yarn/yarn.lock":                   "# yarn lockfile v1\n\n\nlodash@^4.17.15:\n  version \"4.17.15\"\n  resolved \"https://registry.yarnpkg.com/lodash/-/lodash-4.17.15.tgz\"\n\nminimist@1.2.5:\n  version \"1.2.5\"\n",
		"pnpm/pnpm-lock.yaml":              "lockfileVersion: '6.0'\n\ndependencies:\n  cookie:\n    specifier: 0.4.0\n    version: 0.4.0\n\npackages:\n\n  /cookie@0.4.0:\n    resolution: {integrity: sha512-aaaa}\n    engines: {node: '>= 0.6'}\n    dev: false\n",
		"poetry/poetry.lock":               "[[package]]\nname = \"Django\"\nversion = \"3.2.0\"\ndescription = \"\"\noptional = false\npython-versions = \">=3.6\"\n\n[[package]]\nname = \"PyYAML\"\nversion = \"5.3\"\ndescription = \"\"\noptional = false\npython-versions = \"*\"\n\n[metadata]\nlock-version = \"2.0\"\npython-versions = \"^3.8\"\ncontent-hash = \"x\"\n",
		"pipenv/Pipfile.lock":              `{"_meta":{"hash":{"sha256":"x"},"pipfile-spec":6,"requires":{},"sources":[]},"default":{"urllib3":{"version":"==1.26.4"},"jinja2":{"version":"==2.10"}},"develop":{"requests":{"version":"==2.19.0"}}}`,
		"local/requirements.txt":           "./vendor/mylib\ngit+https://github.com/psf/requests.git@v2.19.0#egg=requests\nrequests==2.19.0\nDjango_Rest==1.0\n",
		"gotool/go.mod":                    "module example.com/tool\n\ngo 1.21\n\nrequire golang.org/x/text v0.3.5\n",
		"ws/package-lock.json":             `{"name":"ws","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"ws","workspaces":["pkg/a"]},"node_modules/a":{"resolved":"pkg/a","link":true},"pkg/a":{"name":"a","version":"0.0.1"},"node_modules/qs":{"version":"6.5.2"}}}`,
		"sbom/app.cdx.json":                `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{"type":"library","name":"lodash","version":"4.17.15","purl":"pkg:npm/lodash@4.17.15"},{"type":"library","name":"jinja2","version":"2.10","purl":"pkg:pypi/jinja2@2.10"}]}`,
		"sbom/app.spdx.json":               `{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"app","documentNamespace":"https://example.com/app","creationInfo":{"created":"2024-01-01T00:00:00Z","creators":["Tool: test"]},"packages":[{"name":"minimist","SPDXID":"SPDXRef-minimist","versionInfo":"1.2.5","downloadLocation":"NOASSERTION","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:npm/minimist@1.2.5"}]}]}`,
		"gradle/gradle.lockfile":           "org.apache.logging.log4j:log4j-core:2.14.1=compileClasspath\ncom.h2database:h2:1.4.199=runtimeClasspath\nempty=\n",
		"crates/Cargo.lock":                "version = 3\n\n[[package]]\nname = \"time\"\nversion = \"0.1.43\"\n\n[[package]]\nname = \"regex\"\nversion = \"1.5.4\"\n",
		"nested/deep/er/package-lock.json": string(lockfile(map[string]string{"axios": "0.21.0", "follow-redirects": "1.14.0"})),
		"excluded/package-lock.json":       string(lockfile(map[string]string{"minimist": "1.2.0"})),
	}
	for name, content := range files {
		if err := writeFile(filepath.Join(root, name), []byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// scanWithBoth scans with the reference engine, then with the default
// one; a scan error fails the test.
func scanWithBoth(t *testing.T, opts Options) (ref, cur policy.ScanResult) {
	t.Helper()
	var err error
	withEngine(referenceEngine(t), func() { ref, err = scanDir(t, opts) })
	if err != nil {
		t.Fatal(err)
	}
	withEngine(scalibrEngine{}, func() { cur, err = scanDir(t, opts) })
	if err != nil {
		t.Fatal(err)
	}
	return ref, cur
}

// withEngine runs f with e as the engine of every scan.
func withEngine(e engine, f func()) {
	prev := defaultEngine
	defaultEngine = e
	defer func() { defaultEngine = prev }()
	f()
}

// canonical is a scan's whole result in a comparable form: findings and
// packages sorted, every field kept.
func canonical(t *testing.T, res policy.ScanResult, err error) string {
	t.Helper()
	slices.SortFunc(res.Findings, func(a, b policy.Finding) int {
		return strings.Compare(a.Fingerprint+a.Location.Version+a.ID, b.Fingerprint+b.Location.Version+b.ID)
	})
	pkgs, _ := json.Marshal(res.Packages)
	var ps []json.RawMessage
	_ = json.Unmarshal(pkgs, &ps)
	slices.SortFunc(ps, func(a, b json.RawMessage) int { return bytes.Compare(a, b) })
	res.Packages = nil
	b, jerr := json.MarshalIndent(struct {
		Result   policy.ScanResult
		Packages []json.RawMessage
		Err      string
	}{res, ps, fmt.Sprint(err)}, "", " ")
	if jerr != nil {
		t.Fatal(jerr)
	}
	return string(b)
}

// TestEnginesAgree is the differential test of the two engines: on the
// test corpora and the shared advisories, offline and through the API,
// for trees, a base revision and images, the osv-scalibr engine gives the
// scan result the osv-scanner engine gives — every finding with its
// advisory, aliases, score and tier source, fix, location, fingerprint
// and status; the packages of the SBOM; notes, warnings, coverage and
// errors. Making scalibrEngine's groupAliases not merge, or dropping its
// go-directive rule, fails it.
func TestEnginesAgree(t *testing.T) {
	root := corpus(t)
	recs := records(t, "npm")
	for id, b := range records(t, "PyPI") {
		recs[id] = b
	}
	api := &fakeOSV{t: t, records: recs, matches: map[string][]string{
		"npm/lodash@4.17.15":   {"GHSA-p6mc-m468-83gw", "GHSA-35jh-r3h4-6jhm", "GHSA-29mw-wpgm-hmr9"},
		"npm/minimist@1.2.5":   {"GHSA-xvch-5gv4-984h"},
		"npm/cookie@0.4.0":     {"GHSA-pxg6-pf52-xh8x"},
		"PyPI/requests@2.19.0": {"PYSEC-2023-74", "PYSEC-2018-28"},
	}}
	srv := httptest.NewServer(api)
	defer srv.Close()

	repoDir := t.TempDir()
	git(t, repoDir, "init", "-q", "-b", "main")
	if err := writeFile(filepath.Join(repoDir, "web", "package-lock.json"), lockfile(map[string]string{"lodash": "4.17.15"})); err != nil {
		t.Fatal(err)
	}
	git(t, repoDir, "add", ".")
	git(t, repoDir, "commit", "-qm", "base")
	if err := writeFile(filepath.Join(repoDir, "web", "package-lock.json"), lockfile(map[string]string{"lodash": "4.17.19", "minimist": "1.2.5"})); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(filepath.Join(repoDir, "api", "requirements.txt"), []byte("requests==2.19.0\nDjango==3.2\n")); err != nil {
		t.Fatal(err)
	}
	git(t, repoDir, "add", ".")
	git(t, repoDir, "commit", "-qm", "change")

	broken := copyTree(t, "npm")
	if err := writeFile(filepath.Join(broken, "bad", "package-lock.json"), []byte(`{"lockfileVersion": 3, "packages": {`)); err != nil {
		t.Fatal(err)
	}

	node := dockerArchive(t,
		map[string]string{"etc/hostname": "shop\n"},
		map[string]string{"app/node_modules/.package-lock.json": string(lockfile(map[string]string{"lodash": "4.17.15", "qs": "6.5.2"}))},
		map[string]string{"srv/requirements.txt": "requests==2.19.0\n", "srv/package-lock.json": string(lockfile(map[string]string{"minimist": "1.2.5"}))},
	)
	debian := dockerArchive(t, map[string]string{
		"etc/os-release":      "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
		"var/lib/dpkg/status": debianStatus,
	})
	// OS packages in layers: Debian (dpkg, a source package name) and
	// Alpine (apk, an origin name), each under a layer of npm's hidden
	// lockfile, matched against records written for this test (the shared
	// database has no OS data) beside the shared npm data.
	osDB := t.TempDir()
	if err := writeFile(filepath.Join(osDB, "osv-scalibr", "npm", "all.zip"), mustRead(t, filepath.Join(sharedDB, "osv-scalibr", "npm", "all.zip"))); err != nil {
		t.Fatal(err)
	}
	osZip := func(eco string, recs ...string) {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for i, r := range recs {
			w, err := zw.Create(fmt.Sprintf("R-%d.json", i))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write([]byte(r)); err != nil {
				t.Fatal(err)
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := writeFile(filepath.Join(osDB, "osv-scalibr", eco, "all.zip"), buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	osZip("Debian",
		`{"id":"DSA-9001-1","modified":"2026-11-20T00:00:00Z","aliases":["CVE-2022-37434"],"summary":"zlib: heap overflow","affected":[{"package":{"ecosystem":"Debian:12","name":"zlib"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:1.2.13.dfsg-1+deb12u1"}]}]}]}`,
		`{"id":"CVE-2022-37434","modified":"2026-11-20T00:00:00Z","upstream":["CVE-2022-37434"],"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],"affected":[{"package":{"ecosystem":"Debian:12","name":"zlib"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:1.2.13.dfsg-1+deb12u1"}]}]}]}`)
	osZip("Alpine",
		`{"id":"ALPINE-CVE-2022-37434","modified":"2026-11-20T00:00:00Z","upstream":["CVE-2022-37434"],"affected":[{"package":{"ecosystem":"Alpine:v3.16","name":"zlib"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.2.12-r2"}]}]}]}`)
	debianApp := dockerArchive(t,
		map[string]string{
			"etc/os-release":      "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
			"var/lib/dpkg/status": debianStatus,
		},
		map[string]string{"app/node_modules/.package-lock.json": string(lockfile(map[string]string{"minimist": "1.2.5"}))},
	)
	alpine := dockerArchive(t,
		map[string]string{
			"etc/os-release":       "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.16.2\nPRETTY_NAME=\"Alpine Linux v3.16\"\n",
			"lib/apk/db/installed": "C:Q1aaaaaaaaaaaaaaaaaaaaaaaaaaa=\nP:zlib\nV:1.2.12-r1\nA:x86_64\nS:53346\nI:110592\nT:A compression/decompression Library\nU:https://zlib.net/\nL:Zlib\no:zlib\nm:Natanael Copa <ncopa@alpinelinux.org>\n\nC:Q1bbbbbbbbbbbbbbbbbbbbbbbbbbb=\nP:zlib-dev\nV:1.2.12-r1\nA:x86_64\nS:53346\nI:110592\nT:zlib headers\nU:https://zlib.net/\nL:Zlib\no:zlib\n\n",
		},
		map[string]string{"srv/node_modules/.package-lock.json": string(lockfile(map[string]string{"cookie": "0.4.0"}))},
	)
	noMaven := t.TempDir()
	for _, eco := range []string{"npm", "PyPI", "Go", "crates.io", "RubyGems"} {
		if err := writeFile(filepath.Join(noMaven, "osv-scalibr", eco, "all.zip"), mustRead(t, filepath.Join(sharedDB, "osv-scalibr", eco, "all.zip"))); err != nil {
			t.Fatal(err)
		}
	}

	cases := []struct {
		name string
		opts Options
	}{
		{"testdata offline", Options{Root: "testdata", OfflineDB: sharedDB}},
		{"corpus offline", Options{Root: root, OfflineDB: sharedDB, Exclude: []string{"excluded"}}},
		{"corpus, an ecosystem's data missing", Options{Root: root, OfflineDB: noMaven}},
		{"npm and python through the API", Options{Root: copyTree(t, "npm", "python"), APIURL: srv.URL}},
		{"explicit lockfile", Options{Root: t.TempDir(), Lockfiles: []string{filepath.Join("testdata", "ruby", "Gemfile.lock")}, OfflineDB: sharedDB}},
		{"base revision", Options{Root: repoDir, OfflineDB: sharedDB, Base: "HEAD~1"}},
		{"a lockfile that does not parse", Options{Root: broken, OfflineDB: sharedDB}},
		{"a lockfile that does not parse, warn", Options{Root: broken, OfflineDB: sharedDB, SkipUnparsable: true}},
		{"no lockfile", Options{Root: t.TempDir(), OfflineDB: sharedDB}},
		{"image with installed packages", Options{Root: t.TempDir(), OfflineDB: sharedDB, Images: []string{"docker-archive:" + node}}},
		{"Debian image without Debian data", Options{Root: t.TempDir(), OfflineDB: sharedDB, Images: []string{"docker-archive:" + debian}}},
		{"Debian and Alpine images with OS data", Options{Root: t.TempDir(), OfflineDB: osDB, Images: []string{"docker-archive:" + debianApp, "docker-archive:" + alpine}}},
	}
	// The image reader's rules (imagefs_test.go), each in an image.
	for _, img := range ruleImages(t, hostFiles(t)) {
		cases = append(cases, struct {
			name string
			opts Options
		}{"image: " + img.name, Options{Root: t.TempDir(), OfflineDB: osDB, Images: []string{"docker-archive:" + img.archive}}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var want, got string
			var findings, packages int
			var err error
			withEngine(referenceEngine(t), func() {
				var res policy.ScanResult
				res, err = scanDir(t, c.opts)
				findings, packages = len(res.Findings), len(res.Packages)
				want = canonical(t, res, err)
			})
			withEngine(scalibrEngine{}, func() { res, err := scanDir(t, c.opts); got = canonical(t, res, err) })
			if got != want {
				t.Errorf("the engines disagree:\n%s", lineDiff(want, got))
			}
			t.Logf("%d findings, %d packages, error: %v", findings, packages, err)
		})
	}
}

// lineDiff lists the lines only one side has.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for _, l := range w {
		if !slices.Contains(g, l) {
			b.WriteString("- osv-scanner: " + l + "\n")
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			b.WriteString("+ scalibr:     " + l + "\n")
		}
	}
	return b.String()
}

// The one difference between the engines found: with the OSV API,
// osv-scanner v2.5.0 also ran its "vendored" detector (osv-scanner
// internal, not part of osv-scalibr): every directory under a directory
// named third_party, 3rdparty, deps, … had its files hashed and sent to
// osv.dev's experimental determineversion endpoint, to name vendored C/C++
// libraries as git commits. The osv-scalibr engine does not (it never ran
// offline either). This test holds the difference where it can be seen:
// the reference engine asks the endpoint (the fake API refuses it, so the
// scan fails closed), the default engine does not.
func TestEnginesDifferOnVendoredDirectories(t *testing.T) {
	api := &fakeOSV{t: t, records: records(t, "npm"), matches: map[string][]string{"npm/lodash@4.17.15": {"GHSA-p6mc-m468-83gw"}}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	root := copyTree(t, "npm")
	for _, f := range []string{"third_party/zlib/inflate.c", "third_party/zlib/zlib.h"} {
		if err := writeFile(filepath.Join(root, f), []byte("int x = 1;\n")); err != nil {
			t.Fatal(err)
		}
	}
	withEngine(scalibrEngine{}, func() {
		res, err := scanDir(t, Options{Root: root, APIURL: srv.URL})
		if err != nil || !found(res, "npm/package-lock.json", "lodash", "GHSA-p6mc-m468-83gw") {
			t.Errorf("scalibr engine: %v %v", err, ids(res))
		}
	})
	withEngine(referenceEngine(t), func() {
		// osv.dev's answer is not needed: the request is the difference.
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v1experimental/determineversion" {
				http.NotFound(w, r)
				return
			}
			api.ServeHTTP(w, r)
		}))
		defer srv.Close()
		_, err := scanDir(t, Options{Root: root, APIURL: srv.URL})
		if err == nil || !strings.Contains(err.Error(), "/v1experimental/determineversion") {
			t.Errorf("osv-scanner engine: err = %v, want its vendored-code query refused", err)
		}
	})
}

// BenchmarkEngines scans the corpus offline with each engine (the whole
// gate/deps scan: staging, matching, equivalents, conversion).
func BenchmarkEngines(b *testing.B) {
	for _, e := range []struct {
		name string
		e    func(testing.TB) engine
	}{{"osv-scanner", referenceEngine}, {"osv-scalibr", func(testing.TB) engine { return scalibrEngine{} }}} {
		b.Run(e.name, func(b *testing.B) {
			root := b.TempDir()
			for _, dir := range []string{"npm", "python", "golang", "maven", "rust", "ruby"} {
				if err := os.CopyFS(filepath.Join(root, dir), os.DirFS(filepath.Join("testdata", dir))); err != nil {
					b.Fatal(err)
				}
			}
			withEngine(e.e(b), func() {
				for b.Loop() {
					if _, err := New(Options{Root: root, OfflineDB: sharedDB, Now: now}).Scan(context.Background()); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// The other difference: osv-scanner v2.5.0 read a file named
// osv-scanner-custom.json anywhere in the tree (its own package-list
// format, an osv-scanner internal extractor); the osv-scalibr engine does
// not read it. The gate used it only for its own equivalent spellings,
// which the osv-scalibr engine matches directly.
func TestEnginesDifferOnOSVScannerCustomJSON(t *testing.T) {
	root := t.TempDir()
	custom := `{"results":[{"source":{"path":"x","type":"lockfile"},"packages":[{"package":{"name":"lodash","version":"4.17.15","ecosystem":"npm"}}]}]}`
	if err := writeFile(filepath.Join(root, "osv-scanner-custom.json"), []byte(custom)); err != nil {
		t.Fatal(err)
	}
	old, cur := scanWithBoth(t, Options{Root: root, OfflineDB: sharedDB})
	if !found(old, "osv-scanner-custom.json", "lodash", "GHSA-35jh-r3h4-6jhm") || len(cur.Findings) != 0 {
		t.Errorf("osv-scanner engine %v, osv-scalibr engine %v", ids(old), ids(cur))
	}
}
