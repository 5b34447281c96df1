package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/secgate/secgate/gate/github/githubtest"
	"github.com/secgate/secgate/gate/jira/jiratest"
	"github.com/secgate/secgate/gate/secrets/secretstest"
)

// noPieceOf greps every output for every 6-character piece of each
// value, its public prefix (ghp_, which previews show) left aside.
func noPieceOf(t *testing.T, values []string, outputs map[string]string) {
	t.Helper()
	for name, out := range outputs {
		if out == "" {
			continue
		}
	values:
		for _, v := range values {
			for i := 4; i+6 <= len(v); i++ {
				if j := strings.Index(out, v[i:i+6]); j >= 0 {
					t.Errorf("%s carries a piece of a planted value at byte %d: …%s…", name, j, strings.ReplaceAll(out[max(0, j-60):j], "\n", `\n`))
					break values
				}
			}
		}
	}
}

// readAll reads every file under dir, by name.
func readAll(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			out[p] = string(b)
		}
		return nil
	})
	return out
}

// The two leaks of issue 25, end to end: tokens inside files whose parsers
// quote them (a pom.xml entity, a go.mod unknown directive and toolchain
// line, a pnpm lockfileVersion: all on gitleaks' path allowlist or
// broken before the secret scan) exit 2, and no output carries a piece
// of any: stdout, stderr, the JSON report, SARIF, the step summary, the
// outputs, the PR comment on GitHub; the GitLab reports, dotenv and the
// log sections on GitLab. Before the fix the deps error quoted each
// token in every one of them.
func TestParserErrorsLeakNoToken(t *testing.T) {
	toks := []string{secretstest.GitHubPAT(t), secretstest.GitHubPAT(t), secretstest.GitHubPAT(t), secretstest.GitHubPAT(t), secretstest.GitHubPAT(t)}
	files := map[string]string{
		"deploy.sh":          "curl -H 'Authorization: token " + toks[0] + "' https://api.github.com/user\n",
		"java/pom.xml":       "<?xml version=\"1.0\"?>\n<project><groupId>a</groupId><artifactId>b</artifactId><version>1</version>\n<name>&" + toks[1] + ";</name>\n</project>\n",
		"go/go.mod":          "module example.com/x\n\ngo 1.22\n\n" + toks[2] + " v1\n",
		"tool/go.mod":        "module example.com/y\n\ngo 1.22\ntoolchain " + toks[3] + "\n",
		"web/pnpm-lock.yaml": "lockfileVersion: '" + toks[4] + "'\n\npackages: {}\n",
	}
	db, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "osvdb"))
	for name, one := range files {
		if name == "deploy.sh" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			dir, base := baseRepo(t, "# shop\n")
			writeFiles(t, dir, map[string]string{"deploy.sh": files["deploy.sh"], name: one})
			git(t, dir, "add", ".")
			git(t, dir, "commit", "-qm", "change")
			head := git(t, dir, "rev-parse", "HEAD")
			work := t.TempDir()
			writeFiles(t, work, map[string]string{
				"event.json": `{"number":7,"pull_request":{"number":7,"base":{"ref":"main","sha":"` + base + `"},"head":{"ref":"f","sha":"` + head + `","repo":{"full_name":"acme/shop"}}},"repository":{"full_name":"acme/shop","default_branch":"main"}}`,
				"policy.yml": "deps: {max_db_age: 0}\n",
			})
			outputs := map[string]string{}

			// GitHub Actions: a pull request with the comment on, JSON on stdout.
			api := githubtest.New(t)
			gh := map[string]string{
				"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": filepath.Join(work, "event.json"),
				"GITHUB_REPOSITORY": "acme/shop", "GITHUB_API_URL": api.Srv.URL, "GITHUB_SHA": head, "GITHUB_RUN_ID": "1",
				"GITHUB_OUTPUT": filepath.Join(work, "gh", "output"), "GITHUB_STEP_SUMMARY": filepath.Join(work, "gh", "summary.md"),
				"INPUT_TOKEN": api.Token, "INPUT_PATH": dir, "INPUT_OFFLINE-DB": db, "INPUT_POLICY": filepath.Join(work, "policy.yml"),
				"INPUT_FILE-ISSUES": "true", "INPUT_COMMENT": "true", "INPUT_DRY-RUN": "false",
				"INPUT_SARIF-FILE": filepath.Join(work, "gh", "secgate.sarif"), "INPUT_REPORT-FILE": filepath.Join(work, "gh", "report.json"),
				"SECGATE_FORMAT": "json",
			}
			writeFiles(t, work, map[string]string{"gh/output": "", "gh/summary.md": ""})
			res := secgate(t, gh, "run")
			if res.code != 2 {
				t.Fatalf("GitHub: exit %d, want 2 (the deps scan fails)\n%s", res.code, res.stderr)
			}
			outputs["GitHub stdout"], outputs["GitHub stderr"] = res.stdout, res.stderr
			for p, s := range readAll(t, filepath.Join(work, "gh")) {
				outputs["GitHub "+filepath.Base(p)] = s
			}
			comments := 0
			for _, c := range api.Comments {
				outputs["GitHub comment"] += c["body"].(string)
				comments++
			}
			if comments != 1 {
				t.Errorf("%d pull request comments, want 1: the test must see the comment's body", comments)
			}
			var rep struct{ Errors []string }
			if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil || len(rep.Errors) == 0 {
				t.Errorf("stdout is not the JSON report with its error (%v):\n%s", err, res.stdout)
			} else if !strings.Contains(strings.Join(rep.Errors, "\n"), filepath.Base(name)) {
				t.Errorf("the error must name the file %s: %q", name, rep.Errors)
			}

			// GitLab CI: the security reports, dotenv and the log sections.
			gl := map[string]string{"CI": "true", "GITLAB_CI": "true", "CI_COMMIT_SHA": head, "CI_COMMIT_BEFORE_SHA": base, "CI_PIPELINE_SOURCE": "push"}
			out := filepath.Join(work, "gl")
			res = secgate(t, gl, "run", "--offline-db", db, "--policy", filepath.Join(work, "policy.yml"), "--gitlab-reports", out,
				"--dotenv", filepath.Join(out, "secgate.env"), "--report", filepath.Join(out, "report.json"), dir)
			if res.code != 2 {
				t.Fatalf("GitLab: exit %d, want 2\n%s", res.code, res.stderr)
			}
			outputs["GitLab stdout"], outputs["GitLab stderr"] = res.stdout, res.stderr
			for p, s := range readAll(t, out) {
				outputs["GitLab "+filepath.Base(p)] = s
			}
			if outputs["GitLab gl-secret_detection-report.json"] == "" || outputs["GitLab secgate.env"] == "" {
				t.Errorf("the GitLab reports were not written: %v", len(outputs))
			}

			// Locally: the text report.
			res = secgate(t, nil, "run", "--offline-db", db, "--policy", filepath.Join(work, "policy.yml"), dir)
			outputs["text stdout"], outputs["text stderr"] = res.stdout, res.stderr
			noPieceOf(t, toks, outputs)
		})
	}
}

