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
