package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/secgate/secgate/gate/github/githubtest"
	"github.com/secgate/secgate/gate/jira/jiratest"
	"github.com/secgate/secgate/gate/secrets/secretstest"
)

// The response end to end, in GitHub Actions: a leaked token (critical)
// opens one Jira ticket (Data Center, a PAT) and one GitHub issue that
// link each other, one Slack message and one signed webhook; reruns
// notify nobody; no output carries a piece of the token.
func TestResponseInTheAction(t *testing.T) {
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	tok := secretstest.GitHubPAT(t)
	writeFiles(t, dir, map[string]string{"deploy.sh": "curl -H 'Authorization: token " + tok + "' https://api.github.com/user\n"})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "deploy script")
	head := git(t, dir, "rev-parse", "HEAD")

	fj := jiratest.New(t, false)
	var mu sync.Mutex
	var slackBodies, hookBodies []string
	var hookSigs []string
	slackSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		slackBodies = append(slackBodies, string(b))
		mu.Unlock()
	}))
	defer slackSrv.Close()
	hookSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		hookBodies, hookSigs = append(hookBodies, string(b)), append(hookSigs, r.Header.Get("X-Secgate-Signature-256"))
		mu.Unlock()
	}))
	defer hookSrv.Close()

	work := t.TempDir()
	writeFiles(t, work, map[string]string{
		"event.json": `{"ref":"refs/heads/main","before":"0000000000000000000000000000000000000000","after":"` + head + `","repository":{"full_name":"acme/shop","default_branch":"main"}}`,
		"policy.yml": "response:\n  critical: {ticket: [jira, repository], notify: [owner, slack, webhook]}\nowner: \"@acme/security\"\njira: {url: " + fj.URL + ", project: SEC, issue_type: Bug}\n",
	})
	api := githubtest.New(t)
	env := func(run int) map[string]string {
		return map[string]string{
			"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": filepath.Join(work, "event.json"),
			"GITHUB_REPOSITORY": "acme/shop", "GITHUB_API_URL": api.Srv.URL, "GITHUB_SERVER_URL": "https://github.com",
			"GITHUB_SHA": head, "GITHUB_RUN_ID": strconv.Itoa(run), "GITHUB_OUTPUT": filepath.Join(work, "output"),
			"GITHUB_STEP_SUMMARY": filepath.Join(work, "summary.md"),
			"INPUT_TOKEN":         api.Token, "INPUT_PATH": dir, "INPUT_POLICY": filepath.Join(work, "policy.yml"), "INPUT_SCANNERS": "secrets",
			"INPUT_FILE-ISSUES": "true", "INPUT_COMMENT": "false", "INPUT_REPORT-FILE": filepath.Join(work, "report.json"),
			"JIRA_PAT": fj.PAT, "SECGATE_SLACK_WEBHOOK_URL": slackSrv.URL, "SECGATE_WEBHOOK_URL": hookSrv.URL, "SECGATE_WEBHOOK_SECRET": "whsec-9",
		}
	}
	res := secgate(t, env(1), "run")
	if res.code != 1 {
		t.Fatalf("exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	rep, raw := readReport(t, filepath.Join(work, "report.json"))
	tickets := fj.Tickets()
	if len(tickets) != 1 || len(api.Issues) != 1 || len(slackBodies) != 1 || len(hookBodies) != 1 || hookSigs[0] == "" {
		t.Fatalf("%d tickets, %d issues, %d Slack, %d webhooks\n%s", len(tickets), len(api.Issues), len(slackBodies), len(hookBodies), raw)
	}
	issueBody, _ := api.Issues[0]["body"].(string)
	ticketURL := fj.URL + "/browse/" + tickets[0].Key
	if !strings.Contains(issueBody, ticketURL) || !strings.Contains(tickets[0].Description.(string), "https://github.com/acme/shop/issues/") {
		t.Errorf("the issue and the ticket do not link each other:\n%s\n%s", issueBody, tickets[0].Description)
	}
	trackers := map[string]string{}
	for _, is := range rep.Issues {
		trackers[is.Tracker] = is.State
	}
	if trackers["jira"] != "opened" || trackers["repository"] != "opened" || len(rep.Notifications) != 3 {
		t.Errorf("report issues %+v notifications %+v", rep.Issues, rep.Notifications)
	}
	var ticketJSON []byte
	ticketJSON, _ = json.Marshal(tickets)
	for i := 0; i+6 <= len(tok); i++ {
		piece := tok[i : i+6]
		for name, out := range map[string]string{"jira": string(ticketJSON), "slack": slackBodies[0], "webhook": hookBodies[0], "issue": issueBody, "stdout": res.stdout, "report": string(raw)} {
			if strings.Contains(out, piece) {
				t.Fatalf("%s carries a piece of the leaked token", name)
			}
		}
	}
	for run := 2; run <= 4; run++ {
		if res = secgate(t, env(run), "run"); res.code != 1 {
			t.Fatalf("run %d: exit %d\n%s", run, res.code, res.stderr)
		}
	}
	rep, _ = readReport(t, filepath.Join(work, "report.json"))
	if len(fj.Tickets()) != 1 || len(api.Issues) != 1 || len(slackBodies) != 1 || len(hookBodies) != 1 || len(rep.Notifications) != 0 {
		t.Errorf("reruns: %d tickets, %d issues, %d Slack, %d webhooks, notifications %+v", len(fj.Tickets()), len(api.Issues), len(slackBodies), len(hookBodies), rep.Notifications)
	}
}
