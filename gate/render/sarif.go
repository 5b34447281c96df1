package render

import "strings"

// sarifText escapes what SARIF's plain-text messages read as embedded
// links ([text](uri), SARIF 2.1.0 §3.11.6): brackets and the backslash.
var sarifText = strings.NewReplacer(`\`, `\\`, "[", `\[`, "]", `\]`, "@", "@"+zwsp)

// SARIFText renders untrusted text for a SARIF message's text on one line:
// Visible, no embedded link, no autolink, no @mention.
func SARIFText(s string) string {
	return noCommand(breakAutolinks(sarifText.Replace(Visible(s))), `\`)
}

// SARIFMarkdown renders untrusted text for a SARIF markdown field
// (rules[].help.markdown, which code scanning renders): as Markdown, so no
// link or image the tool did not make.
func SARIFMarkdown(s string) string { return Markdown(s) }
