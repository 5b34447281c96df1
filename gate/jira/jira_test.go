package jira_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secgate/secgate/gate/issues"
	"github.com/secgate/secgate/gate/jira"
	"github.com/secgate/secgate/gate/jira/jiratest"
	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/policy"
)

func client(t *testing.T, f *jiratest.Fake) *jira.Client {
	t.Helper()
	cfg := jira.Config{URL: f.URL, Project: "SEC", IssueType: "Bug", Sleep: func(context.Context, time.Duration) error { return nil }}
	if f.Cloud {
		cfg.Email, cfg.APIToken = f.Email, f.Token
	} else {
		cfg.PAT = f.PAT
	}
	c, err := jira.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func vuln(id, pkg string) policy.Finding {
	return policy.Finding{ID: id, Rule: id, Kind: policy.KindVulnerability, Scanner: "deps", Title: "a flaw in " + pkg, Severity: policy.Critical,
		Action: policy.ActionFail, Location: policy.Location{Path: "package-lock.json", Package: pkg, Version: "1.0.0", Ecosystem: "npm"},
		Fix: "upgrade " + pkg, Fingerprint: "vuln-" + id}
}

func rep(fs ...policy.Finding) report.Report {
	r := report.New()
	r.Findings = fs
	r.Scanners = []report.Scanner{{Name: "deps", Status: report.StatusOK}}
	return r
}

func states(es []report.Issue) string {
	var s []string
	for _, e := range es {
		s = append(s, e.State)
	}
	return strings.Join(s, ",")
}

// The filing rules against both Jiras: one ticket per group, reruns change
// nothing, a fixed finding closes its ticket, a returning one reopens it,
// a ticket a person closed as won't do stays closed.
func TestFilingLifecycle(t *testing.T) {
	for _, cloud := range []bool{true, false} {
		name := map[bool]string{true: "cloud", false: "datacenter"}[cloud]
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := jiratest.New(t, cloud)
			c := client(t, f)
			if c.Flavor() != name {
				t.Fatalf("flavor %s", c.Flavor())
			}
			o := issues.Options{FullScan: true, CloseResolved: true, Tracker: "jira", Routing: issues.Routing{Owner: "@acme/security"}}
			a, b, x := vuln("GHSA-aaaa-aaaa-aaaa", "lodash"), vuln("GHSA-bbbb-bbbb-bbbb", "minimist"), vuln("GHSA-cccc-cccc-cccc", "qs")
			got, err := issues.File(ctx, c, rep(a, b, x), o)
			if err != nil || states(got) != "opened,opened,opened" || got[0].Tracker != "jira" || !strings.Contains(got[0].URL, "/browse/SEC-") {
				t.Fatalf("first run: %v %+v", err, got)
			}
			tk := f.Tickets()
			if len(tk) != 3 || tk[0].Priority != "Highest" || !slices.Contains(tk[0].Labels, "secgate") || !slices.Contains(tk[0].Labels, "critical") {
				t.Fatalf("tickets %+v", tk)
			}
			// Paging (2 a page) and ten reruns: nothing written.
			for range 10 {
				got, err = issues.File(ctx, c, rep(a, b, x), o)
				if err != nil || states(got) != "unchanged,unchanged,unchanged" {
					t.Fatalf("rerun: %v %s", err, states(got))
				}
			}
			if f.Calls["PUT issue"] != 0 || f.Calls["POST issue"] != 3 || f.Calls["POST comment"] != 0 {
				t.Fatalf("reruns wrote: %v", f.Calls)
			}
			of := func(pkg string) jiratest.Ticket {
				for _, x := range f.Tickets() {
					if strings.Contains(x.Summary, " in "+pkg+" ") {
						return x
					}
				}
				t.Fatalf("no ticket for %s", pkg)
				return jiratest.Ticket{}
			}
			// b fixed: closed with a comment; a person closes x as won't do.
			f.Resolve(of("qs").Key, "Won't Do")
			got, err = issues.File(ctx, c, rep(a), o)
			if err != nil || !strings.Contains(states(got), "closed") {
				t.Fatalf("fixed: %v %s", err, states(got))
			}
			if tb := of("minimist"); !tb.Done || len(tb.Comments) != 1 || of("lodash").Done {
				t.Fatalf("after the fix: %+v", f.Tickets())
			}
			// b and x back: b is reopened, x stays as the person left it.
			got, err = issues.File(ctx, c, rep(a, b, x), o)
			if err != nil {
				t.Fatal(err)
			}
			byKey := map[string]string{}
			for _, e := range got {
				byKey[e.URL[strings.LastIndex(e.URL, "/")+1:]] = e.State
			}
			if tb, tx := of("minimist"), of("qs"); byKey[tb.Key] != "reopened" || tb.Done || byKey[tx.Key] != "unchanged" || !tx.Done {
				t.Fatalf("back: %v %+v", byKey, f.Tickets())
			}
		})
	}
}

