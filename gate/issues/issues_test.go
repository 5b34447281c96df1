package issues

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/policy"
)

// memTracker is an in-memory tracker, with a call log and injectable failures.
type memTracker struct {
	issues   []Issue
	comments map[int][]string
	calls    []string
	fail     map[string]error // by method
}

func (m *memTracker) List(_ context.Context, label string) ([]Issue, error) {
	m.calls = append(m.calls, "list")
	if err := m.fail["list"]; err != nil {
		return nil, err
	}
	var out []Issue
	for _, is := range m.issues {
		if slices.Contains(is.Labels, label) {
			out = append(out, is)
		}
	}
	return out, nil
}

func (m *memTracker) Create(_ context.Context, is Issue) (Issue, error) {
	m.calls = append(m.calls, "create")
	if err := m.fail["create"]; err != nil {
		return Issue{}, err
	}
	is.Number = len(m.issues) + 1
	is.URL = "https://tracker.example/issues/" + strconv.Itoa(is.Number)
	m.issues = append(m.issues, is)
	return is, nil
}

func (m *memTracker) Update(_ context.Context, is Issue) (Issue, error) {
	m.calls = append(m.calls, "update")
	if err := m.fail["update"]; err != nil {
		return Issue{}, err
	}
	for i := range m.issues {
		if m.issues[i].Number == is.Number {
			is.URL = m.issues[i].URL
			m.issues[i] = is
			return is, nil
		}
	}
	return Issue{}, errors.New("no such issue")
}

func (m *memTracker) Comment(_ context.Context, n int, body string) error {
	m.calls = append(m.calls, "comment")
	if m.comments == nil {
		m.comments = map[int][]string{}
	}
	m.comments[n] = append(m.comments[n], body)
	return nil
}

func vuln(id, pkg, path string, sev policy.Severity, action policy.Action) policy.Finding {
	return policy.Finding{ID: id, Rule: id, Kind: policy.KindVulnerability, Scanner: "deps", Title: "a flaw in " + pkg, Severity: sev, Action: action,
		Location: policy.Location{Path: path, Package: pkg, Version: "1.0.0", Ecosystem: "npm"}, Fix: "upgrade " + pkg, Fingerprint: "vuln-" + id + path}
}

func secret(path string) policy.Finding {
	return policy.Finding{ID: "secret-1", Rule: "github-pat", Kind: policy.KindSecret, Scanner: "secrets", Title: "GitHub token", Severity: policy.Critical,
		Action: policy.ActionFail, Location: policy.Location{Path: path, Line: 3}, Preview: "ghp_… (40 chars)", Fingerprint: "secret-1" + path}
}

func rep(fs ...policy.Finding) report.Report {
	r := report.New()
	r.Findings = fs
	r.Scanners = []report.Scanner{{Name: "secrets", Status: report.StatusOK}, {Name: "deps", Status: report.StatusOK}}
	return r
}

func states(es []report.Issue) map[string]int {
	m := map[string]int{}
	for _, e := range es {
		m[e.State]++
	}
	return m
}

