package gate

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/secgate/secgate/gate/deps"
	"github.com/secgate/secgate/gate/repo"
	"github.com/secgate/secgate/gate/secrets"
	"github.com/secgate/secgate/policy"
)

// CheckConfigChanged is the check of a change to the files that configure
// the gate itself.
const CheckConfigChanged = "config-file-changed"

var configChecks = []policy.Check{{ID: CheckConfigChanged, Tier: policy.High, Title: "The change edits the gate's own configuration",
	Help: "A pull/merge request that edits .secgate.yml, .gitleaks.toml, .gitleaksignore or an osv-scanner.toml is judged by the base revision's versions; the edit needs a reviewer's eyes, and applies once merged."}}

// trustedFiles are the files that configure the gate: on a pull/merge
// request they are read from the base revision, and a change to them is a
// finding for review.
var trustedFiles = []string{policy.FileName, secrets.RepoConfigFile, secrets.IgnoreFile, ":(glob)**/" + deps.ConfigFile}

// configScanner reports every change a pull/merge request makes to the
// trusted files.
type configScanner struct {
	root, base string
	tier       policy.Severity
	vex        []string // the VEX documents in the repository (policy files too)
}

func (s *configScanner) Name() string   { return "config" }
func (s *configScanner) Target() string { return "changes to the gate's configuration since " + s.base }

func (s *configScanner) Scan(ctx context.Context) (policy.ScanResult, error) {
	files := append(slices.Clone(trustedFiles), s.vex...)
	changed, err := repo.Changed(ctx, s.root, s.base, files...)
	if err != nil {
		return policy.ScanResult{}, err
	}
	res := policy.ScanResult{Coverage: policy.Coverage{Range: s.base + "..working tree"}}
	for _, p := range changed {
		res.Findings = append(res.Findings, policy.Finding{
			ID: CheckConfigChanged, Kind: policy.KindConfig, Rule: CheckConfigChanged,
			Title:       fmt.Sprintf("%s is changed by this change: the gate used the version of %s, the change applies once merged", p, s.base),
			Severity:    s.tier,
			ScoreSource: policy.SourceRuleDefault,
			Location:    policy.Location{Path: p},
			Fix:         "have the change to " + p + " reviewed (an exception, a disabled rule or an ignore entry loosens the gate for everyone)",
			Fingerprint: policy.Fingerprint(policy.KindConfig, CheckConfigChanged, p),
			Status:      policy.StatusNew,
		})
	}
	res.Notes = append(res.Notes, fmt.Sprintf("%d of the gate's configuration files changed since %s (%s)", len(changed), s.base, strings.Join(files, ", ")))
	return res, nil
}
