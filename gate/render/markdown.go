package render

import (
	"strings"
)

// zwsp is a zero-width space, which secgate itself inserts to break what a
// renderer would otherwise link: an autolink, a mention, a reference.
const zwsp = "\u200b"

// Markdown makes untrusted text inert in GitHub- and GitLab-flavoured
// markdown, on one line: no HTML, no link or image, no emphasis, table
// cell or heading (each marker backslash-escaped), no autolink (bare
// https://… and www.… are broken with a zero-width space, after the
// markdown is parsed a backslash no longer stands between them), no
// @mention and no #123, !123, ~label, %milestone, $snippet or &epic
// reference.
func Markdown(s string) string {
	s = Visible(s)
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;" + zwsp) // GitLab's &123 epic reference
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '\\', '`', '*', '_', '[', ']', '(', ')', '|', '{', '}':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '+', '-', '=': // a list item or heading underline, at the start only
			if b.Len() == 0 {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		case '#', '!', '~', '$', '%':
			b.WriteByte('\\')
			b.WriteRune(r)
			b.WriteString(zwsp) // after markdown, GitHub and GitLab link #123, !123, ~label
		case '@':
			b.WriteString("@" + zwsp)
		default:
			b.WriteRune(r)
		}
	}
	return noCommand(breakAutolinks(b.String()), `\`)
}

// breakAutolinks puts a zero-width space into every scheme separator and
// www. prefix, which GitHub, GitLab and Slack otherwise turn into links.
func breakAutolinks(s string) string {
	s = strings.ReplaceAll(s, "://", ":"+zwsp+"//")
	if !strings.Contains(strings.ToLower(s), "www.") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(strings.ToLower(s), "www.")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+3])
		b.WriteString(zwsp)
		s = s[i+3:]
	}
}

// MarkdownCode puts untrusted text in an inline code span (no link,
// autolink or mention is made inside one), fenced with more backticks
// than it holds, on one line. Pipes are escaped, for tables.
func MarkdownCode(s string) string {
	s = strings.ReplaceAll(Visible(s), "|", "\\|")
	fence, run := "`", 0
	for _, r := range s {
		if r == '`' {
			run++
			if run >= len(fence) {
				fence += "`"
			}
		} else {
			run = 0
		}
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || s == "" {
		s = " " + s + " "
	}
	return fence + noCommand(s, zwsp) + fence
}

// MarkdownLink is a link secgate makes (a file at the scanned commit, an
// issue or ticket a tracker's API returned): the label rendered as
// Markdown, the URL kept only when it is http(s) and holds nothing that
// could end the link's destination; otherwise the label alone.
func MarkdownLink(label, url string) string {
	if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") ||
		strings.ContainsFunc(url, func(r rune) bool {
			return r <= ' ' || r == 0x7f || strings.ContainsRune("<>()[]\"'`\\", r) || invisible(r)
		}) {
		return Markdown(label)
	}
	if label == url {
		return url // autolinked by the platform, and plain text in Jira's copy
	}
	return "[" + Markdown(label) + "](" + url + ")"
}
