package issues

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/secgate/secgate/gate/report"
)

// Issue states in the report.
const (
	StateOpened    = "opened"
	StateUpdated   = "updated"
	StateReopened  = "reopened"
	StateUnchanged = "unchanged"
	StateClosed    = "closed"
	StateWouldOpen = "would-open"
	StateWould     = "would-update"
	StateError     = "error"
)

// File files the report's findings in the tracker: one issue per group,
// found again by its marker among every issue with the secgate label (not
// by search, which lags: two quick runs would file twice), created,
// updated in place, reopened when its finding is back (unless a person
// closed it as not planned), and, with CloseResolved on a full scan, closed
// when its group is gone — only for scanners that ran and succeeded. A
// nil tracker or a dry run changes nothing and says what would be filed.
// It returns what happened, one entry per issue, and the first tracker
// error (the entries say which failed; nothing else is lost).
func File(ctx context.Context, t Tracker, rep report.Report, o Options) ([]report.Issue, error) {
	all := Groups(rep)
	var groups []Group
	for _, g := range all {
		if o.Include == nil || o.Include(g) {
			groups = append(groups, g)
		}
	}
	var out []report.Issue
	if t == nil {
		for _, g := range groups {
			out = append(out, report.Issue{Title: Title(g), State: StateWouldOpen, Fingerprint: g.Key, Tracker: o.Tracker})
		}
		return out, nil
	}
	existing, err := t.List(ctx, Label)
	if err != nil {
		for _, g := range groups {
			out = append(out, report.Issue{Title: Title(g), State: StateError, Fingerprint: g.Key, Tracker: o.Tracker})
		}
		return out, fmt.Errorf("listing the %s issues: %w", Label, err)
	}
	digest := func(body string) string { return body }
	if d, ok := t.(BodyDigester); ok {
		digest = d.BodyDigest
	}
	byKey := map[string]Issue{}
	for _, is := range existing {
		key, _, ok := parseMarker(is.Body)
		if !ok {
			continue
		}
		// Two issues of one group (filed by hand, or by an older run):
		// the open one, else the first, is the group's.
		if prev, dup := byKey[key]; !dup || !prev.Open && is.Open {
			byKey[key] = is
		}
	}
	var firstErr error
	fail := func(err error) {
		if firstErr == nil {
			firstErr = err
		}
	}
	seen := map[string]bool{}
	for _, g := range all {
		seen[g.Key] = true // filed elsewhere, or not at all: still found, not resolved
	}
	for _, g := range groups {
		// What a tracker receives is redacted by the report's own pass (a
		// no-op on a report the gate redacted, unless a value hid there).
		want := Issue{Title: rep.RedactText(Title(g)), Body: rep.RedactText(o.Body(g)), Open: true, Labels: o.labels(g)}
		is, found := byKey[g.Key]
		entry := report.Issue{Title: want.Title, Fingerprint: g.Key, URL: is.URL, Tracker: o.Tracker}
		switch {
		case found && o.CreateOnly:
			entry.State = StateUnchanged
		case !found && o.DryRun:
			entry.State = StateWouldOpen
		case !found:
			created, err := t.Create(ctx, want)
			if err != nil {
				entry.State = StateError
				fail(fmt.Errorf("creating the issue %q: %w", want.Title, err))
				break
			}
			entry.State, entry.URL = StateOpened, created.URL
		case !is.Open && is.ClosedAsNotPlanned:
			entry.State = StateUnchanged // a person decided: not reopened
		case o.DryRun:
			entry.State = StateWould
		case is.Open && is.Title == want.Title && is.Body == digest(want.Body) && sameLabels(is.Labels, want.Labels):
			entry.State = StateUnchanged
		default:
			want.Number = is.Number
			if _, err := t.Update(ctx, want); err != nil {
				entry.State = StateError
				fail(fmt.Errorf("updating issue #%d: %w", is.Number, err))
				break
			}
			entry.State = StateUpdated
			if !is.Open {
				entry.State = StateReopened
				if err := t.Comment(ctx, is.Number, "secgate finds this again: reopened."+runNote(o)); err != nil {
					fail(fmt.Errorf("commenting on issue #%d: %w", is.Number, err))
				}
			}
		}
		out = append(out, entry)
	}
	if !o.CloseResolved || !o.FullScan {
		return out, firstErr
	}
	ran := map[string]bool{}
	for _, s := range rep.Scanners {
		ran[s.Name] = s.Status == report.StatusOK && !slices.Contains(o.PartialScanners, s.Name)
	}
	for _, is := range existing {
		key, scanner, ok := parseMarker(is.Body)
		if !ok || !is.Open || seen[key] || !ran[scanner] || byKey[key].Number != is.Number {
			continue
		}
		entry := report.Issue{Title: is.Title, Fingerprint: key, URL: is.URL, State: StateClosed, Tracker: o.Tracker}
		if o.DryRun {
			entry.State = "would-close"
			out = append(out, entry)
			continue
		}
		if err := t.Comment(ctx, is.Number, "A full scan by secgate no longer finds this: closing it as resolved."+runNote(o)); err != nil {
			fail(fmt.Errorf("commenting on issue #%d: %w", is.Number, err))
		}
		is.Open = false
		if _, err := t.Update(ctx, is); err != nil {
			entry.State = StateError
			fail(fmt.Errorf("closing issue #%d: %w", is.Number, err))
		}
		out = append(out, entry)
	}
	return out, firstErr
}

func runNote(o Options) string {
	if o.RunURL == "" {
		return ""
	}
	return " (" + o.RunURL + ")"
}

func sameLabels(a, b []string) bool {
	for _, l := range b {
		if !slices.ContainsFunc(a, func(x string) bool { return strings.EqualFold(x, l) }) {
			return false
		}
	}
	return true
}
