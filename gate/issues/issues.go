// Package issues holds the filing rules, once for every tracker: which
// findings are filed, how they group into issues, each issue's title, body
// and hidden marker, and which issues to open, update, reopen or close. The
// trackers (GitHub, GitLab, Jira) implement the small Tracker interface.
package issues

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/secgate/secgate/gate/render"
	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/policy"
)

// Label marks every issue secgate files; trackers list issues by it.
const Label = "secgate"

// Issue is an issue as a tracker holds it.
type Issue struct {
	Number int
	URL    string
	Title  string
	Body   string
	Open   bool
	// ClosedAsNotPlanned: a person closed it as won't fix; it is not
	// reopened when its finding is seen again.
	ClosedAsNotPlanned bool
	Labels             []string
}

// Tracker files issues. Implementations retry transient failures
// (5xx, rate limits) themselves; an error returned is final.
type Tracker interface {
	// List returns every issue with the label, open and closed, every page.
	List(ctx context.Context, label string) ([]Issue, error)
	Create(ctx context.Context, is Issue) (Issue, error)
	// Update sets an issue's title, body, labels and state.
	Update(ctx context.Context, is Issue) (Issue, error)
	Comment(ctx context.Context, number int, body string) error
}

// Options says what to file.
type Options struct {
	Labels []string // more labels, besides secgate, security and the tier
	// CloseResolved closes the issues of groups that a full scan no longer
	// finds. Never on a range scan (a pull request's diff does not see the
	// whole repository): FullScan must be true too.
	CloseResolved bool
	FullScan      bool
	// PartialScanners saw only part of the repository although the run
	// was a full one (the secret scan of a push's commits): their issues
	// are never closed.
	PartialScanners []string
	DryRun          bool   // list what would be filed, change nothing
	RunURL          string // a link to the CI run, for bodies and comments

	Routing
	// CreateOnly creates the missing tickets and leaves existing ones as
	// they are (a first pass whose links are not known yet).
	CreateOnly bool
	// Tracker names the tracker in the report's entries (repository, jira).
	Tracker string
}

// Routing is what the policy's response says of one tracker's tickets.
type Routing struct {
	// Include, when set, says which groups this tracker files (the
	// policy's response: critical in Jira, every tier in the repository).
	// Groups left out are still known: their tickets are not closed.
	Include func(Group) bool
	// TierLabels adds a label to the tickets of a tier (needs-fix).
	TierLabels map[policy.Severity]string
	// Owner is mentioned in every body ("@acme/security").
	Owner string
	// Links are the same groups' tickets in another tracker, by group key:
	// a repository issue and a Jira ticket name each other.
	Links map[string]string
}

// BodyDigester is a tracker that keeps bodies in its own markup (Jira):
// List returns, as an issue's Body, the digest of the body it was written
// with, and File compares digests.
type BodyDigester interface {
	BodyDigest(body string) string
}

// Group is the findings of one issue.
type Group struct {
	Key      string // the group's tracking key, in the marker
	Scanner  string
	Title    string
	Severity policy.Severity
	Findings []policy.Finding
}

// Filed says whether a finding is filed: not ignored, and its action is
// file-issue, or fail or block-production (tracked until fixed).
func Filed(f policy.Finding) bool {
	switch f.Action {
	case policy.ActionFileIssue, policy.ActionFail, policy.ActionBlockProduction:
		return true
	}
	return false
}

// Groups gathers the filed findings of a report into issues: a package's
// advisory across lockfiles, a secret rule in one file, an image check on
// one image, a configuration file change. Sorted by severity, then key.
func Groups(rep report.Report) []Group {
	byKey := map[string]*Group{}
	var order []string
	for _, f := range rep.Findings {
		if !Filed(f) {
			continue
		}
		key, title := groupOf(f)
		g, ok := byKey[key]
		if !ok {
			g = &Group{Key: key, Scanner: f.Scanner, Title: title}
			byKey[key] = g
			order = append(order, key)
		}
		g.Findings = append(g.Findings, f)
		g.Severity = max(g.Severity, f.Severity)
	}
	out := make([]Group, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	slices.SortStableFunc(out, func(a, b Group) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(a.Key, b.Key))
	})
	return out
}

func groupOf(f policy.Finding) (key, title string) {
	var parts []string
	switch f.Kind {
	case policy.KindVulnerability:
		eco, _, _ := strings.Cut(f.Location.Ecosystem, ":")
		parts = []string{"vuln", f.ID, eco, f.Location.Package}
		title = fmt.Sprintf("%s in %s (%s)", f.ID, f.Location.Package, cmp.Or(eco, "unknown ecosystem"))
	case policy.KindSecret:
		parts = []string{"secret", f.Rule, f.Location.Path}
		title = fmt.Sprintf("leaked %s in %s", f.Rule, f.Location.Path)
	default:
		parts = []string{string(f.Kind), f.Fingerprint}
		title = fmt.Sprintf("%s: %s", f.Rule, cmp.Or(f.Location.Path, f.Location.Image))
	}
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return "grp-" + hex.EncodeToString(h[:])[:20], title
}

