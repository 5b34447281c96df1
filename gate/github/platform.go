package github

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/secgate/secgate/gate/ci"
	"github.com/secgate/secgate/gate/issues"
	"github.com/secgate/secgate/gate/repo"
	"github.com/secgate/secgate/gate/report"
)

// Registration is GitHub Actions' entry in the pipeline's platforms.
var Registration = ci.Registration{
	Name:   "GitHub",
	Detect: func(env ci.Getenv) bool { return Detect(env) },
	New: func(env ci.Getenv, raw io.Writer) (ci.Platform, error) {
		a, err := New(env, raw)
		if err != nil {
			return nil, err // not a nil *Action in a non-nil interface
		}
		return a, nil
	},
	Credentials: Credentials,
}

var _ ci.Platform = (*Action)(nil)

// Name implements ci.Platform.
func (*Action) Name() string { return "GitHub" }

// Range implements ci.Platform (see Context).
func (a *Action) Range(ctx context.Context, root string) (ci.Range, error) {
	return a.Context(ctx, root)
}

// PushRange implements ci.Platform (see PushRange).
func (a *Action) PushRange() (before, after string) { return PushRange(a.getenv) }

// DefaultBranch implements ci.Platform (see defaultBranch).
func (a *Action) DefaultBranch() (defaultBranch, head string) { return a.defaultBranch() }

// DeepenToBranch implements ci.Platform: repo.DeepenToBranch with the
// header actions/checkout persisted, as Deepen.
func (a *Action) DeepenToBranch(ctx context.Context, root, branch, head string) (string, error) {
	note, err := repo.DeepenToBranch(ctx, root, branch, repo.DeepenOptions{Head: head})
	if err != nil {
		return "", fmt.Errorf("%w (%s fetches the history)", err, DeepenFix)
	}
	return note, nil
}

// Deepen implements ci.Platform (see Deepen: the header actions/checkout
// persisted).
func (a *Action) Deepen(ctx context.Context, root, base, head string) (string, error) {
	return Deepen(ctx, a.getenv, root, base, head)
}

// Run implements ci.Platform.
func (a *Action) Run() ci.RunInfo {
	return ci.RunInfo{
		URL: a.runURL(), Commit: a.getenv("GITHUB_SHA"), Repository: a.getenv("GITHUB_REPOSITORY"),
		Event: a.name, Workspace: a.getenv("GITHUB_WORKSPACE"),
		// GitHub names no environment in a job's variables; a generic
		// CI's CI_ENVIRONMENT_NAME is read as elsewhere.
		Environment: a.getenv("CI_ENVIRONMENT_NAME"), EnvironmentTier: a.getenv("CI_ENVIRONMENT_TIER"),
	}
}

// InputFlags maps the action's inputs to the flags they set (Inputs).
func (*Action) InputFlags() map[string]string { return Inputs }

// Credentials implements ci.Platform.
func (a *Action) Credentials() []ci.Credential { return Credentials(a.getenv) }

// Credentials is the login to ghcr.io of the run's token: GITHUB_TOKEN,
// or in the action its token input (a Docker action's container gets no
// GITHUB_TOKEN), as GITHUB_ACTOR.
func Credentials(env ci.Getenv) []ci.Credential {
	tok := env("GITHUB_TOKEN")
	if tok == "" && Detect(env) {
		tok = env("INPUT_TOKEN")
	}
	if tok == "" {
		return nil
	}
	return []ci.Credential{{Host: "ghcr.io", Username: cmp.Or(env("GITHUB_ACTOR"), "token"), Password: tok}}
}

// Tracker implements ci.Platform: the repository's issues with the run's
// token (the token input, else GITHUB_TOKEN). A fork's token is
// read-only.
func (a *Action) Tracker(r ci.Range) (issues.Tracker, error) {
	if r.Fork {
		return nil, &ci.ReadOnlyError{Reason: "a pull request from a fork has a read-only token"}
	}
	c, err := a.client()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Comment implements ci.Platform: one comment on the pull request, the
// new findings' report, edited in place. Without a token (or from a
// fork) there is no comment, and the issues step says why.
func (a *Action) Comment(ctx context.Context, r ci.Range, rep report.Report) error {
	if r.Fork || r.PullRequest == 0 {
		return nil
	}
	client, err := a.client()
	if err != nil {
		return nil
	}
	var b strings.Builder
	_ = report.Markdown{Title: "secgate", NewOnly: true, MaxBytes: 60000, Marker: CommentMarker, FileURL: a.fileURL()}.Write(&b, rep)
	// The report's redaction once more: text was added since the gate.
	if _, err := client.UpsertComment(ctx, r.PullRequest, "<!-- "+CommentMarker+" -->", rep.RedactText(b.String())); err != nil {
		return fmt.Errorf("the pull request comment: %w", err)
	}
	return nil
}
