package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secgate/secgate/gate/github/githubtest"
	"github.com/secgate/secgate/gate/secrets/secretstest"
)

// selfExcusingPR is a repository whose last commit adds a token and an
// exception for it in the repository's own policy: judged as the pull
// request it is, it fails; judged as a plain tree, it passes.
func selfExcusingPR(t *testing.T) (dir, base, head string) {
	t.Helper()
	dir, base = baseRepo(t, "# app\n")
	writeFiles(t, dir, map[string]string{"deploy.sh": "curl -H 'Authorization: token " + secretstest.GitHubPAT(t) + "' https://api.github.com/user\n"})
	reportPath := filepath.Join(t.TempDir(), "r.json")
	if res := secgate(t, nil, "run", "--only", "secrets", "--report", reportPath, dir); res.code != 1 {
		t.Fatalf("the token must fail the gate: exit %d", res.code)
	}
	rep, _ := readReport(t, reportPath)
	writeFiles(t, dir, map[string]string{".secgate.yml": "exceptions:\n  - id: " + rep.Findings[0].Fingerprint + "\n    reason: test token\n    expires: 2099-01-01\n"})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "deploy script, excused")
	head = git(t, dir, "rev-parse", "HEAD")
	if res := secgate(t, nil, "run", "--only", "secrets", dir); res.code != 0 {
		t.Fatalf("as a plain tree the exception applies: exit %d\n%s", res.code, res.stdout)
	}
	return dir, base, head
}

// Item 1 of issue 27: a pull_request run whose event payload is missing, or
// has no pull_request.base.sha, is an error (exit 2), never a judgement of
// the whole tree with the pull request's own policy.
func TestGitHubPullRequestWithoutBaseIsAnError(t *testing.T) {
	dir, _, head := selfExcusingPR(t)
	work := t.TempDir()
	writeFiles(t, work, map[string]string{
		"nopr.json":   `{"repository":{"full_name":"acme/shop","default_branch":"main"}}`,
		"nobase.json": `{"pull_request":{"number":7,"base":{"ref":"main"},"head":{"sha":"` + head + `","repo":{"full_name":"acme/shop"}}},"repository":{"full_name":"acme/shop"}}`,
	})
	for name, event := range map[string]string{"no payload": "", "no pull_request": filepath.Join(work, "nopr.json"), "no base sha": filepath.Join(work, "nobase.json")} {
		for _, ev := range []string{"pull_request", "pull_request_target"} {
			env := map[string]string{"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": ev, "GITHUB_SHA": head,
				"GITHUB_OUTPUT": filepath.Join(work, "output"), "INPUT_PATH": dir, "INPUT_SCANNERS": "secrets",
				"INPUT_REPORT-FILE": filepath.Join(work, "report.json")}
			if event != "" {
				env["GITHUB_EVENT_PATH"] = event
			}
			_ = os.Remove(filepath.Join(work, "output"))
			res := secgate(t, env, "run")
			if res.code != 2 || !strings.Contains(res.stderr, "base") {
				t.Errorf("%s, %s: exit %d, want 2 naming the missing base\n%s", name, ev, res.code, res.stderr)
			}
			out, _ := os.ReadFile(filepath.Join(work, "output"))
			if !strings.Contains(string(out), "\nerror\n") {
				t.Errorf("%s, %s: the verdict output is not error:\n%s", name, ev, out)
			}
		}
	}
}

// Item 2 of issue 27: a merge-request pipeline without the diff base (or
// target branch) SHA is an error naming the variables, with or without
// CI_COMMIT_SHA; never the whole tree, never "head needs base".
func TestGitLabMergeRequestWithoutBaseIsAnError(t *testing.T) {
	dir, _, head := selfExcusingPR(t)
	for _, sha := range []string{"", head} {
		env := map[string]string{"CI": "true", "GITLAB_CI": "true", "CI_MERGE_REQUEST_IID": "12", "SECGATE_ONLY": "secrets"}
		if sha != "" {
			env["CI_COMMIT_SHA"] = sha
		}
		res := secgate(t, env, "run", dir)
		if res.code != 2 || !strings.Contains(res.stderr, "CI_MERGE_REQUEST_DIFF_BASE_SHA") || strings.Contains(res.stderr, "head needs") {
			t.Errorf("CI_COMMIT_SHA=%q: exit %d, want 2 naming the variable\n%s", sha, res.code, res.stderr)
		}
	}
}

