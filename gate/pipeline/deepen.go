package pipeline

import (
	"context"
	"fmt"
	"strings"
)

// DeepenMode is --deepen (SECGATE_DEEPEN): whether a shallow clone is
// deepened to hold the commit range before the scan. It is a pflag.Value
// (String, Set, Type); the zero value is DeepenAuto.
type DeepenMode string

const (
	DeepenAuto   DeepenMode = "auto"  // the range the CI platform gave (a pull/merge request, a push)
	DeepenAlways DeepenMode = "true"  // any range, --base too, in CI or not
	DeepenNever  DeepenMode = "false" // none: the scan reads what the clone holds
)

func (m *DeepenMode) String() string { return string(*m) }

// Type names the values in the flag's help.
func (m *DeepenMode) Type() string { return "auto|true|false" }

// Set parses a flag's or a variable's value.
func (m *DeepenMode) Set(v string) error {
	switch mode := DeepenMode(strings.ToLower(strings.TrimSpace(v))); mode {
	case DeepenAuto, DeepenAlways, DeepenNever:
		*m = mode
		return nil
	}
	return fmt.Errorf("want auto, true or false, not %q", v)
}

// deepen makes a shallow clone hold base..head whole with the platform's
// Deepen, when the mode says so: auto deepens a range the platform gave
// (never a local run's --base), true any range. The credentials are the
// checkout's own (the platform's). It returns what happened for the
// report's reasons ("" for nothing); a failure is also a warning in the
// log, and the scan then reads what the clone holds, as before (a base
// the clone lacks fails the scan, edge commits are read against the base).
func (s *State) deepen(ctx context.Context, platformGave bool, base, head string) string {
	mode := s.Options.Deepen
	if base == "" || mode == DeepenNever || (mode != DeepenAlways && !platformGave) {
		return ""
	}
	note, err := s.Platform.Deepen(ctx, s.Config.Path, base, head)
	if err != nil {
		note = fmt.Sprintf("the shallow clone could not be deepened to hold %s..%s, the scan reads what it holds: %v", short(base), short(head), err)
		s.Logger.Warn(note)
		return note
	}
	if note != "" {
		s.Logger.Info(note)
	}
	return note
}

// deepenToBranch fetches the default branch for a run whose event gives
// no base (ci.Platform.DefaultBranch, DeepenToBranch), unless --deepen
// false. A failure is a warning here and the range step's error when no
// merge base is found: the run's range is then unknown.
func (s *State) deepenToBranch(ctx context.Context, branch, head string) (string, error) {
	if s.Options.Deepen == DeepenNever {
		return "", nil
	}
	note, err := s.Platform.DeepenToBranch(ctx, s.Config.Path, branch, head)
	if err != nil {
		s.Logger.Warn("the default branch could not be fetched: " + err.Error())
		return "", err
	}
	if note != "" {
		s.Logger.Info(note)
	}
	return note, nil
}

func short(rev string) string { return rev[:min(len(rev), 12)] }

// joinNotes joins the non-empty notes of a range.
func joinNotes(notes ...string) string {
	var out []string
	for _, n := range notes {
		if n != "" {
			out = append(out, n)
		}
	}
	return strings.Join(out, "; ")
}
