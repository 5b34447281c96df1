package policy

import (
	"strings"
	"testing"
	"time"
)

func openVEX(statements string) []byte {
	return []byte(`{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/1", "author": "acme", "timestamp": "2026-12-01T00:00:00Z", "version": 1, "statements": [` + statements + `]}`)
}

func TestParseVEXErrors(t *testing.T) {
	for _, c := range []struct{ name, doc, want string }{
		{"not JSON", `{"@context": `, "vex.json: not OpenVEX JSON"},
		{"no context", `{"statements": []}`, "vex.json: no @context"},
		{"wrong context", `{"@context": "https://openvex.dev/ns/v0.0.1", "statements": []}`, `vex.json: @context "https://openvex.dev/ns/v0.0.1" is not OpenVEX 0.2.0`},
		{"no product", string(openVEX(`{"vulnerability": {"name": "CVE-1"}, "status": "fixed"}, {"vulnerability": {"name": "CVE-2"}, "products": [], "status": "fixed"}`)), "vex.json: statements[1] (CVE-2): no product"},
		{"product not a purl", string(openVEX(`{"vulnerability": {"name": "CVE-1"}, "products": [{"@id": "https://example.com/app"}], "status": "fixed"}`)), "statements[0] (CVE-1): no product is a purl"},
		{"unknown status", string(openVEX(`{"vulnerability": {"name": "CVE-1"}, "products": [{"@id": "pkg:npm/a"}], "status": "wontfix"}`)), `statements[0] (CVE-1): unknown status "wontfix"`},
		{"not_affected without why", string(openVEX(`{"vulnerability": {"name": "CVE-1"}, "products": [{"@id": "pkg:npm/a"}], "status": "not_affected"}`)), "not_affected needs a justification or an impact_statement"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseVEX("vex.json", []byte(c.doc))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
}

// A statement silences exactly its finding: by id or alias (either side),
// a versioned purl that version only, an unversioned one every version
// for not_affected and none for fixed; affected and under_investigation
// change nothing.
func TestVEXMatching(t *testing.T) {
	doc, err := ParseVEX("vex.json", openVEX(`
		{"vulnerability": {"name": "CVE-2020-28500"}, "products": [{"@id": "pkg:npm/lodash"}], "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"},
		{"vulnerability": {"name": "GHSA-xvch-5gv4-984h"}, "products": [{"@id": "pkg:oci/app", "subcomponents": [{"@id": "pkg:npm/minimist@1.2.5"}]}], "status": "fixed"},
		{"vulnerability": {"name": "OSV-1", "aliases": ["CVE-2024-1"]}, "products": [{"@id": "pkg:npm/%40babel/core@7.24.0"}], "status": "not_affected", "impact_statement": "only used at build time"},
		{"vulnerability": {"name": "CVE-2021-23337"}, "products": [{"@id": "pkg:npm/lodash"}], "status": "affected"},
		{"vulnerability": {"name": "CVE-2099-0"}, "products": [{"@id": "pkg:npm/lodash"}], "status": "under_investigation"},
		{"vulnerability": {"name": "GHSA-vh95-rmgr-6w4m"}, "products": [{"@id": "pkg:npm/minimist"}], "status": "fixed"}`))
	if err != nil {
		t.Fatal(err)
	}
	vf := func(id, alias, purl string) Finding {
		f := Finding{ID: id, Kind: KindVulnerability, Rule: id, Severity: High, Location: Location{PURL: purl}, Fingerprint: id + purl}
		if alias != "" {
			f.Aliases = []string{alias}
		}
		return f
	}
	for _, c := range []struct {
		name string
		f    Finding
		want bool
	}{
		{"alias of the finding, any version", vf("GHSA-29mw-wpgm-hmr9", "CVE-2020-28500", "pkg:npm/lodash@4.17.15"), true},
		{"another version too", vf("GHSA-29mw-wpgm-hmr9", "CVE-2020-28500", "pkg:npm/lodash@4.17.20"), true},
		{"another package", vf("GHSA-29mw-wpgm-hmr9", "CVE-2020-28500", "pkg:npm/lodash-es@4.17.15"), false},
		{"another advisory", vf("GHSA-p6mc-m468-83gw", "CVE-2020-8203", "pkg:npm/lodash@4.17.15"), false},
		{"id, versioned subcomponent", vf("GHSA-xvch-5gv4-984h", "CVE-2021-44906", "pkg:npm/minimist@1.2.5"), true},
		{"versioned purl, other version", vf("GHSA-xvch-5gv4-984h", "CVE-2021-44906", "pkg:npm/minimist@1.2.6"), false},
		{"alias of the statement, scoped name unescaped", vf("CVE-2024-1", "", "pkg:npm/@babel/core@7.24.0"), true},
		{"affected changes nothing", vf("GHSA-35jh-r3h4-6jhm", "CVE-2021-23337", "pkg:npm/lodash@4.17.15"), false},
		{"under_investigation changes nothing", vf("CVE-2099-0", "", "pkg:npm/lodash@4.17.15"), false},
		{"a finding without a package", vf("GHSA-29mw-wpgm-hmr9", "CVE-2020-28500", ""), false},
		// fixed is said of the fixed versions: without a version it names
		// none, and a downgrade to a vulnerable one is judged (F8).
		{"fixed without a version, downgraded", vf("GHSA-vh95-rmgr-6w4m", "CVE-2020-7598", "pkg:npm/minimist@0.0.8"), false},
		{"fixed without a version, any version", vf("GHSA-vh95-rmgr-6w4m", "CVE-2020-7598", "pkg:npm/minimist@1.2.3"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := Default()
			p.VEX = []*VEX{doc}
			d := p.Decide([]Finding{c.f}, Context{Now: time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)})
			got := d.Findings[0]
			if (got.Action == ActionIgnored) != c.want {
				t.Fatalf("action %s, ignored %+v; want ignored=%t", got.Action, got.Ignored, c.want)
			}
			if c.want && (got.Ignored.By != IgnoredByVEX || got.Ignored.Document != "vex.json" || got.Ignored.Status == "" || got.Ignored.Reason == "") {
				t.Errorf("ignored %+v, want by vex with status, document and reason", got.Ignored)
			}
		})
	}
}

// An exception in force wins over VEX; a statement no finding has is a
// note, and so is a fixed statement's product without a version.
func TestVEXWithExceptionsAndNotes(t *testing.T) {
	doc, err := ParseVEX("vex.json", openVEX(`
		{"vulnerability": {"name": "CVE-1"}, "products": [{"@id": "pkg:npm/a@1"}], "status": "fixed"},
		{"vulnerability": {"name": "CVE-404"}, "products": [{"@id": "pkg:npm/a@1"}], "status": "fixed"},
		{"vulnerability": {"name": "CVE-1"}, "products": [{"@id": "pkg:npm/b@2"}, {"@id": "pkg:npm/a"}], "status": "fixed"}`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(".secgate.yml", []byte("vex: [security/app.vex.json]\nexceptions:\n  - id: CVE-1\n    reason: accepted\n    expires: 2099-01-01\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.VEXPaths) != 1 || p.VEXPaths[0] != "security/app.vex.json" {
		t.Errorf("vex paths %v", p.VEXPaths)
	}
	p.VEX = []*VEX{doc}
	d := p.Decide([]Finding{{ID: "CVE-1", Kind: KindVulnerability, Rule: "CVE-1", Severity: High, Location: Location{PURL: "pkg:npm/a@1"}, Fingerprint: "x"}}, Context{Now: time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)})
	if ig := d.Findings[0].Ignored; ig == nil || ig.By != "" || ig.Reason != "accepted" {
		t.Errorf("ignored %+v, want the exception's", ig)
	}
	if len(d.Notes) != 2 || !strings.Contains(d.Notes[0], "statements[1]: no finding has CVE-404") ||
		!strings.Contains(d.Notes[1], "statements[2] (CVE-1): fixed names pkg:npm/a without a version, which matches no version") {
		t.Errorf("notes %q", d.Notes)
	}
	for _, bad := range []string{"/etc/vex.json", "../vex.json", " "} {
		if _, err := Parse(".secgate.yml", []byte("vex: ['"+bad+"']\n"), nil); err == nil || !strings.Contains(err.Error(), "want a path in the repository") {
			t.Errorf("vex %q: %v", bad, err)
		}
	}
}
