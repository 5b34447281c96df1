package ci

import (
	"cmp"
	"context"

	"github.com/secgate/secgate/gate/issues"
	"github.com/secgate/secgate/gate/repo"
	"github.com/secgate/secgate/gate/report"
)

// Local is a run outside GitHub Actions and GitLab CI: a laptop, or a CI
// secgate has no platform for. It judges what the command line says
// (--base, --history; else the whole tree), has no tracker and publishes
// nothing but the report.
type Local struct {
	env Getenv
}

var _ Platform = (*Local)(nil)

// NewLocal returns the local platform.
func NewLocal(env Getenv) *Local { return &Local{env: env} }

// Name implements Platform.
func (*Local) Name() string { return "local" }

// Range implements Platform: the whole tree (the command line's range
// applies on top).
func (*Local) Range(context.Context, string) (Range, error) { return Range{}, nil }

// PushRange implements Platform: a local run has no push of its own.
func (*Local) PushRange() (string, string) { return "", "" }

// DefaultBranch implements Platform: a local run with no base judges the
// tree as given (a developer's dry run; --base judges a range).
func (*Local) DefaultBranch() (string, string) { return "", "" }

// DeepenToBranch implements Platform (never called: no default branch).
func (*Local) DeepenToBranch(ctx context.Context, root, branch, head string) (string, error) {
	return repo.DeepenToBranch(ctx, root, branch, repo.DeepenOptions{Head: head})
}

// Deepen implements Platform (--deepen=true only: a local checkout is the
// user's): the repository's own git config says the credentials, if any.
func (*Local) Deepen(ctx context.Context, root, base, head string) (string, error) {
	return repo.Deepen(ctx, root, repo.DeepenOptions{Base: base, Head: head})
}

// Run implements Platform: the variables a generic CI or the other
// platforms' conventions set, when they are.
func (l *Local) Run() RunInfo {
	return RunInfo{
		URL:             l.runURL(),
		Commit:          cmp.Or(l.env("GITHUB_SHA"), l.env("CI_COMMIT_SHA")),
		Repository:      cmp.Or(l.env("GITHUB_REPOSITORY"), l.env("CI_PROJECT_PATH")),
		Environment:     l.env("CI_ENVIRONMENT_NAME"),
		EnvironmentTier: l.env("CI_ENVIRONMENT_TIER"),
	}
}

// Credentials implements Platform: none of its own.
func (*Local) Credentials() []Credential { return nil }

// Tracker implements Platform: there is none.
func (*Local) Tracker(Range) (issues.Tracker, error) {
	return nil, ErrNoTracker
}

// Comment implements Platform: there is no pull request to comment on.
func (*Local) Comment(context.Context, Range, report.Report) error { return nil }

// Publish implements Platform: the report is all there is.
func (*Local) Publish(report.Report, PublishOptions) {}

// runURL links the run where the variables say where it is: GitHub's
// conventions, else a job URL (CI_JOB_URL).
func (l *Local) runURL() string {
	if s, r, id := l.env("GITHUB_SERVER_URL"), l.env("GITHUB_REPOSITORY"), l.env("GITHUB_RUN_ID"); s != "" && r != "" && id != "" {
		return s + "/" + r + "/actions/runs/" + id
	}
	return l.env("CI_JOB_URL")
}

// FromDefaultBranch is the range of a run whose event gives no base (a
// tag, a schedule, a workflow_run of a push...), the one rule of every
// platform: repo.DefaultBranchBase with the default branch the platform
// names and the checkout's HEAD (what the scan reads). Without a default
// branch the whole tree is judged, and unnamed says why.
func FromDefaultBranch(ctx context.Context, root, defaultBranch, what, unnamed string) (Range, error) {
	if defaultBranch == "" {
		return Range{Note: what + ": the whole tree is judged (" + unnamed + ")"}, nil
	}
	base, head, note, err := repo.DefaultBranchBase(ctx, root, defaultBranch, "", what)
	if err != nil {
		return Range{}, err
	}
	if base == "" {
		return Range{Note: note}, nil
	}
	return Range{Base: base, Head: head, Note: note}, nil
}
