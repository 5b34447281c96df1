package main

import (
	"os"
	"path/filepath"
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