// Item 7 of issue 27: CI=false, CI=0 and an empty CI are not CI: the run is
// a dry run, which files nothing.
func TestCIFalseIsNotCI(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"deploy.sh": "curl -H 'Authorization: token " + secretstest.GitHubPAT(t) + "' https://api.github.com/user\n"})
	commitOnMain(t, dir) // a manual run of the default branch: the whole tree
	for _, ci := range []string{"false", "0", "", "FALSE"} {
		api := githubtest.New(t)
		work := t.TempDir()
		writeFiles(t, work, map[string]string{"event.json": `{"repository":{"full_name":"acme/shop","default_branch":"main"}}`})
		env := map[string]string{"CI": ci, "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "workflow_dispatch", "GITHUB_EVENT_PATH": filepath.Join(work, "event.json"),
			"GITHUB_REPOSITORY": "acme/shop", "GITHUB_API_URL": api.Srv.URL, "INPUT_TOKEN": api.Token, "INPUT_PATH": dir,
			"INPUT_SCANNERS": "secrets", "INPUT_FILE-ISSUES": "true", "INPUT_REPORT-FILE": filepath.Join(work, "report.json")}
		if res := secgate(t, env, "run"); res.code != 1 {
			t.Fatalf("CI=%q: exit %d\n%s", ci, res.code, res.stderr)
		}
		rep, _ := readReport(t, filepath.Join(work, "report.json"))
		if len(api.Issues) != 0 || len(rep.Issues) == 0 || rep.Issues[0].State != "would-open" {
			t.Errorf("CI=%q: %d issues filed, report %+v: want a dry run listing would-open", ci, len(api.Issues), rep.Issues)
		}
	}
}

// Item 8 of issue 27: enforce reads exactly one JSON value. A pass report
// followed by a fail report, or by trailing data, is an error (exit 2),
// and so is a pass report with errors.
func TestEnforceReadsOneValue(t *testing.T) {
	tr := secretstest.New(t)
	dir := t.TempDir()
	failing, passing := filepath.Join(dir, "fail.json"), filepath.Join(dir, "pass.json")
	if res := secgate(t, nil, "run", "--only", "secrets", "--report", failing, tr.Root); res.code != 1 {
		t.Fatalf("scan: exit %d", res.code)
	}
	if res := secgate(t, nil, "run", "--only", "secrets", "--report", passing, t.TempDir()); res.code != 0 {
		t.Fatalf("scan: exit %d", res.code)
	}
	pass, _ := os.ReadFile(passing)
	fail, _ := os.ReadFile(failing)
	writeFiles(t, dir, map[string]string{
		"two.json":      string(pass) + string(fail),
		"trailing.json": string(pass) + "garbage\n",
		"errors.json":   strings.Replace(string(pass), `"errors": []`, `"errors": ["the deps scanner could not run"]`, 1),
		"spaces.json":   string(pass) + "\n\n  \n",
	})
	if !strings.Contains(string(pass), `"errors": []`) {
		t.Fatalf("the pass report has no empty errors list to replace:\n%s", pass)
	}
	for name, want := range map[string]int{"two.json": 2, "trailing.json": 2, "errors.json": 2, "spaces.json": 0} {
		if res := secgate(t, nil, "enforce", filepath.Join(dir, name)); res.code != want {
			t.Errorf("%s: exit %d, want %d\n%s%s", name, res.code, want, res.stdout, res.stderr)
		}
	}
}

// Item 5 of issue 27: file-issues with no token behaves the same on both
// platforms: a warning naming the missing token, the issues listed as
// would-open, and with fail-on-error exit 2.
func TestFileIssuesWithoutTokenAlike(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"deploy.sh": "curl -H 'Authorization: token " + secretstest.GitHubPAT(t) + "' https://api.github.com/user\n"})
	commitOnMain(t, dir) // a manual run of the default branch: the whole tree
	work := t.TempDir()
	writeFiles(t, work, map[string]string{"event.json": `{"repository":{"full_name":"acme/shop","default_branch":"main"}}`})
	platforms := map[string]map[string]string{
		"github": {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "workflow_dispatch", "GITHUB_EVENT_PATH": filepath.Join(work, "event.json"),
			"GITHUB_REPOSITORY": "acme/shop", "GITHUB_API_URL": "http://127.0.0.1:1"},
		"gitlab": {"GITLAB_CI": "true", "CI_PROJECT_ID": "42", "CI_API_V4_URL": "http://127.0.0.1:1/api/v4", "CI_PIPELINE_SOURCE": "schedule"},
	}
	for name, penv := range platforms {
		for failOnError, want := range map[string]int{"false": 1, "true": 2} {
			env := map[string]string{"CI": "true", "SECGATE_ONLY": "secrets", "SECGATE_FILE_ISSUES": "true",
				"SECGATE_FAIL_ON_ERROR": failOnError, "SECGATE_REPORT": filepath.Join(work, name+".json")}
			for k, v := range penv {
				env[k] = v
			}
			res := secgate(t, env, "run", dir)
			if res.code != want {
				t.Errorf("%s, fail-on-error %s: exit %d, want %d\n%s", name, failOnError, res.code, want, res.stderr)
			}
			rep, _ := readReport(t, filepath.Join(work, name+".json"))
			if !strings.Contains(strings.Join(rep.Warnings, "\n"), "no token") || len(rep.Issues) != 1 || rep.Issues[0].State != "would-open" {
				t.Errorf("%s, fail-on-error %s: warnings %q issues %+v: want a no-token warning and one would-open", name, failOnError, rep.Warnings, rep.Issues)
			}
		}
	}
}

