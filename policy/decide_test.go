package policy

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)

func vuln(id string, score float64) Finding {
	return Finding{ID: id, Kind: KindVulnerability, Rule: id, Score: &score, ScoreSource: SourceCVSSv3, Fingerprint: "fp-" + id}
}

func TestDecideTierBoundaries(t *testing.T) {
	tests := []struct {
		score    float64
		severity Severity
		action   Action
		verdict  Verdict
	}{
		{0.0, Low, ActionReport, VerdictPass},
		{3.9, Low, ActionReport, VerdictPass},
		{4.0, Medium, ActionFileIssue, VerdictPass},
		{6.9, Medium, ActionFileIssue, VerdictPass},
		{7.0, High, ActionBlockProduction, VerdictBlockProduction},
		{8.9, High, ActionBlockProduction, VerdictBlockProduction},
		{9.0, Critical, ActionFail, VerdictFail},
		{10.0, Critical, ActionFail, VerdictFail},
	}
	p := Default()
	for _, tt := range tests {
		d := p.Decide([]Finding{vuln("CVE-X", tt.score)}, Context{Now: now})
		f := d.Findings[0]
		if f.Severity != tt.severity || f.Action != tt.action || d.Verdict != tt.verdict {
			t.Errorf("score %.1f: severity %v action %v verdict %v; want %v %v %v",
				tt.score, f.Severity, f.Action, d.Verdict, tt.severity, tt.action, tt.verdict)
		}
		if d.Counts.Of(tt.severity) != 1 {
			t.Errorf("score %.1f: counts %+v", tt.score, d.Counts)
		}
	}
}

func TestDecideEnvironments(t *testing.T) {
	p := Default()
	high := []Finding{vuln("CVE-HIGH", 7.5)}
	crit := []Finding{vuln("CVE-CRIT", 9.8), vuln("CVE-HIGH", 7.5)}
	med := []Finding{vuln("CVE-MED", 5.0)}
	tests := []struct {
		name     string
		findings []Finding
		ctx      Context
		verdict  Verdict
		deploy   bool
		blocking bool
		reason   string
	}{
		{"high, no environment", high, Context{}, VerdictBlockProduction, false, false, "no target environment given"},
		{"high, staging", high, Context{Environment: "staging"}, VerdictBlockProduction, false, false, `"staging" is not a production one`},
		{"high, production", high, Context{Environment: "production"}, VerdictBlockProduction, false, true, "so the job fails"},
		{"high, PROD", high, Context{Environment: "PROD"}, VerdictBlockProduction, false, true, "so the job fails"},
		{"high, GitLab tier production", high, Context{Environment: "eu-1", EnvironmentTier: "production"}, VerdictBlockProduction, false, true, "so the job fails"},
		{"critical anywhere", crit, Context{Environment: "dev"}, VerdictFail, false, true, "1 finding fails the gate"},
		{"medium only, production", med, Context{Environment: "production"}, VerdictPass, true, false, "1 medium finding to file as issues"},
		{"nothing", nil, Context{Environment: "production"}, VerdictPass, true, false, "no finding requires action"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.ctx.Now = now
			d := p.Decide(tt.findings, tt.ctx)
			if d.Verdict != tt.verdict || d.DeployAllowed != tt.deploy || d.Blocking() != tt.blocking {
				t.Errorf("verdict %v deploy %v blocking %v; want %v %v %v", d.Verdict, d.DeployAllowed, d.Blocking(), tt.verdict, tt.deploy, tt.blocking)
			}
			if r := strings.Join(d.Reasons, "\n"); !strings.Contains(r, tt.reason) {
				t.Errorf("reasons %q do not say %q", r, tt.reason)
			}
		})
	}
}

func TestDecideClassification(t *testing.T) {
	p := Default()
	score := 9.9
	fs := []Finding{
		{ID: "secret-1", Kind: KindSecret, Rule: "aws-access-token", Fingerprint: "secret-1"},
		{ID: "GHSA-word", Kind: KindVulnerability, Severity: High, ScoreSource: SourceDatabase},
		{ID: "PYSEC-none", Kind: KindVulnerability},
		{ID: "PYSEC-alias", Kind: KindVulnerability, Score: &score, ScoreSource: SourceAliasPrefix + SourceCVSSv3},
	}
	d := p.Decide(fs, Context{Now: now})
	got := map[string]Finding{}
	for _, f := range d.Findings {
		got[f.ID] = f
	}
	if f := got["secret-1"]; f.Severity != Critical || f.Action != ActionFail {
		t.Errorf("secret: %v %v, want critical fail", f.Severity, f.Action)
	}
	if f := got["GHSA-word"]; f.Severity != High || f.ScoreSource != SourceDatabase {
		t.Errorf("database word: %v %q", f.Severity, f.ScoreSource)
	}
	if f := got["PYSEC-none"]; f.Severity != Medium || f.ScoreSource != SourcePolicyDefault {
		t.Errorf("unscored: %v %q", f.Severity, f.ScoreSource)
	}
	if f := got["PYSEC-alias"]; f.Severity != Critical {
		t.Errorf("alias vector: %v", f.Severity)
	}
	// Report order: most severe first.
	if d.Findings[0].Severity != Critical || d.Findings[len(d.Findings)-1].Severity != Medium {
		t.Errorf("order: %v ... %v", d.Findings[0].Severity, d.Findings[len(d.Findings)-1].Severity)
	}

	p.SecretsTier = Medium
	if d := p.Decide(fs[:1], Context{Now: now}); d.Findings[0].Action != ActionFileIssue || d.Verdict != VerdictPass {
		t.Errorf("secrets tier medium: %v %v", d.Findings[0].Action, d.Verdict)
	}
}

