package gitlab

import (
	"cmp"
	"context"
	"fmt"
	"io"

	"github.com/secgate/secgate/gate/ci"
	"github.com/secgate/secgate/gate/issues"
	"github.com/secgate/secgate/gate/render"
	"github.com/secgate/secgate/gate/repo"
	"github.com/secgate/secgate/gate/report"
)

// Registration is GitLab CI's entry in the pipeline's platforms.
var Registration = ci.Registration{
	Name:   "GitLab",
	Detect: func(env ci.Getenv) bool { return Detect(env) },
	New: func(env ci.Getenv, raw io.Writer) (ci.Platform, error) {
		return &Platform{env: env, raw: raw}, nil
	},
	Credentials: Credentials,
}

// Platform is one GitLab CI job, read from its CI_* variables.
type Platform struct {
	env ci.Getenv
	raw io.Writer // the job log, unguarded: section markers
}

var _ ci.Platform = (*Platform)(nil)

// Name implements ci.Platform.
func (*Platform) Name() string { return "GitLab" }

// Range implements ci.Platform (see RunContext).
func (p *Platform) Range(ctx context.Context, root string) (ci.Range, error) {
	return RunContext(ctx, p.env, root)
}

// PushRange implements ci.Platform (see PushRange: branch pipelines).
func (p *Platform) PushRange() (before, after string) { return PushRange(p.env) }

// DefaultBranch implements ci.Platform (see DefaultBranch).
func (p *Platform) DefaultBranch() (defaultBranch, head string) { return DefaultBranch(p.env) }

// DeepenToBranch implements ci.Platform: repo.DeepenToBranch with the job
// token, as Deepen.
func (p *Platform) DeepenToBranch(ctx context.Context, root, branch, head string) (string, error) {
	note, err := repo.DeepenToBranch(ctx, root, branch, DeepenOptions(p.env, "", head))
	if err != nil {
		return "", fmt.Errorf("%w (%s fetches the history)", err, DeepenFix)
	}
	return note, nil
}

// Deepen implements ci.Platform (see Deepen: the job token).
func (p *Platform) Deepen(ctx context.Context, root, base, head string) (string, error) {
	return Deepen(ctx, p.env, root, base, head)
}

// Run implements ci.Platform.
func (p *Platform) Run() ci.RunInfo {
	return ci.RunInfo{
		URL: cmp.Or(p.env("CI_JOB_URL"), p.env("CI_PIPELINE_URL")), Commit: p.env("CI_COMMIT_SHA"),
		Repository: p.env("CI_PROJECT_PATH"), Event: p.env("CI_PIPELINE_SOURCE"),
		Environment: p.env("CI_ENVIRONMENT_NAME"), EnvironmentTier: p.env("CI_ENVIRONMENT_TIER"),
	}
}

// Credentials implements ci.Platform.
func (p *Platform) Credentials() []ci.Credential { return Credentials(p.env) }

// Credentials is the job's login to the project's registry
// (CI_REGISTRY_USER and CI_REGISTRY_PASSWORD for CI_REGISTRY).
func Credentials(env ci.Getenv) []ci.Credential {
	host, u, pw := env("CI_REGISTRY"), env("CI_REGISTRY_USER"), env("CI_REGISTRY_PASSWORD")
	if host == "" || u == "" || pw == "" {
		return nil
	}
	return []ci.Credential{{Host: host, Username: u, Password: pw}}
}

// Tracker implements ci.Platform: the project's issues with
// SECGATE_GITLAB_TOKEN, else GITLAB_TOKEN (CI_JOB_TOKEN cannot use the
// Issues API); read-only for a fork's merge request.
func (p *Platform) Tracker(r ci.Range) (issues.Tracker, error) {
	if r.Fork {
		return nil, &ci.ReadOnlyError{Reason: "a merge request from a fork files nothing in the project"}
	}
	c, err := NewClient(p.env("CI_API_V4_URL"), p.env("CI_PROJECT_ID"), cmp.Or(p.env("SECGATE_GITLAB_TOKEN"), p.env("GITLAB_TOKEN")), ClientOptions{})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Comment implements ci.Platform: secgate keeps no merge request note
// (the merge request widget shows the security reports).
func (*Platform) Comment(context.Context, ci.Range, report.Report) error { return nil }

// Publish implements ci.Platform: a collapsible log section per scanner,
// its notes redacted and rendered for the log.
func (p *Platform) Publish(rep report.Report, _ ci.PublishOptions) {
	for _, s := range rep.Scanners {
		Section(p.raw, "secgate_"+s.Name, fmt.Sprintf("secgate %s: %s, %d findings, %d ms", s.Name, s.Status, s.Findings, s.DurationMS), func() {
			for _, n := range s.Notes {
				fmt.Fprintf(p.raw, "  %s\n", render.GitLabLog(rep.RedactText(n)))
			}
		})
	}
}
