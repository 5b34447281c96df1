package report

import (
	"cmp"
	"fmt"
	"io"
	"strings"

	"github.com/secgate/secgate/gate/render"
	"github.com/secgate/secgate/policy"
)

// Markdown writes the report as the markdown of a CI job summary or a pull
// request comment: the verdict, counts per tier, one table per scanner
// (long ones folded in <details>), what was filed and signed, and each
// scanner's coverage. Untrusted text is made inert. The output stays under
// MaxBytes: rows are left out from the lowest tier up, and it says how
// many.
type Markdown struct {
	// Links to a file at the scanned commit: FileURL + path + "#L" + line
	// ("" for none), e.g. https://github.com/o/r/blob/<sha>/.
	FileURL string
	// NewOnly lists only findings that are new on a pull/merge request
	// (the comment), with the count of the others.
	NewOnly bool
	// MaxBytes bounds the output (GitHub's step summary takes 1 MiB; a
	// comment 65,536 characters). 0: no bound.
	MaxBytes int
	// Marker, when set, ends the output in a hidden HTML comment, so that
	// a comment can be found again and edited in place.
	Marker string
	// Title heads the output.
	Title string
}

const foldAfter = 10 // rows per scanner shown before the rest are folded

// Write implements Writer.
func (m Markdown) Write(w io.Writer, r Report) error {
	head := m.head(r)
	tail := m.tail(r)
	budget := m.MaxBytes - len(head) - len(tail) - 200
	fs := m.findings(r)
	omitted := 0
	var body string
	for {
		body = m.tables(r, fs)
		if m.MaxBytes == 0 || len(body) <= budget || len(fs) == 0 {
			break
		}
		// Findings are sorted most severe first: drop from the end.
		cut := max(1, len(fs)/10)
		fs, omitted = fs[:len(fs)-cut], omitted+cut
	}
	var b strings.Builder
	b.WriteString(head)
	b.WriteString(body)
	if omitted > 0 {
		fmt.Fprintf(&b, "\n_%d findings of the lowest tiers are left out here (size limit): the JSON report has every one._\n", omitted)
	}
	b.WriteString(tail)
	_, err := io.WriteString(w, b.String())
	return err
}

func (m Markdown) findings(r Report) []policy.Finding {
	var fs []policy.Finding
	for _, f := range r.Findings {
		if m.NewOnly && f.Status == policy.StatusExisting {
			continue
		}
		fs = append(fs, f)
	}
	return fs
}

var verdictBanner = map[policy.Verdict]string{
	policy.VerdictPass:            "✅ **PASS**",
	policy.VerdictBlockProduction: "🟠 **BLOCK PRODUCTION**",
	policy.VerdictFail:            "❌ **FAIL**",
	policy.VerdictError:           "⛔ **ERROR** — the gate could not run",
}

func (m Markdown) head(r Report) string {
	var b strings.Builder
	title := m.Title
	if title == "" {
		title = "secgate"
	}
	fmt.Fprintf(&b, "## %s\n\n", title)
	banner := verdictBanner[r.Verdict]
	if banner == "" {
		banner = "**" + MarkdownText(string(r.Verdict)) + "**"
	}
	fmt.Fprintf(&b, "%s — exit %d, deploy allowed: **%s**", banner, r.ExitCode(), yesNo(r.DeployAllowed))
	if r.Environment != "" {
		fmt.Fprintf(&b, ", environment %s", MarkdownCode(r.Environment))
	}
	if r.DryRun {
		b.WriteString(" (dry run: nothing filed or signed)")
	}
	b.WriteString("\n\n")
	fmt.Fprintf(&b, "| critical | high | medium | low | ignored |\n|---:|---:|---:|---:|---:|\n| %d | %d | %d | %d | %d |\n\n",
		r.Counts.Critical, r.Counts.High, r.Counts.Medium, r.Counts.Low, r.Ignored())
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "> **error:** %s\n\n", MarkdownText(e))
	}
	for _, s := range r.Reasons {
		fmt.Fprintf(&b, "- %s\n", MarkdownText(s))
	}
	for _, s := range r.Warnings {
		fmt.Fprintf(&b, "- ⚠️ %s\n", MarkdownText(s))
	}
	b.WriteString("\n")
	if m.NewOnly {
		existing := 0
		for _, f := range r.Findings {
			if f.Status == policy.StatusExisting {
				existing++
			}
		}
		if existing > 0 {
			fmt.Fprintf(&b, "_%d findings already on the base branch are not listed here._\n\n", existing)
		}
	}
	return b.String()
}

