// Package gitlab is secgate's GitLab surface: the run's context from the
// CI_* variables, collapsible log sections, and issue filing through the
// REST API. It is the only importer of gitlab.com/gitlab-org/api/client-go.
package gitlab

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/secgate/secgate/gate/ci"
	"github.com/secgate/secgate/gate/issues"
	"github.com/secgate/secgate/gate/render"
	"github.com/secgate/secgate/gate/repo"
)

// Detect reports whether the process runs in GitLab CI.
func Detect(getenv func(string) string) bool { return getenv("GITLAB_CI") == "true" }

// Client files issues in a project through the REST API. client-go retries
// 5xx and 429 answers itself, honouring RateLimit-Reset.
type Client struct {
	gl      *gl.Client
	project string
}

var _ issues.Tracker = (*Client)(nil)

// ClientOptions configures a client; zero values are the defaults.
type ClientOptions struct {
	RetryWaitMin, RetryWaitMax time.Duration // tests: short waits
	HTTPClient                 *http.Client
}

// NewClient returns a client of project (an id or a path) at apiURL
// (CI_API_V4_URL), with a token that can use the Issues API: a project
// access token with the Reporter role and the api scope. CI_JOB_TOKEN
// cannot.
func NewClient(apiURL, project, token string, o ClientOptions) (*Client, error) {
	if token == "" {
		return nil, errors.New("no token for the GitLab Issues API: set SECGATE_GITLAB_TOKEN (a project access token, Reporter role, api scope); CI_JOB_TOKEN cannot use the Issues API")
	}
	if project == "" {
		return nil, errors.New("no project: CI_PROJECT_ID is unset")
	}
	opts := []gl.ClientOptionFunc{gl.WithBaseURL(cmp.Or(apiURL, "https://gitlab.com/api/v4"))}
	if o.RetryWaitMax > 0 {
		opts = append(opts, gl.WithCustomRetryWaitMinMax(o.RetryWaitMin, o.RetryWaitMax))
	}
	if o.HTTPClient != nil {
		opts = append(opts, gl.WithHTTPClient(o.HTTPClient))
	}
	c, err := gl.NewClient(token, opts...)
	if err != nil {
		return nil, fmt.Errorf("GitLab API at %s: %w", apiURL, err)
	}
	return &Client{gl: c, project: project}, nil
}

