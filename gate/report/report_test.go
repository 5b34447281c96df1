package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

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
	for i := range fs {
		fs[i].Scanner = map[policy.Kind]string{policy.KindSecret: "secrets", policy.KindVulnerability: "deps", policy.KindImage: "image"}[fs[i].Kind]
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

func written(t *testing.T, w Writer, r Report) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := w.Write(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	r := sample()
	golden(t, "report.json", written(t, JSON{}, r))
	golden(t, "report.txt", written(t, Text{}, r))
	golden(t, "report.color.txt", written(t, Text{Color: true}, r))
	golden(t, "report.sarif", written(t, SARIF{Version: "test"}, r))
	golden(t, "summary.md", written(t, Markdown{FileURL: "https://github.com/acme/shop/blob/0123abc/"}, r))
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	for _, typ := range GitLabTypes(r) {
		golden(t, "gl-"+typ+".json", written(t, GitLab{Type: typ, Start: at, End: at.Add(3 * time.Second), Version: "test", Commit: "0123abc"}, r))
	}
	golden(t, "secgate.env", written(t, Dotenv{}, r))
	pr := sample()
	pr.Findings[1].Status, pr.Findings[0].Status = policy.StatusExisting, policy.StatusNew
	golden(t, "comment.md", written(t, Markdown{NewOnly: true, Marker: "secgate:pr-comment", MaxBytes: 60000}, pr))

	e := New()
	e.Errors = []string{".secgate.yml:4:3: unknown field \"severe\""}
	golden(t, "error.json", written(t, JSON{}, e))
	golden(t, "error.txt", written(t, Text{}, e))
}

func TestJSONMatchesSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	sch, err := c.Compile("report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	signed := sample()
	idx := int64(7)
	signed.Policy = &PolicySource{File: ".secgate.yml", Digest: "sha256:" + strings.Repeat("ab", 32)}
	signed.Signature = &Signature{Image: "ghcr.io/acme/app@sha256:" + strings.Repeat("cd", 32), Identity: "key sha256:0011223344556677", Reason: "some images are not in a registry",
		Images: []ImageSignature{
			{Reference: "ghcr.io/acme/app:1", Digest: "ghcr.io/acme/app@sha256:" + strings.Repeat("cd", 32), Signed: true,
				Signature: "ghcr.io/acme/app:sha256-" + strings.Repeat("cd", 32) + ".sig", Attestation: "ghcr.io/acme/app:sha256-" + strings.Repeat("cd", 32) + ".att", TlogIndex: &idx, AttestationTlogIndex: &idx,
				Attestations: []string{"https://github.com/secgate/secgate/attestation/verdict/v1", "https://cyclonedx.org/bom", "https://openvex.dev/ns"}},
			{Reference: "docker-archive:app.tar", Reason: "not in a registry"},
		}}
	for name, r := range map[string]Report{"sample": sample(), "error": New(), "signed": signed} {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(written(t, JSON{}, r)))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(v); err != nil {
			t.Errorf("%s report does not match the schema: %v", name, err)
		}
	}
	// The schema is strict: a field the contract does not know is caught.
	var m map[string]any
	if err := json.Unmarshal(written(t, JSON{}, sample()), &m); err != nil {
		t.Fatal(err)
	}
	m["surprise"] = true
	if err := sch.Validate(m); err == nil {
		t.Error("the schema accepts unknown fields")
	}
}

