package github

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/secgate/secgate/gate/repo/repotest"
	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/policy"
)

// action.yml and the code agree: every input is read (mapped onto a flag,
// or read by the action), every output is written.
func TestActionYAMLMatchesTheCode(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		Inputs  map[string]struct{ Description, Default string }
		Outputs map[string]struct{ Description string }
		Runs    struct {
			Using, Image string
			Args         []string
		}
	}
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(maps.Keys(a.Inputs)), slices.Sorted(maps.Keys(Inputs)); !slices.Equal(got, want) {
		t.Errorf("action.yml inputs %v\nread by the code    %v", got, want)
	}
	for name, in := range a.Inputs {
		if in.Description == "" {
			t.Errorf("input %s has no description", name)
		}
	}
	if got, want := slices.Sorted(maps.Keys(a.Outputs)), slices.Sorted(slices.Values(Outputs)); !slices.Equal(got, want) {
		t.Errorf("action.yml outputs %v\nwritten by the code %v", got, want)
	}
	if a.Runs.Using != "docker" || len(a.Runs.Args) == 0 || a.Runs.Args[0] != "run" {
		t.Errorf("runs %+v", a.Runs)
	}

	// Publish writes every output.
	dir := t.TempDir()
	out := filepath.Join(dir, "output")
	env := map[string]string{"GITHUB_OUTPUT": out, "GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary")}
	act, err := New(func(k string) string { return env[k] }, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	rep := report.New()
	act.Publish(rep, PublishOptions{})
	written, _ := os.ReadFile(out)
	for _, name := range Outputs {
		if !strings.Contains(string(written), name+"<<") {
			t.Errorf("output %s is never written", name)
		}
	}
}

func gitRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	return repotest.Git(t, dir, args...)
}

// The range comes from the event: pull_request, pull_request_target,
// merge_group, push (a new branch, a forced push), schedule.
func TestContextFromEvents(t *testing.T) {
	dir := t.TempDir()
	gitRun(t, dir, "init", "-q", "-b", "main")
	repotest.Write(t, dir, map[string]string{"a": "1\n"})
	gitRun(t, dir, "add", ".")
	gitRun(t, dir, "commit", "-qm", "one")
	one := gitRun(t, dir, "rev-parse", "HEAD")
	gitRun(t, dir, "update-ref", "refs/remotes/origin/main", one)
	gitRun(t, dir, "checkout", "-q", "-b", "feature")
	repotest.Write(t, dir, map[string]string{"b": "2\n"})
	gitRun(t, dir, "add", ".")
	gitRun(t, dir, "commit", "-qm", "two")
	two := gitRun(t, dir, "rev-parse", "HEAD")
	zero := strings.Repeat("0", 40)
	gone := strings.Repeat("ab", 20)
	for _, tt := range []struct {
		name, event, payload string
		base, head           string
		pr                   int
		fork                 bool
		note                 string
	}{
		{"pull request", "pull_request", `{"pull_request":{"number":7,"base":{"sha":"` + one + `"},"head":{"sha":"` + two + `","repo":{"full_name":"acme/shop"}}},"repository":{"full_name":"acme/shop"}}`, one, two, 7, false, "pull request #7"},
		{"pull request from a fork", "pull_request_target", `{"pull_request":{"number":8,"base":{"sha":"` + one + `"},"head":{"sha":"` + two + `","repo":{"full_name":"mallory/shop"}}},"repository":{"full_name":"acme/shop"}}`, one, two, 8, true, "pull request #8"},
		{"merge group", "merge_group", `{"merge_group":{"base_sha":"` + one + `","head_sha":"` + two + `"}}`, one, two, 0, false, "merge group"},
		{"push", "push", `{"before":"` + one + `","after":"` + two + `","repository":{"default_branch":"main"}}`, one, two, 0, false, "push"},
		{"push of a new branch", "push", `{"before":"` + zero + `","after":"` + two + `","repository":{"default_branch":"main"}}`, one, two, 0, false, "a new branch"},
		{"forced push, previous head gone", "push", `{"before":"` + gone + `","after":"` + two + `","repository":{"default_branch":"main"}}`, one, two, 0, false, "forced push"},
		{"schedule", "schedule", `{}`, "", "", 0, false, "the whole tree"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev := filepath.Join(t.TempDir(), "event.json")
			if err := os.WriteFile(ev, []byte(tt.payload), 0o644); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{"GITHUB_EVENT_NAME": tt.event, "GITHUB_EVENT_PATH": ev, "GITHUB_SHA": two}
			act, err := New(func(k string) string { return env[k] }, &strings.Builder{})
			if err != nil {
				t.Fatal(err)
			}
			c, err := act.Context(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			if c.Base != tt.base || c.Head != tt.head || c.PullRequest != tt.pr || c.Fork != tt.fork || !strings.Contains(c.Note, tt.note) {
				t.Errorf("context %+v, want base %s head %s pr %d fork %v note ~%q", c, tt.base, tt.head, tt.pr, tt.fork, tt.note)
			}
		})
	}
	if _, err := New(func(k string) string {
		return map[string]string{"GITHUB_EVENT_PATH": filepath.Join(dir, "a"), "GITHUB_EVENT_NAME": "push"}[k]
	}, &strings.Builder{}); err == nil || !strings.Contains(err.Error(), "is not valid JSON") {
		t.Errorf("a malformed event payload: %v", err)
	}
}

