package report

import (
	"strings"
)

// MarkdownText makes untrusted text (a file name, an advisory title, a
// package name) inert in GitHub- and GitLab-flavoured markdown: no HTML,
// no link, emphasis, table cell or heading, no @mention, on one line.
func MarkdownText(s string) string {
	s = oneLine(s)
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '\\', '`', '*', '_', '[', ']', '(', ')', '|', '~', '#', '!', '{', '}':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '@':
			b.WriteString("@\u200b") // a zero-width space: no mention
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// MarkdownCode puts untrusted text in an inline code span, fenced with
// more backticks than it holds, on one line. Pipes are escaped, for tables.
func MarkdownCode(s string) string {
	s = strings.ReplaceAll(oneLine(s), "|", "\\|")
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
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// oneLine folds control characters and line breaks into spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}