func TestTextHasNoColorUnlessAsked(t *testing.T) {
	if plain := written(t, Text{}, sample()); bytes.Contains(plain, []byte("\x1b[")) {
		t.Error("plain text report contains ANSI escapes")
	}
	if c := written(t, Text{Color: true}, sample()); !bytes.Contains(c, []byte("\x1b[1m\x1b[31mcritical")) {
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
	out := string(written(t, Text{}, r))
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

// The SARIF output is valid SARIF 2.1.0 (the OASIS schema), with one run
// per scanner, each its own category, and what code scanning needs.
func TestSARIF(t *testing.T) {
	c := jsonschema.NewCompiler()
	sch, err := c.Compile(filepath.Join("..", "..", "testdata", "schemas", "sarif-schema-2.1.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	r := sample()
	out := written(t, SARIF{PathPrefix: "services/api", Version: "1.2.3"}, r)
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(v); err != nil {
		t.Fatalf("not valid SARIF 2.1.0: %v", err)
	}
	var doc struct {
		Runs []struct {
			AutomationDetails struct{ ID string } `json:"automationDetails"`
			Tool              struct {
				Driver struct {
					Name    string
					Version string
					Rules   []struct {
						ID         string
						Properties map[string]any
					}
				}
			}
			Results []struct {
				RuleID              string
				Level               string
				PartialFingerprints map[string]string
				Locations           []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Runs) != 3 {
		t.Fatalf("%d runs, want one per scanner", len(doc.Runs))
	}
	ids := map[string]bool{}
	results := map[string]int{}
	for _, run := range doc.Runs {
		ids[run.AutomationDetails.ID] = true
		if run.Tool.Driver.Name != "secgate" || run.Tool.Driver.Version != "1.2.3" {
			t.Errorf("driver %+v", run.Tool.Driver)
		}
		for _, rule := range run.Tool.Driver.Rules {
			if _, ok := rule.Properties["security-severity"]; !ok {
				t.Errorf("rule %s has no security-severity", rule.ID)
			}
		}
		for _, res := range run.Results {
			results[res.RuleID]++
			want := ""
			for _, f := range r.Findings {
				if f.Rule == res.RuleID {
					want = f.Fingerprint
				}
			}
			if res.PartialFingerprints[FingerprintKey] != want {
				t.Errorf("%s: partialFingerprints %v, want %s", res.RuleID, res.PartialFingerprints, want)
			}
		}
	}
	if len(ids) != 3 || !ids["secgate/secrets/"] || !ids["secgate/deps/"] || !ids["secgate/image/"] {
		t.Errorf("automationDetails ids %v, want one per scanner", ids)
	}
	if len(results) != len(r.Findings) {
		t.Errorf("results %v, want every finding", results)
	}
	secretRun := doc.Runs[0]
	if loc := secretRun.Results[0].Locations[0].PhysicalLocation; loc.ArtifactLocation.URI != "services/api/config/prod.env" || loc.Region.StartLine != 2 {
		t.Errorf("location %+v, want relative to the repository", loc)
	}

	// Over the per-run limit, the lowest tiers are left out, and it is said.
	cut := written(t, SARIF{MaxResults: 1}, r)
	if err := json.Unmarshal(cut, &doc); err != nil {
		t.Fatal(err)
	}
	deps := doc.Runs[1]
	if len(deps.Results) != 1 || deps.Results[0].Level != "error" || !bytes.Contains(cut, []byte("results of the lowest tiers left out")) {
		t.Errorf("deps run: %d results (%+v)", len(deps.Results), deps.Results)
	}
}

// The summary stays under its size bound, cutting the lowest tiers first
// and saying how many; untrusted text cannot break it.
func TestMarkdownBoundsAndInjection(t *testing.T) {
	r := sample()
	big := r.Findings
	for i := range 2000 {
		f := r.Findings[len(r.Findings)-1]
		f.Location.Package = fmt.Sprintf("pkg-%04d", i)
		f.Scanner = "deps"
		big = append(big, f)
	}
	r.Findings = big
	out := written(t, Markdown{MaxBytes: 20000}, r)
	if len(out) > 20000 {
		t.Errorf("%d bytes, over the 20000 bound", len(out))
	}
	if !bytes.Contains(out, []byte("of the lowest tiers are left out here")) || !bytes.Contains(out, []byte("aws-access-token")) {
		t.Errorf("the cut must keep the most severe and say so:\n%s", out[len(out)-300:])
	}

	e := sample()
	e.Findings[0].Location.Path = "x|y</td><img src=x onerror=alert(1)>\n# title"
	e.Findings[0].Title = "@org/team [link](https://evil.example)"
	e.Errors = []string{"<script>alert(1)</script>"}
	out = written(t, Markdown{FileURL: "https://github.com/acme/shop/blob/0123abc/"}, e)
	// Inside code spans text is literal; outside them nothing may be live.
	outside := codeSpan.ReplaceAll(out, []byte("CODE"))
	for _, bad := range []string{"<script>", "<img", "\n# title", "(https://evil.example)", "@org"} {
		if bytes.Contains(outside, []byte(bad)) {
			t.Errorf("summary contains %q outside code spans", bad)
		}
	}
}

// codeSpan matches inline code spans of one to three backticks.
var codeSpan = regexp.MustCompile("(```[^`]*(?:`{1,2}[^`]+)*```|``[^`]*(?:`[^`]+)*``|`[^`\n]*`)")

// Each GitLab report is valid against GitLab's schema (15.2.4): GitLab
// drops an invalid one silently. An error run says failure.
func TestGitLabReportsMatchTheirSchemas(t *testing.T) {
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	r := sample()
	e := sample()
	e.Verdict, e.Errors = policy.VerdictError, []string{"deps: OSV API unreachable"}
	for typ, file := range map[string]string{GitLabSecrets: "secret-detection", GitLabDeps: "dependency-scanning", GitLabContainer: "container-scanning"} {
		c := jsonschema.NewCompiler()
		sch, err := c.Compile(filepath.Join("..", "..", "testdata", "schemas", "gitlab", file+"-report-format.json"))
		if err != nil {
			t.Fatal(err)
		}
		for name, rep := range map[string]Report{"sample": r, "error": e, "empty": New()} {
			out := written(t, GitLab{Type: typ, Start: at, End: at, Version: "1.0.0"}, rep)
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(v); err != nil {
				t.Errorf("%s report of the %s run is not valid: %v", typ, name, err)
			}
			var doc struct {
				Scan struct {
					Status string
				}
				Vulnerabilities []struct{ ID string }
			}
			_ = json.Unmarshal(out, &doc)
			if name == "error" && doc.Scan.Status != "failure" {
				t.Errorf("%s: an error run says %q", typ, doc.Scan.Status)
			}
			if name == "sample" && len(doc.Vulnerabilities) == 0 {
				t.Errorf("%s: no vulnerability", typ)
			}
		}
	}
}

func TestSignatureInTextAndSummary(t *testing.T) {
	r := sample()
	d := "ghcr.io/acme/app@sha256:" + strings.Repeat("cd", 32)
	r.Signature = &Signature{Image: d, Identity: "key sha256:0011223344556677", Images: []ImageSignature{
		{Reference: "ghcr.io/acme/app:1", Digest: d, Signed: true, Signature: "ghcr.io/acme/app:sha256-x.sig", Attestation: "ghcr.io/acme/app:sha256-x.att"},
		{Reference: "docker-archive:app.tar", Reason: "not in a registry (docker-archive)"},
	}}
	text := string(written(t, Text{}, r))
	md := string(written(t, Markdown{}, r))
	for _, want := range []string{"signed by key sha256:0011223344556677", "signed " + d + " (signature ghcr.io/acme/app:sha256-x.sig, verdict attestation ghcr.io/acme/app:sha256-x.att)", "not signed docker-archive:app.tar: not in a registry"} {
		if !strings.Contains(text, want) {
			t.Errorf("text report lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(md, "**Signature**") || !strings.Contains(md, "not signed docker-archive:app.tar") {
		t.Errorf("summary lacks the signature:\n%s", md)
	}
	r.Signature = &Signature{Reason: "the verdict is fail: only images that pass are signed"}
	if text := string(written(t, Text{}, r)); !strings.Contains(text, "not signed: the verdict is fail") {
		t.Errorf("text report lacks why nothing was signed:\n%s", text)
	}
}

func TestSecretContextInText(t *testing.T) {
	r := sample()
	r.Findings = append(r.Findings, policy.Finding{Kind: policy.KindSecret, Rule: "private-key", Severity: policy.Low, Action: policy.ActionReport,
		Location: policy.Location{Path: "tests/certs/server.key", Line: 1}, Preview: "-----BEGIN PRIVATE KEY----- (241 chars)", Fingerprint: "secret-0123", Context: policy.SecretContextTest})
	if text := string(written(t, Text{}, r)); !strings.Contains(text, "(test or fixture path, generic rule: tier from secrets.context.test)") {
		t.Errorf("the text report does not say why the tier is low:\n%s", text)
	}
}
