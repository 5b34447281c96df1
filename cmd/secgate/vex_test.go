package main

import (
	"cmp"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/secgate/secgate/policy"
)

func openVEXDoc(statements ...string) string {
	return `{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://acme.example/vex/shop", "author": "acme", "timestamp": "2026-12-01T00:00:00Z", "version": 1, "statements": [` + strings.Join(statements, ",") + `]}`
}

func vexStatement(cve, purl string) string {
	return `{"vulnerability": {"name": "` + cve + `"}, "products": [{"@id": "` + purl + `"}], "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}`
}

// The policy's vex: document silences exactly the finding it names; on a
// pull request the base revision's document applies, and the PR's edit
// of it is a config-file-changed finding; --vex files outside the
// repository (SECGATE_VEX, comma-separated) apply as given; a broken one
// is exit 2 naming the file and statement.
func TestRunVEX(t *testing.T) {
	dir, work := t.TempDir(), t.TempDir()
	lock, err := os.ReadFile(filepath.Join("..", "..", "gate", "deps", "testdata", "npm", "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	git(t, dir, "init", "-q", "-b", "main")
	writeFiles(t, dir, map[string]string{
		"package-lock.json": string(lock),
		".secgate.yml":      "deps: {max_db_age: 0}\nvex: [security/shop.vex.json]\n", // testdata/osvdb is a frozen copy
		// CVE-2020-28500 is GHSA-29mw-wpgm-hmr9's alias: lodash, any version.
		"security/shop.vex.json": openVEXDoc(vexStatement("CVE-2020-28500", "pkg:npm/lodash")),
	})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "base")
	base := git(t, dir, "rev-parse", "HEAD")
	db, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "osvdb"))
	reportPath := filepath.Join(work, "r.json")
	ignored := func(args ...string) map[string]*policy.Ignored {
		t.Helper()
		res := secgate(t, nil, append([]string{"run", "--offline-db", db, "--report", reportPath}, append(args, dir)...)...)
		if res.code == 2 {
			t.Fatalf("exit 2: %s\n%s", res.stdout, res.stderr)
		}
		rep, _ := readReport(t, reportPath)
		out := map[string]*policy.Ignored{}
		for _, f := range rep.Findings {
			if f.Kind == policy.KindVulnerability {
				out[f.ID] = f.Ignored
			} else if f.Kind == policy.KindConfig {
				out["config "+f.Location.Path] = f.Ignored
			}
		}
		return out
	}
	got := ignored("--only", "deps")
	if ig := got["GHSA-29mw-wpgm-hmr9"]; ig == nil || ig.By != "vex" || ig.Status != "not_affected" || ig.Justification != "vulnerable_code_not_in_execute_path" || !strings.Contains(ig.Document, "shop.vex.json") {
		t.Errorf("GHSA-29mw-wpgm-hmr9: ignored %+v, want by vex", ig)
	}
	var others int
	for id, ig := range got {
		if id != "GHSA-29mw-wpgm-hmr9" {
			others++
			if ig != nil {
				t.Errorf("%s ignored %+v: the statement names another advisory", id, ig)
			}
		}
	}
	if others != 4 {
		t.Errorf("%d other findings, want lodash's other two, minimist's and cookie's", others)
	}

	// The pull request silences another lodash advisory in the document.
	writeFiles(t, dir, map[string]string{"security/shop.vex.json": openVEXDoc(vexStatement("CVE-2020-28500", "pkg:npm/lodash"), vexStatement("CVE-2021-23337", "pkg:npm/lodash@4.17.15"))})
	git(t, dir, "commit", "-qam", "silence more")
	got = ignored("--only", "deps,config", "--base", base, "--pull-request")
	if got["GHSA-29mw-wpgm-hmr9"] == nil || got["GHSA-35jh-r3h4-6jhm"] != nil {
		t.Errorf("on the pull request: 29mw %+v, 35jh %+v; want the base revision's document (29mw only)", got["GHSA-29mw-wpgm-hmr9"], got["GHSA-35jh-r3h4-6jhm"])
	}
	if _, ok := got["config security/shop.vex.json"]; !ok {
		t.Errorf("no config-file-changed finding for the VEX document: %v", got)
	}
	// Judged as a tree, the new statement applies.
	if got = ignored("--only", "deps"); got["GHSA-35jh-r3h4-6jhm"] == nil {
		t.Error("outside a pull request the repository's document applies")
	}

	// Supplier documents outside the repository, two in SECGATE_VEX.
	writeFiles(t, work, map[string]string{
		"a.json":   openVEXDoc(vexStatement("GHSA-xvch-5gv4-984h", "pkg:npm/minimist@1.2.5")),
		"b.json":   openVEXDoc(vexStatement("CVE-2024-47764", "pkg:npm/cookie@0.4.0")),
		"bad.json": `{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [` + vexStatement("CVE-1", "pkg:npm/a") + `, {"vulnerability": {"name": "CVE-2"}, "status": "fixed"}]}`,
	})
	res := secgate(t, map[string]string{"SECGATE_VEX": filepath.Join(work, "a.json") + "," + filepath.Join(work, "b.json")}, "run", "--only", "deps", "--offline-db", db, "--report", reportPath, dir)
	if res.code == 2 {
		t.Fatalf("exit 2: %s", res.stderr)
	}
	rep, _ := readReport(t, reportPath)
	for _, f := range rep.Findings {
		if (f.ID == "GHSA-xvch-5gv4-984h" || f.ID == "GHSA-pxg6-pf52-xh8x") && (f.Ignored == nil || f.Ignored.By != "vex") {
			t.Errorf("%s not silenced by the supplier's document: %+v", f.ID, f.Ignored)
		}
	}
	res = secgate(t, nil, "run", "--only", "deps", "--offline-db", db, "--vex", filepath.Join(work, "bad.json"), dir)
	if res.code != 2 || !strings.Contains(res.stdout+res.stderr, "bad.json: statements[1] (CVE-2): no product") {
		t.Errorf("a statement without a product: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}

// --vex-out writes the exception that applied as OpenVEX, authored by
// the policy's owner, with the purl the deps scanner saw.
func TestRunVEXOut(t *testing.T) {
	dir, work := t.TempDir(), t.TempDir()
	lock, err := os.ReadFile(filepath.Join("..", "..", "gate", "deps", "testdata", "npm", "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{
		"package-lock.json": string(lock),
		".secgate.yml":      "deps: {max_db_age: 0}\nowner: \"@acme/security\"\nexceptions:\n  - id: CVE-2020-28500\n    reason: component_not_present in the shipped bundle\n    expires: 2099-01-01\n",
	})
	db, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "osvdb"))
	out := filepath.Join(work, "vex.json")
	if res := secgate(t, nil, "run", "--only", "deps", "--offline-db", db, "--vex-out", out, dir); res.code == 2 {
		t.Fatalf("exit 2: %s\n%s", res.stdout, res.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := policy.ParseVEX(out, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Statements) != 1 || doc.Statements[0].Vulnerability != "GHSA-29mw-wpgm-hmr9" || len(doc.Statements[0].Products) != 1 || doc.Statements[0].Products[0] != "pkg:npm/lodash@4.17.15" || doc.Statements[0].Justification != "component_not_present" {
		t.Errorf("statements %+v", doc.Statements)
	}
	if !strings.Contains(string(b), `"author": "@acme/security"`) {
		t.Errorf("author is not the policy's owner:\n%s", b)
	}
}

// F1: in a monorepo scanned one directory at a time, a --vex or --policy
// file of the repository outside the scanned directory is still the
// repository's: on a pull request the base revision's applies, and the
// PR's edit of it is a config-file-changed finding, whether the path is
// relative (to the working directory) or absolute. Only a file outside
// the repository is read as given.
func TestRunVEXAndPolicyBesideTheScannedDirectory(t *testing.T) {
	dir, work := t.TempDir(), t.TempDir()
	lock, err := os.ReadFile(filepath.Join("..", "..", "gate", "deps", "testdata", "npm", "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	db, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "osvdb"))
	git(t, dir, "init", "-q", "-b", "main")
	const cookie, minimist = `CVE-2024-47764`, `GHSA-xvch-5gv4-984h` // cookie 0.4.0's, minimist 1.2.5's
	writeFiles(t, dir, map[string]string{
		"app/package-lock.json": string(lock),
		"app/.secgate.yml":      "deps: {max_db_age: 0}\n",
		"vex/shop.vex.json":     openVEXDoc(vexStatement(cookie, "pkg:npm/cookie")),
		"ci/gate.yml":           "deps: {max_db_age: 0}\n",
	})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "base")
	base := git(t, dir, "rev-parse", "HEAD")
	// The pull request silences minimist in the repository's VEX document
	// and adds an exception for it to the pipeline's policy file.
	prVEX := openVEXDoc(vexStatement(cookie, "pkg:npm/cookie"), vexStatement(minimist, "pkg:npm/minimist"))
	writeFiles(t, dir, map[string]string{
		"vex/shop.vex.json": prVEX,
		"ci/gate.yml":       "deps: {max_db_age: 0}\nexceptions:\n  - id: " + minimist + "\n    reason: not reachable\n    expires: 2999-01-01\n",
	})
	git(t, dir, "commit", "-qam", "silence minimist")
	writeFiles(t, work, map[string]string{"supplier.vex.json": prVEX})

	app := filepath.Join(dir, "app")
	reportPath := filepath.Join(work, "r.json")
	type outcome struct {
		ignored  map[string]string // advisory → by (vex, exception), "" when not ignored
		config   []string          // config-file-changed paths
		warnings []string
		policy   string // the policy file, "" for the built-in one
	}
	runGate := func(args ...string) outcome {
		t.Helper()
		only := "deps"
		if slices.Contains(args, "--base") {
			only = "deps,config"
		}
		if args[0] == "--only" { // the built-in policy wants a fresher database than testdata's
			only, args = args[1], args[2:]
		}
		res := secgate(t, nil, append([]string{"run", "--offline-db", db, "--only", only, "--report", reportPath}, append(args, app)...)...)
		if res.code == 2 {
			t.Fatalf("%v: exit 2: %s\n%s", args, res.stdout, res.stderr)
		}
		rep, _ := readReport(t, reportPath)
		o := outcome{ignored: map[string]string{}, warnings: rep.Warnings, policy: rep.Policy.File}
		for _, f := range rep.Findings {
			switch f.Kind {
			case policy.KindVulnerability:
				o.ignored[f.ID] = ""
				if f.Ignored != nil {
					o.ignored[f.ID] = cmp.Or(f.Ignored.By, "exception")
				}
			case policy.KindConfig:
				o.config = append(o.config, f.Location.Path)
			}
		}
		return o
	}
	pr := []string{"--base", base, "--pull-request"}

	t.Chdir(dir) // a relative --vex is the working directory's, like any path
	for _, vex := range []string{"vex/shop.vex.json", filepath.Join(dir, "vex", "shop.vex.json")} {
		o := runGate(append([]string{"--vex", vex}, pr...)...)
		if by, ok := o.ignored[minimist]; !ok || by != "" {
			t.Errorf("--vex %s on the pull request: minimist ignored by %q (found %v), want judged by the base revision's document", vex, by, ok)
		}
		if o.ignored["GHSA-pxg6-pf52-xh8x"] != "vex" { // cookie's, CVE-2024-47764 its alias
			t.Errorf("--vex %s on the pull request: the base revision's statement on cookie does not apply: %v", vex, o.ignored)
		}
		if !slices.Equal(o.config, []string{"../vex/shop.vex.json"}) {
			t.Errorf("--vex %s on the pull request: config-file-changed findings %q, want the VEX document's", vex, o.config)
		}
		// Judged as a tree (a push to main, once merged), the working
		// tree's document applies.
		if o := runGate("--vex", vex); o.ignored[minimist] != "vex" {
			t.Errorf("--vex %s on a tree: minimist ignored by %q, want the working tree's statement", vex, o.ignored[minimist])
		}
	}

	// A supplier's document, outside the repository: read as given.
	o := runGate(append([]string{"--vex", filepath.Join(work, "supplier.vex.json")}, pr...)...)
	if o.ignored[minimist] != "vex" || len(o.config) != 0 {
		t.Errorf("a --vex file outside the repository: minimist ignored by %q, config findings %q; want the document as given, no finding", o.ignored[minimist], o.config)
	}

	// The pipeline's --policy, in the repository beside the scanned tree.
	for _, pol := range []string{"ci/gate.yml", filepath.Join(dir, "ci", "gate.yml")} {
		o := runGate(append([]string{"--policy", pol}, pr...)...)
		if by := o.ignored[minimist]; by != "" {
			t.Errorf("--policy %s on the pull request: minimist ignored by %q, want the base revision's policy (no exception)", pol, by)
		}
		if !slices.Equal(o.config, []string{"../ci/gate.yml"}) {
			t.Errorf("--policy %s on the pull request: config-file-changed findings %q, want the policy's", pol, o.config)
		}
		if o := runGate("--policy", pol); o.ignored[minimist] != "exception" {
			t.Errorf("--policy %s on a tree: minimist ignored by %q, want the working tree's exception", pol, o.ignored[minimist])
		}
	}
	// A policy the pull request adds is not applied before it is merged.
	writeFiles(t, dir, map[string]string{"ci/new.yml": "deps: {max_db_age: 0}\nexceptions:\n  - id: " + minimist + "\n    reason: not reachable\n    expires: 2999-01-01\n"})
	o = runGate(append([]string{"--only", "config", "--policy", "ci/new.yml"}, pr...)...)
	if o.policy != "" || !slices.ContainsFunc(o.warnings, func(w string) bool { return strings.Contains(w, "ci/new.yml is not in the base revision") }) {
		t.Errorf("a policy the pull request adds: judged by %q, warnings %q; want the built-in policy and a warning", o.policy, o.warnings)
	}
	if !slices.Equal(o.config, []string{"../ci/new.yml"}) {
		t.Errorf("a policy the pull request adds: config-file-changed findings %q", o.config)
	}
	// A policy outside the repository is the pipeline's, as given.
	writeFiles(t, work, map[string]string{"gate.yml": "deps: {max_db_age: 0}\nexceptions:\n  - id: " + minimist + "\n    reason: not reachable\n    expires: 2999-01-01\n"})
	if o := runGate(append([]string{"--policy", filepath.Join(work, "gate.yml")}, pr...)...); o.ignored[minimist] != "exception" || len(o.config) != 0 {
		t.Errorf("a --policy outside the repository: minimist ignored by %q, config findings %q; want the file as given", o.ignored[minimist], o.config)
	}
}

// F1's rule for ignore files: the osv-scanner.toml beside a --lockfile of
// the repository outside the scanned directory is the base revision's on a
// pull request, and the PR's edit of it a config-file-changed finding;
// beside a lockfile outside the repository it is read as given.
func TestRunLockfileBesideTheScannedDirectory(t *testing.T) {
	dir, work := t.TempDir(), t.TempDir()
	lock, err := os.ReadFile(filepath.Join("..", "..", "gate", "deps", "testdata", "npm", "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	db, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "osvdb"))
	const minimist = "GHSA-xvch-5gv4-984h"
	ignore := "[[IgnoredVulns]]\nid = \"" + minimist + "\"\nreason = \"build only\"\n"
	git(t, dir, "init", "-q", "-b", "main")
	writeFiles(t, dir, map[string]string{
		"app/.secgate.yml":       "deps: {max_db_age: 0}\n",
		"libs/package-lock.json": string(lock),
	})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "base")
	base := git(t, dir, "rev-parse", "HEAD")
	writeFiles(t, dir, map[string]string{"libs/osv-scanner.toml": ignore})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "ignore minimist")
	writeFiles(t, work, map[string]string{"package-lock.json": string(lock), "osv-scanner.toml": ignore})

	reportPath := filepath.Join(work, "r.json")
	runGate := func(lockfile string, args ...string) (minimistIgnored bool, config []string) {
		t.Helper()
		res := secgate(t, nil, append([]string{"run", "--offline-db", db, "--report", reportPath, "--lockfile", lockfile}, append(args, filepath.Join(dir, "app"))...)...)
		if res.code == 2 {
			t.Fatalf("%v: exit 2: %s\n%s", args, res.stdout, res.stderr)
		}
		rep, _ := readReport(t, reportPath)
		found := false
		for _, f := range rep.Findings {
			switch {
			case f.ID == minimist:
				found, minimistIgnored = true, f.Ignored != nil
			case f.Kind == policy.KindConfig:
				config = append(config, f.Location.Path)
			}
		}
		if !found {
			t.Fatalf("--lockfile %s %v: no %s finding", lockfile, args, minimist)
		}
		return minimistIgnored, config
	}
	inRepo := filepath.Join(dir, "libs", "package-lock.json")
	if ignored, config := runGate(inRepo, "--only", "deps,config", "--base", base, "--pull-request"); ignored || !slices.Equal(config, []string{"../libs/osv-scanner.toml"}) {
		t.Errorf("on the pull request: minimist ignored %v, config-file-changed %q; want the base revision's (no) ignore file and a finding for the PR's", ignored, config)
	}
	if ignored, _ := runGate(inRepo, "--only", "deps"); !ignored {
		t.Error("judged as a tree, the working tree's osv-scanner.toml applies")
	}
	if ignored, config := runGate(filepath.Join(work, "package-lock.json"), "--only", "deps,config", "--base", base, "--pull-request"); !ignored || len(config) != 0 {
		t.Errorf("a lockfile outside the repository: minimist ignored %v, config-file-changed %q; want its osv-scanner.toml as given", ignored, config)
	}
}
