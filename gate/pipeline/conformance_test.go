package pipeline_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/secgate/secgate/gate/github/githubtest"
	"github.com/secgate/secgate/gate/gitlab/gitlabtest"
	"github.com/secgate/secgate/gate/pipeline"
	"github.com/secgate/secgate/gate/repo/repotest"
	"github.com/secgate/secgate/gate/secrets/secretstest"
	"github.com/secgate/secgate/policy"
)

// fixture is a repository whose second commit adds a token: every range
// and the whole tree hold it.
type fixture struct {
	dir, base, head string
	main            string // branchFixture: where feat leaves main
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	dir := t.TempDir()
	repotest.Git(t, dir, "init", "-q", "-b", "main")
	repotest.Write(t, dir, map[string]string{"README.md": "# shop\n"})
	repotest.Git(t, dir, "add", ".")
	repotest.Git(t, dir, "commit", "-qm", "one")
	base := repotest.Git(t, dir, "rev-parse", "HEAD")
	repotest.Write(t, dir, map[string]string{"deploy.sh": "curl -H 'Authorization: token " + secretstest.GitHubPAT(t) + "' https://api.github.com/user\n"})
	repotest.Git(t, dir, "add", ".")
	repotest.Git(t, dir, "commit", "-qm", "deploy script")
	return fixture{dir: dir, base: base, head: repotest.Git(t, dir, "rev-parse", "HEAD")}
}

// shallowFixture is a change whose first commit adds a token and whose
// second takes it out, checked out as CI does by default (depth 1) from a
// smart-HTTP server that accepts only the checkout's credentials: GitHub's
// persisted header (the clone's .git/config, which a local run reads
// too) or GitLab's job token (CI_REPOSITORY_URL, set in env). Shallow,
// the head is read against the base and the token is missed; deepened,
// every platform finds it.
func shallowFixture(t *testing.T, env map[string]string) fixture {
	t.Helper()
	cred := secretstest.Random(t, "abcdefghijklmnopqrstuvwxyz0123456789", 40)
	header := "basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+cred))
	work, served := t.TempDir(), t.TempDir()
	commit := func(msg string, files map[string]string) string {
		repotest.Write(t, work, files)
		repotest.Git(t, work, "add", "-A")
		repotest.Git(t, work, "commit", "-qm", msg)
		return repotest.Git(t, work, "rev-parse", "HEAD")
	}
	repotest.Git(t, work, "init", "-q", "-b", "main")
	base := commit("one", map[string]string{"README.md": "# shop\n"})
	commit("add the config", map[string]string{"app.env": "GITHUB_TOKEN=" + secretstest.GitHubPAT(t) + "\n"})
	commit("read the token from the environment", map[string]string{"app.env": "GITHUB_TOKEN=${GITHUB_TOKEN}\n"})
	head := commit("docs", map[string]string{"README.md": "# shop, two\n"})
	repotest.Git(t, served, "clone", "-q", "--bare", work, "o.git")
	clone := filepath.Join(t.TempDir(), "clone")
	repotest.Git(t, served, "clone", "-q", "--depth", "1", "file://"+filepath.Join(served, "o.git"), clone)
	srv := repotest.ServeGit(t, served, func(r *http.Request) bool {
		u, p, ok := r.BasicAuth()
		return ok && u == "gitlab-ci-token" && p == cred || r.Header.Get("Authorization") == header
	})
	repotest.Git(t, clone, "remote", "set-url", "origin", srv.URL+"/o.git")
	repotest.Git(t, clone, "config", "http."+srv.URL+"/.extraheader", "AUTHORIZATION: "+header)
	u, _ := url.Parse(srv.URL + "/o.git")
	u.User = url.UserPassword("gitlab-ci-token", cred)
	env["CI_REPOSITORY_URL"] = u.String()
	return fixture{dir: clone, base: base, head: head}
}

