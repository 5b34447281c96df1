package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/secgate/secgate/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// sample is a report with one finding of each kind and every tier.
func sample() Report {
	p := policy.Default()
	score := func(v float64) *float64 { return &v }
	fs := []policy.Finding{
		{ID: "secret-0a1b2c3d4e5f60718293", Kind: policy.KindSecret, Rule: "aws-access-token", Title: "AWS access key", Location: policy.Location{Path: "config/prod.env", Line: 2}, Preview: "AKIA… (20 chars)", Fix: "revoke and rotate", Fingerprint: "secret-0a1b2c3d4e5f60718293"},
		{ID: "GHSA-jfh8-c2jp-5v3q", Aliases: []string{"CVE-2021-44228"}, Kind: policy.KindVulnerability, Rule: "GHSA-jfh8-c2jp-5v3q", Title: "Remote code injection in Log4j", Score: score(10), ScoreSource: policy.SourceCVSSv3, Location: policy.Location{Path: "pom.xml", Package: "org.apache.logging.log4j:log4j-core", Version: "2.14.1", Ecosystem: "Maven"}, Fix: "upgrade org.apache.logging.log4j:log4j-core to 2.17.1", Fingerprint: "GHSA-jfh8-c2jp-5v3q/log4j-core@2.14.1"},
		{ID: "image-runs-as-root", Kind: policy.KindImage, Rule: "image-runs-as-root", Title: "The image runs as root", Severity: policy.High, ScoreSource: policy.SourceRuleDefault, Location: policy.Location{Image: "registry.example/app@sha256:0123"}, Fix: "add USER 65532 to the Dockerfile", Fingerprint: "image-runs-as-root/app"},
		{ID: "GHSA-29mw-wpgm-hmr9", Kind: policy.KindVulnerability, Rule: "GHSA-29mw-wpgm-hmr9", Title: "ReDoS in lodash", Score: score(5.3), ScoreSource: policy.SourceCVSSv3, Location: policy.Location{Path: "package-lock.json", Package: "lodash", Version: "4.17.15", Ecosystem: "npm"}, Fix: "upgrade lodash to 4.17.21", Fingerprint: "GHSA-29mw-wpgm-hmr9/lodash@4.17.15"},
		{ID: "GHSA-pxg6-pf52-xh8x", Kind: policy.KindVulnerability, Rule: "GHSA-pxg6-pf52-xh8x", Title: "cookie accepts out of bounds characters", Severity: policy.Low, ScoreSource: policy.SourceDatabase, Location: policy.Location{Path: "package-lock.json", Package: "cookie", Version: "0.6.0", Ecosystem: "npm"}, Fingerprint: "GHSA-pxg6-pf52-xh8x/cookie@0.6.0"},
	}
	d := p.Decide(fs, policy.Context{Environment: "staging"})
	r := New()
	r.Verdict, r.DeployAllowed, r.Environment, r.DryRun = d.Verdict, d.DeployAllowed, "staging", true
	r.Counts, r.Findings, r.Reasons = d.Counts, d.Findings, d.Reasons
	r.Scanners = []Scanner{
		{Name: "secrets", Status: StatusOK, Target: "working tree of .", DurationMS: 412, Findings: 1, Notes: []string{"2 matches of well-known public example values not reported"},
			Coverage: &policy.Coverage{Files: 120, Bytes: 2_400_000, Skipped: []policy.Skip{{What: "file", Why: "binary (image/png), not read", Count: 2, Paths: []string{"logo.png", "icon.png"}}}}},
		{Name: "deps", Status: StatusOK, Target: "3 lockfiles", DurationMS: 35, Findings: 3, Coverage: &policy.Coverage{Lockfiles: 3, Packages: 214}},
		{Name: "image", Status: StatusOK, DurationMS: 80, Findings: 1, Coverage: &policy.Coverage{Images: 1, Layers: 4, Bytes: 31_000_000}},
	}
	r.Images = []policy.CheckedImage{{Reference: "registry.example/app:1", Repository: "registry.example/app",
		IndexDigest: "sha256:" + strings.Repeat("ab", 32),
		Images:      []policy.PlatformImage{{Platform: "linux/amd64", Digest: "sha256:" + strings.Repeat("01", 32), ImageID: "sha256:" + strings.Repeat("cd", 32)}}}}
	r.Warnings = []string{"exception CVE-X (.secgate.yml line 9) expires on 2026-11-30"}
	return r
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./gate/report -update to accept):\n%s", name, got)
	}
}

func render(t *testing.T, w Writer, r Report) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := w.Write(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	r := sample()
	golden(t, "report.json", render(t, JSON{}, r))
	golden(t, "report.txt", render(t, Text{}, r))
	golden(t, "report.color.txt", render(t, Text{Color: true}, r))

	e := New()
	e.Errors = []string{".secgate.yml:4:3: unknown field \"severe\""}
	golden(t, "error.json", render(t, JSON{}, e))
	golden(t, "error.txt", render(t, Text{}, e))
}

func TestJSONMatchesSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	sch, err := c.Compile("report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]Report{"sample": sample(), "error": New()} {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(render(t, JSON{}, r)))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(v); err != nil {
			t.Errorf("%s report does not match the schema: %v", name, err)
		}
	}
	// The schema is strict: a field the contract does not know is caught.
	var m map[string]any
	if err := json.Unmarshal(render(t, JSON{}, sample()), &m); err != nil {
		t.Fatal(err)
	}
	m["surprise"] = true
	if err := sch.Validate(m); err == nil {
		t.Error("the schema accepts unknown fields")
	}
}

func TestTextHasNoColorUnlessAsked(t *testing.T) {
	if plain := render(t, Text{}, sample()); bytes.Contains(plain, []byte("\x1b[")) {
		t.Error("plain text report contains ANSI escapes")
	}
	if c := render(t, Text{Color: true}, sample()); !bytes.Contains(c, []byte("\x1b[1m\x1b[31mcritical")) {
		t.Error("colour report does not colour the critical tier")
	}
}

func TestExitCode(t *testing.T) {
	for _, tt := range []struct {
		v          policy.Verdict
		production bool
		want       int
	}{
		{policy.VerdictPass, true, 0},
		{policy.VerdictBlockProduction, false, 0},
		{policy.VerdictBlockProduction, true, 1},
		{policy.VerdictFail, false, 1},
		{policy.VerdictError, false, 2},
		{"", false, 2},
	} {
		r := Report{Verdict: tt.v, Production: tt.production}
		if got := r.ExitCode(); got != tt.want {
			t.Errorf("%q production=%v: exit %d, want %d", tt.v, tt.production, got, tt.want)
		}
	}
}

func TestTextNextSteps(t *testing.T) {
	r := sample()
	out := string(render(t, Text{}, r))
	for _, want := range []string{
		"Findings  2 critical, 1 high, 1 medium, 1 low",
		"Verdict  FAIL (exit 1, deploy allowed: no, environment \"staging\")",
		"revoke and rotate the leaked credential first",
		"upgrade the vulnerable packages",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
}
