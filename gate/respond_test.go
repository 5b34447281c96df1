package gate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secgate/secgate/gate/issues"
	"github.com/secgate/secgate/gate/jira"
	"github.com/secgate/secgate/gate/jira/jiratest"
	"github.com/secgate/secgate/gate/notify"
	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/policy"
)

// repoTracker is a repository's issues, in memory.
type repoTracker struct{ issues []issues.Issue }

func (m *repoTracker) List(context.Context, string) ([]issues.Issue, error) {
	return slices.Clone(m.issues), nil
}
func (m *repoTracker) Create(_ context.Context, is issues.Issue) (issues.Issue, error) {
	is.Number = len(m.issues) + 1
	is.URL = fmt.Sprintf("https://github.com/acme/shop/issues/%d", is.Number)
	m.issues = append(m.issues, is)
	return is, nil
}
func (m *repoTracker) Update(_ context.Context, is issues.Issue) (issues.Issue, error) {
	for i := range m.issues {
		if m.issues[i].Number == is.Number {
			is.URL = m.issues[i].URL
			m.issues[i] = is
		}
	}
	return is, nil
}
func (m *repoTracker) Comment(context.Context, int, string) error { return nil }

type hook struct {
	mu     sync.Mutex
	bodies [][]byte
	sigs   []string
}

