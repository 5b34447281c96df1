package issues

import (
	"strings"
	"testing"

	"github.com/secgate/secgate/policy"
)

// An exploited advisory's issue says so in a row of its own.
func TestBodySaysExploited(t *testing.T) {
	f := vuln("GHSA-6", "lodash@4.17.15", "package-lock.json", policy.Critical, policy.ActionFail)
	f.ScoreSource = policy.SourceCVSSv3 + "; raised by " + policy.SourceKEVFloor
	f.KEV = &policy.KEV{CVE: "CVE-2020-28500", DateAdded: "2026-11-20"}
	body := Options{}.Body(Groups(rep(f))[0])
	if !strings.Contains(body, "| Exploitation | known exploited \\(CISA KEV since 2026-11-20\\) |") {
		t.Errorf("body:\n%s", body)
	}
	f.KEV = nil
	if body := (Options{}).Body(Groups(rep(f))[0]); strings.Contains(body, "Exploitation") {
		t.Errorf("an Exploitation row with no data:\n%s", body)
	}
}

// A live secret's issue title says LIVE; its body says what the provider
// answered. Without an answer, neither.
func TestLiveSecretTitle(t *testing.T) {
	f := policy.Finding{ID: "secret-1", Kind: policy.KindSecret, Rule: "github-pat", Title: "GitHub Personal Access Token", Fingerprint: "secret-1",
		Severity: policy.Critical, Action: policy.ActionFail, Location: policy.Location{Path: "a.env", Line: 1}, Validity: policy.ValidityValid}
	g := Groups(rep(f))[0]
	if got := Title(g); !strings.HasPrefix(got, "[secgate] critical: LIVE ") {
		t.Errorf("title %q", got)
	}
	if body := (Options{}).Body(g); !strings.Contains(body, "| Validity | LIVE: the provider accepted this credential |") {
		t.Errorf("body:\n%s", body)
	}
	f.Validity = policy.ValidityUnknown
	if got := Title(Groups(rep(f))[0]); strings.Contains(got, "LIVE") {
		t.Errorf("title %q for an unknown validity", got)
	}
}