func TestFileIsIdempotent(t *testing.T) {
	tr := &memTracker{}
	r := rep(
		vuln("GHSA-1", "lodash", "web/package-lock.json", policy.Medium, policy.ActionFileIssue),
		vuln("GHSA-1", "lodash", "api/package-lock.json", policy.Medium, policy.ActionFileIssue), // same group: one issue
		vuln("GHSA-2", "minimist", "web/package-lock.json", policy.Critical, policy.ActionFail),
		vuln("GHSA-3", "cookie", "web/package-lock.json", policy.Low, policy.ActionReport), // report only: not filed
		secret("deploy.sh"),
	)
	ignored := vuln("GHSA-4", "qs", "web/package-lock.json", policy.High, policy.ActionIgnored)
	r.Findings = append(r.Findings, ignored)
	ctx := context.Background()
	first, err := File(ctx, tr, r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := states(first); got[StateOpened] != 3 || len(first) != 3 {
		t.Fatalf("first run %v, want 3 opened", got)
	}
	for i := range 10 {
		again, err := File(ctx, tr, r, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := states(again); got[StateUnchanged] != 3 {
			t.Fatalf("rerun %d: %v, want 3 unchanged", i, got)
		}
	}
	if len(tr.issues) != 3 {
		t.Fatalf("%d issues after 11 runs, want 3", len(tr.issues))
	}
	for _, is := range tr.issues {
		if !slices.Contains(is.Labels, Label) || !slices.Contains(is.Labels, "security") {
			t.Errorf("labels %v", is.Labels)
		}
	}
	lodash := tr.issues[slices.IndexFunc(tr.issues, func(is Issue) bool { return strings.Contains(is.Title, "lodash") })]
	if lodash.Title != "[secgate] medium: GHSA-1 in lodash (npm)" || !strings.Contains(lodash.Body, "web/package-lock.json") || !strings.Contains(lodash.Body, "api/package-lock.json") {
		t.Errorf("lodash issue: %q\n%s", lodash.Title, lodash.Body)
	}

	// The tier changes: the issue is updated in place.
	r.Findings[0].Severity, r.Findings[1].Severity = policy.High, policy.High
	upd, err := File(ctx, tr, r, Options{})
	if err != nil || states(upd)[StateUpdated] != 1 || len(tr.issues) != 3 {
		t.Errorf("after a tier change: %v %v, %d issues", err, states(upd), len(tr.issues))
	}
}

func TestFileClosesAndReopens(t *testing.T) {
	ctx := context.Background()
	tr := &memTracker{}
	both := rep(secret("deploy.sh"), vuln("GHSA-2", "minimist", "package-lock.json", policy.Critical, policy.ActionFail))
	if _, err := File(ctx, tr, both, Options{}); err != nil {
		t.Fatal(err)
	}
	onlySecret := rep(secret("deploy.sh"))

	// A range scan (a pull request) does not see everything: nothing closes.
	if es, _ := File(ctx, tr, onlySecret, Options{CloseResolved: true, FullScan: false}); states(es)[StateClosed] != 0 {
		t.Errorf("a range scan closed issues: %v", states(es))
	}
	// A push's secret scan sees its commits only: the secret issues stay.
	onlyDeps := rep(vuln("GHSA-2", "minimist", "package-lock.json", policy.Critical, policy.ActionFail))
	if es, _ := File(ctx, tr, onlyDeps, Options{CloseResolved: true, FullScan: true, PartialScanners: []string{"secrets"}}); states(es)[StateClosed] != 0 {
		t.Errorf("closed the issue of a scanner that saw only a range: %v", states(es))
	}
	// A failed deps scanner says nothing about its findings: nothing closes.
	failed := rep(secret("deploy.sh"))
	failed.Scanners[1].Status = report.StatusError
	if es, _ := File(ctx, tr, failed, Options{CloseResolved: true, FullScan: true}); states(es)[StateClosed] != 0 {
		t.Errorf("closed the issues of a scanner that failed: %v", states(es))
	}
	// A full scan without the advisory closes its issue, with a comment.
	es, err := File(ctx, tr, onlySecret, Options{CloseResolved: true, FullScan: true, RunURL: "https://ci.example/run/7"})
	if err != nil || states(es)[StateClosed] != 1 {
		t.Fatalf("%v %v", err, states(es))
	}
	mini := slices.IndexFunc(tr.issues, func(is Issue) bool { return strings.Contains(is.Title, "minimist") })
	closed := tr.issues[mini]
	if closed.Open || len(tr.comments[closed.Number]) != 1 || !strings.Contains(tr.comments[closed.Number][0], "https://ci.example/run/7") {
		t.Errorf("closed issue %+v comments %v", closed, tr.comments)
	}
	// It comes back: reopened, not duplicated.
	es, err = File(ctx, tr, both, Options{})
	if err != nil || states(es)[StateReopened] != 1 || len(tr.issues) != 2 || !tr.issues[mini].Open {
		t.Errorf("%v %v, %d issues", err, states(es), len(tr.issues))
	}
	// A person closes it as not planned: it stays closed.
	tr.issues[mini].Open, tr.issues[mini].ClosedAsNotPlanned = false, true
	es, _ = File(ctx, tr, both, Options{})
	if tr.issues[mini].Open || states(es)[StateUnchanged] != 2 {
		t.Errorf("reopened a not-planned issue: %v", states(es))
	}
}

func TestFileDryRunAndFailures(t *testing.T) {
	ctx := context.Background()
	r := rep(secret("a.sh"), secret("b.sh"))
	if es, err := File(ctx, nil, r, Options{}); err != nil || states(es)[StateWouldOpen] != 2 {
		t.Errorf("no tracker: %v %v", err, states(es))
	}
	tr := &memTracker{}
	if es, err := File(ctx, tr, r, Options{DryRun: true}); err != nil || states(es)[StateWouldOpen] != 2 || len(tr.issues) != 0 || slices.Contains(tr.calls, "create") {
		t.Errorf("dry run: %v %v calls %v", err, states(es), tr.calls)
	}
	broken := &memTracker{fail: map[string]error{"create": errors.New("500 Internal Server Error")}}
	es, err := File(ctx, broken, r, Options{})
	if err == nil || !strings.Contains(err.Error(), "500") || states(es)[StateError] != 2 {
		t.Errorf("tracker failure: %v %v", err, states(es))
	}
	down := &memTracker{fail: map[string]error{"list": errors.New("connection refused")}}
	es, err = File(ctx, down, r, Options{})
	if err == nil || states(es)[StateError] != 2 || slices.Contains(down.calls, "create") {
		t.Errorf("list failure must not create (it could duplicate): %v %v %v", err, states(es), down.calls)
	}
}

// codeSpan matches inline code spans of one to three backticks.
var codeSpan = regexp.MustCompile("(```[^`]*(?:`{1,2}[^`]+)*```|``[^`]*(?:`[^`]+)*``|`[^`\n]*`)")

// Untrusted names cannot break the body: no HTML, no mention, no link, no
// table cell, no second line.
func TestBodyInjection(t *testing.T) {
	f := vuln("GHSA-5", "evil|pkg<script>alert(1)</script>@octocat", "web/`x`\n## heading/package-lock.json", policy.High, policy.ActionBlockProduction)
	f.Title = "[click](https://evil.example) **bold** @security-team %0A::error::boom\n/close\n/assign @me"
	f.Fix = "/close"
	body := Options{}.Body(Groups(rep(f))[0])
	// Inside code spans text is literal (no HTML, no mention): what is
	// outside them must be inert too.
	outside := codeSpan.ReplaceAllString(body, "CODE")
	for _, bad := range []string{"<script>", "@octocat", "@security-team", "](https://evil.example)", "## heading", "**bold**"} {
		if strings.Contains(outside, bad) {
			t.Errorf("body contains %q outside code spans:\n%s", bad, body)
		}
	}
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "/") {
			t.Errorf("a line starts with / (a GitLab quick action): %q", line)
		}
	}
	for _, span := range codeSpan.FindAllString(body, -1) {
		if strings.Contains(span, "\n") {
			t.Errorf("a code span spans lines: %q", span)
		}
	}
	if _, _, ok := parseMarker(body); !ok {
		t.Error("the marker is not found again")
	}
}