// marker is the hidden line that finds an issue again.
func marker(g Group) string { return Marker(g.Key, g.Scanner) }

// Marker is the hidden line of a group's issue, for trackers that keep
// the group and scanner elsewhere (Jira: in labels) and give it back.
func Marker(key, scanner string) string {
	return fmt.Sprintf("<!-- secgate:group=%s scanner=%s -->", key, scanner)
}

// ParseMarker reads the group key and scanner of an issue's body.
func ParseMarker(body string) (key, scanner string, ok bool) { return parseMarker(body) }

var markerRE = regexp.MustCompile(`<!-- secgate:group=(grp-[0-9a-f]{20}) scanner=([a-z0-9-]*) -->`)

// parseMarker reads the group key and scanner of an issue's body.
func parseMarker(body string) (key, scanner string, ok bool) {
	m := markerRE.FindStringSubmatch(body)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// Title is an issue's title.
func Title(g Group) string {
	live := ""
	if slices.ContainsFunc(g.Findings, policy.Finding.Live) {
		live = "LIVE " // the provider said the credential works (secrets.verify)
	}
	return fmt.Sprintf("[secgate] %s: %s%s", g.Severity, live, oneLine(g.Title))
}

// Labels are an issue's labels.
func (o Options) labels(g Group) []string {
	ls := []string{Label, "security", g.Severity.String()}
	if l := o.TierLabels[g.Severity]; l != "" {
		ls = append(ls, l)
	}
	for _, l := range o.Labels {
		if !slices.Contains(ls, l) {
			ls = append(ls, l)
		}
	}
	return ls
}

// oneLine renders untrusted text for an issue's title (plain text, one line).
func oneLine(s string) string { return render.Visible(strings.Join(strings.Fields(s), " ")) }

// Body is an issue's body: what, where, why, the fix, and the hidden
// marker that finds it again. Every untrusted string is made inert.
func (o Options) Body(g Group) string {
	f := g.Findings[0]
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** %s finding: %s\n\n", g.Severity, f.Kind, report.MarkdownText(f.Title))
	b.WriteString("| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| Rule | %s |\n", report.MarkdownCode(f.Rule))
	if len(f.Aliases) > 0 {
		fmt.Fprintf(&b, "| Aliases | %s |\n", report.MarkdownCode(strings.Join(f.Aliases, ", ")))
	}
	tier := g.Severity.String()
	if f.Score != nil {
		tier += fmt.Sprintf(" (CVSS %.1f, %s)", *f.Score, f.ScoreSource)
	} else if f.ScoreSource != "" {
		tier += " (" + f.ScoreSource + ")"
	}
	fmt.Fprintf(&b, "| Tier | %s |\n", report.MarkdownText(tier))
	if n := f.ExploitNote(); n != "" {
		fmt.Fprintf(&b, "| Exploitation | %s |\n", report.MarkdownText(n))
	}
	if n := f.ValidityNote(); n != "" {
		fmt.Fprintf(&b, "| Validity | %s |\n", report.MarkdownText(n))
	}
	fmt.Fprintf(&b, "| Action | %s |\n", f.Action)
	if f.Location.Package != "" {
		fmt.Fprintf(&b, "| Package | %s (%s) |\n", report.MarkdownCode(f.Location.Package), report.MarkdownText(f.Location.Ecosystem))
	}
	b.WriteString("\n### Where\n\n")
	for _, x := range g.Findings {
		where := report.MarkdownCode(x.Location.String())
		if x.Preview != "" {
			where += " — " + report.MarkdownCode(x.Preview)
		}
		if x.Status != "" {
			where += " (" + string(x.Status) + ")"
		}
		fmt.Fprintf(&b, "- %s\n", where)
	}
	if f.Fix != "" {
		// Never untrusted text at the start of a line: GitLab runs a
		// line that starts with / as a quick action (/close, /assign).
		fmt.Fprintf(&b, "\n**Fix:** %s\n", report.MarkdownText(f.Fix))
	}
	if o.Owner != "" {
		// A mention, on purpose: the owner comes from the policy, checked
		// there to be one @name.
		fmt.Fprintf(&b, "\n**Security owner:** %s\n", o.Owner)
	}
	if l := o.Links[g.Key]; l != "" {
		fmt.Fprintf(&b, "\n**Also tracked in:** %s\n", render.MarkdownLink(l, l)) // a ticket's URL, from the tracker
	}
	// No run link here: the body changes only when the finding does, so
	// that reruns leave the issue untouched (comments link the runs).
	b.WriteString("\n---\nFiled by secgate. It is updated on every run, and closed when a full scan no longer finds it. To accept the risk, add an exception to `.secgate.yml` (with a reason and an expiry) rather than closing this issue.\n\n")
	b.WriteString(marker(g) + "\n")
	return b.String()
}