// Item 6 of issue 27: with --base (or --history) the event is still read:
// the pull request gets its comment, and a fork's token files nothing.
func TestEventReadWithAnExplicitRange(t *testing.T) {
	dir, base, head := selfExcusingPR(t)
	for _, fork := range []bool{false, true} {
		headRepo := "acme/shop"
		if fork {
			headRepo = "mallory/shop"
		}
		work := t.TempDir()
		writeFiles(t, work, map[string]string{"event.json": `{"number":7,"pull_request":{"number":7,"base":{"ref":"main","sha":"` + base + `"},"head":{"sha":"` + head + `","repo":{"full_name":"` + headRepo + `"}}},"repository":{"full_name":"acme/shop","default_branch":"main"}}`})
		for _, rangeArgs := range [][]string{{"--base", base}, {"--history"}} {
			api := githubtest.New(t)
			env := map[string]string{"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": filepath.Join(work, "event.json"),
				"GITHUB_REPOSITORY": "acme/shop", "GITHUB_API_URL": api.Srv.URL, "GITHUB_SHA": head, "INPUT_TOKEN": api.Token,
				"INPUT_SCANNERS": "secrets", "INPUT_COMMENT": "true", "INPUT_FILE-ISSUES": "true"}
			res := secgate(t, env, append([]string{"run", dir}, rangeArgs...)...)
			// (--history judges the whole history by the tree's policy:
			// the exit code says nothing here, the comment does.)
			if res.code == 2 || rangeArgs[0] == "--base" && res.code != 1 {
				t.Errorf("%v fork %v: exit %d, want 1 (the pull request's token fails)\n%s", rangeArgs, fork, res.code, res.stderr)
			}
			comments := 0
			for _, c := range api.Comments {
				if c["issue_number"] == 7 {
					comments++
				}
			}
			if fork && (comments != 0 || len(api.Issues) != 0) {
				t.Errorf("%v from a fork: %d comments, %d issues: a fork's run writes nothing", rangeArgs, comments, len(api.Issues))
			}
			if !fork && comments != 1 {
				t.Errorf("%v: %d comments on the pull request, want 1", rangeArgs, comments)
			}
		}
	}
}

// Item 4 of issue 27: a bad action input or SECGATE_* value still writes
// the verdict everywhere a later step reads it: the step outputs and the
// summary on GitHub, the dotenv and SARIF files on every platform.
func TestBadInputStillPublishes(t *testing.T) {
	dir := t.TempDir()
	work := t.TempDir()
	writeFiles(t, work, map[string]string{"event.json": `{"repository":{"full_name":"acme/shop","default_branch":"main"}}`})
	env := map[string]string{"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "workflow_dispatch", "GITHUB_EVENT_PATH": filepath.Join(work, "event.json"),
		"GITHUB_OUTPUT": filepath.Join(work, "output"), "GITHUB_STEP_SUMMARY": filepath.Join(work, "summary.md"),
		"INPUT_PATH": dir, "INPUT_FAIL-ON-ERROR": "maybe", "INPUT_REPORT-FILE": filepath.Join(work, "report.json"),
		"SECGATE_DOTENV": filepath.Join(work, "secgate.env"), "INPUT_SARIF-FILE": filepath.Join(work, "secgate.sarif")}
	res := secgate(t, env, "run")
	if res.code != 2 || !strings.Contains(res.stderr, "fail-on-error") {
		t.Fatalf("exit %d, want 2 naming the input\n%s", res.code, res.stderr)
	}
	out, _ := os.ReadFile(filepath.Join(work, "output"))
	summary, _ := os.ReadFile(filepath.Join(work, "summary.md"))
	dotenv, _ := os.ReadFile(filepath.Join(work, "secgate.env"))
	sarif, _ := os.ReadFile(filepath.Join(work, "secgate.sarif"))
	if !strings.Contains(string(out), "verdict<<") || !strings.Contains(string(out), "\nerror\n") {
		t.Errorf("outputs:\n%s", out)
	}
	if !strings.Contains(string(summary), "ERROR") {
		t.Errorf("summary:\n%s", summary)
	}
	if !strings.Contains(string(dotenv), "SECGATE_VERDICT=error") {
		t.Errorf("dotenv:\n%s", dotenv)
	}
	if !strings.Contains(string(sarif), `"version": "2.1.0"`) {
		t.Errorf("SARIF:\n%s", sarif)
	}
}

