package report

import (
	"github.com/secgate/secgate/gate/render"
)

// MarkdownText makes untrusted text (a file name, an advisory title, a
// package name) inert in GitHub- and GitLab-flavoured markdown: the
// markdown sink's renderer, render.Markdown.
func MarkdownText(s string) string { return render.Markdown(s) }

// MarkdownCode puts untrusted text in an inline code span:
// render.MarkdownCode.
func MarkdownCode(s string) string { return render.MarkdownCode(s) }

// oneLine is the plain-text renderer of the formats that are data (GitLab
// reports, dotenv): every control, bidirectional and zero-width character
// shown escaped, on one line, never a workflow command.
func oneLine(s string) string { return render.Terminal(s) }