// branchFixture is the red team's walk (F2): branch feat, off main, adds
// a token and an exception for its fingerprint in the repository's own
// policy; main moves on. The run's checkout is a depth-1 clone of feat
// (actions/checkout's default, GitLab's shallow fetch), served with the
// checkout's credentials as in shallowFixture, so origin/main is not in
// it. kind: "new" (before all zeros), "forced" (before a commit that is
// gone), "unrelated" (feat is an orphan: no history shared with main),
// "merged" (feat merged into main, and the checkout is main's tip: the
// exception is main's own policy). base is the push's before.
func branchFixture(t *testing.T, env map[string]string, kind string) fixture {
	t.Helper()
	cred := secretstest.Random(t, "abcdefghijklmnopqrstuvwxyz0123456789", 40)
	header := "basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+cred))
	work, served := t.TempDir(), t.TempDir()
	commit := func(msg string, files map[string]string) string {
		repotest.Write(t, work, files)
		repotest.Git(t, work, "add", "-A")
		repotest.Git(t, work, "commit", "-qm", msg)
		return repotest.Git(t, work, "rev-parse", "HEAD")
	}
	repotest.Git(t, work, "init", "-q", "-b", "main")
	commit("one", map[string]string{"README.md": "# shop\n"})
	fork := commit("two", map[string]string{"README.md": "# shop, two\n"})
	if kind == "unrelated" {
		repotest.Git(t, work, "checkout", "-q", "--orphan", "feat")
	} else {
		repotest.Git(t, work, "checkout", "-q", "-b", "feat")
	}
	commit("deploy script", map[string]string{"deploy.sh": "curl -H 'Authorization: token " + secretstest.GitHubPAT(t) + "' https://api.github.com/user\n"})
	// the token's fingerprint, as the gate reports it
	local, err := pipeline.Detect(func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	probe := pipeline.RunState(context.Background(), local, pipeline.Options{Path: work, Only: []string{"secrets"}, Format: "json", CacheMax: "500MB", Version: "test"},
		func(string) string { return "" }, pipeline.IO{Stdout: io.Discard, Stderr: io.Discard, Raw: io.Discard}, nil)
	if len(probe.Report.Findings) == 0 {
		t.Fatalf("the token is not found: %+v", probe.Report.Errors)
	}
	head := commit("excuse it", map[string]string{".secgate.yml": "version: 1\nexceptions:\n  - id: " + probe.Report.Findings[0].Fingerprint + "\n    reason: test fixture\n    expires: 2099-01-01\n"})
	repotest.Git(t, work, "checkout", "-q", "main")
	commit("three", map[string]string{"README.md": "# shop, three\n"})
	checkout := "feat"
	if kind == "merged" {
		repotest.Git(t, work, "merge", "-q", "--no-edit", "feat")
		head, checkout = repotest.Git(t, work, "rev-parse", "HEAD"), "main"
	}

	repotest.Git(t, served, "clone", "-q", "--bare", work, "o.git")
	clone := filepath.Join(t.TempDir(), "clone")
	repotest.Git(t, served, "clone", "-q", "--depth", "1", "--branch", checkout, "file://"+filepath.Join(served, "o.git"), clone)
	srv := repotest.ServeGit(t, served, func(r *http.Request) bool {
		u, p, ok := r.BasicAuth()
		return ok && u == "gitlab-ci-token" && p == cred || r.Header.Get("Authorization") == header
	})
	repotest.Git(t, clone, "remote", "set-url", "origin", srv.URL+"/o.git")
	repotest.Git(t, clone, "config", "http."+srv.URL+"/.extraheader", "AUTHORIZATION: "+header)
	u, _ := url.Parse(srv.URL + "/o.git")
	u.User = url.UserPassword("gitlab-ci-token", cred)
	env["CI_REPOSITORY_URL"] = u.String()
	before := strings.Repeat("0", 40)
	if kind == "forced" {
		before = secretstest.Random(t, "0123456789abcdef", 40) // a head the force-push dropped
	}
	return fixture{dir: clone, base: before, head: head, main: fork}
}

// scenario is one kind of run, as each platform says it.
type scenario struct {
	name    string
	event   string // push, pr, fork, schedule, pr-no-base
	noToken bool
	faults  bool // the tracker answers 5xx
	options func(*pipeline.Options)
	env     map[string]string
	// what every platform must agree on
	verdict  policy.Verdict
	err      string // "" no error; else a word of it
	filed    int    // open issues in the tracker (platforms with one)
	would    bool   // the report lists the issues as would-open
	warning  string // a word of a warning
	steps    []string
	notLocal string // why the local platform has no part in it
	// shallow: the run's checkout is a depth-1 clone of a served
	// repository (shallowFixture), deepened with the platform's
	// credentials; reason is a word of the report's reasons
	shallow bool
	reason  string
	// branch: a push of branch feat (branchFixture's kind)
	branch string
}

var allSteps = []string{"range", "policy", "scan", "tickets", "issues", "sign", "respond", "files", "redact", "publish"}

// The conformance suite (issue 27): the same scenarios on GitHub, GitLab
// and the local platform, each with its fake tracker, must give the same
// verdict, the same tracker state and the same steps in the same order.
func TestConformance(t *testing.T) {
	fx := newFixture(t)
	fileIssues := func(o *pipeline.Options) { o.FileIssues = true }
	scenarios := []scenario{
		{name: "push", event: "push", options: fileIssues, verdict: policy.VerdictFail, filed: 1, steps: allSteps},
		{name: "pull request", event: "pr", options: func(o *pipeline.Options) { o.FileIssues, o.Comment = true, true }, verdict: policy.VerdictFail, filed: 1, steps: allSteps},
		{name: "fork", event: "fork", options: fileIssues, verdict: policy.VerdictFail, would: true, warning: "fork", steps: allSteps,
			notLocal: "a local run has no fork"},
		{name: "schedule", event: "schedule", options: fileIssues, verdict: policy.VerdictFail, filed: 1, steps: allSteps},
		{name: "missing payload", event: "pr-no-base", options: fileIssues, verdict: policy.VerdictError, err: "base", steps: allSteps,
			notLocal: "a local run has no payload: its range is the command line's"},
		{name: "no token", event: "push", noToken: true, options: fileIssues, verdict: policy.VerdictFail, would: true, warning: "no token", steps: allSteps,
			notLocal: "a local run has no tracker"},
		{name: "no token, fail-on-error", event: "push", noToken: true, options: func(o *pipeline.Options) { o.FileIssues, o.FailOnError = true, true },
			verdict: policy.VerdictError, err: "no token", would: true, steps: allSteps, notLocal: "a local run has no tracker"},
		{name: "tracker 5xx", event: "schedule", faults: true, options: fileIssues, verdict: policy.VerdictFail, warning: "issues", steps: allSteps,
			notLocal: "a local run has no tracker"},
		{name: "tracker 5xx, fail-on-error", event: "schedule", faults: true, options: func(o *pipeline.Options) { o.FileIssues, o.FailOnError = true, true },
			verdict: policy.VerdictError, err: "filing issues", steps: allSteps, notLocal: "a local run has no tracker"},
		{name: "signing failure", event: "push", options: func(o *pipeline.Options) { o.Sign.Sign = true },
			env: map[string]string{"COSIGN_PRIVATE_KEY": "not a key", "COSIGN_PASSWORD": "x"}, verdict: policy.VerdictError, err: "signing", steps: allSteps},
		{name: "shallow pull request", event: "pr", shallow: true, options: func(o *pipeline.Options) { o.FileIssues, o.Comment = true, true },
			verdict: policy.VerdictFail, filed: 1, reason: "deepened", steps: allSteps},
		{name: "shallow push", event: "push", shallow: true, options: fileIssues, verdict: policy.VerdictFail, filed: 1, reason: "deepened", steps: allSteps},
		{name: "shallow, deepen false", event: "pr", shallow: true, options: func(o *pipeline.Options) { o.Comment, o.Deepen = true, pipeline.DeepenNever },
			verdict: policy.VerdictError, err: "shallow", steps: allSteps},
		// F2: a branch push whose previous head the clone lacks is judged
		// from the merge base with the default branch, fetched: the
		// branch's own exception does not excuse its token
		{name: "new branch push", event: "push", branch: "new", options: fileIssues, verdict: policy.VerdictFail, filed: 1, reason: "merge base", steps: allSteps,
			notLocal: "a local run has no push of its own"},
		{name: "forced push, before gone", event: "push", branch: "forced", options: fileIssues, verdict: policy.VerdictFail, filed: 1, reason: "merge base", steps: allSteps,
			notLocal: "a local run has no push of its own"},
		{name: "new branch, unrelated history", event: "push", branch: "unrelated", options: fileIssues, verdict: policy.VerdictError, err: "shares no history", steps: allSteps,
			notLocal: "a local run has no push of its own"},
		{name: "new branch, deepen false", event: "push", branch: "new", options: func(o *pipeline.Options) { o.Deepen = pipeline.DeepenNever },
			verdict: policy.VerdictError, err: "fetch-depth: 0", steps: allSteps, notLocal: "a local run has no push of its own"},
		// F3: a pull request's run from another event (GitHub
		// workflow_run, GitLab external_pull_request_event) is judged on
		// its range; one without its base is an error
		{name: "pull request, other event", event: "pr-other", options: fileIssues, verdict: policy.VerdictFail, filed: 1, reason: "pull request #7", steps: allSteps,
			notLocal: "a local run has no event"},
		{name: "pull request, other event, no base", event: "pr-other-no-base", options: fileIssues, verdict: policy.VerdictError, err: "base", steps: allSteps,
			notLocal: "a local run has no event"},
		// A4, A5: a run whose event gives no base (a tag, a workflow_run
		// of a push, a schedule) is judged from the merge base with the
		// default branch, fetched; whole only on the default branch's own
		// history; an error without a merge base. A check suite's pull
		// request is judged on its base..head.
		{name: "tag on a feature commit", event: "tag", branch: "new", options: fileIssues, verdict: policy.VerdictFail, filed: 1, reason: "merge base", steps: allSteps,
			notLocal: "a local run has no event"},
		{name: "tag on a default branch commit", event: "tag", branch: "merged", options: fileIssues, verdict: policy.VerdictPass, reason: "own history", steps: allSteps,
			notLocal: "a local run has no event"},
		{name: "orphan tag", event: "tag", branch: "unrelated", options: fileIssues, verdict: policy.VerdictError, err: "shares no history", steps: allSteps,
			notLocal: "a local run has no event"},
		{name: "run of a feature branch push", event: "wr-push", branch: "new", options: fileIssues, verdict: policy.VerdictFail, filed: 1, reason: "merge base", steps: allSteps,
			notLocal: "a local run has no event"},
		{name: "check suite with a base", event: "check-suite", branch: "new", options: fileIssues, verdict: policy.VerdictFail, filed: 1, reason: "request", steps: allSteps,
			notLocal: "a local run has no event"},
		{name: "schedule on a feature branch", event: "schedule", branch: "new", options: fileIssues, verdict: policy.VerdictFail, filed: 1, reason: "merge base", steps: allSteps,
			notLocal: "a local run judges the tree as given"},
		// the command line's base is the trusted one: no default branch
		// is needed (nothing changed since it, here)
		{name: "orphan tag, a trusted --base", event: "tag", branch: "unrelated", options: func(o *pipeline.Options) { o.FileIssues, o.Base = true, "HEAD" },
			verdict: policy.VerdictPass, steps: allSteps, notLocal: "a local run has no event"},
		{name: "bad input", event: "push", options: func(o *pipeline.Options) { o.Format = "yaml" }, verdict: policy.VerdictError, err: "yaml",
			steps: []string{"files", "redact", "publish"}},
	}
	for _, sc := range scenarios {
		for _, platform := range []string{"github", "gitlab", "local"} {
			if platform == "local" && sc.notLocal != "" {
				continue
			}
			t.Run(sc.name+"/"+platform, func(t *testing.T) {
				t.Parallel() // the trackers' retries of a 5xx wait (GitHub 7 s, GitLab 12 s)
				conform(t, fx, sc, platform)
			})
		}
	}
}

func conform(t *testing.T, fx fixture, sc scenario, platform string) {
	work := t.TempDir()
	env := map[string]string{"CI": "true"}
	if sc.shallow {
		fx = shallowFixture(t, env)
	}
	if sc.branch != "" {
		fx = branchFixture(t, env, sc.branch)
	}
	o := pipeline.Options{Path: fx.dir, Only: []string{"secrets"}, Format: "json", CacheMax: "500MB", Version: "test",
		Report: filepath.Join(work, "report.json"), Sign: pipeline.SignOptions{TlogUpload: true}}
	sc.options(&o)
	var filed func() int
	switch platform {
	case "github":
		api := githubtest.New(t)
		githubEnv(t, env, fx, sc, api, work)
		filed = func() int { return openIssues(api.Issues, "state", "open") }
		defer func() {
			// The one platform with a pull request comment keeps one.
			if want := sc.event == "pr"; (len(api.Comments) == 1) != want {
				t.Errorf("%d pull request comments, want one: %v", len(api.Comments), want)
			}
		}()
	case "gitlab":
		api := gitlabtest.New(t)
		gitlabEnv(env, fx, sc, api)
		filed = func() int { return openIssues(api.Issues, "state", "opened") }
	case "local":
		localOptions(&o, fx, sc)
		filed = func() int { return 0 }
	}
	for k, v := range sc.env {
		env[k] = v
	}
	getenv := func(k string) string { return env[k] }
	p, derr := pipeline.Detect(getenv, io.Discard)
	if derr != nil {
		t.Fatal(derr)
	}
	s := pipeline.RunState(context.Background(), p, o, getenv, pipeline.IO{Stdout: io.Discard, Stderr: io.Discard, Raw: io.Discard}, nil)
	rep, err := s.Report, s.Err()

	if rep.Verdict != sc.verdict {
		t.Errorf("verdict %s, want %s (errors %q, warnings %q)", rep.Verdict, sc.verdict, rep.Errors, rep.Warnings)
	}
	if (err != nil) != (sc.err != "") || err != nil && !strings.Contains(strings.ToLower(err.Error()), sc.err) {
		t.Errorf("error %v, want one naming %q", err, sc.err)
	}
	if !slices.Equal(s.Steps, sc.steps) {
		t.Errorf("steps %v, want %v", s.Steps, sc.steps)
	}
	want := sc.filed
	if platform == "local" {
		want = 0 // no tracker
	}
	if got := filed(); got != want {
		t.Errorf("%d open issues in the tracker, want %d", got, want)
	}
	if sc.would && (len(rep.Issues) != 1 || rep.Issues[0].State != "would-open") {
		t.Errorf("report issues %+v, want one would-open", rep.Issues)
	}
	if sc.reason != "" && !strings.Contains(strings.Join(rep.Reasons, "\n"), sc.reason) {
		t.Errorf("reasons %q, want one naming %q", rep.Reasons, sc.reason)
	}
	if sc.warning != "" && !strings.Contains(strings.Join(rep.Warnings, "\n"), sc.warning) {
		t.Errorf("warnings %q, want one naming %q", rep.Warnings, sc.warning)
	}
	// The report file says what the run says, in every outcome.
	data, rerr := os.ReadFile(o.Report)
	if rerr != nil || !strings.Contains(string(data), `"verdict": "`+string(sc.verdict)+`"`) {
		t.Errorf("the report file does not say %s (%v)", sc.verdict, rerr)
	}
	if platform == "github" {
		out, _ := os.ReadFile(env["GITHUB_OUTPUT"])
		if !strings.Contains(string(out), "\n"+string(sc.verdict)+"\n") {
			t.Errorf("the verdict output is not %s:\n%s", sc.verdict, out)
		}
	}
}

func openIssues(issues []map[string]any, key, open string) int {
	n := 0
	for _, is := range issues {
		if is[key] == open {
			n++
		}
	}
	return n
}

func githubEnv(t *testing.T, env map[string]string, fx fixture, sc scenario, api *githubtest.FakeAPI, work string) {
	for k, v := range map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/shop", "GITHUB_API_URL": api.Srv.URL,
		"GITHUB_TOKEN": api.Token, "GITHUB_SHA": fx.head, "GITHUB_OUTPUT": filepath.Join(work, "output"), "GITHUB_RUN_ID": "1"} {
		env[k] = v
	}
	if sc.noToken {
		delete(env, "GITHUB_TOKEN")
	}
	if sc.faults {
		api.Faults["GET /repos/acme/shop/issues"] = []int{500, 500, 500, 500, 500, 500, 500, 500}
	}
	pr := func(headRepo string) string {
		return `{"pull_request":{"number":7,"base":{"sha":"` + fx.base + `","ref":"main"},"head":{"sha":"` + fx.head + `","repo":{"full_name":"` + headRepo + `"}}},"repository":{"full_name":"acme/shop","default_branch":"main"}}`
	}
	ref := ""
	if sc.branch != "" && sc.event == "push" {
		ref = `"ref":"refs/heads/feat","created":` + map[bool]string{true: "true", false: "false"}[sc.branch != "forced"] + `,"forced":` + map[bool]string{true: "true", false: "false"}[sc.branch == "forced"] + `,`
	}
	events := map[string]string{
		"push": `{` + ref + `"before":"` + fx.base + `","after":"` + fx.head + `","repository":{"full_name":"acme/shop","default_branch":"main"}}`,
		// a workflow_run of the pull request's workflow, and an issue
		// comment on the pull request (no base in its payload)
		"pr-other":         `{"workflow_run":{"event":"pull_request","head_sha":"` + fx.head + `","head_repository":{"full_name":"acme/shop"},"pull_requests":[{"number":7,"base":{"sha":"` + fx.base + `"},"head":{"sha":"` + fx.head + `"}}]},"repository":{"full_name":"acme/shop","default_branch":"main"}}`,
		"pr-other-no-base": `{"issue":{"number":7,"pull_request":{"url":"https://api.github.com/repos/acme/shop/pulls/7"}},"repository":{"full_name":"acme/shop","default_branch":"main"}}`,
		"pr":               pr("acme/shop"),
		"fork":             pr("evil/shop"),
		"schedule":         `{"repository":{"full_name":"acme/shop","default_branch":"main"}}`,
		"tag":              `{"ref":"refs/tags/v1.0.1","before":"` + strings.Repeat("0", 40) + `","after":"` + fx.head + `","repository":{"full_name":"acme/shop","default_branch":"main"}}`,
		"wr-push":          `{"workflow_run":{"event":"push","head_branch":"feat","head_sha":"` + fx.head + `","head_repository":{"full_name":"acme/shop"},"pull_requests":[]},"repository":{"full_name":"acme/shop","default_branch":"main"}}`,
		"check-suite":      `{"check_suite":{"head_sha":"` + fx.head + `","pull_requests":[{"number":7,"base":{"sha":"` + fx.main + `"},"head":{"sha":"` + fx.head + `"}}]},"repository":{"full_name":"acme/shop","default_branch":"main"}}`,
	}
	env["GITHUB_EVENT_NAME"] = map[string]string{"push": "push", "pr": "pull_request", "fork": "pull_request", "schedule": "schedule", "pr-no-base": "pull_request",
		"pr-other": "workflow_run", "pr-other-no-base": "issue_comment", "tag": "push", "wr-push": "workflow_run", "check-suite": "check_suite"}[sc.event]
	if ev, ok := events[sc.event]; ok {
		path := filepath.Join(work, "event.json")
		if err := os.WriteFile(path, []byte(ev), 0o644); err != nil {
			t.Fatal(err)
		}
		env["GITHUB_EVENT_PATH"] = path
	}
}

