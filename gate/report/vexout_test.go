package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/secgate/secgate/policy"
)

// --vex-out turns the exceptions that applied into OpenVEX 0.2.0 that
// secgate itself reads back (the parser checks @context, products,
// statuses and justifications) and that silences the same findings with
// no exception left; exceptions on secrets and scanner ignore files are
// not VEX.
func TestOpenVEXFromExceptions(t *testing.T) {
	pol, err := policy.Parse(".secgate.yml", []byte(`exceptions:
  - id: CVE-2020-28500
    reason: "vulnerable_code_not_in_execute_path: we never call toNumber on user input"
    expires: 2099-01-01
  - id: GHSA-xvch-5gv4-984h
    reason: only parses our own build flags
    expires: 2099-01-01
  - id: secret-1
    reason: a test fixture
    expires: 2099-01-01
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	vuln := func(id, alias, purl, path string) policy.Finding {
		return policy.Finding{ID: id, Aliases: []string{alias}, Kind: policy.KindVulnerability, Rule: id, Severity: policy.High,
			Location: policy.Location{Path: path, PURL: purl}, Fingerprint: id + path}
	}
	findings := []policy.Finding{
		vuln("GHSA-29mw-wpgm-hmr9", "CVE-2020-28500", "pkg:npm/lodash@4.17.15", "package-lock.json"),
		vuln("GHSA-29mw-wpgm-hmr9", "CVE-2020-28500", "pkg:npm/lodash@4.17.19", "web/package-lock.json"),
		vuln("GHSA-xvch-5gv4-984h", "CVE-2021-44906", "pkg:npm/minimist@1.2.5", "package-lock.json"),
		vuln("GHSA-35jh-r3h4-6jhm", "CVE-2021-23337", "pkg:npm/lodash@4.17.15", "package-lock.json"),
		{ID: "secret-1", Kind: policy.KindSecret, Rule: "github-pat", Fingerprint: "secret-1"},
	}
	now := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	d := pol.Decide(findings, policy.Context{Now: now})
	r := New()
	r.Findings, r.Policy = d.Findings, &PolicySource{File: pol.Path}
	// osv-scanner.toml's ignore: not a reviewed exception of the policy.
	r.Findings = append(r.Findings, policy.Finding{ID: "GHSA-pxg6-pf52-xh8x", Kind: policy.KindVulnerability, Location: policy.Location{PURL: "pkg:npm/cookie@0.4.0"}, Action: policy.ActionIgnored, Ignored: &policy.Ignored{Reason: "x", Source: "osv-scanner.toml"}})

	var b bytes.Buffer
	if err := r.OpenVEX(&b, "@acme/security", "1.2.3", now); err != nil {
		t.Fatal(err)
	}
	golden(t, "vex-out.json", b.Bytes())
	doc, err := policy.ParseVEX("vex-out.json", b.Bytes())
	if err != nil {
		t.Fatalf("secgate cannot read its own VEX: %v\n%s", err, b.Bytes())
	}
	if len(doc.Statements) != 2 {
		t.Fatalf("%d statements, want the two exceptions on package advisories: %+v", len(doc.Statements), doc.Statements)
	}
	s := doc.Statements[0]
	if s.Vulnerability != "GHSA-29mw-wpgm-hmr9" || len(s.Products) != 2 || s.Justification != "vulnerable_code_not_in_execute_path" || !strings.Contains(s.ImpactStatement, "toNumber") {
		t.Errorf("lodash statement %+v", s)
	}
	if s := doc.Statements[1]; s.Justification != "" || s.ImpactStatement != "only parses our own build flags" {
		t.Errorf("minimist statement %+v", s)
	}
	for _, h := range []string{`"@context": "https://openvex.dev/ns/v0.2.0"`, `"author": "@acme/security"`, `"timestamp": "2026-12-03T00:00:00Z"`, `"version": 1`, `"@id": "urn:uuid:`} {
		if !bytes.Contains(b.Bytes(), []byte(h)) {
			t.Errorf("no %s", h)
		}
	}
	// Read back instead of the exceptions, it silences the same findings.
	p := policy.Default()
	p.VEX = []*policy.VEX{doc}
	again := p.Decide(findings, policy.Context{Now: now})
	before := map[string]policy.Action{}
	for _, f := range d.Findings {
		before[f.ID+" "+f.Location.PURL] = f.Action
	}
	for _, f := range again.Findings {
		k := f.ID + " " + f.Location.PURL
		if want := before[k] == policy.ActionIgnored && f.Kind == policy.KindVulnerability; (f.Action == policy.ActionIgnored) != want {
			t.Errorf("%s: action %s from the VEX, %s from the exception", k, f.Action, before[k])
		}
	}
}