func (h *hook) server(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies = append(h.bodies, b)
		h.sigs = append(h.sigs, r.Header.Get(notify.SignatureHeader))
		h.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// The issue's acceptance: with the response policy, a critical finding
// opens one Jira ticket and one repository issue that link each other,
// and sends one Slack message and one signed webhook; ten reruns change
// nothing and send nothing; the fix closes both.
func TestRespondCritical(t *testing.T) {
	ctx := context.Background()
	pol, err := ParsePolicy(".secgate.yml", []byte(`response:
  critical: {ticket: [jira, repository], notify: [owner, slack, webhook]}
  high:     {ticket: [repository], label: needs-fix}
owner: "@acme/security"
jira: {url: https://acme.atlassian.net, project: SEC, issue_type: Bug}
`))
	if err != nil {
		t.Fatal(err)
	}
	fj := jiratest.New(t, true)
	jc, err := jira.New(jira.Config{URL: fj.URL, Project: "SEC", Email: fj.Email, APIToken: fj.Token, Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	repo := &repoTracker{}
	var slackHook, webHook hook
	slackURL, webURL := slackHook.server(t), webHook.server(t)

	crit := policy.Finding{ID: "GHSA-crit", Rule: "GHSA-crit", Kind: policy.KindVulnerability, Scanner: "deps", Title: "prototype pollution", Severity: policy.Critical,
		Action: policy.ActionFail, Location: policy.Location{Path: "package-lock.json", Package: "lodash", Version: "4.17.4", Ecosystem: "npm"}, Fix: "upgrade lodash to 4.17.21", Fingerprint: "vuln-crit"}
	high := crit
	high.ID, high.Rule, high.Severity, high.Action, high.Location.Package, high.Fingerprint = "GHSA-high", "GHSA-high", policy.High, policy.ActionBlockProduction, "minimist", "vuln-high"
	run := func(fs ...policy.Finding) report.Report {
		rep := report.New()
		rep.Verdict = policy.VerdictFail
		rep.Findings = fs
		rep.Scanners = []report.Scanner{{Name: "deps", Status: report.StatusOK}}
		r := &Responder{Response: pol.Response, Jira: jc, Filing: issues.Options{FullScan: true, CloseResolved: true, RunURL: "https://github.com/acme/shop/actions/runs/9"},
			SlackURL: slackURL, WebhookURL: webURL, WebhookSecret: "whsec-1", Repository: "acme/shop"}
		r.Prefile(ctx, rep)
		o := issues.Options{FullScan: true, CloseResolved: true, Tracker: TrackerRepository, Routing: r.RepositoryRouting()}
		entries, err := issues.File(ctx, repo, rep, o)
		if err != nil {
			t.Fatal(err)
		}
		rep.Issues = append(rep.Issues, entries...)
		if err := r.Respond(ctx, &rep, false); err != nil {
			t.Fatal(err)
		}
		return rep
	}

	rep := run(crit, high)
	tickets := fj.Tickets()
	if len(tickets) != 1 || len(repo.issues) != 2 {
		t.Fatalf("%d Jira tickets (want the critical one), %d repository issues (want both)", len(tickets), len(repo.issues))
	}
	var critIssue issues.Issue
	for _, is := range repo.issues {
		if strings.Contains(is.Title, "lodash") {
			critIssue = is
		} else if !slices.Contains(is.Labels, "needs-fix") {
			t.Errorf("the high issue lacks the tier's label: %v", is.Labels)
		}
	}
	jiraURL := fj.URL + "/browse/" + tickets[0].Key
	desc, _ := json.Marshal(tickets[0].Description)
	if !strings.Contains(critIssue.Body, "**Also tracked in:** "+jiraURL) || !strings.Contains(string(desc), "Also tracked in: "+critIssue.URL) {
		t.Fatalf("the repository issue and the Jira ticket do not name each other:\n%s\n%s", critIssue.Body, desc)
	}
	if len(tickets[0].Links) != 1 || tickets[0].Links["secgate:"+critIssue.URL] != critIssue.URL {
		t.Fatalf("the Jira ticket's remote links: %v, want the repository issue", tickets[0].Links)
	}
	if !strings.Contains(critIssue.Body, "@acme/security") || len(slackHook.bodies) != 1 || len(webHook.bodies) != 1 || webHook.sigs[0] == "" {
		t.Fatalf("owner mention, one Slack message and one signed webhook: %d %d %q", len(slackHook.bodies), len(webHook.bodies), webHook.sigs)
	}
	if !strings.Contains(string(slackHook.bodies[0]), jiraURL) || strings.Contains(string(slackHook.bodies[0]), "minimist") {
		t.Errorf("the Slack message links the ticket and names only the critical group: %s", slackHook.bodies[0])
	}
	chans := map[string]string{}
	for _, n := range rep.Notifications {
		chans[n.Channel] = n.State
	}
	if chans["slack"] != "sent" || chans["webhook"] != "sent" || chans["owner"] != "sent" {
		t.Fatalf("notifications %+v", rep.Notifications)
	}
	var jiraEntry report.Issue
	for _, e := range rep.Issues {
		if e.Tracker == TrackerJira {
			jiraEntry = e
		}
	}
	if jiraEntry.State != issues.StateOpened || jiraEntry.URL != jiraURL {
		t.Fatalf("jira entry %+v", jiraEntry)
	}

	writes := fj.Calls["POST issue"] + fj.Calls["PUT issue"]
	for range 10 {
		rep = run(crit, high)
	}
	if fj.Calls["POST issue"]+fj.Calls["PUT issue"] != writes || fj.Calls["POST remotelink"] != 1 || len(slackHook.bodies) != 1 || len(webHook.bodies) != 1 || len(rep.Notifications) != 0 {
		t.Fatalf("reruns wrote to Jira (%v) or notified again (%d, %d)", fj.Calls, len(slackHook.bodies), len(webHook.bodies))
	}
	for _, e := range rep.Issues {
		if e.State != issues.StateUnchanged {
			t.Fatalf("rerun entry %+v", e)
		}
	}

	run(high) // the critical one is fixed
	if !fj.Tickets()[0].Done {
		t.Error("the Jira ticket of the fixed finding is open")
	}
	for _, is := range repo.issues {
		if strings.Contains(is.Title, "lodash") && is.Open {
			t.Error("the repository issue of the fixed finding is open")
		}
	}
}

func TestRespondDryRunAndMissingConfig(t *testing.T) {
	pol, err := ParsePolicy(".secgate.yml", []byte("response:\n  critical: {ticket: [jira, repository], notify: [slack]}\njira: {url: https://acme.atlassian.net, project: SEC}\n"))
	if err != nil {
		t.Fatal(err)
	}
	f := policy.Finding{ID: "x", Rule: "private-key", Kind: policy.KindSecret, Scanner: "secrets", Severity: policy.Critical, Action: policy.ActionFail,
		Location: policy.Location{Path: "deploy/key.pem", Line: 1}, Preview: "-----BEGIN PRIVATE KEY----- (1700 chars)", Fingerprint: "secret-x"}
	rep := report.New()
	rep.Verdict, rep.Findings = policy.VerdictFail, []policy.Finding{f}
	r := &Responder{Response: pol.Response, DryRun: true, JiraUnavailable: "no credentials"}
	r.Prefile(context.Background(), rep)
	if err := r.Respond(context.Background(), &rep, false); err != nil {
		t.Fatal(err)
	}
	if len(rep.Issues) != 1 || rep.Issues[0].State != issues.StateWouldOpen || rep.Issues[0].Tracker != TrackerJira ||
		len(rep.Notifications) != 1 || rep.Notifications[0].State != "not-configured" {
		t.Fatalf("dry run: issues %+v notifications %+v", rep.Issues, rep.Notifications)
	}
	// Not a dry run, no Jira credentials: a warning, and an error only with fail-on-error.
	rep.Issues, rep.Notifications, rep.Warnings = nil, nil, nil
	r = &Responder{Response: pol.Response, JiraUnavailable: "jira: no credentials: set JIRA_EMAIL and JIRA_API_TOKEN"}
	if err := r.Respond(context.Background(), &rep, false); err != nil || !strings.Contains(strings.Join(rep.Warnings, "\n"), "JIRA_API_TOKEN") {
		t.Fatalf("%v %v", err, rep.Warnings)
	}
	if err := r.Respond(context.Background(), &rep, true); err == nil {
		t.Fatal("fail-on-error and no Jira credentials")
	}
}

// A notification that cannot be sent is a warning, and fails the gate
// only when the policy says response.notify_failure: fail.
func TestNotifyFailure(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) }))
	defer down.Close()
	for _, mode := range []string{"warn", "fail"} {
		pol, err := ParsePolicy(".secgate.yml", []byte("response:\n  critical: {ticket: [repository], notify: [webhook]}\n  notify_failure: "+mode+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		rep := leakedKey(issues.StateOpened, "https://github.com/acme/shop/issues/1")
		r := &Responder{Response: pol.Response, WebhookURL: down.URL}
		err = r.Respond(context.Background(), &rep, false)
		if (err != nil) != (mode == "fail") || len(rep.Notifications) != 1 || rep.Notifications[0].State != "error" || len(rep.Warnings) == 0 {
			t.Fatalf("%s: err %v, notifications %+v, warnings %v", mode, err, rep.Notifications, rep.Warnings)
		}
	}
}

// Outside a dry run, a tracker that could not file (would-open: a fork's
// read-only token) remembers nothing: nobody is told, or they would be told
// on every run.
func TestNoNotificationWithoutMemory(t *testing.T) {
	var calls int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls++ }))
	defer srv.Close()
	pol, err := ParsePolicy(".secgate.yml", []byte("response:\n  critical: {ticket: [repository], notify: [webhook]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	rep := leakedKey(issues.StateWouldOpen, "")
	if err := (&Responder{Response: pol.Response, WebhookURL: srv.URL}).Respond(context.Background(), &rep, false); err != nil || calls != 0 || len(rep.Notifications) != 0 {
		t.Fatalf("err %v, %d calls, notifications %+v", err, calls, rep.Notifications)
	}
}

// leakedKey is a failing report of one leaked key whose repository issue
// is in the state given.
func leakedKey(state, url string) report.Report {
	rep := report.New()
	rep.Verdict = policy.VerdictFail
	rep.Findings = []policy.Finding{{ID: "x", Rule: "private-key", Kind: policy.KindSecret, Scanner: "secrets", Severity: policy.Critical, Action: policy.ActionFail,
		Location: policy.Location{Path: "k.pem", Line: 1}, Fingerprint: "secret-x"}}
	rep.Issues = []report.Issue{{Title: "t", State: state, Fingerprint: issues.Groups(rep)[0].Key, Tracker: TrackerRepository, URL: url}}
	return rep
}