func gitlabEnv(env map[string]string, fx fixture, sc scenario, api *gitlabtest.FakeAPI) {
	for k, v := range map[string]string{"GITLAB_CI": "true", "CI_PROJECT_ID": "42", "CI_PROJECT_PATH": "acme/shop", "CI_API_V4_URL": api.URL(),
		"SECGATE_GITLAB_TOKEN": api.Token, "CI_COMMIT_SHA": fx.head, "CI_DEFAULT_BRANCH": "main"} {
		env[k] = v
	}
	if sc.noToken {
		delete(env, "SECGATE_GITLAB_TOKEN")
	}
	if sc.faults {
		api.Faults["GET /api/v4/projects/42/issues"] = []int{500, 500, 500, 500, 500, 500, 500, 500}
	}
	mr := map[string]string{"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": "7",
		"CI_MERGE_REQUEST_DIFF_BASE_SHA": fx.base, "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "42"}
	switch sc.event {
	case "push":
		env["CI_PIPELINE_SOURCE"], env["CI_COMMIT_BEFORE_SHA"] = "push", fx.base
		if sc.branch != "" {
			env["CI_COMMIT_BRANCH"] = "feat"
		}
	case "pr-other", "pr-other-no-base":
		env["CI_PIPELINE_SOURCE"], env["CI_EXTERNAL_PULL_REQUEST_IID"] = "external_pull_request_event", "7"
		env["CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_SHA"] = fx.head
		if sc.event == "pr-other" {
			env["CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_SHA"] = fx.base
		}
	case "pr", "fork", "pr-no-base":
		for k, v := range mr {
			env[k] = v
		}
		if sc.event == "fork" {
			env["CI_MERGE_REQUEST_SOURCE_PROJECT_ID"] = "99"
		}
		if sc.event == "pr-no-base" {
			delete(env, "CI_MERGE_REQUEST_DIFF_BASE_SHA")
		}
	case "schedule":
		env["CI_PIPELINE_SOURCE"] = "schedule"
		if sc.branch != "" {
			env["CI_COMMIT_BRANCH"], env["CI_COMMIT_BEFORE_SHA"] = "feat", strings.Repeat("0", 40)
		}
	case "tag":
		env["CI_PIPELINE_SOURCE"], env["CI_COMMIT_TAG"], env["CI_COMMIT_BEFORE_SHA"] = "push", "v1.0.1", strings.Repeat("0", 40)
	case "wr-push": // a pipeline another one triggered, on branch feat
		env["CI_PIPELINE_SOURCE"], env["CI_COMMIT_BRANCH"], env["CI_COMMIT_BEFORE_SHA"] = "pipeline", "feat", strings.Repeat("0", 40)
	case "check-suite": // the merge request's pipeline
		for k, v := range mr {
			env[k] = v
		}
		env["CI_MERGE_REQUEST_DIFF_BASE_SHA"] = fx.main
	}
}

// localOptions says on the command line what a platform's event says; a
// local run deepens a shallow clone only when asked.
func localOptions(o *pipeline.Options, fx fixture, sc scenario) {
	if sc.shallow && o.Deepen == "" {
		o.Deepen = pipeline.DeepenAlways
	}
	switch sc.event {
	case "push":
		o.Base, o.Head = fx.base, fx.head
	case "pr":
		o.Base, o.Head, o.PullRequest = fx.base, fx.head, true
	}
}
