package gate

import (
	"context"
	"fmt"
	"path/filepath"
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
	Help: "A pull/merge request that edits .secgate.yml, .gitleaks.toml, .gitleaksignore, an osv-scanner.toml, or a --policy or VEX document of the repository is judged by the base revision's versions; the edit needs a reviewer's eyes, and applies once merged."}}

// trustedFiles are the files that configure the gate: on a pull/merge
// request they are read from the base revision, and a change to them is a
// finding for review.
var trustedFiles = []string{policy.FileName, secrets.RepoConfigFile, secrets.IgnoreFile, ":(glob)**/" + deps.ConfigFile}

// configScanner reports every change a pull/merge request makes to the
// trusted files.
type configScanner struct {
	root, base string
	tier       policy.Severity
	vex        []string   // the policy's VEX documents (policy files too), in the tree
	given      []repoFile // the --policy and --vex files in the repository, in the tree or not
}

func (s *configScanner) Name() string   { return "config" }
func (s *configScanner) Target() string { return "changes to the gate's configuration since " + s.base }

func (s *configScanner) Scan(ctx context.Context) (policy.ScanResult, error) {
	files := append(slices.Clone(trustedFiles), s.vex...)
	changed, err := repo.Changed(ctx, s.root, s.base, files...)
	if err != nil {
		return policy.ScanResult{}, err
	}
	// The --policy and --vex files, by their repository's work tree: one
	// beside the scanned directory is named relative to it
	// (../vex/shop.vex.json).
	_, prefix, _ := repo.Locate(s.root, s.root)
	for _, f := range s.given {
		rel, err := filepath.Rel(filepath.FromSlash("/"+prefix), filepath.FromSlash("/"+f.rel))
		if err != nil {
			return policy.ScanResult{}, fmt.Errorf("%s: %w", f.rel, err)
		}
		rel = filepath.ToSlash(rel)
		if slices.Contains(files, rel) {
			continue // listed already
		}
		files = append(files, rel)
		more, err := repo.Changed(ctx, f.top, s.base, f.rel)
		if err != nil {
			return policy.ScanResult{}, err
		}
		if len(more) > 0 && !slices.Contains(changed, rel) {
			changed = append(changed, rel)
		}
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