// List implements issues.Tracker: every issue with the label, open and
// closed, every page (X-Next-Page).
func (c *Client) List(ctx context.Context, label string) ([]issues.Issue, error) {
	opt := &gl.ListProjectIssuesOptions{ListOptions: gl.ListOptions{PerPage: 100}, Labels: &gl.LabelOptions{label}, State: gl.Ptr("all")}
	var out []issues.Issue
	for {
		page, resp, err := c.gl.Issues.ListProjectIssues(c.project, opt, gl.WithContext(ctx))
		if err != nil {
			return nil, err
		}
		for _, is := range page {
			out = append(out, fromGitLab(is))
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// Create implements issues.Tracker.
func (c *Client) Create(ctx context.Context, is issues.Issue) (issues.Issue, error) {
	labels := gl.LabelOptions(is.Labels)
	created, _, err := c.gl.Issues.CreateIssue(c.project, &gl.CreateIssueOptions{Title: &is.Title, Description: &is.Body, Labels: &labels}, gl.WithContext(ctx))
	if err != nil {
		return issues.Issue{}, err
	}
	return fromGitLab(created), nil
}

// Update implements issues.Tracker.
func (c *Client) Update(ctx context.Context, is issues.Issue) (issues.Issue, error) {
	event := "reopen"
	if !is.Open {
		event = "close"
	}
	opt := &gl.UpdateIssueOptions{Title: &is.Title, Description: &is.Body, StateEvent: &event}
	if len(is.Labels) > 0 {
		labels := gl.LabelOptions(is.Labels)
		opt.Labels = &labels
	}
	updated, _, err := c.gl.Issues.UpdateIssue(c.project, int64(is.Number), opt, gl.WithContext(ctx))
	if err != nil {
		return issues.Issue{}, err
	}
	return fromGitLab(updated), nil
}

// Comment implements issues.Tracker (a note on the issue).
func (c *Client) Comment(ctx context.Context, number int, body string) error {
	_, _, err := c.gl.Notes.CreateIssueNote(c.project, int64(number), &gl.CreateIssueNoteOptions{Body: &body}, gl.WithContext(ctx))
	return err
}

func fromGitLab(is *gl.Issue) issues.Issue {
	return issues.Issue{Number: int(is.IID), URL: is.WebURL, Title: is.Title, Body: is.Description, Open: is.State == "opened", Labels: is.Labels}
}

// Context is what the CI variables say about the run (its PullRequest:
// the merge request's IID).
type Context = ci.Range

// RunContext decides the range: a merge request pipeline judges the
// merge request's diff base..head; a branch pipeline the push's before..
// after (a new branch, or a forced push whose previous head is gone: from
// the merge base with the default branch, an error without one; on the
// default branch itself the whole tree); an external (GitHub) pull
// request's target..source. Tags and schedules give no base: the one
// rule of repo.DefaultBranchBase judges them (fromDefaultBranch).
//
// A merge request whose base the variables do not give is an error:
// judged as a whole tree, it would be judged by its own policy (fail
// closed).
func RunContext(ctx context.Context, getenv func(string) string, root string) (Context, error) {
	head := getenv("CI_COMMIT_SHA")
	switch {
	case getenv("CI_MERGE_REQUEST_IID") != "":
		base := cmp.Or(getenv("CI_MERGE_REQUEST_DIFF_BASE_SHA"), getenv("CI_MERGE_REQUEST_TARGET_BRANCH_SHA"))
		var iid int
		if _, err := fmt.Sscan(getenv("CI_MERGE_REQUEST_IID"), &iid); err != nil {
			return Context{}, fmt.Errorf("CI_MERGE_REQUEST_IID=%q is not a number: %w", getenv("CI_MERGE_REQUEST_IID"), err)
		}
		if base == "" || head == "" {
			return Context{}, fmt.Errorf("merge request !%d: CI_MERGE_REQUEST_DIFF_BASE_SHA (or CI_MERGE_REQUEST_TARGET_BRANCH_SHA) and CI_COMMIT_SHA must be set: the merge request's range cannot be known, and its own policy cannot judge it", iid)
		}
		// A fork's merge request: its tracker is read-only, as a GitHub
		// fork's (the pipeline may run in the parent project, with its
		// variables, but files nothing for code from outside it).
		src := getenv("CI_MERGE_REQUEST_SOURCE_PROJECT_ID")
		fork := src != "" && src != getenv("CI_PROJECT_ID")
		return Context{Base: base, Head: head, PullRequest: iid, Fork: fork, Note: fmt.Sprintf("merge request !%d: %s..%s", iid, short(base), short(head))}, nil
	case externalPR(getenv):
		// a GitHub pull request of a project that mirrors its repository:
		// judged as a merge request, from the target branch's commit
		base, src := getenv("CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_SHA"), getenv("CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_SHA")
		var iid int
		if v := getenv("CI_EXTERNAL_PULL_REQUEST_IID"); v != "" {
			if _, err := fmt.Sscan(v, &iid); err != nil {
				return Context{}, fmt.Errorf("CI_EXTERNAL_PULL_REQUEST_IID=%q is not a number: %w", v, err)
			}
		}
		if base == "" || src == "" {
			return Context{}, fmt.Errorf("external pull request #%d: its base and head, CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_SHA and CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_SHA, must be set: the pull request's range cannot be known, and its own policy cannot judge it", iid)
		}
		srcRepo, dstRepo := getenv("CI_EXTERNAL_PULL_REQUEST_SOURCE_REPOSITORY"), getenv("CI_EXTERNAL_PULL_REQUEST_TARGET_REPOSITORY")
		fork := srcRepo != "" && dstRepo != "" && srcRepo != dstRepo
		return Context{Base: base, Head: src, PullRequest: iid, Fork: fork, Note: fmt.Sprintf("external pull request #%d: %s..%s", iid, short(base), short(src))}, nil
	case getenv("CI_COMMIT_TAG") != "":
		return fromDefaultBranch(ctx, getenv, root, "tag "+getenv("CI_COMMIT_TAG"))
	case getenv("CI_PIPELINE_SOURCE") == "schedule":
		return fromDefaultBranch(ctx, getenv, root, "scheduled pipeline")
	}
	base, note, err := repo.PushBase(ctx, root, getenv("CI_COMMIT_BEFORE_SHA"), head, getenv("CI_DEFAULT_BRANCH"), getenv("CI_COMMIT_BRANCH"))
	if err != nil {
		return Context{}, err
	}
	if base == "" {
		return Context{Note: note}, nil
	}
	return Context{Base: base, Head: head, Note: note}, nil
}

// fromDefaultBranch is ci.FromDefaultBranch with CI_DEFAULT_BRANCH.
func fromDefaultBranch(ctx context.Context, getenv func(string) string, root, what string) (Context, error) {
	return ci.FromDefaultBranch(ctx, root, getenv("CI_DEFAULT_BRANCH"), what, "CI_DEFAULT_BRANCH is unset")
}

func short(sha string) string { return sha[:min(len(sha), 12)] }

// Section writes a collapsible section of the job log to w, which must be
// the raw stream (its markers are ESC and CR, which every other writer
// shows escaped). The header is untrusted text, rendered for the log;
// body writes the section's lines, through render.GitLabLog too.
func Section(w io.Writer, name, header string, body func()) {
	fmt.Fprintf(w, "\x1b[0Ksection_start:%d:%s[collapsed=true]\r\x1b[0K%s\n", time.Now().Unix(), sectionName(name), render.GitLabLog(header))
	body()
	fmt.Fprintf(w, "\x1b[0Ksection_end:%d:%s\r\x1b[0K\n", time.Now().Unix(), sectionName(name))
}

// sectionName keeps a section's name to what GitLab's parser accepts.
func sectionName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, s)
}