func (m Markdown) tables(r Report, fs []policy.Finding) string {
	var b strings.Builder
	for _, s := range r.Scanners {
		var rows []policy.Finding
		for _, f := range fs {
			if f.Scanner == s.Name {
				rows = append(rows, f)
			}
		}
		fmt.Fprintf(&b, "### %s — %s, %s\n\n", MarkdownText(s.Name), MarkdownText(s.Status), plural(len(rows), "finding", "findings"))
		if s.Error != "" {
			fmt.Fprintf(&b, "> %s\n\n", MarkdownText(s.Error))
		}
		if s.Coverage != nil {
			fmt.Fprintf(&b, "_%s_\n\n", MarkdownText(CoverageLine(*s.Coverage)))
		}
		if len(rows) == 0 {
			continue
		}
		for i, f := range rows {
			if i == 0 {
				b.WriteString("| tier | action | rule | where | fix |\n|---|---|---|---|---|\n")
			}
			if i == foldAfter {
				fmt.Fprintf(&b, "\n<details><summary>%d more</summary>\n\n| tier | action | rule | where | fix |\n|---|---|---|---|---|\n", len(rows)-foldAfter)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", f.Severity, f.Action, MarkdownCode(ruleOf(f)), m.where(f), MarkdownText(fixOrTitle(f)))
		}
		if len(rows) > foldAfter {
			b.WriteString("\n</details>\n")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (m Markdown) where(f policy.Finding) string {
	loc := MarkdownCode(f.Location.String())
	if m.FileURL != "" && f.Location.Path != "" && f.Location.Image == "" && !strings.Contains(f.Location.Path, "!") {
		u := m.FileURL + escapePath(f.Location.Path)
		if f.Location.Line > 0 {
			u += fmt.Sprintf("#L%d", f.Location.Line)
		}
		loc = fmt.Sprintf("[%s](%s)", loc, u)
	}
	if f.Preview != "" {
		loc += " " + MarkdownCode(f.Preview)
	}
	return loc
}

// escapePath percent-encodes what would end a markdown link or a URL path.
func escapePath(p string) string {
	var b strings.Builder
	for _, c := range []byte(p) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("/-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func fixOrTitle(f policy.Finding) string {
	if n := f.ValidityNote(); n != "" {
		return n + ": " + cmp.Or(f.Fix, f.Title)
	}
	if n := f.ExploitNote(); n != "" {
		return n + ": " + cmp.Or(f.Fix, f.Title)
	}
	if f.Fix != "" {
		return f.Fix
	}
	return f.Title
}

func (m Markdown) tail(r Report) string {
	var b strings.Builder
	if len(r.Issues) > 0 {
		b.WriteString("<details><summary>Issues</summary>\n\n")
		for _, is := range r.Issues {
			t := render.MarkdownLink(is.Title, is.URL) // the tracker's URL: a link we make
			state := MarkdownText(is.State)
			if is.Tracker != "" {
				state += " (" + MarkdownText(is.Tracker) + ")"
			}
			fmt.Fprintf(&b, "- %s: %s\n", state, t)
		}
		b.WriteString("\n</details>\n\n")
	}
	if len(r.Notifications) > 0 {
		b.WriteString("**Notified**\n\n")
		for _, l := range NotificationLines(r.Notifications) {
			fmt.Fprintf(&b, "- %s\n", MarkdownText(l))
		}
		b.WriteString("\n")
	}
	if r.Signature != nil {
		b.WriteString("**Signature**\n\n")
		for _, l := range SignatureLines(*r.Signature) {
			fmt.Fprintf(&b, "- %s\n", MarkdownText(l))
		}
		b.WriteString("\n")
	}
	if m.Marker != "" {
		fmt.Fprintf(&b, "<!-- %s -->\n", m.Marker)
	}
	return b.String()
}
