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

// A live secret reads LIVE in the text report, a revoked one says so and
// takes secrets.invalid; the JSON carries validity as the schema says.
func TestSecretValidityInOutputs(t *testing.T) {
	secret := func(path string, v policy.Validity) policy.Finding {
		return policy.Finding{ID: "secret-" + path, Kind: policy.KindSecret, Scanner: "secrets", Rule: "github-pat", Title: "GitHub Personal Access Token",
			Preview: "ghp_…", Fingerprint: "secret-" + path, Location: policy.Location{Path: path, Line: 1}, Validity: v}
	}
	d := policy.Default().Decide([]policy.Finding{secret("live.env", policy.ValidityValid), secret("old.env", policy.ValidityInvalid), secret("quiet.env", policy.ValidityUnknown)},
		policy.Context{Now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)})
	r := New()
	r.Verdict, r.DeployAllowed, r.Counts, r.Findings, r.Reasons = d.Verdict, d.DeployAllowed, d.Counts, d.Findings, d.Reasons
	r.Scanners = []Scanner{{Name: "secrets", Status: StatusOK, Findings: 3, Coverage: &policy.Coverage{Files: 3}}}
	if r.Counts.Critical != 2 || r.Counts.Medium != 1 {
		t.Fatalf("counts %+v, want 2 critical (live, unknown) and 1 medium (revoked)", r.Counts)
	}
	text := string(written(t, Text{}, r))
	for _, want := range []string{"LIVE  ghp_…  secret-live.env", "rejected by the provider (revoked)", "liveness unknown"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	for _, w := range []Writer{SARIF{}, GitLab{Type: GitLabSecrets, Version: "1.0.0"}, Markdown{}} {
		if out := string(written(t, w, r)); !strings.Contains(out, "LIVE: the provider accepted this credential") || !strings.Contains(out, "rejected by the provider") {
			t.Errorf("%T output lacks the providers' answers:\n%s", w, out)
		}
	}
	if strings.Count(text, "LIVE") != 1 {
		t.Errorf("LIVE on other findings than the live one:\n%s", text)
	}
	js := written(t, JSON{}, r)
	for _, want := range []string{`"validity": "valid"`, `"validity": "invalid"`, `"validity": "unknown"`, policy.SourceSecretInvalid} {
		if !strings.Contains(string(js), want) {
			t.Errorf("json lacks %q", want)
		}
	}
	sch, err := jsonschema.NewCompiler().Compile("report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(v); err != nil {
		t.Errorf("the report does not match the schema: %v", err)
	}
}
