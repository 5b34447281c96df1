package policy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testCatalogue stands for the gate's registry.
var testCatalogue = Catalogue{
	{Name: "secrets", Section: "secrets", Checks: []Check{{ID: "secret"}}},
	{Name: "deps", Section: "deps"},
	{Name: "image", Section: "image", Checks: []Check{{ID: "image-runs-as-root", Tier: High}, {ID: "image-has-shell", Tier: Low}}},
	{Name: "config", Section: "config", Checks: []Check{{ID: "config-file-changed", Tier: High}}},
	{Name: "manifests", Section: "manifests", Checks: []Check{{ID: "manifest-privileged", Tier: High}}},
}

func TestDefaultFileMatchesBuiltin(t *testing.T) {
	p, err := Parse("default", DefaultFile(), testCatalogue)
	if err != nil {
		t.Fatal(err)
	}
	want := builtin()
	want.Path = "default"
	want.Digest = p.Digest // of the file's bytes, checked below
	if !reflect.DeepEqual(p, want) {
		t.Errorf("the commented default file and the built-in defaults differ:\nfile:    %+v\nbuiltin: %+v", p, want)
	}
	// The digest names the bytes: one changed byte, another digest.
	q, err := Parse("default", append(DefaultFile(), '\n'), testCatalogue)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Digest, "sha256:") || len(p.Digest) != 71 || q.Digest == p.Digest {
		t.Errorf("digests %s and %s", p.Digest, q.Digest)
	}
}

func TestParseOverridesDefaults(t *testing.T) {
	src := `version: 1
tiers: {critical: 9.5, high: 7.5, medium: 5.0}
actions: {critical: fail, high: fail, medium: report, low: report}
production: [live]
unscored: high
new_findings_only: true
skip_on_error: [deps]
secrets: {tier: high, archives: skip}
deps: {exclude: [testdata, "g:**/fixtures/**"], unparsable: warn}
image: {max_size: 1.5GiB, root_user: critical, size: low, checks: {image-has-shell: medium}}
exceptions:
  - id: GHSA-jfh8-c2jp-5v3q
    reason: not reachable, see ADR-12
    expires: 2027-01-31
    owner: team-payments
`
	p, err := Parse(".secgate.yml", []byte(src), testCatalogue)
	if err != nil {
		t.Fatal(err)
	}
	if p.Tiers != (Thresholds{9.5, 7.5, 5.0}) {
		t.Errorf("tiers = %+v", p.Tiers)
	}
	if p.Actions.High != ActionFail || p.Actions.Medium != ActionReport {
		t.Errorf("actions = %+v", p.Actions)
	}
	if !p.SecretsSkipArchives {
		t.Errorf("secrets.archives: skip not read")
	}
	if !reflect.DeepEqual(p.Production, []string{"live"}) || p.Unscored != High || !p.NewFindingsOnly {
		t.Errorf("production/unscored/new_findings_only = %v %v %v", p.Production, p.Unscored, p.NewFindingsOnly)
	}
	if !p.MaySkip("deps") || p.MaySkip("secrets") {
		t.Errorf("skip_on_error = %v", p.SkipOnError)
	}
	if p.SecretsTier != High || p.CheckTier("image-runs-as-root", High) != Critical || p.CheckTier("image-size-budget", Medium) != Low {
		t.Errorf("tiers per kind: %v %v", p.SecretsTier, p.Checks)
	}
	if !reflect.DeepEqual(p.DepsExclude, []string{"testdata", "g:**/fixtures/**"}) || p.DepsUnparsable != ActionReport {
		t.Errorf("deps: %v %v", p.DepsExclude, p.DepsUnparsable)
	}
	if p.CheckTier("image-has-shell", Low) != Medium || p.CheckTier("image-setuid-binary", Medium) != Medium {
		t.Errorf("image checks: %v", p.Checks)
	}
	if p.ImageMaxSize != 1610612736 {
		t.Errorf("max_size = %d", p.ImageMaxSize)
	}
	if len(p.Exceptions) != 1 {
		t.Fatalf("exceptions = %+v", p.Exceptions)
	}
	ex := p.Exceptions[0]
	if ex.ID != "GHSA-jfh8-c2jp-5v3q" || ex.Owner != "team-payments" || ex.ExpiresString() != "2027-01-31" || ex.Line != 12 {
		t.Errorf("exception = %+v", ex)
	}
	if p.TierFor(9.4) != High || p.TierFor(9.5) != Critical {
		t.Error("custom tiers not used by TierFor")
	}
}