// Untrusted names cannot forge workflow commands in the log: an
// annotation's message and properties are escaped.
func TestAnnotationInjection(t *testing.T) {
	var out strings.Builder
	act, err := New(func(string) string { return "" }, &out)
	if err != nil {
		t.Fatal(err)
	}
	rep := report.New()
	rep.Findings = []policy.Finding{{
		ID: "x", Rule: "generic-api-key", Kind: policy.KindSecret, Severity: policy.Critical, Action: policy.ActionFail,
		Title:    "boom%0A::error::forged\n::add-mask::x\r::warning file=x::y",
		Location: policy.Location{Path: "a,line=99::b\n::error::c.go", Line: 3},
	}}
	act.annotate(rep)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "::error file=a%2Cline=99%3A%3Ab%0A%3A%3Aerror%3A%3Ac.go,line=3,") {
		t.Errorf("workflow commands %q: want exactly one, its properties escaped", lines)
	}
}

// The log groups say what each scanner covered in words (not Go's %+v of
// the struct), and its notes and error, which hold paths and library
// messages, start no command and carry no control character (issue 25:
// a file named like a command was a command in tree mode).
func TestLogScannersInert(t *testing.T) {
	var out strings.Builder
	act, err := New(func(string) string { return "" }, &out)
	if err != nil {
		t.Fatal(err)
	}
	rep := report.New()
	rep.Scanners = []report.Scanner{{Name: "secrets", Status: report.StatusError,
		Coverage: &policy.Coverage{Files: 3, Bytes: 2048, Skipped: []policy.Skip{{What: "symlink", Count: 1, Why: "not followed"}}},
		Notes:    []string{"::error::named.txt: skipped", "a\n::add-mask::x", "\x1b[0Ksection_start:1:x\r##[warning]y"},
		Error:    "go.mod:3: ::pwned::\r\x1b[2J"}}
	act.LogScanners(rep)
	log := out.String()
	if !strings.Contains(log, "covered 3 files (2.0 kB); left out 1 symlink (not followed)") || strings.Contains(log, "Files:") {
		t.Errorf("coverage not in words:\n%s", log)
	}
	for _, l := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
		if strings.HasPrefix(strings.TrimLeft(l, " \t"), "::") && !strings.HasPrefix(l, "::group::") && l != "::endgroup::" {
			t.Errorf("a forged command: %q", l)
		}
		if strings.ContainsAny(l, "\r\x1b") || strings.Contains(l, "##[") {
			t.Errorf("a control character or old command: %q", l)
		}
	}
	if n := strings.Count(log, "\n"); n != 7 {
		t.Errorf("%d lines, want 7 (group, coverage, 3 notes, error, endgroup):\n%s", n, log)
	}
}