// The policy's response routes tiers to trackers: a tracker files only the
// groups it includes, and a group it leaves out is not "resolved" (its
// issue stays open); tier labels, the owner and the other tracker's link
// are in the issue; a create-only pass leaves existing issues alone.
func TestRouting(t *testing.T) {
	ctx := context.Background()
	crit := vuln("GHSA-crit", "lodash", "package-lock.json", policy.Critical, policy.ActionFail)
	high := vuln("GHSA-high", "minimist", "package-lock.json", policy.High, policy.ActionBlockProduction)
	tr := &memTracker{}
	all := Options{FullScan: true, CloseResolved: true, Routing: Routing{TierLabels: map[policy.Severity]string{policy.High: "needs-fix"}}}
	if _, err := File(ctx, tr, rep(crit, high), all); err != nil {
		t.Fatal(err)
	}
	if len(tr.issues) != 2 || !slices.Contains(tr.issues[1].Labels, "needs-fix") || slices.Contains(tr.issues[0].Labels, "needs-fix") {
		t.Fatalf("issues %+v", tr.issues)
	}
	onlyCritical := Options{FullScan: true, CloseResolved: true, Routing: Routing{
		Include: func(g Group) bool { return g.Severity == policy.Critical },
		Owner:   "@acme/security", Links: map[string]string{},
	}}
	for _, g := range Groups(rep(crit, high)) {
		onlyCritical.Links[g.Key] = "https://acme.atlassian.net/browse/SEC-7"
	}
	got, err := File(ctx, tr, rep(crit, high), onlyCritical)
	if err != nil || len(got) != 1 || got[0].State != StateUpdated {
		t.Fatalf("routed run: %v %+v", err, got)
	}
	if !tr.issues[1].Open || !strings.Contains(tr.issues[0].Body, "**Security owner:** @acme/security") ||
		!strings.Contains(tr.issues[0].Body, "**Also tracked in:** https://acme.atlassian.net/browse/SEC-7") {
		t.Fatalf("the high issue was closed, or the critical one lacks owner and link: %+v", tr.issues)
	}
	before := len(tr.calls)
	got, err = File(ctx, tr, rep(crit, high), Options{CreateOnly: true})
	if err != nil || got[0].State != StateUnchanged || got[1].State != StateUnchanged || slices.Contains(tr.calls[before:], "update") {
		t.Fatalf("create-only: %v %+v %v", err, got, tr.calls[before:])
	}
}
