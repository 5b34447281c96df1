// Package render is the one place per sink where untrusted text — paths,
// rule titles from a repository's config, manifest fields, messages from
// libraries and APIs — becomes text that sink shows and never acts on:
// terminal and CI logs (Terminal, LineGuard, GitLabLog), markdown (job
// summaries, comments, issues: Markdown, MarkdownCode), Slack mrkdwn
// (Slack), SARIF (SARIFText, SARIFMarkdown). Workflow commands are
// escaped by go-githubactions, which gate/github alone calls.
//
// Every renderer starts from Visible: control characters, bidirectional
// and zero-width characters and invalid UTF-8 are shown as escapes
// (\x1b, \u202e, \xff), so that what a reader sees is what the text
// holds, and nothing reaches a sink that a terminal, a runner or a log
// parser reads as an instruction.
package render

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// invisible reports the characters Visible shows escaped besides the
// control characters: bidirectional controls (a path that reads
// backwards), zero-width characters (a mention or link split invisibly),
// the line and paragraph separators, the BOM.
func invisible(r rune) bool {
	switch {
	case r == 0x061c, r == 0x180e, r == 0x2028, r == 0x2029, r == 0xfeff:
		return true
	case r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2060 && r <= 0x2069:
		return true
	}
	return false
}

// Visible writes s on one line with every control, bidirectional and
// zero-width character and every invalid UTF-8 byte shown as an escape:
// \n \r \t, \xNN (other C0 and C1 controls, DEL, invalid bytes), \uNNNN.
func Visible(s string) string {
	clean := true
	for i, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || invisible(r) || (r == utf8.RuneError && !validAt(s, i)) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, `\x%02x`, r)
		case invisible(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func validAt(s string, i int) bool {
	r, n := utf8.DecodeRuneInString(s[i:])
	return r != utf8.RuneError || n == 3 // U+FFFD written as such
}

// Terminal renders untrusted text for a terminal or a CI job log, on one
// line: Visible, and never a workflow command — a leading "::" (the
// runner trims spaces before looking) becomes "\::", and "##[" (the old
// command syntax, matched anywhere in a line) becomes "#\#[". GitLab's
// log parser keys on ESC and CR, which Visible shows escaped.
func Terminal(s string) string { return noCommand(Visible(s), `\`) }

// noCommand breaks what a GitHub runner reads as a workflow command in a
// line of s (already one line): a leading "::" after spaces, and "##["
// anywhere, with mark (a backslash where the sink shows it, else a
// zero-width space). Every renderer ends with it: any of them may write
// to a stream the runner reads (--format markdown on stdout).
func noCommand(s, mark string) string {
	if t := strings.TrimLeft(s, " \t"); strings.HasPrefix(t, "::") {
		s = s[:len(s)-len(t)] + mark + t
	}
	return strings.ReplaceAll(s, "##[", "#"+mark+"#[")
}

// GitLabLog renders untrusted text for a GitLab job log: no ESC (so no
// ESC[0Ksection_start that folds the findings away), no CR (which
// overwrites the line on screen).
func GitLabLog(s string) string { return Terminal(s) }