func TestDecideExceptions(t *testing.T) {
	src := `exceptions:
  - id: CVE-2021-44228
    reason: patched with -Dlog4j2.formatMsgNoLookups, see ADR-12
    expires: 2027-01-31
    owner: team-payments
  - id: CVE-SOON
    reason: upgrade scheduled
    expires: 2026-11-30
  - id: CVE-OLD
    reason: was fine last year
    expires: 2026-11-24
  - id: secret-fp-123
    reason: test fixture key, revoked
    expires: 2026-11-25
`
	p, err := Parse(".secgate.yml", []byte(src), testCatalogue)
	if err != nil {
		t.Fatal(err)
	}
	log4j := vuln("GHSA-jfh8-c2jp-5v3q", 10)
	log4j.Aliases = []string{"CVE-2021-44228"}
	fs := []Finding{log4j, vuln("CVE-SOON", 9.8), vuln("CVE-OLD", 9.8),
		{ID: "secret-fp-123", Kind: KindSecret, Rule: "github-pat", Fingerprint: "secret-fp-123"}}
	d := p.Decide(fs, Context{Now: now})
	got := map[string]Finding{}
	for _, f := range d.Findings {
		got[f.ID] = f
	}
	if f := got["GHSA-jfh8-c2jp-5v3q"]; f.Action != ActionIgnored || f.Ignored == nil || f.Ignored.Owner != "team-payments" || f.Ignored.Expires != "2027-01-31" {
		t.Errorf("exception by alias not applied: %+v %+v", f, f.Ignored)
	}
	if f := got["CVE-SOON"]; f.Action != ActionIgnored {
		t.Errorf("CVE-SOON: %v", f.Action)
	}
	if f := got["secret-fp-123"]; f.Action != ActionIgnored {
		t.Errorf("an exception is valid through its expiry day: %v", f.Action)
	}
	if f := got["CVE-OLD"]; f.Action != ActionFail || f.Ignored != nil {
		t.Errorf("expired exception still applied: %v", f.Action)
	}
	if d.Verdict != VerdictFail || d.Counts.Critical != 1 {
		t.Errorf("verdict %v counts %+v: the expired exception's finding must fail and ignored ones not count", d.Verdict, d.Counts)
	}
	w := strings.Join(d.Warnings, "\n")
	for _, want := range []string{
		"exception CVE-OLD (.secgate.yml line 9) expired on 2026-11-24 and no longer applies",
		"exception CVE-SOON (.secgate.yml line 6) expires on 2026-11-30",
		"exception secret-fp-123 (.secgate.yml line 12) expires on 2026-11-25",
	} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings %q lack %q", w, want)
		}
	}
	if strings.Contains(w, "CVE-2021-44228") {
		t.Errorf("an exception far from expiry is not warned about: %q", w)
	}
}

func TestDecideNewFindingsOnly(t *testing.T) {
	p := Default()
	p.NewFindingsOnly = true
	old := vuln("CVE-OLD", 9.8)
	old.Status = StatusExisting
	fresh := vuln("CVE-NEW", 7.5)
	fresh.Status = StatusNew

	d := p.Decide([]Finding{old}, Context{Now: now, PullRequest: true, Environment: "production"})
	if d.Verdict != VerdictPass || d.Findings[0].Action != ActionFileIssue {
		t.Errorf("existing critical on a PR: %v %v, want pass, file-issue", d.Verdict, d.Findings[0].Action)
	}
	d = p.Decide([]Finding{old, fresh}, Context{Now: now, PullRequest: true, Environment: "production"})
	if d.Verdict != VerdictBlockProduction || !d.Blocking() {
		t.Errorf("new high on a PR to production: %v blocking=%v", d.Verdict, d.Blocking())
	}
	d = p.Decide([]Finding{old}, Context{Now: now, PullRequest: false})
	if d.Verdict != VerdictFail {
		t.Errorf("not a PR (scheduled or default-branch run) judges everything: %v", d.Verdict)
	}
	p.NewFindingsOnly = false
	if d := p.Decide([]Finding{old}, Context{Now: now, PullRequest: true}); d.Verdict != VerdictFail {
		t.Errorf("option off: %v", d.Verdict)
	}
}

// The order of findings does not depend on the order scanners return them:
// findings that differ only in version, ecosystem, layer or rule are
// ordered too, so every output is byte-stable.
func TestDecideOrderIsTotal(t *testing.T) {
	var fs []Finding
	for _, v := range []string{"1.0.1", "1.0.0"} {
		for _, eco := range []string{"npm", "PyPI"} {
			for _, layer := range []string{"1 sha256:b", "0 sha256:a"} {
				f := vuln("GHSA-x", 7.5)
				f.Location = Location{Package: "p", Version: v, Ecosystem: eco, Image: "img", Layer: layer}
				fs = append(fs, f)
			}
		}
	}
	s1, s2 := Finding{Kind: KindSecret, Rule: "generic-api-key", Location: Location{Path: "a", Line: 1}}, Finding{Kind: KindSecret, Rule: "aws-access-token", Location: Location{Path: "a", Line: 1}}
	fs = append(fs, s1, s2)
	first := Default().Decide(fs, Context{Now: now}).Findings
	for i := range 20 {
		shuffled := slices.Clone(fs)
		rand.New(rand.NewPCG(uint64(i), 1)).Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		got := Default().Decide(shuffled, Context{Now: now}).Findings
		for j := range got {
			if !reflect.DeepEqual(got[j], first[j]) {
				t.Fatalf("shuffle %d: finding %d is %+v, want %+v", i, j, got[j].Location, first[j].Location)
			}
		}
	}
}
