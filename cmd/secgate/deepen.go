package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/secgate/secgate/gate/github"
	"github.com/secgate/secgate/gate/gitlab"
	"github.com/secgate/secgate/gate/repo"
)

// deepenMode is --deepen (SECGATE_DEEPEN): whether a shallow clone is
// deepened to hold the commit range before the scan.
type deepenMode string

const (
	deepenAuto   deepenMode = "auto"  // the range the CI platform gave (a pull/merge request, a push)
	deepenAlways deepenMode = "true"  // any range, --base too, in CI or not
	deepenNever  deepenMode = "false" // none: the scan reads what the clone holds
)

func (m *deepenMode) String() string { return string(*m) }
func (m *deepenMode) Type() string   { return "auto|true|false" }
func (m *deepenMode) Set(v string) error {
	switch mode := deepenMode(strings.ToLower(strings.TrimSpace(v))); mode {
	case deepenAuto, deepenAlways, deepenNever:
		*m = mode
		return nil
	}
	return fmt.Errorf("want auto, true or false, not %q", v)
}

// deepenNote makes a shallow clone hold base..head whole with go-git
// (the platform's Deepen, over repo.Deepen), when the mode says so: auto
// deepens a range the platform gave (so never a local run), true any
// range. The credentials are the checkout's own: on GitHub the header
// actions/checkout persisted, on GitLab the job token, elsewhere the
// repository's git config. It returns what happened for the report's
// reasons ("" for nothing); a failure is also a warning in the log, and
// the scan then reads what the clone holds, as before (a base the clone
// lacks fails the scan, edge commits are read against the base).
func deepenNote(ctx context.Context, mode deepenMode, platformGave bool, inGitLab bool, getenv func(string) string, path, base, head string, logger *slog.Logger) string {
	if base == "" || mode == deepenNever || (mode == deepenAuto && !platformGave) {
		return ""
	}
	deepen := localDeepen
	switch {
	case inGitLab:
		deepen = gitlab.Deepen
	case github.Detect(getenv):
		deepen = github.Deepen
	}
	note, err := deepen(ctx, getenv, path, base, head)
	if err != nil {
		note = fmt.Sprintf("the shallow clone could not be deepened to hold %s..%s, the scan reads what it holds: %v", short(base), short(head), err)
		logger.Warn(note)
		return note
	}
	if note != "" {
		logger.Info(note)
	}
	return note
}

// localDeepen is Deepen outside a CI platform (--deepen=true): the
// repository's own git config says the credentials, if any.
func localDeepen(ctx context.Context, _ func(string) string, root, base, head string) (string, error) {
	return repo.Deepen(ctx, root, repo.DeepenOptions{Base: base, Head: head})
}

// deepenPush deepens a shallow clone to hold a push's before..after
// before the platform decides the range: the platform judges a push on
// that range only when the clone holds the previous head, and a depth-1
// checkout does not (it would judge the whole tree instead). Only in auto
// and true modes, only for the range the platform gives.
func deepenPush(ctx context.Context, mode deepenMode, ownRange, inGitLab bool, getenv func(string) string, path string, logger *slog.Logger) string {
	if ownRange {
		return ""
	}
	before, after := github.PushRange(getenv)
	if inGitLab {
		before, after = gitlab.PushRange(getenv)
	}
	return deepenNote(ctx, mode, true, inGitLab, getenv, path, before, after, logger)
}

func short(rev string) string { return rev[:min(len(rev), 12)] }

// withNote adds a note to a platform context's note.
func withNote(note, more string) string {
	switch {
	case more == "":
		return note
	case note == "":
		return more
	}
	return note + "; " + more
}