// Item 10 of issue 27: two output flags naming one file is an error, and
// the report in it is the JSON report, not whichever was written last.
func TestOutputPathsDistinct(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(t.TempDir(), "out.json")
	for _, flag := range []string{"--sarif-file", "--dotenv"} {
		res := secgate(t, nil, "run", "--only", "secrets", "--report", p, flag, p, dir)
		if res.code != 2 || !strings.Contains(res.stderr, "both name") {
			t.Errorf("%s: exit %d, want 2\n%s", flag, res.code, res.stderr)
		}
		if rep, _ := readReport(t, p); rep.Verdict != "error" {
			t.Errorf("%s: the file holds verdict %q", flag, rep.Verdict)
		}
	}
}

// Item 3 of issue 27: in GitHub Actions a machine-readable stdout is only
// the report: workflow commands go to stderr.
func TestMachineReadableStdoutInActions(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"deploy.sh": "curl -H 'Authorization: token " + secretstest.GitHubPAT(t) + "' https://api.github.com/user\n"})
	commitOnMain(t, dir) // a manual run of the default branch: the whole tree
	work := t.TempDir()
	writeFiles(t, work, map[string]string{"event.json": `{"repository":{"full_name":"acme/shop","default_branch":"main"}}`})
	env := map[string]string{"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "workflow_dispatch", "GITHUB_EVENT_PATH": filepath.Join(work, "event.json"),
		"GITHUB_OUTPUT": filepath.Join(work, "output"), "GITHUB_STEP_SUMMARY": filepath.Join(work, "summary.md"), "INPUT_SCANNERS": "secrets"}
	for _, format := range []string{"json", "sarif"} {
		res := secgate(t, env, "run", "--format", format, dir)
		if res.code != 1 {
			t.Fatalf("%s: exit %d\n%s", format, res.code, res.stderr)
		}
		var v map[string]any
		dec := json.NewDecoder(strings.NewReader(res.stdout))
		if err := dec.Decode(&v); err != nil || dec.More() {
			t.Errorf("%s: stdout is not one JSON value (%v):\n%s", format, err, res.stdout)
		}
		if !strings.Contains(res.stderr, "::error ") {
			t.Errorf("%s: no annotation on stderr:\n%s", format, res.stderr)
		}
	}
}

// Item 11 of issue 27: verify refuses a local image source (it would go to
// Docker Hub as a repository named docker-archive) and a certificate
// identity next to a key (never checked).
func TestVerifyRefusesWhatItWouldGetWrong(t *testing.T) {
	pub := filepath.Join(t.TempDir(), "cosign.pub")
	writeFiles(t, filepath.Dir(pub), map[string]string{"cosign.pub": "not read\n"})
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"verify", "docker-archive:" + filepath.Join(t.TempDir(), "app.tar"), "--key", pub}, "not a docker-archive source"},
		{[]string{"verify", "oci-layout:/tmp/x", "--key", pub}, "not a oci-layout source"},
		{[]string{"verify", "127.0.0.1:1/app:1", "--key", pub, "--certificate-identity", "me@example.com"}, "would never be checked"},
		{[]string{"verify", "127.0.0.1:1/app:1", "--key", pub, "--certificate-oidc-issuer-regexp", "."}, "would never be checked"},
	} {
		res := secgate(t, nil, tt.args...)
		if res.code != 2 || !strings.Contains(res.stderr, tt.want) {
			t.Errorf("%v: exit %d, want 2 and %q\n%s%s", tt.args, res.code, tt.want, res.stdout, res.stderr)
		}
	}
}

// Item 12 of issue 27: a policy whose response pages someone (Jira,
// Slack...) without --file-issues says in the report that nothing was
// sent; with the default response it says nothing.
func TestResponseWithoutFileIssuesSaysSo(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{".secgate.yml": "response:\n  critical: {ticket: [jira, repository], notify: [slack]}\njira: {url: https://acme.atlassian.net, project: SEC}\n"})
	other := t.TempDir()
	for _, tt := range []struct {
		dir  string
		want bool
	}{{dir, true}, {other, false}} {
		p := filepath.Join(t.TempDir(), "r.json")
		if res := secgate(t, nil, "run", "--only", "secrets", "--report", p, tt.dir); res.code != 0 {
			t.Fatalf("exit %d\n%s", res.code, res.stderr)
		}
		rep, _ := readReport(t, p)
		got := strings.Contains(strings.Join(rep.Warnings, "\n"), "runs only with --file-issues")
		if got != tt.want || tt.want && !strings.Contains(strings.Join(rep.Warnings, "\n"), "jira, slack") {
			t.Errorf("warnings %q, want the note: %v", rep.Warnings, tt.want)
		}
	}
}
