package gitlab

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/secgate/secgate/gate/repo"
)

// DeepenFix is the pipeline's own way to fetch the history, for a note
// when the clone cannot be deepened.
const DeepenFix = "GIT_DEPTH: 0 in the job's variables"

// Deepen makes a shallow clone hold base..head whole (repo.Deepen) with
// the job token (DeepenOptions). note says what was done, "" when nothing
// was needed; the error ends with DeepenFix.
func Deepen(ctx context.Context, getenv func(string) string, root, base, head string) (note string, err error) {
	note, err = repo.Deepen(ctx, root, DeepenOptions(getenv, base, head))
	if err != nil {
		return "", fmt.Errorf("%w (%s fetches the history)", err, DeepenFix)
	}
	return note, nil
}

// DeepenOptions are what a job has to deepen its shallow clone
// (GIT_DEPTH, 20 or 50 by default) to hold base..head: the job token as
// basic auth — CI_REPOSITORY_URL's userinfo (gitlab-ci-token:<token>),
// else CI_JOB_TOKEN as gitlab-ci-token — and CI_REPOSITORY_URL, without
// its userinfo, for a clone that has no origin remote.
func DeepenOptions(getenv func(string) string, base, head string) repo.DeepenOptions {
	o := repo.DeepenOptions{Base: base, Head: head}
	if u, err := url.Parse(getenv("CI_REPOSITORY_URL")); err == nil && u.Host != "" {
		if u.User != nil {
			if pass, ok := u.User.Password(); ok && pass != "" {
				o.Username, o.Password = u.User.Username(), pass
			}
		}
		u.User = nil
		o.URL = u.String()
	}
	if o.Password == "" && getenv("CI_JOB_TOKEN") != "" {
		o.Username, o.Password = "gitlab-ci-token", getenv("CI_JOB_TOKEN")
	}
	return o
}

// PushRange is a branch pipeline's previous and new head, for deepening a
// shallow clone before the range is decided (RunContext judges a push on
// before..after only when the clone holds before). "" for merge request,
// tag and scheduled pipelines and for a new branch (before all zeros).
func PushRange(getenv func(string) string) (before, after string) {
	before = getenv("CI_COMMIT_BEFORE_SHA")
	if !branchPipeline(getenv) || strings.Trim(before, "0") == "" {
		return "", ""
	}
	return before, getenv("CI_COMMIT_SHA")
}

// DefaultBranch is ci.Platform.DefaultBranch: CI_DEFAULT_BRANCH for a
// pipeline whose variables give no base — a branch pipeline of another
// branch (with its commit, for fetching the default branch when the
// clone lacks the push's previous head), a tag's, a schedule's ("" for
// the checkout's HEAD) — and "" for a merge request's, an external pull
// request's, and a branch pipeline of the default branch itself.
func DefaultBranch(getenv func(string) string) (defaultBranch, head string) {
	branch, def := getenv("CI_COMMIT_BRANCH"), getenv("CI_DEFAULT_BRANCH")
	switch {
	case def == "" || getenv("CI_MERGE_REQUEST_IID") != "" || externalPR(getenv):
		return "", ""
	case !branchPipeline(getenv):
		return def, "" // a tag, a schedule
	case branch == "" || branch == def:
		return "", ""
	}
	return def, getenv("CI_COMMIT_SHA")
}

// branchPipeline reports whether the pipeline is a branch's (a push, a
// manual or API run): not a merge request's, an external pull
// request's, a tag's or a schedule's.
func branchPipeline(getenv func(string) string) bool {
	return getenv("CI_MERGE_REQUEST_IID") == "" && !externalPR(getenv) && getenv("CI_COMMIT_TAG") == "" && getenv("CI_PIPELINE_SOURCE") != "schedule"
}

// externalPR reports whether the pipeline is a GitHub pull request's of a
// GitLab CI/CD for external repositories project.
func externalPR(getenv func(string) string) bool {
	return getenv("CI_PIPELINE_SOURCE") == "external_pull_request_event" || getenv("CI_EXTERNAL_PULL_REQUEST_IID") != ""
}
