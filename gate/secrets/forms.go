package secrets

import (
	"fmt"
	"regexp"
	"strings"
)

// minFolded is the shortest value whose transformed forms are redacted
// too: a short password folded to lower case ("Secret" → "secret") would
// blank the report's own words; a provider token is 20 characters and
// more.
const minFolded = 12

// formMatcher finds a value in the forms our own writers make of a
// package name or version that holds it: lower- or upper-cased (purl
// type rules, npm), PEP 503-normalised (lower case, each run of -_. one
// '-': PyPI names in purls, bom-refs, SPDXIDs), and percent-encoded
// (purls: '@' '+' '/' '=' as %XX). An exact replacement misses every one
// of them (red team F4: pkg:pypi/x-ghp-<token lower-cased> in the SBOMs).
type formMatcher struct {
	anchor string         // the value's longest alphanumeric run, lower-cased: in every form
	re     *regexp.Regexp // the value in any of the forms
}

func newFormMatcher(v string) formMatcher {
	var b strings.Builder
	b.WriteString("(?i)")
	anchor, run := "", 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '-' || c == '_' || c == '.':
			// a run of separators, normalised or not, is one or more of them
			for i+1 < len(v) && strings.IndexByte("-_.", v[i+1]) >= 0 {
				i++
			}
			b.WriteString(`(?:[-_.]|%2[dDeE]|%5[fF])+`)
		case isWordByte(c):
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, `(?:%s|%%%02[2]X|%%%02[2]x)`, regexp.QuoteMeta(string(c)), c)
		}
		if isWordByte(c) && c != '_' {
			run++
			if run > len(anchor) {
				anchor = strings.ToLower(v[i+1-run : i+1])
			}
		} else {
			run = 0
		}
	}
	re, err := regexp.Compile(b.String())
	if err != nil { // a value of bytes that are not UTF-8: exact only
		return formMatcher{}
	}
	return formMatcher{anchor: anchor, re: re}
}

// redact replaces the value in any of its forms; lower is s with ASCII
// letters lower-cased, for the cheap test first.
func (m formMatcher) redact(s, lower string) string {
	if m.re == nil || len(m.anchor) < minRedact || !strings.Contains(lower, m.anchor) {
		return s
	}
	return m.re.ReplaceAllLiteralString(s, Redacted)
}

// redactForms is the second pass of Redactor.Redact: the transformed
// forms of the values of at least minFolded characters.
func redactForms(s string, ms []formMatcher) string {
	if len(ms) == 0 {
		return s
	}
	lower := strings.ToLower(s)
	for _, m := range ms {
		if out := m.redact(s, lower); out != s {
			s, lower = out, strings.ToLower(out)
		}
	}
	return s
}
