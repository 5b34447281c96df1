// Package ci is the CI platform a run is in: one interface that GitHub
// Actions (gate/github), GitLab CI (gate/gitlab) and any other CI or a
// laptop (Local, here) implement, and its value types. It imports no
// platform: the platforms import it, and the pipeline (gate/pipeline)
// lists them, so nothing imports in a circle.
package ci

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/secgate/secgate/gate/issues"
	"github.com/secgate/secgate/gate/report"
)

// Platform is what secgate asks of the CI a run is in. Every method is
// called by the pipeline, in the same order on every platform.
type Platform interface {
	// Name is the platform's name in the report's notes and warnings
	// ("GitHub", "GitLab", "local").
	Name() string
	// Range is the commit range the run judges: a pull/merge request's
	// base..head, a push's before..after, nothing (the whole tree) for a
	// schedule. A pull/merge request whose base cannot be known is an
	// error: judged whole, a change would be judged by its own policy.
	Range(ctx context.Context, root string) (Range, error)
	// PushRange is a push's previous and new head, "" for any other run
	// (a pull/merge request, a schedule, a new branch): the pipeline
	// deepens a shallow checkout to hold it before Range, which judges a
	// push on before..after only when the clone holds before (a depth-1
	// checkout does not; see DefaultBranch for what is judged then).
	PushRange() (before, after string)
	// DefaultBranch is, for a run whose event gives no base — a push of
	// a branch other than the default one, a tag, a schedule, a manual
	// run, a workflow_run of a push... — the default branch's name and
	// the head to judge ("" for the checkout's HEAD); "" for any other
	// run (a pull/merge request, a push of the default branch, a
	// platform that names no default branch). Unless the clone holds the
	// push's previous head, the pipeline fetches the default branch
	// (DeepenToBranch) before Range, which then judges a head in the
	// default branch's history whole (main's own policy) and any other
	// from its merge base with it (repo.DefaultBranchBase), and fails
	// without one: never the whole tree by the change's own policy.
	DefaultBranch() (defaultBranch, head string)
	// DeepenToBranch fetches the origin's branch into origin/<branch>,
	// and head deeper, with the checkout's credentials, until they share
	// a merge base (repo.DeepenToBranch). note says what was done.
	DeepenToBranch(ctx context.Context, root, branch, head string) (note string, err error)
	// Deepen makes a shallow checkout hold base..head whole (go-git,
	// repo.Deepen) with the credentials the platform gave the checkout.
	// note says what was done, "" when nothing was needed; an error ends
	// with the platform's own way to fetch the history.
	Deepen(ctx context.Context, root, base, head string) (note string, err error)
	// Run is what the platform says of the run.
	Run() RunInfo
	// Credentials are the registry logins the platform gives the job.
	Credentials() []Credential
	// Tracker is the issue tracker of the repository, or why there is
	// none (no token, a fork's read-only token: see ErrReadOnly).
	Tracker(Range) (issues.Tracker, error)
	// Comment keeps one comment with the verdict on the pull/merge
	// request of r (edited in place); nil where the platform has none.
	Comment(ctx context.Context, r Range, rep report.Report) error
	// Publish writes what the platform reads of the final report: log
	// groups, annotations, outputs, the summary. A write that fails is a
	// warning of the platform's own; nothing stops the rest.
	Publish(rep report.Report, o PublishOptions)
}

// Range is the commit range a run judges, and the request it belongs to.
type Range struct {
	Base, Head  string // "" for the whole tree
	PullRequest int    // the pull/merge request's number, 0 if none
	Fork        bool   // a pull request from a fork (read-only token, no secrets)
	Note        string // how the range was chosen, for the report
}

// RunInfo is what the platform says of the run.
type RunInfo struct {
	URL             string // the run (job, workflow run) page
	Commit          string // the commit the run is for
	Repository      string // owner/name, group/project
	Environment     string // the deployment environment the platform names
	EnvironmentTier string // GitLab's environment tier
	Event           string // push, pull_request, merge_request_event, schedule...
	// Workspace is the runner's checkout path, which the report's
	// messages show relative to it ("" to leave them).
	Workspace string
}

// Credential is a registry login.
type Credential struct{ Host, Username, Password string }

// PublishOptions says what Publish names besides the report.
type PublishOptions struct {
	ReportFile, SARIFFile string
}

// ReadOnlyError is a tracker that cannot be written and, by design, is
// not an error of the run (a fork's token): issues are listed, never
// filed, and fail-on-error does not apply.
type ReadOnlyError struct{ Reason string }

func (e *ReadOnlyError) Error() string { return e.Reason }

// ErrNoTracker is a platform with no repository tracker at all (Local):
// the issues step files nothing and says nothing; the policy's response
// (Jira, notifications) still runs.
var ErrNoTracker = errors.New("no repository issue tracker")

// Getenv reads the environment (os.Getenv, or a map in tests).
type Getenv func(string) string

// Registration is one platform. Adding a platform is adding one
// Registration to the pipeline's list (gate/pipeline).
type Registration struct {
	Name string
	// Detect reports whether the process runs on the platform.
	Detect func(Getenv) bool
	// New reads the run from the environment; raw receives the
	// platform's log commands unguarded (its package escapes their data).
	New func(env Getenv, raw io.Writer) (Platform, error)
	// Credentials are the registry logins of the platform's variables,
	// when they are set (also outside the platform: a GitLab job may read
	// ghcr.io with a GITHUB_TOKEN it was given).
	Credentials func(Getenv) []Credential
}

// Detect returns the first registered platform the process runs on, else
// Local.
func Detect(regs []Registration, env Getenv, raw io.Writer) (Platform, error) {
	for _, r := range regs {
		if r.Detect(env) {
			return r.New(env, raw)
		}
	}
	return NewLocal(env), nil
}

// Credentials are every platform's registry logins that its variables set.
func Credentials(regs []Registration, env Getenv) []Credential {
	var out []Credential
	for _, r := range regs {
		if r.Credentials != nil {
			out = append(out, r.Credentials(env)...)
		}
	}
	return out
}

// InCI reports whether the run is in CI: CI set to anything but "" or a
// false boolean ("false", "0", "FALSE"...). Outside CI a run is a dry run.
func InCI(env Getenv) bool {
	v := env("CI")
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	return err != nil || b
}

// Relative rewrites a workspace path as the repository's: "" before a
// path in it, "." for itself. An empty workspace changes nothing.
func Relative(workspace string) *strings.Replacer {
	root := strings.TrimSuffix(workspace, "/")
	if root == "" || root == "." {
		return strings.NewReplacer()
	}
	return strings.NewReplacer(root+"/", "", root, ".")
}
