package deps

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/secgate/secgate/policy"
)

// Issue 26: what the package manager installs is what the gate checks.
// Every case is scanned as written, through a symlink inside the tree (the
// case's lockfile a link to a file of another name elsewhere in the tree),
// and with a UTF-8 byte order mark at the start of the lockfile.

type layout string

const (
	asWritten   layout = "as written"
	throughLink layout = "through a symlink"
	withBOM     layout = "with a BOM"
)

// lay writes files into a new tree; the file named lockfile is written
// per the layout.
func lay(t *testing.T, files map[string]string, lockfile string, l layout) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		dst := filepath.Join(root, filepath.FromSlash(p))
		if p == lockfile {
			switch l {
			case withBOM:
				content = "\ufeff" + content
			case throughLink:
				target := filepath.Join(root, "shared", strings.ReplaceAll(p, "/", "-")+".pinned")
				if err := writeFile(target, []byte(content)); err != nil {
					t.Fatal(err)
				}
				rel, err := filepath.Rel(filepath.Dir(dst), target)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(rel, dst); err != nil {
					t.Fatal(err)
				}
				continue
			}
		}
		if err := writeFile(dst, []byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// found reports whether res has the advisory id (or an alias of it) for
// pkg in the file at path.
func found(res policy.ScanResult, path, pkg, id string) bool {
	for _, f := range res.Findings {
		if f.Location.Path == path && f.Location.Package == pkg && (f.ID == id || slices.Contains(f.Aliases, id)) {
			return true
		}
	}
	return false
}

func ids(res policy.ScanResult) []string {
	var out []string
	for _, f := range res.Findings {
		out = append(out, f.Location.Path+":"+f.Location.Package+"@"+f.Location.Version+":"+f.ID)
	}
	return out
}

type installCase struct {
	name     string
	files    map[string]string
	lockfile string // the file laid out as a link or with a BOM
	path     string // where the finding is reported
	pkg, id  string // the advisory pip or npm would install
	layouts  []layout
}

func runInstallCases(t *testing.T, cases []installCase) {
	t.Helper()
	for _, c := range cases {
		layouts := c.layouts
		if layouts == nil {
			layouts = []layout{asWritten, throughLink, withBOM}
		}
		for _, l := range layouts {
			t.Run(c.name+" "+string(l), func(t *testing.T) {
				root := lay(t, c.files, c.lockfile, l)
				res, err := scanDir(t, Options{Root: root, OfflineDB: sharedDB})
				if err != nil {
					t.Fatal(err)
				}
				if !found(res, c.path, c.pkg, c.id) {
					t.Errorf("%s of %s in %s not found; findings %v notes %v", c.id, c.pkg, c.path, ids(res), res.Notes)
				}
				// A high or critical advisory stops a production deployment (exit 1).
				d := policy.Default().Decide(res.Findings, policy.Context{Now: now, Environment: "production"})
				for _, f := range d.Findings {
					if (f.ID == c.id || slices.Contains(f.Aliases, c.id)) && (f.Severity == policy.Critical || f.Severity == policy.High) && !d.Blocking() {
						t.Errorf("%s is %s and the default policy does not block a production deployment", c.id, f.Severity)
					}
				}
			})
		}
	}
}

// TestEquivalentVersions: PYSEC-2023-192 (urllib3, CVSS 8.1) matches only
// through its explicit versions list (its GIT range comes first: see
// equivalent.go); pip installs 2.0.4 for each spelling. Removing the
// matchEquivalents call fails every case but the first.
func TestEquivalentVersions(t *testing.T) {
	var cases []installCase
	for _, v := range []string{"2.0.4", "v2.0.4", "V2.0.4", "02.0.04", "2.0.4.0", "2.00.4.0.0"} {
		cases = append(cases, installCase{
			name:     "urllib3==" + v,
			files:    map[string]string{"requirements.txt": "urllib3==" + v + "\n"},
			lockfile: "requirements.txt", path: "requirements.txt", pkg: "urllib3", id: "PYSEC-2023-192",
		})
	}
	runInstallCases(t, cases)
}

func TestPEP440Spellings(t *testing.T) {
	for v, want := range map[string][]string{
		"1.24.1":            {"1.24.1"},
		"v1.24.1":           {"1.24.1"},
		"01.24.01":          {"1.24.1"},
		"1.24.1.0":          {"1.24.1", "1.24.1.0"},
		"2.0":               {"2", "2.0", "2.0.0"},
		"1!2.0.0":           {"1!2", "1!2.0", "1!2.0.0"},
		"0!1.2.3":           {"1.2.3"},
		"1.0RC1":            {"1rc1", "1.0rc1", "1.0.0rc1"},
		"1.2.3-Alpha_2":     {"1.2.3a2"},
		"1.2.3.preview":     {"1.2.3rc0"},
		"1.2.3-4":           {"1.2.3.post4"},
		"1.2.3_rev":         {"1.2.3.post0"},
		"1.2.3-DEV-01":      {"1.2.3.dev1"},
		"1.2.3+Ubuntu_01.x": {"1.2.3+ubuntu.1.x"},
		"not a version":     nil,
		"1.2.3; x":          nil,
	} {
		if got := pep440Spellings(v); !slices.Equal(got, want) {
			t.Errorf("%q: %q, want %q", v, got, want)
		}
	}
}

// lockfileCases are the testdata lockfiles of every ecosystem, each with
// a high or critical advisory of the shared database.
func lockfileCases(t *testing.T) []installCase {
	read := func(p string) string { return string(mustRead(t, filepath.Join("testdata", p))) }
	return []installCase{
		{name: "requirements.txt", files: map[string]string{"requirements.txt": "urllib3==2.0.4\n"}, lockfile: "requirements.txt", path: "requirements.txt", pkg: "urllib3", id: "PYSEC-2023-192"},
		{name: "requirements.txt, first line", files: map[string]string{"requirements.txt": read("python/requirements.txt")}, lockfile: "requirements.txt", path: "requirements.txt", pkg: "requests", id: "GHSA-j8r2-6x86-q33q"},
		{name: "package-lock.json", files: map[string]string{"web/package-lock.json": read("npm/package-lock.json")}, lockfile: "web/package-lock.json", path: "web/package-lock.json", pkg: "minimist", id: "GHSA-xvch-5gv4-984h"},
		{name: "pom.xml", files: map[string]string{"billing/pom.xml": read("maven/pom.xml")}, lockfile: "billing/pom.xml", path: "billing/pom.xml", pkg: "org.apache.logging.log4j:log4j-core", id: "CVE-2021-44228"},
		{name: "Cargo.lock", files: map[string]string{"Cargo.lock": read("rust/Cargo.lock")}, lockfile: "Cargo.lock", path: "Cargo.lock", pkg: "smallvec", id: "RUSTSEC-2021-0003"},
		{name: "Gemfile.lock", files: map[string]string{"app/Gemfile.lock": read("ruby/Gemfile.lock")}, lockfile: "app/Gemfile.lock", path: "app/Gemfile.lock", pkg: "rack", id: "GHSA-hxqx-xwvh-44m2"},
		{name: "go.mod", files: map[string]string{"go.mod": read("golang/go.mod")}, lockfile: "go.mod", path: "go.mod", pkg: "golang.org/x/net", id: "GO-2023-1988"},
	}
}

// TestSymlinkedLockfiles (item 1): a lockfile that is a link to another
// file of the tree is read, and reported at the link's path. Removing the
// staging of links (prepare) fails every case.
func TestSymlinkedLockfiles(t *testing.T) {
	cases := lockfileCases(t)
	for i := range cases {
		cases[i].layouts = []layout{throughLink}
	}
	runInstallCases(t, cases)
}

// TestByteOrderMark (item 2): a UTF-8 BOM is read past, as pip, npm,
// cargo and bundler do. Without the staging, the requirements cases lose
// their first line silently and the JSON and XML ones fail to parse.
func TestByteOrderMark(t *testing.T) {
	cases := lockfileCases(t)
	for i := range cases {
		cases[i].layouts = []layout{withBOM}
	}
	runInstallCases(t, cases)
}

// TestLinksLeavingTheTree: a link out of the tree is not read, and
// coverage lists it: a file link with a lockfile's name, a directory link.
func TestLinksLeavingTheTree(t *testing.T) {
	outside := t.TempDir()
	if err := writeFile(filepath.Join(outside, "requirements.txt"), []byte("urllib3==2.0.4\n")); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for link, target := range map[string]string{
		"requirements.txt":  filepath.Join(outside, "requirements.txt"),
		"vendor/lib":        outside,
		"package-lock.json": filepath.Join(outside, "nowhere.json"),     // broken
		"notes.md":          filepath.Join(outside, "requirements.txt"), // not a lockfile's name: not listed
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, link)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := writeFile(filepath.Join(root, "api", "requirements.txt"), []byte("requests==2.19.0\n")); err != nil {
		t.Fatal(err)
	}
	res, err := scanDir(t, Options{Root: root, OfflineDB: sharedDB})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Findings {
		if f.Location.Package == "urllib3" {
			t.Errorf("a file outside the tree was read: %v", ids(res))
		}
	}
	if !found(res, "api/requirements.txt", "requests", "GHSA-j8r2-6x86-q33q") {
		t.Errorf("the tree's own lockfile: %v", ids(res))
	}
	var listed []string
	for _, sk := range res.Coverage.Skipped {
		if sk.What == "symlink" {
			listed = append(listed, sk.Paths...)
		}
	}
	slices.Sort(listed)
	if want := []string{"package-lock.json", "requirements.txt", "vendor/lib"}; !slices.Equal(listed, want) {
		t.Errorf("coverage lists the links %v, want %v", listed, want)
	}
}

// TestRequirementsLayouts (item 4): the Django and pip-tools layouts, and
// the files a requirements file includes, are read as pip reads them.
// Without the default deps.lockfile_patterns and the include following,
// every case finds nothing.
func TestRequirementsLayouts(t *testing.T) {
	const pin = "urllib3==2.0.4\n" // PYSEC-2023-192, CVSS 8.1
	c := func(name string, files map[string]string, lockfile string) installCase {
		return installCase{name: name, files: files, lockfile: lockfile, path: lockfile, pkg: "urllib3", id: "PYSEC-2023-192"}
	}
	runInstallCases(t, []installCase{
		c("requirements/production.txt", map[string]string{"requirements/production.txt": "-r base.txt\n" + pin, "requirements/base.txt": "requests==2.31.0\n"}, "requirements/production.txt"),
		c("requirements/base.txt, included", map[string]string{"requirements/production.txt": "-r base.txt\ndjango==4.2.16\n", "requirements/base.txt": pin}, "requirements/base.txt"),
		c("requirements.in", map[string]string{"requirements.in": "# pip-compile input\n" + pin}, "requirements.in"),
		c("requirements-dev.in", map[string]string{"backend/requirements-dev.in": pin}, "backend/requirements-dev.in"),
		c("constraints.txt", map[string]string{"constraints.txt": pin}, "constraints.txt"),
		c("-c of requirements.txt", map[string]string{"requirements.txt": "-c pins/prod.pip\nurllib3\n", "pins/prod.pip": pin}, "pins/prod.pip"),
		c("--constraint= of requirements.in", map[string]string{"requirements.in": "--constraint=shared/pins.pip\nurllib3\n", "shared/pins.pip": pin}, "shared/pins.pip"),
		c("--requirement of requirements/production.txt", map[string]string{"requirements/production.txt": "--requirement ../common/base.pip\n", "common/base.pip": pin}, "common/base.pip"),
	})
}

// TestLockfilePatternsOption: deps.lockfile_patterns replaces the
// defaults; an include leaving the tree is listed, not read.
func TestLockfilePatternsOption(t *testing.T) {
	root := lay(t, map[string]string{"deps/prod.pip": "urllib3==2.0.4\n", "requirements.in": "requests==2.19.0\n"}, "", asWritten)
	res, err := scanDir(t, Options{Root: root, OfflineDB: sharedDB, LockfilePatterns: map[string][]string{"PyPI": {"deps/*.pip"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !found(res, "deps/prod.pip", "urllib3", "PYSEC-2023-192") || found(res, "requirements.in", "requests", "GHSA-j8r2-6x86-q33q") {
		t.Errorf("patterns deps/*.pip only: findings %v", ids(res))
	}

	outside := t.TempDir()
	if err := writeFile(filepath.Join(outside, "base.txt"), []byte("urllib3==2.0.4\n")); err != nil {
		t.Fatal(err)
	}
	root = lay(t, map[string]string{"requirements.in": "-c " + filepath.Join(outside, "base.txt") + "\n-r ../../" + filepath.Base(outside) + "/base.txt\nrequests==2.19.0\n"}, "", asWritten)
	res, err = scanDir(t, Options{Root: root, OfflineDB: sharedDB})
	if err != nil {
		t.Fatal(err)
	}
	if found(res, "requirements.in", "urllib3", "PYSEC-2023-192") || !found(res, "requirements.in", "requests", "GHSA-j8r2-6x86-q33q") {
		t.Errorf("an include outside the tree was read, or the file was not: %v", ids(res))
	}
	var listed []string
	for _, sk := range res.Coverage.Skipped {
		if sk.What == "requirements file" {
			listed = append(listed, sk.Paths...)
		}
	}
	if !slices.Equal(listed, []string{"requirements.in"}) {
		t.Errorf("coverage lists %v, want requirements.in (and not the include's text): %+v", listed, res.Coverage.Skipped)
	}
}

// TestLockfileThatGivesNothing (item 5): a file with a lockfile's name
// that declares packages and gives none is an error naming it (exit 2), or
// with deps.unparsable: warn a warning and a coverage entry; one that
// declares none is no error. Removing the unreadLockfiles calls fails the
// "declares" rows.
func TestLockfileThatGivesNothing(t *testing.T) {
	for _, tt := range []struct {
		name, file, content string
		declares            bool
	}{
		{"requirements with an environment variable", "requirements.txt", "# pinned by CI\nurllib3==${URLLIB3_VERSION}\n", true},
		{"Gemfile.lock with specs it skips", "app/Gemfile.lock", "GEM\n  remote: https://rubygems.org/\n  specs:\n    rack\n\nPLATFORMS\n  ruby\n", true},
		{"requirements, comments and options only", "requirements.txt", "# nothing pinned yet\n--index-url https://pypi.org/simple\n\n", false},
		{"package-lock.json of a project without dependencies", "package-lock.json", `{"name": "x", "lockfileVersion": 3, "requires": true, "packages": {"": {"name": "x", "version": "1.0.0"}}}`, false},
		{"parent pom.xml", "pom.xml", `<project><modelVersion>4.0.0</modelVersion><groupId>a</groupId><artifactId>parent</artifactId><version>1</version><packaging>pom</packaging><!-- <dependency> --><modules><module>app</module></modules></project>`, false},
		{"go.mod without requirements", "go.mod", "module example.com/x\n\ngo 1.22\n", false},
	} {
		for _, l := range []layout{asWritten, throughLink, withBOM} {
			t.Run(tt.name+" "+string(l), func(t *testing.T) {
				files := map[string]string{tt.file: tt.content, "api/requirements.txt": "requests==2.19.0\n"}
				root := lay(t, files, tt.file, l)
				res, err := scanDir(t, Options{Root: root, OfflineDB: sharedDB})
				if !tt.declares {
					if err != nil || len(res.Warnings) > 0 {
						t.Errorf("err %v warnings %v, want neither", err, res.Warnings)
					}
					return
				}
				if err == nil || !strings.HasPrefix(err.Error(), tt.file+": read as ") || !strings.Contains(err.Error(), "declares packages and gave none") {
					t.Fatalf("err = %v, want an error naming %s", err, tt.file)
				}
				if strings.Contains(err.Error(), "URLLIB3") || strings.Contains(err.Error(), "rack") {
					t.Errorf("the error quotes the file: %v", err)
				}
				res, err = scanDir(t, Options{Root: root, OfflineDB: sharedDB, SkipUnparsable: true})
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Warnings) != 1 || !strings.HasPrefix(res.Warnings[0], tt.file+": ") {
					t.Errorf("warnings %v, want one naming %s", res.Warnings, tt.file)
				}
				listed := false
				for _, sk := range res.Coverage.Skipped {
					listed = listed || sk.What == "lockfile" && slices.Contains(sk.Paths, tt.file)
				}
				if !listed || !found(res, "api/requirements.txt", "requests", "GHSA-j8r2-6x86-q33q") {
					t.Errorf("coverage %+v findings %v: want %s listed and the other file scanned", res.Coverage.Skipped, ids(res), tt.file)
				}
			})
		}
	}
	// Alone in the tree it used to read as "no lockfile found".
	root := lay(t, map[string]string{"requirements.txt": "urllib3==${URLLIB3_VERSION}\n"}, "", asWritten)
	if _, err := scanDir(t, Options{Root: root, OfflineDB: sharedDB}); err == nil || !strings.Contains(err.Error(), "requirements.txt: read as python/requirements") {
		t.Errorf("a tree whose only lockfile gave nothing: err = %v", err)
	}
}

// TestNewVersusExistingThroughALink: a lockfile that is a link is compared
// with the base revision's version of the file it leads to, not with the
// link's text; a BOM'd lockfile of the base is read like the change's.
func TestNewVersusExistingThroughALink(t *testing.T) {
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	for p, c := range map[string]string{
		"shared/pins.txt":             "urllib3==2.0.4\n",
		"web/package-lock.json":       "\ufeff" + string(lockfile(map[string]string{"lodash": "4.17.15"})),
		"requirements/base.txt":       "requests==2.19.0\n",
		"requirements/production.txt": "-r base.txt\n",
		"requirements.in":             "--requirement common/base.pip\n", // includes only: it gives no package itself
		"common/base.pip":             "jinja2==2.10\n",
	} {
		if err := writeFile(filepath.Join(dir, p), []byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("shared/pins.txt", filepath.Join(dir, "requirements.txt")); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "base")
	if err := writeFile(filepath.Join(dir, "web", "package-lock.json"), []byte("\ufeff"+string(lockfile(map[string]string{"lodash": "4.17.15", "minimist": "1.2.5"})))); err != nil {
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
		status[f.Location.Path+" "+f.Location.Package+" "+f.ID] = f.Status
	}
	for k, want := range map[string]policy.Status{
		"requirements.txt urllib3 PYSEC-2023-192":            policy.StatusExisting,
		"web/package-lock.json lodash GHSA-35jh-r3h4-6jhm":   policy.StatusExisting,
		"web/package-lock.json minimist GHSA-xvch-5gv4-984h": policy.StatusNew,
		"requirements/base.txt requests GHSA-j8r2-6x86-q33q": policy.StatusExisting,
		"common/base.pip jinja2 PYSEC-2019-217":              policy.StatusExisting,
	} {
		if status[k] != want {
			t.Errorf("%s: status %q, want %q (all: %v)", k, status[k], want, status)
		}
	}
}

func TestLockfilePatternMatch(t *testing.T) {
	ps, err := compilePatterns(map[string][]string{"PyPI": {"requirements/*.txt", "requirements*.in", "constraints*.txt", "deps/**/pins.pip"}})
	if err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]bool{
		"requirements/production.txt":       true,
		"backend/requirements/base.txt":     true,
		"requirements/sub/base.txt":         false,
		"requirements.txt/x.txt":            false,
		"requirements.in":                   true,
		"svc/requirements-dev.in":           true,
		"constraints.txt":                   true,
		"a/b/constraints-prod.txt":          true,
		"constraints.txt.bak":               false,
		"deps/pins.pip":                     true,
		"x/deps/a/b/pins.pip":               true,
		"deps/a/other.pip":                  false,
		"notrequirements/production.txt.gz": false,
	} {
		if got := ps.match(rel) == "PyPI"; got != want {
			t.Errorf("%s: %v, want %v", rel, got, want)
		}
	}
}

// TestEquivalentsAgainstPipAndNpm compares the spellings with what pip's
// and npm's own version libraries say, where they are installed (Debian's
// python3-packaging; npm's bundled semver): every spelling equal to the
// version as written, the library's normal form among them, and nothing
// for what they refuse. Skipped without them.
func TestEquivalentsAgainstPipAndNpm(t *testing.T) {
	pypi := []string{"1.24.1", "v1.24.1", "V1.24.1", "01.24.01", "1.24.1.0", "1.24.1.0.0", "2", "2.0", "1!2.0", "0!2.0",
		"1.0RC1", "1.0-rc.1", "1.0c1", "1.0alpha", "1.0.b2", "1.0preview3", "1.0-1", "1.0.post2", "1.0_r3", "1.0rev",
		"1.0.dev0", "1.0-DEV-05", "1.0a1.post2.dev3", "1.0+Local.01_x", " 1.0 ", "1.0.", "1..0", "latest", "1.0+", "v"}
	t.Run("pip", func(t *testing.T) {
		check := `
import json, sys
from packaging.version import Version, InvalidVersion
bad = []
for v, ours in json.load(sys.stdin):
    try:
        want = Version(v)
    except InvalidVersion:
        if ours: bad.append([v, ours, "packaging refuses it"])
        continue
    if str(want) not in ours and str(want) != v.strip():
        bad.append([v, ours, "missing " + str(want)])
    for s in ours:
        if Version(s) != want: bad.append([v, ours, s + " is another version"])
print(json.dumps(bad))
`
		python := ""
		for _, p := range []string{"python3", "/usr/bin/python3"} { // Debian's, when a pyenv one comes first
			if exec.Command(p, "-c", "import packaging").Run() == nil {
				python = p
				break
			}
		}
		if python == "" {
			t.Skip("python3 with packaging is not installed")
		}
		var in [][2]any
		for _, v := range pypi {
			in = append(in, [2]any{v, pep440Spellings(v)})
		}
		b, _ := json.Marshal(in)
		cmd := exec.Command(python, "-c", check)
		cmd.Stdin = bytes.NewReader(b)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(string(out)) != "[]" {
			t.Errorf("disagreements with packaging: %s", out)
		}
	})
	t.Run("npm", func(t *testing.T) {
		npm, err := exec.LookPath("npm")
		if err != nil {
			t.Skip("npm is not installed")
		}
		real, err := filepath.EvalSymlinks(npm)
		if err != nil {
			t.Skip(err)
		}
		semver := filepath.Join(filepath.Dir(real), "..", "node_modules", "semver")
		if _, err := os.Stat(semver); err != nil {
			t.Skip("npm's semver not found")
		}
		vs := []string{"1.2.5", "v1.2.5", "=1.2.5", "=v1.2.5", "v=1.2.5", " v1.2.5 ", "vv1.2.5", "1.2.5+build.7", "v1.2.5-beta.1+x", "1.2.5-rc.1"}
		b, _ := json.Marshal(vs)
		out, err := exec.Command("node", "-e", `const s = require(process.argv[1]); console.log(JSON.stringify(JSON.parse(process.argv[2]).map(v => s.clean(v))))`, semver, string(b)).Output()
		if err != nil {
			t.Fatal(err)
		}
		var clean []*string
		if err := json.Unmarshal(out, &clean); err != nil {
			t.Fatal(err)
		}
		for i, v := range vs {
			got := equivalents("npm", v)
			switch {
			case clean[i] == nil:
				t.Errorf("%q: semver refuses it; pick a valid case", v)
			case *clean[i] == v && len(got) != 0, *clean[i] != v && !slices.Equal(got, []string{*clean[i]}):
				t.Errorf("%q: %q, semver.clean gives %q", v, got, *clean[i])
			}
		}
	})
}

// TestNpmReadsWhatTheGateReads: for the same files, npm's own reading of
// the lockfile (npm ls --package-lock-only --offline: no network) lists
// minimist 1.2.5, and the gate finds its critical advisory there: as
// written, through a link, with a BOM, with a v prefix. Skipped without npm.
func TestNpmReadsWhatTheGateReads(t *testing.T) {
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm is not installed")
	}
	lock := func(version string) string {
		return `{"name":"x","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"x","version":"1.0.0","dependencies":{"minimist":"1.2.5"}},` +
			`"node_modules/minimist":{"version":"` + version + `","resolved":"https://registry.npmjs.org/minimist/-/minimist-1.2.5.tgz"}}}`
	}
	for _, version := range []string{"1.2.5", "v1.2.5"} {
		for _, l := range []layout{asWritten, throughLink, withBOM} {
			t.Run(version+" "+string(l), func(t *testing.T) {
				root := lay(t, map[string]string{
					"web/package.json":      `{"name":"x","version":"1.0.0","dependencies":{"minimist":"1.2.5"}}`,
					"web/package-lock.json": lock(version),
				}, "web/package-lock.json", l)
				cmd := exec.Command("npm", "ls", "--package-lock-only", "--offline", "--json")
				cmd.Dir = filepath.Join(root, "web")
				cmd.Env = append(os.Environ(), "npm_config_cache="+t.TempDir(), "npm_config_update_notifier=false", "npm_config_audit=false", "npm_config_fund=false")
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("npm ls: %v\n%s", err, out)
				}
				var tree struct {
					Dependencies map[string]struct{ Version string }
				}
				if err := json.Unmarshal(out, &tree); err != nil {
					t.Fatalf("npm ls: %v\n%s", err, out)
				}
				if got := tree.Dependencies["minimist"].Version; strings.TrimPrefix(got, "v") != "1.2.5" {
					t.Fatalf("npm reads minimist %q", got)
				}
				res, err := scanDir(t, Options{Root: root, OfflineDB: sharedDB})
				if err != nil {
					t.Fatal(err)
				}
				if !found(res, "web/package-lock.json", "minimist", "GHSA-xvch-5gv4-984h") {
					t.Errorf("npm installs minimist 1.2.5, the gate finds %v", ids(res))
				}
			})
		}
	}
}

// TestPipReadsWhatTheGateReads: pip's own requirements parser (pip's
// parse_requirements: the BOM, -r/-c includes relative to the including
// file, links) on the file a user hands to pip says urllib3 2.0.4 is
// installed or pinned, and the gate finds PYSEC-2023-192 for it. Skipped
// without a python3 with pip.
func TestPipReadsWhatTheGateReads(t *testing.T) {
	const parse = `
import json, sys
from pip._internal.req.req_file import parse_requirements
from pip._internal.network.session import PipSession
from pip._vendor.packaging.requirements import Requirement
out = {}
for path in sys.argv[1:]:
    out[path] = []
    for r in parse_requirements(path, session=PipSession()):
        req = Requirement(r.requirement)
        out[path].append([req.name.lower(), req.specifier.contains("2.0.4", prereleases=True) and len(req.specifier) > 0])
print(json.dumps(out))
`
	python := ""
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(p, "-c", "import pip._internal.req.req_file").Run() == nil {
			python = p
			break
		}
	}
	if python == "" {
		t.Skip("no python3 with pip")
	}
	const pin = "urllib3==2.0.4\n"
	type tree struct{ name, root, entry string }
	var trees []tree
	for _, c := range []struct {
		name, entry string // the file given to pip -r
		files       map[string]string
		lockfile    string // laid out as a link or with a BOM
	}{
		{"requirements.txt", "requirements.txt", map[string]string{"requirements.txt": pin}, "requirements.txt"},
		{"a v prefix", "requirements.txt", map[string]string{"requirements.txt": "urllib3==v2.0.4\n"}, "requirements.txt"},
		{"trailing zero", "requirements.txt", map[string]string{"requirements.txt": "urllib3==2.0.4.0\n"}, "requirements.txt"},
		{"requirements/ with -r", "requirements/production.txt", map[string]string{"requirements/production.txt": "-r base.txt\n", "requirements/base.txt": pin}, "requirements/base.txt"},
		{"-c pins", "requirements.txt", map[string]string{"requirements.txt": "-c pins/prod.pip\nurllib3\n", "pins/prod.pip": pin}, "pins/prod.pip"},
		{"--requirement", "requirements.in", map[string]string{"requirements.in": "--requirement common/base.pip\n", "common/base.pip": pin}, "common/base.pip"},
	} {
		for _, l := range []layout{asWritten, throughLink, withBOM} {
			root := lay(t, c.files, c.lockfile, l)
			trees = append(trees, tree{c.name + " " + string(l), root, filepath.Join(root, c.entry)})
		}
	}
	// One pip process for all (importing pip takes a second or two).
	args := []string{"-c", parse}
	for _, tr := range trees {
		args = append(args, tr.entry)
	}
	out, err := exec.Command(python, args...).Output()
	if err != nil {
		t.Fatalf("pip: %v\n%s", err, out)
	}
	var reqs map[string][][2]any
	if err := json.Unmarshal(out, &reqs); err != nil {
		t.Fatalf("pip: %v\n%s", err, out)
	}
	for _, tr := range trees {
		t.Run(tr.name, func(t *testing.T) {
			if !slices.ContainsFunc(reqs[tr.entry], func(r [2]any) bool { return r[0] == "urllib3" && r[1] == true }) {
				t.Fatalf("pip reads %v: no urllib3 2.0.4 pin", reqs[tr.entry])
			}
			res, err := scanDir(t, Options{Root: tr.root, OfflineDB: sharedDB})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(res.Findings, func(f policy.Finding) bool {
				return f.Location.Package == "urllib3" && (f.ID == "PYSEC-2023-192" || slices.Contains(f.Aliases, "PYSEC-2023-192"))
			}) {
				t.Errorf("pip pins urllib3 2.0.4, the gate finds %v", ids(res))
			}
		})
	}
}

// TestExplicitLockfileWithBOM: a --lockfile outside the tree is read past
// its BOM too, and reported at its own path.
func TestExplicitLockfileWithBOM(t *testing.T) {
	extra := filepath.Join(t.TempDir(), "requirements.txt")
	if err := writeFile(extra, []byte("\ufeffurllib3==2.0.4\n")); err != nil {
		t.Fatal(err)
	}
	res, err := scanDir(t, Options{Root: t.TempDir(), Lockfiles: []string{extra}, OfflineDB: sharedDB})
	if err != nil {
		t.Fatal(err)
	}
	if !found(res, extra, "urllib3", "PYSEC-2023-192") {
		t.Errorf("findings %v", ids(res))
	}
}

// TestRootThroughALink: the scanned path itself goes through a link (a
// runner's workspace, /tmp on some systems): links inside the tree are
// still inside it.
func TestRootThroughALink(t *testing.T) {
	real := lay(t, map[string]string{"requirements.txt": "urllib3==2.0.4\n"}, "requirements.txt", throughLink)
	root := filepath.Join(t.TempDir(), "workspace")
	if err := os.Symlink(real, root); err != nil {
		t.Fatal(err)
	}
	res, err := scanDir(t, Options{Root: root, OfflineDB: sharedDB})
	if err != nil {
		t.Fatal(err)
	}
	if !found(res, "requirements.txt", "urllib3", "PYSEC-2023-192") || len(res.Coverage.Skipped) > 0 {
		t.Errorf("findings %v skipped %+v", ids(res), res.Coverage.Skipped)
	}
}

// TestOtherEcosystemsSpellings: what issue 26 asked to check beyond PyPI.
// npm: a v or = prefix in a lockfile (npm keeps it and installs the
// version: TestNpmReadsWhatTheGateReads); Maven: a qualifier in another
// case (Maven compares qualifiers without case, and osv-scalibr's Maven
// ranges do too; the shared database's Maven and npm records have ranges,
// no versions-only entry). Each finds its advisory, through the ranges:
// these rows pass without the equivalents pass too, which only matters for
// an npm advisory that lists versions alone.
func TestOtherEcosystemsSpellings(t *testing.T) {
	pom := func(v string) string {
		return `<project><modelVersion>4.0.0</modelVersion><groupId>a</groupId><artifactId>b</artifactId><version>1</version><dependencies><dependency>` +
			`<groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>` + v + `</version></dependency></dependencies></project>`
	}
	npmLock := func(v string) string {
		return `{"name":"x","version":"1.0.0","lockfileVersion":3,"packages":{"":{"name":"x","version":"1.0.0"},"node_modules/minimist":{"version":"` + v + `"}}}`
	}
	var cases []installCase
	for _, v := range []string{"2.0-beta9", "2.0-BETA9", "2.0-Beta9"} {
		cases = append(cases, installCase{name: "log4j-core " + v, files: map[string]string{"pom.xml": pom(v)}, lockfile: "pom.xml", path: "pom.xml", pkg: "org.apache.logging.log4j:log4j-core", id: "CVE-2021-44228"})
	}
	for _, v := range []string{"1.2.5", "v1.2.5", "=1.2.5", "1.2.5+build.1"} {
		cases = append(cases, installCase{name: "minimist " + v, files: map[string]string{"package-lock.json": npmLock(v)}, lockfile: "package-lock.json", path: "package-lock.json", pkg: "minimist", id: "GHSA-xvch-5gv4-984h"})
	}
	runInstallCases(t, cases)
}

// TestStagedCopyThatDoesNotParse: a BOM'd lockfile that is broken past its
// BOM is an error naming it at its path in the tree; with deps.unparsable:
// warn it is skipped and the other lockfiles are scanned.
func TestStagedCopyThatDoesNotParse(t *testing.T) {
	for _, l := range []layout{withBOM, throughLink} {
		t.Run(string(l), func(t *testing.T) {
			root := lay(t, map[string]string{"web/package-lock.json": `{"lockfileVersion": 3, "packages": {`, "api/requirements.txt": "requests==2.19.0\n"}, "web/package-lock.json", l)
			_, err := scanDir(t, Options{Root: root, OfflineDB: sharedDB})
			if err == nil || !strings.HasPrefix(err.Error(), "web/package-lock.json: cannot parse") {
				t.Errorf("err = %v, want web/package-lock.json named", err)
			}
			res, err := scanDir(t, Options{Root: root, OfflineDB: sharedDB, SkipUnparsable: true})
			if err != nil {
				t.Fatal(err)
			}
			listed := false
			for _, sk := range res.Coverage.Skipped {
				listed = listed || sk.What == "lockfile" && len(sk.Paths) == 1 && strings.HasPrefix(sk.Paths[0], "web/package-lock.json: ")
			}
			if !listed || !found(res, "api/requirements.txt", "requests", "GHSA-j8r2-6x86-q33q") {
				t.Errorf("coverage %+v findings %v", res.Coverage.Skipped, ids(res))
			}
		})
	}
}

// With nowhere to write the library's input (a read-only container: no
// writable TMPDIR, no .git), the versions are matched as the lockfile
// spells them, and the report warns that the other spellings were not:
// the scan is not an error (the image runs with a read-only root), and not
// silent either.
func TestEquivalentsWithoutScratch(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "absent"))
	root := t.TempDir()
	// 2.0.4 matches PYSEC-2023-192 only through the list; requests 2.19.0
	// through ranges, as written
	if err := os.WriteFile(filepath.Join(root, "requirements.txt"), []byte("urllib3==v2.0.4\nrequests==2.19.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := scanDir(t, Options{Root: root, OfflineDB: sharedDB})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	if !found(res, "requirements.txt", "requests", "GHSA-j8r2-6x86-q33q") {
		t.Errorf("the spelling as written was not matched: %v", ids(res))
	}
	if _, ok := defaultEngine.(scalibrEngine); ok {
		// osv-scalibr's matcher is given the spellings directly: nothing
		// is written, so they are matched even here.
		if !found(res, "requirements.txt", "urllib3", "PYSEC-2023-192") || len(res.Warnings) > 0 {
			t.Errorf("findings %v warnings %q: the spelling pip installs was not matched", ids(res), res.Warnings)
		}
		return
	}
	if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "equivalent version spellings not matched") }) {
		t.Errorf("warnings %q do not say the equivalent spellings were not matched", res.Warnings)
	}
}
