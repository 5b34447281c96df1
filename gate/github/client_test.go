package github

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/secgate/secgate/gate/github/githubtest"
	"github.com/secgate/secgate/gate/issues"
	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/policy"
)

func client(t *testing.T, f *githubtest.FakeAPI) *Client {
	t.Helper()
	c, err := NewClient(f.Srv.URL, "acme/shop", f.Token, Retry{Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sampleReport() report.Report {
	r := report.New()
	r.Scanners = []report.Scanner{{Name: "secrets", Status: report.StatusOK}, {Name: "deps", Status: report.StatusOK}}
	for i, pkg := range []string{"lodash", "minimist", "qs", "express", "cookie"} {
		r.Findings = append(r.Findings, policy.Finding{ID: "GHSA-000" + string(rune('a'+i)), Rule: "GHSA-000" + string(rune('a'+i)), Kind: policy.KindVulnerability,
			Scanner: "deps", Title: "a flaw in " + pkg, Severity: policy.Medium, Action: policy.ActionFileIssue,
			Location: policy.Location{Path: "package-lock.json", Package: pkg, Version: "1.0.0", Ecosystem: "npm"}, Fingerprint: "vuln-" + pkg})
	}
	return r
}

// Ten reruns leave exactly one issue per finding group, across pages of
// the list, with pull requests (listed as issues by the API) left alone.
func TestFilingIsIdempotentAgainstTheAPI(t *testing.T) {
	f := githubtest.New(t)
	f.Issues = append(f.Issues, map[string]any{"number": 1, "html_url": "https://github.com/acme/shop/pull/1", "state": "open",
		"title": "a pull request", "body": "", "labels": githubtest.LabelObjects([]any{"secgate"}), "pull_request": map[string]any{"url": "x"}})
	c := client(t, f)
	ctx := context.Background()
	r := sampleReport()
	for run := range 10 {
		got, err := issues.File(ctx, c, r, issues.Options{})
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		want := issues.StateUnchanged
		if run == 0 {
			want = issues.StateOpened
		}
		for _, is := range got {
			if is.State != want || !strings.HasPrefix(is.URL, "https://github.com/acme/shop/issues/") {
				t.Fatalf("run %d: %+v, want %s", run, is, want)
			}
		}
	}
	if len(f.Issues) != 6 { // the pull request and five issues
		t.Fatalf("%d issues, want 5 and the pull request", len(f.Issues)-1)
	}
	// Fixed: a full scan closes them, with a comment each.
	r.Findings = r.Findings[:1]
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
	if closed != 4 || len(f.Comments) != 4 {
		t.Errorf("closed %d, comments %d; want 4 and 4", closed, len(f.Comments))
	}
	for _, is := range f.Issues[1:] {
		lodash := strings.Contains(is["title"].(string), "lodash")
		if lodash && is["state"] != "open" || !lodash && (is["state"] != "closed" || is["state_reason"] != "completed") {
			t.Errorf("issue %v %q: %v %v", is["number"], is["title"], is["state"], is["state_reason"])
		}
	}
}

// Transient failures are retried (5xx, the secondary rate limit, 429);
// a truncated answer and a persistent 500 are errors, reported per issue.
func TestAPIFaults(t *testing.T) {
	ctx := context.Background()
	for name, tt := range map[string]struct {
		faults map[string][]int
		ok     bool
	}{
		"500 then success":      {map[string][]int{"GET /repos/acme/shop/issues": {500, 502}}, true},
		"secondary rate limit":  {map[string][]int{"POST /repos/acme/shop/issues": {http.StatusForbidden}}, true},
		"429 rate limit":        {map[string][]int{"GET /repos/acme/shop/issues": {http.StatusTooManyRequests}}, true},
		"500 every time":        {map[string][]int{"POST /repos/acme/shop/issues": {500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500}}, false},
		"truncated JSON":        {map[string][]int{"GET /repos/acme/shop/issues": {-1}}, false},
		"a real 403 is refused": {map[string][]int{"POST /repos/acme/shop/issues": {http.StatusUnauthorized}}, false},
	} {
		t.Run(name, func(t *testing.T) {
			f := githubtest.New(t)
			f.Faults = tt.faults
			got, err := issues.File(ctx, client(t, f), sampleReport(), issues.Options{})
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			errs := 0
			for _, is := range got {
				if is.State == issues.StateError {
					errs++
				}
			}
			if tt.ok && (errs != 0 || len(f.Issues) != 5) || !tt.ok && errs == 0 {
				t.Errorf("%d errors, %d issues filed: %+v", errs, len(f.Issues), got)
			}
		})
	}
}

// The pull request has one secgate comment, edited in place on reruns.
func TestOneUpdatingComment(t *testing.T) {
	f := githubtest.New(t)
	c := client(t, f)
	ctx := context.Background()
	f.Comments = append(f.Comments, map[string]any{"id": 1000, "issue_number": 7, "body": "LGTM", "html_url": "x"})
	for i := range 10 {
		body := "verdict " + strings.Repeat("!", i) + "\n<!-- secgate:pr-comment -->"
		if _, err := c.UpsertComment(ctx, 7, "<!-- secgate:pr-comment -->", body); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.Comments) != 2 || f.Comments[1]["body"] != "verdict !!!!!!!!!\n<!-- secgate:pr-comment -->" || f.Comments[0]["body"] != "LGTM" {
		t.Errorf("comments %v", f.Comments)
	}
}
