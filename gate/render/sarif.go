package render

import (
	"regexp"
	"strings"
)

// sarifText escapes what SARIF's plain-text messages read as embedded
// links ([text](uri), SARIF 2.1.0 §3.11.6): brackets and the backslash.
var sarifText = strings.NewReplacer(`\`, `\\`, "[", `\[`, "]", `\]`)

// mention is an @ that starts a word (a digest's repo@sha256 does not).
var mention = regexp.MustCompile(`(^|[^A-Za-z0-9_.+-])@`)

// SARIFText renders untrusted text for a SARIF message's text on one line:
// Visible, no embedded link, no autolink, no @mention.
func SARIFText(s string) string {
	s = mention.ReplaceAllString(sarifText.Replace(Visible(s)), "${1}@"+zwsp)
	return noCommand(breakAutolinks(s), `\`)
}

// SARIFMarkdown renders untrusted text for a SARIF markdown field
// (rules[].help.markdown, which code scanning renders): as Markdown, so no
// link or image the tool did not make.
func SARIFMarkdown(s string) string { return Markdown(s) }
