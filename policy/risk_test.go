package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestRiskFloorsParse(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		kev        Severity
		above      float64
		epss       Severity
	}{
		{"defaults", "version: 1\n", Critical, 0.5, High},
		{"unquoted off is YAML false", "deps: {kev: off, epss: off}\n", SeverityUnset, 0.5, SeverityUnset},
		{"quoted off", "deps: {kev: \"off\", epss: \"off\"}\n", SeverityUnset, 0.5, SeverityUnset},
		{"false", "deps: {kev: false, epss: false}\n", SeverityUnset, 0.5, SeverityUnset},
		{"tiers", "deps:\n  kev: high\n  epss: {above: 0.2, tier: critical}\n", High, 0.2, Critical},
		{"epss tier off", "deps:\n  epss: {tier: off}\n", Critical, 0.5, SeverityUnset},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse("p.yml", []byte(tc.yaml), testCatalogue)
			if err != nil {
				t.Fatal(err)
			}
			if p.DepsKEV != tc.kev || p.DepsEPSSAbove != tc.above || p.DepsEPSSTier != tc.epss {
				t.Errorf("kev %v, epss above %v tier %v; want %v, %v, %v", p.DepsKEV, p.DepsEPSSAbove, p.DepsEPSSTier, tc.kev, tc.above, tc.epss)
			}
		})
	}
}

func TestRiskFloorsBadValues(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"deps:\n  kev: urgent\n", "p.yml:2:8: unknown severity \"urgent\""},
		{"deps:\n  kev: true\n", "p.yml:2:8: deps.kev: true is not a tier"},
		{"deps:\n  epss: {above: 1.5}\n", "p.yml:2:17: above 1.5: want a probability"},
		{"deps:\n  epss: {tier: extreme}\n", "p.yml:2:16: tier extreme"},
		{"deps:\n  epss: {threshold: 0.3}\n", "p.yml:2:21: unknown key \"threshold\""},
		{"deps:\n  epss: sometimes\n", "p.yml:2:9: unknown value \"sometimes\""},
	} {
		_, err := Parse("p.yml", []byte(tc.yaml), testCatalogue)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

func TestRiskFloorsDecide(t *testing.T) {
	score := func(f float64) *float64 { return &f }
	vuln := func(s float64) Finding {
		return Finding{ID: "GHSA-x", Aliases: []string{"CVE-2024-1"}, Kind: KindVulnerability, Rule: "GHSA-x", Score: score(s), ScoreSource: SourceCVSSv3, Fingerprint: "fp"}
	}
	kev := &KEV{CVE: "CVE-2024-1", DateAdded: "2024-05-01", Ransomware: true}
	epss := func(p float64) *EPSS {
		return &EPSS{CVE: "CVE-2024-1", Probability: p, Percentile: 0.99, Date: "2026-12-01"}
	}
	off, err := Parse("off.yml", []byte("deps: {kev: off, epss: off}\n"), testCatalogue)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		pol     *Policy
		score   float64
		kev     *KEV
		epss    *EPSS
		want    Severity
		source  string
		verdict Verdict
	}{
		{"medium in KEV fails", Default(), 5.0, kev, nil, Critical, "CVSS_V3 vector; raised by KEV (deps.kev)", VerdictFail},
		{"medium not in KEV", Default(), 5.0, nil, nil, Medium, "CVSS_V3 vector", VerdictPass},
		{"EPSS 0.9 blocks production", Default(), 5.0, nil, epss(0.9), High, "CVSS_V3 vector; raised by EPSS (deps.epss): 0.90 > 0.5", VerdictBlockProduction},
		{"EPSS at the threshold is not above it", Default(), 5.0, nil, epss(0.5), Medium, "CVSS_V3 vector", VerdictPass},
		{"floors never lower", Default(), 9.8, nil, epss(0.9), Critical, "CVSS_V3 vector", VerdictFail},
		{"KEV over EPSS", Default(), 3.0, kev, epss(0.9), Critical, "CVSS_V3 vector; raised by KEV (deps.kev)", VerdictFail},
		{"off", off, 5.0, kev, epss(0.9), Medium, "CVSS_V3 vector", VerdictPass},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := vuln(tc.score)
			f.KEV, f.EPSS = tc.kev, tc.epss
			d := tc.pol.Decide([]Finding{f}, Context{Environment: "production", Now: time.Now()})
			got := d.Findings[0]
			if got.Severity != tc.want || got.ScoreSource != tc.source || d.Verdict != tc.verdict {
				t.Errorf("%v (%s), verdict %s; want %v (%s), %s", got.Severity, got.ScoreSource, d.Verdict, tc.want, tc.source, tc.verdict)
			}
			if tc.kev != nil && !strings.Contains(got.ExploitNote(), "known exploited (CISA KEV since 2024-05-01, used by ransomware)") ||
				tc.epss != nil && !strings.Contains(got.ExploitNote(), fmt.Sprintf("EPSS %.2f (percentile 0.99, 2026-12-01)", tc.epss.Probability)) {
				t.Errorf("note %q", got.ExploitNote())
			}
			// Deciding again (the gate re-decides on a base revision) gives the same.
			again := tc.pol.Decide(d.Findings, Context{Environment: "production", Now: time.Now()}).Findings[0]
			if again.Severity != got.Severity || again.ScoreSource != got.ScoreSource {
				t.Errorf("decided twice: %v (%s)", again.Severity, again.ScoreSource)
			}
		})
	}
}

// A credential its provider rejected takes secrets.invalid; a live one and
// one without a clear answer keep secrets.tier; a context tier that is
// already lower stays.
func TestSecretValidityTiers(t *testing.T) {
	def := Default()
	if def.SecretsVerify || def.SecretsInvalid != Medium {
		t.Fatalf("defaults: verify %v invalid %s, want false and medium", def.SecretsVerify, def.SecretsInvalid)
	}
	p, err := Parse(".secgate.yml", []byte("secrets:\n  verify: true\n  invalid: low\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !p.SecretsVerify || p.SecretsInvalid != Low {
		t.Fatalf("parsed: verify %v invalid %s", p.SecretsVerify, p.SecretsInvalid)
	}
	for _, tc := range []struct {
		validity Validity
		context  string
		want     Severity
		source   string
	}{
		{"", "", Critical, SourcePolicyDefault},
		{ValidityValid, "", Critical, SourcePolicyDefault},
		{ValidityUnknown, "", Critical, SourcePolicyDefault},
		{ValidityInvalid, "", Medium, SourceSecretInvalid},
		{ValidityInvalid, SecretContextTest, Low, SourceSecretContext + SecretContextTest},
	} {
		d := def.Decide([]Finding{{Kind: KindSecret, Rule: "github-pat", Fingerprint: "secret-x", Validity: tc.validity, Context: tc.context}}, Context{Now: time.Now()})
		f := d.Findings[0]
		if f.Severity != tc.want || f.ScoreSource != tc.source {
			t.Errorf("validity %q context %q: %s (%s), want %s (%s)", tc.validity, tc.context, f.Severity, f.ScoreSource, tc.want, tc.source)
		}
		if f.Live() != (tc.validity == ValidityValid) {
			t.Errorf("validity %q: Live() %v", tc.validity, f.Live())
		}
	}
	for _, bad := range []struct{ doc, want string }{
		{"secrets:\n  invalid: revoked\n", `.secgate.yml:2:12: unknown severity "revoked"`},
		{"secrets:\n  verify: maybe\n", ".secgate.yml:2"},
	} {
		if _, err := Parse(".secgate.yml", []byte(bad.doc), nil); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: error %v, want %q", bad.doc, err, bad.want)
		}
	}
}