// A value no scanner reports reaches the trackers' bodies: a token in a
// file's name (gitleaks reads contents, not names) next to a planted
// secret. The issue, the Jira ticket, the Slack message and the webhook
// carry neither (removing the detector from the outgoing redaction fails
// it: the name's token is in every body).
func TestTrackerBodiesLeakNoToken(t *testing.T) {
	inName, inFile := secretstest.GitHubPAT(t), secretstest.GitHubPAT(t)
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	path := "deploy/" + inName + ".sh"
	writeFiles(t, dir, map[string]string{path: "curl -H 'Authorization: token " + inFile + "' https://api.github.com/user\n"})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "deploy script")
	head := git(t, dir, "rev-parse", "HEAD")

	fj := jiratest.New(t, false)
	var mu sync.Mutex
	var bodies []string
	record := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
	})
	slackSrv, hookSrv := httptest.NewServer(record), httptest.NewServer(record)
	defer slackSrv.Close()
	defer hookSrv.Close()
	work := t.TempDir()
	writeFiles(t, work, map[string]string{
		"event.json": `{"ref":"refs/heads/main","before":"0000000000000000000000000000000000000000","after":"` + head + `","repository":{"full_name":"acme/shop","default_branch":"main"}}`,
		"policy.yml": "response:\n  critical: {ticket: [jira, repository], notify: [owner, slack, webhook]}\nowner: \"@acme/security\"\njira: {url: " + fj.URL + ", project: SEC, issue_type: Bug}\n",
		"output":     "", "summary.md": "",
	})
	api := githubtest.New(t)
	env := map[string]string{
		"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": filepath.Join(work, "event.json"),
		"GITHUB_REPOSITORY": "acme/shop", "GITHUB_API_URL": api.Srv.URL, "GITHUB_SHA": head, "GITHUB_RUN_ID": "1",
		"GITHUB_OUTPUT": filepath.Join(work, "output"), "GITHUB_STEP_SUMMARY": filepath.Join(work, "summary.md"),
		"INPUT_TOKEN": api.Token, "INPUT_PATH": dir, "INPUT_POLICY": filepath.Join(work, "policy.yml"), "INPUT_SCANNERS": "secrets",
		"INPUT_FILE-ISSUES": "true", "INPUT_REPORT-FILE": filepath.Join(work, "report.json"), "INPUT_SARIF-FILE": filepath.Join(work, "secgate.sarif"),
		"JIRA_PAT": fj.PAT, "SECGATE_SLACK_WEBHOOK_URL": slackSrv.URL, "SECGATE_WEBHOOK_URL": hookSrv.URL,
	}
	res := secgate(t, env, "run")
	if res.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", res.code, res.stderr)
	}
	outputs := map[string]string{"stdout": res.stdout, "stderr": res.stderr}
	for p, s := range readAll(t, work) {
		outputs[filepath.Base(p)] = s
	}
	issues, _ := json.Marshal(api.Issues)
	tickets, _ := json.Marshal(fj.Tickets())
	outputs["GitHub issues"], outputs["Jira tickets"] = string(issues), string(tickets)
	mu.Lock()
	outputs["Slack and webhook"] = strings.Join(bodies, "\n")
	mu.Unlock()
	if len(api.Issues) != 1 || len(fj.Tickets()) != 1 || !strings.Contains(outputs["Slack and webhook"], "deploy/") || !strings.Contains(string(issues), "deploy/") {
		t.Fatalf("the trackers must have received the finding: %d issues, %d tickets, bodies %q", len(api.Issues), len(fj.Tickets()), outputs["Slack and webhook"])
	}
	noPieceOf(t, []string{inName, inFile}, outputs)
}
