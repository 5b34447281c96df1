package secrets

import (
	"context"
	"slices"
	"strings"

	"github.com/zricethezav/gitleaks/v8/report"
	"github.com/zricethezav/gitleaks/v8/sources"
)

// maxHiddenKeys bounds the re-reads of one fragment: a file of many
// one-line example keys in a row costs one read each.
const maxHiddenKeys = 64

// hiddenKeys finds the keys a private-key match hides. The rule matches
// lazily from a "-----BEGIN … PRIVATE KEY-----" to the first "KEY-----"
// 64 or more characters on: after a short fake block ("-----BEGIN
// PRIVATE KEY-----\nnot a real key\n-----END PRIVATE KEY-----"), that is
// the next key's header, so the match ends there, the next key's body is
// in no match and the scan goes on after it: the real key was never
// found (red team A1). The text from each match's last "-----BEGIN" on is
// read again, by the same detector, for the private-key rule.
func hiddenKeys(ctx context.Context, d *detector, f sources.Fragment, found []report.Finding) []report.Finding {
	var out []report.Finding
	found = slices.Clone(found) // appended to below: the caller's stays as it is
	reread := map[int]bool{}
	for i := 0; i < len(found) && len(reread) < maxHiddenKeys; i++ {
		g := found[i]
		if g.RuleID != "private-key" {
			continue
		}
		last := strings.LastIndex(g.Secret, "-----BEGIN")
		if last <= 0 || strings.Contains(g.Secret[last:], "-----END") {
			continue // one block, or the last one is whole: judgeKey reads it
		}
		at := strings.Index(f.Raw, g.Secret)
		if at < 0 {
			continue // found in decoded text: its own re-read is not here
		}
		pos := at + last
		if reread[pos] {
			continue
		}
		reread[pos] = true
		sub := f
		sub.Raw = f.Raw[pos:]
		sub.StartLine = f.StartLine + strings.Count(f.Raw[:pos], "\n")
		for _, h := range d.detectEncoded(ctx, sub, encodedLines(sub.Raw)) {
			if h.RuleID == "private-key" {
				out = append(out, h)
				found = append(found, h) // a chain of fakes: read on
			}
		}
	}
	return out
}
