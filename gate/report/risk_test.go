package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/secgate/secgate/policy"
)

// A medium advisory raised to critical by the KEV floor, with its EPSS
// score: every output says it is exploited, the JSON carries both as the
// schema says, SARIF's security-severity follows the raised tier.
func TestExploitationInEveryOutput(t *testing.T) {
	score := 5.3
	f := policy.Finding{ID: "GHSA-29mw-wpgm-hmr9", Aliases: []string{"CVE-2020-28500"}, Kind: policy.KindVulnerability, Scanner: "deps", Rule: "GHSA-29mw-wpgm-hmr9",
		Title: "ReDoS in lodash", Score: &score, ScoreSource: policy.SourceCVSSv3, Fix: "upgrade lodash to 4.17.21", Fingerprint: "GHSA-29mw-wpgm-hmr9/lodash@4.17.15",
		Location: policy.Location{Path: "package-lock.json", Package: "lodash", Version: "4.17.15", Ecosystem: "npm"},
		KEV:      &policy.KEV{CVE: "CVE-2020-28500", DateAdded: "2026-11-20", Ransomware: true},
		EPSS:     &policy.EPSS{CVE: "CVE-2020-28500", Probability: 0.97, Percentile: 0.999, Date: "2026-11-24"}}
	d := policy.Default().Decide([]policy.Finding{f}, policy.Context{Now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)})
	r := New()
	r.Verdict, r.DeployAllowed, r.Counts, r.Findings, r.Reasons = d.Verdict, d.DeployAllowed, d.Counts, d.Findings, d.Reasons
	r.Scanners = []Scanner{{Name: "deps", Status: StatusOK, Findings: 1, Coverage: &policy.Coverage{Lockfiles: 1, Packages: 1}}}
	if r.Findings[0].Severity != policy.Critical {
		t.Fatalf("tier %v", r.Findings[0].Severity)
	}
	const note = "known exploited (CISA KEV since 2026-11-20, used by ransomware); EPSS 0.97 (percentile 1.00, 2026-11-24)"
	for _, w := range []struct {
		name string
		w    Writer
		want []string
	}{
		{"text", Text{}, []string{"Known exploited (CISA KEV since 2026-11-20, used by ransomware)"}},
		// Markdown sinks escape the parentheses: the words are what counts.
		{"markdown", Markdown{}, []string{"known exploited", "CISA KEV since 2026-11-20, used by ransomware", "EPSS 0.97"}},
		{"sarif", SARIF{}, []string{note, `"security-severity": "9.0"`}},
		{"gitlab", GitLab{Type: GitLabDeps, Version: "1.0.0"}, []string{"known exploited", "CISA KEV since 2026-11-20, used by ransomware", "EPSS 0.97"}},
		{"json", JSON{}, []string{`"kev": {`, `"date_added": "2026-11-20"`, `"ransomware": true`, `"probability": 0.97`, `raised by KEV (deps.kev)`}},
	} {
		out := string(written(t, w.w, r))
		for _, s := range w.want {
			if !strings.Contains(out, s) {
				t.Errorf("%s output lacks %q:\n%s", w.name, s, out)
			}
		}
	}
	c := jsonschema.NewCompiler()
	sch, err := c.Compile("report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(written(t, JSON{}, r)))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(v); err != nil {
		t.Errorf("the report does not match the schema: %v", err)
	}
}