// Bodies in each flavor's format, with nothing in a title or path able to
// break out: ADF text nodes on Cloud, one preformatted block on Data Center.
func TestBodiesAreInert(t *testing.T) {
	evil := policy.Finding{ID: "secret-x", Rule: "generic-api-key", Kind: policy.KindSecret, Scanner: "secrets", Severity: policy.Critical,
		Action: policy.ActionFail, Title: "key {noformat}{color:red}*pwned*{color}[click|https://evil.test]",
		Location: policy.Location{Path: "src/{noformat}h1. [x|https://evil.test].py", Line: 1}, Preview: "… (20 chars)", Fingerprint: "secret-x"}
	for _, cloud := range []bool{true, false} {
		f := jiratest.New(t, cloud)
		if _, err := issues.File(context.Background(), client(t, f), rep(evil), issues.Options{Tracker: "jira"}); err != nil {
			t.Fatal(err)
		}
		d := f.Tickets()[0].Description
		if cloud {
			js, _ := json.Marshal(d)
			if strings.Contains(string(js), `"marks"`) || strings.Contains(string(js), `"inlineCard"`) || strings.Contains(string(js), "secgate:group") {
				t.Errorf("ADF body has marks, links or the marker: %s", js)
			}
			continue
		}
		s := d.(string)
		inner := strings.TrimSuffix(strings.TrimPrefix(s, "{noformat}\n"), "\n{noformat}")
		if !strings.HasPrefix(s, "{noformat}\n") || strings.Contains(inner, "{noformat}") || strings.Contains(s, "secgate:group") {
			t.Errorf("wiki body escapes its block or shows the marker:\n%s", s)
		}
	}
}

func TestFaults(t *testing.T) {
	ctx := context.Background()
	f := jiratest.New(t, true)
	f.Faults["POST /rest/api/3/search/jql"] = []int{429, 500, 502}
	f.Faults["POST /rest/api/3/issue"] = []int{503}
	got, err := issues.File(ctx, client(t, f), rep(vuln("GHSA-aaaa-aaaa-aaaa", "lodash")), issues.Options{Tracker: "jira"})
	if err != nil || states(got) != "opened" {
		t.Fatalf("transient faults are retried: %v %+v", err, got)
	}
	f.Faults["POST /rest/api/3/search/jql"] = []int{500, 500, 500, 500}
	_, err = issues.File(ctx, client(t, f), rep(vuln("GHSA-aaaa-aaaa-aaaa", "lodash")), issues.Options{Tracker: "jira"})
	var he *jira.HTTPError
	if !errors.As(err, &he) || he.Status != 500 || !strings.Contains(err.Error(), "POST /rest/api/3/search/jql: HTTP 500") {
		t.Fatalf("a lasting 500: %v", err)
	}
	cfg := jira.Config{URL: f.URL, Project: "SEC", Email: f.Email, APIToken: "wrong", Sleep: func(context.Context, time.Duration) error { return nil }}
	bad, err := jira.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.List(ctx, "secgate")
	if !errors.As(err, &he) || he.Status != http.StatusUnauthorized || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("401: %v", err)
	}
	if _, err := jira.FromEnv(policy.JiraConfig{URL: f.URL, Project: "SEC"}, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "JIRA_API_TOKEN") {
		t.Fatalf("no credentials: %v", err)
	}
}