func TestParseErrorsNameFileLineColumn(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown key", "version: 1\ntiers:\n  critical: 9.0\n  severe: 8\n", ".secgate.yml:4:3: "},
		{"wrong type", "version: 1\nnew_findings_only: maybe\n", ".secgate.yml:2:"},
		{"tier value", "tiers:\n  high: eleven\n", ".secgate.yml:2:"},
		{"syntax", "tiers: {critical: 9.0\n", ".secgate.yml:"},
		{"bad action", "actions:\n  high: explode\n", `.secgate.yml:2:9: unknown action "explode"`},
		{"threshold range", "tiers:\n  critical: 11\n", ".secgate.yml:2:13: CVSS threshold 11 is outside"},
		{"tiers order", "tiers: {critical: 7.0, high: 8.0}\n", "tiers must increase"},
		{"missing reason", "exceptions:\n  - id: CVE-2021-44228\n    expires: 2027-01-01\n", `.secgate.yml:2:5: exception "CVE-2021-44228" has no reason`},
		{"missing expiry", "exceptions:\n  - id: CVE-2021-44228\n    reason: ok\n", `.secgate.yml:2:5: exception "CVE-2021-44228" has no expires date`},
		{"bad date", "exceptions:\n  - id: X\n    reason: ok\n    expires: next year\n", `.secgate.yml:4:14: exception "X": expires "next year" is not a date`},
		{"missing id", "exceptions:\n  - reason: ok\n    expires: 2027-01-01\n", ".secgate.yml:2:5: exception has no id"},
		{"duplicate", "exceptions:\n  - {id: X, reason: a, expires: 2027-01-01}\n  - {id: X, reason: b, expires: 2027-01-01}\n", `declared twice (first at line 2)`},
		{"unknown scanner", "skip_on_error: [sast]\n", `.secgate.yml:1:17: unknown scanner "sast"`},
		{"bad severity", "unscored: urgent\n", `.secgate.yml:1:11: unknown severity "urgent"`},
		{"bad size", "image: {max_size: 200 parsecs}\n", `unknown unit "parsecs"`},
		{"version", "version: 2\n", ".secgate.yml:1:10: unsupported policy version 2"},
		{"unparsable", "deps:\n  unparsable: ignore\n", `.secgate.yml:2:15: unknown value "ignore"`},
		{"secret archives", "secrets:\n  archives: unpack\n", `.secgate.yml:2:13: unknown value "unpack" (want fail or skip)`},
		{"lockfile patterns ecosystem", "deps:\n  lockfile_patterns:\n    pypi: [reqs/*.txt]\n", `.secgate.yml:3:11: unknown ecosystem "pypi" (want one of PyPI)`},
		{"lockfile pattern leaving the tree", "deps:\n  lockfile_patterns:\n    PyPI: [ok.txt, ../x.txt]\n", `.secgate.yml:3:20: pattern "../x.txt": ".." leaves the tree`},
		{"lockfile pattern absolute", "deps:\n  lockfile_patterns: {PyPI: [/etc/reqs.txt]}\n", `.secgate.yml:2:30: pattern "/etc/reqs.txt": a path relative to the tree`},
		{"lockfile pattern empty", "deps:\n  lockfile_patterns: {PyPI: [\"\"]}\n", `.secgate.yml:2:30: empty pattern`},
		{"lockfile pattern class", "deps:\n  lockfile_patterns: {PyPI: [\"req[0-9].txt\"]}\n", `.secgate.yml:2:30: pattern "req[0-9].txt": only *, ** and ? are wildcards`},
		{"lockfile patterns type", "deps:\n  lockfile_patterns: [a.txt]\n", `.secgate.yml:2:`},
		{"unknown check", "image:\n  checks:\n    image-has-shel: medium\n", `.secgate.yml:3:21: unknown image check "image-has-shel" (want one of image-runs-as-root, image-has-shell)`},
		{"unknown check at the top", "checks:\n  config-file-changd: low\n", `.secgate.yml:2:23: unknown check "config-file-changd" (want one of secret, image-runs-as-root, image-has-shell, config-file-changed, manifest-privileged)`},
		{"per-finding tier", "checks: {secret: low}\n", `check secret has no tier of its own`},
		{"one tier, two keys", "image: {root_user: high}\nchecks: {image-runs-as-root: low}\n", `.secgate.yml:2:30: the tier of check image-runs-as-root is set twice`},
		{"one tier set twice", "image:\n  root_user: high\n  checks: {image-runs-as-root: low}\n", `.secgate.yml:2:14: image.root_user and image.checks.image-runs-as-root set the same tier`},
		{"unknown secret context", "secrets:\n  context:\n    tests: low\n", `.secgate.yml:3:12: unknown context "tests" (want test, example, docs, vendored, local-host, checksum-invalid)`},
		{"secret context tier", "secrets:\n  context: {docs: urgent}\n", `.secgate.yml:2:19: unknown severity "urgent"`},
		{"unknown tracker", "response:\n  critical: {ticket: [jiira]}\njira: {url: https://x.atlassian.net, project: SEC}\n", `.secgate.yml:2:23: unknown tracker "jiira" (want repository, jira)`},
		{"unknown notification", "response:\n  critical:\n    notify: [email]\n", `.secgate.yml:3:14: unknown notification "email"`},
		{"jira without a section", "response:\n  critical: {ticket: [jira]}\n", `a tier tickets in jira, and no jira section says where`},
		{"owner without @", "owner: acme/security\n", `.secgate.yml:1:8: owner "acme/security": a GitHub team or user`},
		{"notify owner, no owner", "response:\n  critical: {ticket: [repository], notify: [owner]}\n", `a tier notifies the owner, and no owner is set`},
		{"notify without a ticket", "response:\n  critical: {ticket: [], notify: [slack]}\n", `.secgate.yml:2:14: critical notifies slack with no ticket`},
		{"jira credentials in the url", "jira: {url: \"https://me:tok@acme.atlassian.net\", project: SEC}\n", `.secgate.yml:1:13: jira url: no credentials in the policy`},
		{"jira without project", "jira: {url: https://acme.atlassian.net}\n", `jira needs url and project`},
		{"label with a space", "response:\n  high: {label: needs fix}\n", `label "needs fix": one word`},
		{"unknown manifests check", "manifests:\n  checks: {manifest-priviliged: high}\n", `unknown manifests check "manifest-priviliged"`},
		{"manifests exclude path", "manifests:\n  exclude: [deploy/dev]\n", `.secgate.yml:2:13: exclude "deploy/dev": a directory name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(".secgate.yml", []byte(tt.src), testCatalogue)
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Errorf("error %T is not a *FileError", err)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"200MB": 200e6, "200 MB": 200e6, "1GB": 1e9, "512KiB": 512 << 10, "1000": 1000, "0.5GB": 5e8} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MB", "-1MB", "12 bananas"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) succeeded", in)
		}
	}
}

func TestIsProduction(t *testing.T) {
	p := Default()
	for _, tt := range []struct {
		name, tier string
		want       bool
	}{
		{"production", "", true},
		{"Production", "", true},
		{"prod", "", true},
		{"staging", "", false},
		{"", "", false},
		{"review/feature-x", "production", true},
		{"eu-live", "staging", false},
	} {
		if got := p.IsProduction(tt.name, tt.tier); got != tt.want {
			t.Errorf("IsProduction(%q, %q) = %v", tt.name, tt.tier, got)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(DefaultFile())
	f.Add([]byte("exceptions:\n  - {id: X, reason: a, expires: 2027-01-01}\n"))
	f.Add([]byte("tiers: {critical: 9.0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yml", data, testCatalogue)
		if err == nil && !(p.Tiers.Medium < p.Tiers.High && p.Tiers.High < p.Tiers.Critical) {
			t.Fatalf("accepted inconsistent tiers %+v", p.Tiers)
		}
	})
}

// secrets.context sets the tier of secret findings by context; a finding
// without one keeps secrets.tier, and a context the file does not name
// keeps its default.
func TestSecretContextTiers(t *testing.T) {
	p, err := Parse(".secgate.yml", []byte("secrets:\n  tier: high\n  context: {test: critical, docs: medium}\n"), testCatalogue)
	if err != nil {
		t.Fatal(err)
	}
	for ctx, want := range map[string]Severity{"": High, SecretContextTest: Critical, SecretContextDocs: Medium, SecretContextLocalHost: Low} {
		d := p.Decide([]Finding{{Kind: KindSecret, Rule: "private-key", Fingerprint: "secret-x", Context: ctx}}, Context{Now: time.Now()})
		if got := d.Findings[0].Severity; got != want {
			t.Errorf("context %q: tier %s, want %s", ctx, got, want)
		}
		if ctx != "" && d.Findings[0].ScoreSource != SourceSecretContext+ctx {
			t.Errorf("context %q: score source %q", ctx, d.Findings[0].ScoreSource)
		}
	}
}

func TestResponse(t *testing.T) {
	p, err := Parse(".secgate.yml", []byte(`response:
  critical: {ticket: [jira, repository], notify: [owner, slack, webhook]}
  high:     {ticket: [repository], label: needs-fix}
  medium:   {ticket: [repository]}
  low:      {ticket: []}
owner: "@acme/security"
jira: {url: https://acme.atlassian.net/, project: SEC, issue_type: Bug, components: [payments]}
`), testCatalogue)
	if err != nil {
		t.Fatal(err)
	}
	r := p.Response
	if !r.Tickets(Critical, TicketJira) || !r.Tickets(Critical, TicketRepository) || r.Tickets(High, TicketJira) || r.Tickets(Low, TicketRepository) ||
		!r.Notifies(Critical, NotifySlack) || r.Notifies(High, NotifySlack) || r.Tiers[High].Label != "needs-fix" || r.Owner != "@acme/security" ||
		r.Jira == nil || r.Jira.URL != "https://acme.atlassian.net" || r.Jira.Project != "SEC" || r.Jira.Components[0] != "payments" || r.NotifyFailure != ActionReport {
		t.Fatalf("response %+v jira %+v", r, r.Jira)
	}
	// Without the section: a repository ticket for every tier, nobody notified.
	d := Default().Response
	for _, s := range []Severity{Critical, High, Medium, Low} {
		if !d.Tickets(s, TicketRepository) || d.Tickets(s, TicketJira) || len(d.Tiers[s].Notify) != 0 {
			t.Errorf("default response for %s: %+v", s, d.Tiers[s])
		}
	}
}
