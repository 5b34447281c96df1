package gitlab

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/secgate/secgate/gate/gitlab/gitlabtest"
	"github.com/secgate/secgate/gate/issues"
	"github.com/secgate/secgate/gate/repo/repotest"
	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/policy"
)

func client(t *testing.T, f *gitlabtest.FakeAPI) *Client {
	t.Helper()
	c, err := NewClient(f.URL(), "42", f.Token, ClientOptions{RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sampleReport() report.Report {
	r := report.New()
	r.Scanners = []report.Scanner{{Name: "deps", Status: report.StatusOK}}
	for _, pkg := range []string{"lodash", "minimist", "qs", "express", "cookie"} {
		r.Findings = append(r.Findings, policy.Finding{ID: "GHSA-" + pkg, Rule: "GHSA-" + pkg, Kind: policy.KindVulnerability, Scanner: "deps",
			Title: "a flaw in " + pkg + " /close", Severity: policy.High, Action: policy.ActionBlockProduction,
			Location: policy.Location{Path: "package-lock.json", Package: pkg, Version: "1.0.0", Ecosystem: "npm"}, Fingerprint: "vuln-" + pkg})
	}
	return r
}

// Ten runs leave one issue per group across pages; a fixed group's issue
// is closed with a note; 5xx and 429 are retried.
func TestFilingAgainstTheAPI(t *testing.T) {
	f := gitlabtest.New(t)
	f.Faults["GET /api/v4/projects/42/issues"] = []int{502, http.StatusTooManyRequests}
	c := client(t, f)
	ctx := context.Background()
	r := sampleReport()
	for run := range 10 {
		got, err := issues.File(ctx, c, r, issues.Options{})
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		for _, is := range got {
			if want := map[bool]string{true: issues.StateOpened, false: issues.StateUnchanged}[run == 0]; is.State != want {
				t.Fatalf("run %d: %+v, want %s", run, is, want)
			}
		}
	}
	if len(f.Issues) != 5 {
		t.Fatalf("%d issues, want 5", len(f.Issues))
	}
	r.Findings = r.Findings[:2]
	got, err := issues.File(ctx, c, r, issues.Options{CloseResolved: true, FullScan: true})
	if err != nil {
		t.Fatal(err)
	}
	closed := 0
	for _, is := range got {
		if is.State == issues.StateClosed {
			closed++
		}
	}
	if closed != 3 || len(f.Notes) != 3 {
		t.Errorf("closed %d, notes %d; want 3 and 3", closed, len(f.Notes))
	}
	for _, is := range f.Issues {
		for _, line := range strings.Split(is["description"].(string), "\n") {
			if strings.HasPrefix(line, "/") {
				t.Errorf("a quick action in an issue: %q", line)
			}
		}
	}
	// A refusal is final: reported, not retried forever.
	f.Faults["POST /api/v4/projects/42/issues"] = []int{http.StatusForbidden}
	r.Findings = append(r.Findings, policy.Finding{ID: "GHSA-new", Rule: "GHSA-new", Kind: policy.KindVulnerability, Scanner: "deps", Severity: policy.High,
		Action: policy.ActionBlockProduction, Location: policy.Location{Path: "package-lock.json", Package: "new", Ecosystem: "npm"}, Fingerprint: "vuln-new"})
	if _, err := issues.File(ctx, c, r, issues.Options{}); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("err = %v", err)
	}
	if _, err := NewClient(f.URL(), "42", "", ClientOptions{}); err == nil || !strings.Contains(err.Error(), "CI_JOB_TOKEN cannot use the Issues API") {
		t.Errorf("no token: %v", err)
	}
}

// The range from the CI variables.
func TestRunContext(t *testing.T) {
	dir := t.TempDir()
	repotest.Git(t, dir, "init", "-q", "-b", "main")
	repotest.Write(t, dir, map[string]string{"a": "1\n"})
	repotest.Git(t, dir, "add", ".")
	repotest.Git(t, dir, "commit", "-qm", "one")
	one := repotest.Git(t, dir, "rev-parse", "HEAD")
	repotest.Git(t, dir, "update-ref", "refs/remotes/origin/main", one)
	repotest.Write(t, dir, map[string]string{"b": "2\n"})
	repotest.Git(t, dir, "add", ".")
	repotest.Git(t, dir, "commit", "-qm", "two")
	two := repotest.Git(t, dir, "rev-parse", "HEAD")
	for _, tt := range []struct {
		name       string
		env        map[string]string
		base, note string
		mr         int
		fork       bool
	}{
		{"merge request", map[string]string{"CI_MERGE_REQUEST_IID": "12", "CI_MERGE_REQUEST_DIFF_BASE_SHA": one, "CI_COMMIT_SHA": two, "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "42", "CI_PROJECT_ID": "42"}, one, "merge request !12", 12, false},
		{"fork merge request", map[string]string{"CI_MERGE_REQUEST_IID": "12", "CI_MERGE_REQUEST_DIFF_BASE_SHA": one, "CI_COMMIT_SHA": two, "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "99", "CI_PROJECT_ID": "42"}, one, "merge request !12", 12, true},
		{"branch push", map[string]string{"CI_COMMIT_BEFORE_SHA": one, "CI_COMMIT_SHA": two}, one, "push", 0, false},
		{"new branch", map[string]string{"CI_COMMIT_BEFORE_SHA": strings.Repeat("0", 40), "CI_COMMIT_SHA": two, "CI_DEFAULT_BRANCH": "main"}, one, "a new branch", 0, false},
		{"forced push", map[string]string{"CI_COMMIT_BEFORE_SHA": strings.Repeat("cd", 20), "CI_COMMIT_SHA": two, "CI_DEFAULT_BRANCH": "main"}, one, "forced push", 0, false},
		{"tag", map[string]string{"CI_COMMIT_TAG": "v1.2.0", "CI_COMMIT_SHA": two}, "", "the whole tree", 0, false},
		{"schedule", map[string]string{"CI_PIPELINE_SOURCE": "schedule", "CI_COMMIT_BEFORE_SHA": one, "CI_COMMIT_SHA": two}, "", "scheduled", 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := RunContext(context.Background(), func(k string) string { return tt.env[k] }, dir)
			if err != nil {
				t.Fatal(err)
			}
			if c.Base != tt.base || c.PullRequest != tt.mr || c.Fork != tt.fork || !strings.Contains(c.Note, tt.note) {
				t.Errorf("%+v, want base %s mr %d note ~%q", c, tt.base, tt.mr, tt.note)
			}
		})
	}
}

// A section's header is untrusted (a scanner's status, a target): it
// cannot open a section of its own, fold the log or overwrite a line.
func TestSectionHeaderInert(t *testing.T) {
	var b strings.Builder
	Section(&b, "secgate_deps\x1b[0K", "deps: \x1b[0Ksection_start:1:evil[collapsed=true]\r\x1b[0Kfolded\n::error::x", func() {})
	got := b.String()
	if n := strings.Count(got, "section_start:"); n != 2 { // ours, and the header's shown as text
		t.Errorf("%d section_start: %q", n, got)
	}
	if m := regexp.MustCompile(`\x1b\[0Ksection_start:\d+:evil`).FindString(got); m != "" {
		t.Errorf("the header opened a section: %q", got)
	}
	if strings.Count(got, "\x1b") != 4 || strings.Count(got, "\r") != 2 || strings.Count(got, "\n") != 2 {
		t.Errorf("ESC, CR or newline besides our markers: %q", got)
	}
}

// F2 and F3 of the red team on GitLab: a new branch's pipeline is judged
// from the merge base with the default branch, an error without one; an
// external pull request's pipeline on its target..source range, an error
// without it; tags and schedules from the merge base too; DefaultBranch
// asks for the default branch only for runs with no base of their own.
func TestRunContextBranchesAndExternalPullRequests(t *testing.T) {
	dir := t.TempDir()
	repotest.Git(t, dir, "init", "-q", "-b", "main")
	repotest.Write(t, dir, map[string]string{"a": "1\n"})
	repotest.Git(t, dir, "add", ".")
	repotest.Git(t, dir, "commit", "-qm", "one")
	one := repotest.Git(t, dir, "rev-parse", "HEAD")
	repotest.Git(t, dir, "update-ref", "refs/remotes/origin/main", one)
	repotest.Write(t, dir, map[string]string{"b": "2\n"})
	repotest.Git(t, dir, "add", ".")
	repotest.Git(t, dir, "commit", "-qm", "two")
	two := repotest.Git(t, dir, "rev-parse", "HEAD")
	zero := strings.Repeat("0", 40)
	for _, tt := range []struct {
		name         string
		env          map[string]string
		base, head   string
		note, err    string
		pr           int
		fork         bool
		branchPushOf string // DefaultBranch's default branch
	}{
		{name: "new branch", env: map[string]string{"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "feat", "CI_COMMIT_BEFORE_SHA": zero, "CI_COMMIT_SHA": two, "CI_DEFAULT_BRANCH": "main"},
			base: one, head: two, note: "merge base with main", branchPushOf: "main"},
		{name: "new branch, default branch not in the clone", env: map[string]string{"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "feat", "CI_COMMIT_BEFORE_SHA": zero, "CI_COMMIT_SHA": two, "CI_DEFAULT_BRANCH": "trunk"},
			err: "GIT_DEPTH: 0", branchPushOf: "trunk"},
		{name: "new branch, no CI_DEFAULT_BRANCH", env: map[string]string{"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "feat", "CI_COMMIT_BEFORE_SHA": zero, "CI_COMMIT_SHA": two},
			err: "default branch"},
		{name: "the default branch's first push", env: map[string]string{"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main", "CI_COMMIT_BEFORE_SHA": zero, "CI_COMMIT_SHA": one, "CI_DEFAULT_BRANCH": "main"},
			note: "the whole tree"},
		// A5: tags and schedules give no base: judged from the merge base
		// with the default branch (the checkout, HEAD, is two)
		{name: "tag", env: map[string]string{"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_TAG": "v1.0.1", "CI_COMMIT_BEFORE_SHA": zero, "CI_COMMIT_SHA": two, "CI_DEFAULT_BRANCH": "main"},
			base: one, head: two, note: "tag v1.0.1 of a commit not on main", branchPushOf: "main"},
		{name: "tag, default branch not in the clone", env: map[string]string{"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_TAG": "v1.0.1", "CI_COMMIT_SHA": two, "CI_DEFAULT_BRANCH": "trunk"},
			err: "GIT_DEPTH: 0", branchPushOf: "trunk"},
		{name: "tag, no CI_DEFAULT_BRANCH", env: map[string]string{"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_TAG": "v1.0.1", "CI_COMMIT_SHA": two},
			note: "the whole tree"},
		{name: "schedule on a feature branch", env: map[string]string{"CI_PIPELINE_SOURCE": "schedule", "CI_COMMIT_BRANCH": "feat", "CI_COMMIT_BEFORE_SHA": zero, "CI_COMMIT_SHA": two, "CI_DEFAULT_BRANCH": "main"},
			base: one, head: two, note: "scheduled pipeline of a commit not on main", branchPushOf: "main"},
		{name: "external pull request", env: map[string]string{"CI_PIPELINE_SOURCE": "external_pull_request_event", "CI_EXTERNAL_PULL_REQUEST_IID": "5", "CI_COMMIT_BRANCH": "feat", "CI_DEFAULT_BRANCH": "main",
			"CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_SHA": one, "CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_SHA": two, "CI_COMMIT_SHA": two, "CI_COMMIT_BEFORE_SHA": zero}, base: one, head: two, pr: 5, note: "external pull request #5"},
		{name: "external pull request from a fork", env: map[string]string{"CI_PIPELINE_SOURCE": "external_pull_request_event", "CI_EXTERNAL_PULL_REQUEST_IID": "5",
			"CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_SHA": one, "CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_SHA": two, "CI_COMMIT_SHA": two,
			"CI_EXTERNAL_PULL_REQUEST_SOURCE_REPOSITORY": "mallory/shop", "CI_EXTERNAL_PULL_REQUEST_TARGET_REPOSITORY": "acme/shop"}, base: one, head: two, pr: 5, fork: true, note: "external pull request #5"},
		{name: "external pull request without its base", env: map[string]string{"CI_PIPELINE_SOURCE": "external_pull_request_event", "CI_EXTERNAL_PULL_REQUEST_IID": "5",
			"CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_SHA": two, "CI_COMMIT_SHA": two, "CI_COMMIT_BEFORE_SHA": zero, "CI_DEFAULT_BRANCH": "main"}, err: "base"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			if def, _ := DefaultBranch(getenv); def != tt.branchPushOf {
				t.Errorf("DefaultBranch asks for %q, want %q", def, tt.branchPushOf)
			}
			c, err := RunContext(context.Background(), getenv, dir)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("context %+v, err %v, want an error naming %q", c, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Base != tt.base || c.Head != tt.head || c.PullRequest != tt.pr || c.Fork != tt.fork || !strings.Contains(c.Note, tt.note) {
				t.Errorf("%+v, want base %s head %s pr %d fork %v note ~%q", c, tt.base, tt.head, tt.pr, tt.fork, tt.note)
			}
		})
	}
}