// F2 and F3 of the red team: a new branch's push is judged from the
// merge base with the default branch, an error without one (never the
// whole tree by the branch's own policy); the events that carry a pull
// request are judged on its range, or are an error when the payload has
// no base (issue_comment, a fork's workflow_run).
func TestContextPullRequestEventsAndBranchPushes(t *testing.T) {
	dir := t.TempDir()
	gitRun(t, dir, "init", "-q", "-b", "main")
	repotest.Write(t, dir, map[string]string{"a": "1\n"})
	gitRun(t, dir, "add", ".")
	gitRun(t, dir, "commit", "-qm", "one")
	one := gitRun(t, dir, "rev-parse", "HEAD")
	gitRun(t, dir, "update-ref", "refs/remotes/origin/main", one)
	gitRun(t, dir, "checkout", "-q", "-b", "feature")
	repotest.Write(t, dir, map[string]string{"b": "2\n"})
	gitRun(t, dir, "add", ".")
	gitRun(t, dir, "commit", "-qm", "two")
	two := gitRun(t, dir, "rev-parse", "HEAD")
	zero := strings.Repeat("0", 40)
	repo := `"repository":{"full_name":"acme/shop","default_branch":"main"}`
	for _, tt := range []struct {
		name, event, payload string
		base, head           string
		pr                   int
		fork                 bool
		note, err            string
	}{
		{name: "new branch", event: "push", payload: `{"ref":"refs/heads/feature","created":true,"before":"` + zero + `","after":"` + two + `",` + repo + `}`,
			base: one, head: two, note: "merge base with main"},
		{name: "new branch, no default branch in the clone", event: "push", payload: `{"ref":"refs/heads/feature","before":"` + zero + `","after":"` + two + `","repository":{"default_branch":"trunk"}}`,
			err: "fetch-depth: 0"},
		{name: "new branch, default branch unknown", event: "push", payload: `{"ref":"refs/heads/feature","before":"` + zero + `","after":"` + two + `"}`,
			err: "default branch"},
		{name: "new branch of the default branch's own history", event: "push", payload: `{"ref":"refs/heads/copy","before":"` + zero + `","after":"` + one + `",` + repo + `}`,
			note: "the whole tree"},
		{name: "pull_request_review", event: "pull_request_review", payload: `{"pull_request":{"number":9,"base":{"sha":"` + one + `"},"head":{"sha":"` + two + `","repo":{"full_name":"acme/shop"}}},` + repo + `}`,
			base: one, head: two, pr: 9, note: "pull request #9"},
		{name: "pull_request_review_comment from a fork", event: "pull_request_review_comment", payload: `{"pull_request":{"number":9,"base":{"sha":"` + one + `"},"head":{"sha":"` + two + `","repo":{"full_name":"mallory/shop"}}},` + repo + `}`,
			base: one, head: two, pr: 9, fork: true, note: "pull request #9"},
		{name: "pull_request_review without base", event: "pull_request_review", payload: `{"pull_request":{"number":9,"head":{"sha":"` + two + `"}},` + repo + `}`,
			err: "base.sha"},
		{name: "workflow_run of a pull request", event: "workflow_run", payload: `{"workflow_run":{"event":"pull_request","head_sha":"` + two + `","head_repository":{"full_name":"acme/shop"},"pull_requests":[{"number":10,"base":{"sha":"` + one + `"},"head":{"sha":"` + two + `"}}]},` + repo + `}`,
			base: one, head: two, pr: 10, note: "pull request #10"},
		{name: "workflow_run of a fork's pull request", event: "workflow_run", payload: `{"workflow_run":{"event":"pull_request","head_sha":"` + two + `","head_repository":{"full_name":"mallory/shop"},"pull_requests":[]},` + repo + `}`,
			err: "lists no pull request"},
		{name: "workflow_run of a pull_request_target run", event: "workflow_run", payload: `{"workflow_run":{"event":"pull_request_target","head_sha":"` + two + `","head_repository":{"full_name":"acme/shop"},"pull_requests":[]},` + repo + `}`,
			err: "lists no pull request"},
		// A4, A5: any run whose event gives no base is judged from the
		// merge base with the default branch (the checkout, HEAD, is two)
		{name: "workflow_run of a push", event: "workflow_run", payload: `{"workflow_run":{"event":"push","head_branch":"feature","head_sha":"` + two + `","head_repository":{"full_name":"acme/shop"},"pull_requests":[]},` + repo + `}`,
			base: one, head: two, note: "merge base with main"},
		{name: "workflow_run of a merge_group run", event: "workflow_run", payload: `{"workflow_run":{"event":"merge_group","head_sha":"` + two + `","pull_requests":[]},` + repo + `}`,
			base: one, head: two, note: "merge base with main"},
		{name: "check_suite with a pull request", event: "check_suite", payload: `{"check_suite":{"head_sha":"` + two + `","pull_requests":[{"number":13,"base":{"sha":"` + one + `"},"head":{"sha":"` + two + `"}}]},` + repo + `}`,
			base: one, head: two, pr: 13, note: "check_suite of pull request #13"},
		{name: "check_run with a pull request", event: "check_run", payload: `{"check_run":{"head_sha":"` + two + `","check_suite":{"pull_requests":[{"number":14,"base":{"sha":"` + one + `"},"head":{"sha":"` + two + `"}}]}},` + repo + `}`,
			base: one, head: two, pr: 14, note: "check_run of pull request #14"},
		{name: "check_suite without a pull request", event: "check_suite", payload: `{"check_suite":{"head_sha":"` + two + `","pull_requests":[]},` + repo + `}`,
			base: one, head: two, note: "merge base with main"},
		{name: "tag push", event: "push", payload: `{"ref":"refs/tags/v9.9.9","before":"` + zero + `","after":"` + two + `",` + repo + `}`,
			base: one, head: two, note: "tag v9.9.9 of a commit not on main"},
		{name: "release", event: "release", payload: `{"release":{"tag_name":"v1"},` + repo + `}`,
			base: one, head: two, note: "merge base with main"},
		{name: "workflow_dispatch, default branch unknown", event: "workflow_dispatch", payload: `{}`,
			note: "the whole tree"},
		{name: "workflow_dispatch, default branch not in the clone", event: "workflow_dispatch", payload: `{"repository":{"default_branch":"trunk"}}`,
			err: "fetch-depth: 0"},
		{name: "issue_comment on a pull request", event: "issue_comment", payload: `{"issue":{"number":11,"pull_request":{"url":"https://api.github.com/repos/acme/shop/pulls/11"}},` + repo + `}`,
			err: "use the pull_request event"},
		{name: "issue_comment on an issue", event: "issue_comment", payload: `{"issue":{"number":12},` + repo + `}`,
			base: one, head: two, note: "merge base with main"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev := filepath.Join(t.TempDir(), "event.json")
			if err := os.WriteFile(ev, []byte(tt.payload), 0o644); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{"GITHUB_EVENT_NAME": tt.event, "GITHUB_EVENT_PATH": ev, "GITHUB_SHA": two}
			act, err := New(func(k string) string { return env[k] }, &strings.Builder{})
			if err != nil {
				t.Fatal(err)
			}
			c, err := act.Context(context.Background(), dir)
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
				t.Errorf("context %+v, want base %s head %s pr %d fork %v note ~%q", c, tt.base, tt.head, tt.pr, tt.fork, tt.note)
			}
		})
	}
}
