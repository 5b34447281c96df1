package report

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/secgate/secgate/gate/render"
	"github.com/secgate/secgate/policy"
)

// Text writes the report for people: counts per tier, a table of findings,
// the verdict and why, and what to do next. Color adds ANSI colours (for a
// terminal only).
type Text struct {
	Color bool
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiBlue   = "\x1b[34m"
	ansiGreen  = "\x1b[32m"
	ansiDim    = "\x1b[2m"
)

func (t Text) paint(code, s string) string {
	if !t.Color || code == "" {
		return s
	}
	return code + s + ansiReset
}

func severityColor(s policy.Severity) string {
	switch s {
	case policy.Critical:
		return ansiBold + ansiRed
	case policy.High:
		return ansiRed
	case policy.Medium:
		return ansiYellow
	}
	return ansiBlue
}

// Write implements Writer.
func (t Text) Write(w io.Writer, r Report) error {
	var b strings.Builder
	if r.DryRun {
		b.WriteString(t.paint(ansiDim, "secgate dry run: nothing is filed or signed; the verdict and exit code are real") + "\n\n")
	}

	if len(r.Scanners) > 0 {
		t.scanners(&b, r)
	}
	if len(r.Findings) > 0 || len(r.Scanners) > 0 {
		t.findings(&b, r)
	}
	t.verdict(&b, r)
	_, err := io.WriteString(w, b.String())
	return err
}

func (t Text) scanners(b *strings.Builder, r Report) {
	b.WriteString(t.paint(ansiBold, "Scanners") + "\n")
	rows := [][]string{}
	for _, s := range r.Scanners {
		dur := (time.Duration(s.DurationMS) * time.Millisecond).String()
		detail := term(s.Target)
		if s.Status == StatusOK {
			detail += " (" + plural(s.Findings, "finding", "findings") + ")"
		} else if s.Error != "" {
			detail += ": " + term(s.Error)
		}
		rows = append(rows, []string{s.Name, s.Status, dur, strings.TrimSpace(detail)})
	}
	t.table(b, rows, func(row, col int) string {
		if col == 1 && rows[row][1] != StatusOK {
			return ansiRed
		}
		return ""
	})
	for _, s := range r.Scanners {
		if s.Coverage != nil {
			fmt.Fprintf(b, "  %s: %s\n", s.Name, term(CoverageLine(*s.Coverage)))
		}
		for _, n := range s.Notes {
			fmt.Fprintf(b, "  %s: %s\n", s.Name, term(n))
		}
	}
	b.WriteString("\n")
}

func size(n int64) string {
	if n < 1e6 {
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

// term is the terminal's renderer of untrusted text (render.Terminal):
// every cell and line of the text report that a scan, a config or an API
// filled goes through it.
func term(s string) string { return render.Terminal(s) }

// CoverageLine says what a scanner read and left out, in one line, in
// words (the text report, the GitHub log and the summary say it alike).
func CoverageLine(c policy.Coverage) string {
	var read []string
	if c.Range != "" {
		read = append(read, fmt.Sprintf("%s (%s)", c.Range, plural(c.Commits, "commit", "commits")))
	}
	if c.Files > 0 {
		read = append(read, fmt.Sprintf("%s (%s)", plural(c.Files, "file", "files"), size(c.Bytes)))
	}
	if c.Lockfiles > 0 {
		read = append(read, plural(c.Lockfiles, "lockfile", "lockfiles"))
	}
	if c.Packages > 0 {
		read = append(read, plural(c.Packages, "package", "packages"))
	}
	if c.Images > 0 {
		layers := ""
		if c.Layers > 0 {
			layers = fmt.Sprintf(", %s", plural(c.Layers, "layer", "layers"))
			if c.Bytes > 0 && c.Files == 0 {
				layers += ", " + size(c.Bytes) + " read"
			}
		}
		read = append(read, plural(c.Images, "image", "images")+layers)
	}
	line := "covered nothing"
	if len(read) > 0 {
		line = "covered " + strings.Join(read, ", ")
	}
	var left []string
	for _, sk := range c.Skipped {
		many := sk.What + "s"
		if w, ok := strings.CutSuffix(sk.What, "y"); ok {
			many = w + "ies"
		}
		left = append(left, fmt.Sprintf("%s (%s)", plural(sk.Count, sk.What, many), sk.Why))
	}
	if len(left) > 0 {
		line += "; left out " + strings.Join(left, ", ")
	}
	return line
}

func (t Text) findings(b *strings.Builder, r Report) {
	fmt.Fprintf(b, "%s  %d critical, %d high, %d medium, %d low", t.paint(ansiBold, "Findings"),
		r.Counts.Critical, r.Counts.High, r.Counts.Medium, r.Counts.Low)
	if n := r.Ignored(); n > 0 {
		fmt.Fprintf(b, " (%d ignored)", n)
	}
	b.WriteString("\n")
	if len(r.Findings) > 0 {
		rows := [][]string{{"SEVERITY", "ACTION", "KIND", "RULE", "LOCATION", "DETAIL"}}
		for _, f := range r.Findings {
			rows = append(rows, []string{f.Severity.String(), string(f.Action), string(f.Kind), term(ruleOf(f)), term(f.Location.String()), term(detailOf(f))})
		}
		t.table(b, rows, func(row, col int) string {
			if row == 0 {
				return ansiDim
			}
			f := r.Findings[row-1]
			if f.Action == policy.ActionIgnored {
				return ansiDim
			}
			if col == 0 {
				return severityColor(f.Severity)
			}
			return ""
		})
	}
	b.WriteString("\n")
}

func (t Text) verdict(b *strings.Builder, r Report) {
	verdictColor := ansiGreen
	switch r.Verdict {
	case policy.VerdictFail, policy.VerdictError:
		verdictColor = ansiBold + ansiRed
	case policy.VerdictBlockProduction:
		verdictColor = ansiBold + ansiYellow
	}
	env := ""
	if r.Environment != "" {
		env = fmt.Sprintf(", environment %q", term(r.Environment))
	}
	fmt.Fprintf(b, "%s  %s (exit %d, deploy allowed: %s%s)\n", t.paint(ansiBold, "Verdict"),
		t.paint(verdictColor, strings.ToUpper(string(r.Verdict))), r.ExitCode(), yesNo(r.DeployAllowed), env)
	for _, s := range r.Errors {
		fmt.Fprintf(b, "  %s %s\n", t.paint(ansiRed, "error:"), term(s))
	}
	for _, s := range r.Reasons {
		fmt.Fprintf(b, "  - %s\n", term(s))
	}
	if len(r.Issues) > 0 || len(r.Notifications) > 0 {
		b.WriteString("\n" + t.paint(ansiBold, "Tickets") + "\n")
		for _, is := range r.Issues {
			where := is.URL
			if where == "" {
				where = is.Title
			}
			tracker := is.Tracker
			if tracker == "" {
				tracker = "repository"
			}
			fmt.Fprintf(b, "  %s %s: %s\n", term(is.State), term(tracker), term(where))
		}
		for _, l := range NotificationLines(r.Notifications) {
			fmt.Fprintf(b, "  %s\n", term(l))
		}
	}
	if r.Signature != nil {
		b.WriteString("\n" + t.paint(ansiBold, "Signature") + "\n")
		for _, l := range SignatureLines(*r.Signature) {
			fmt.Fprintf(b, "  %s\n", term(l))
		}
	}
	if len(r.Warnings) > 0 {
		b.WriteString("\n" + t.paint(ansiBold, "Warnings") + "\n")
		for _, s := range r.Warnings {
			fmt.Fprintf(b, "  %s %s\n", t.paint(ansiYellow, "!"), term(s))
		}
	}
	b.WriteString("\n" + t.paint(ansiBold, "Next step") + "\n  " + nextStep(r) + "\n")
}

func ruleOf(f policy.Finding) string {
	if f.Kind == policy.KindSecret || f.Rule == f.ID {
		return f.Rule
	}
	return f.ID
}

func detailOf(f policy.Finding) string {
	switch {
	case f.Ignored != nil:
		d := "ignored: " + f.Ignored.Reason
		if f.Ignored.Expires != "" {
			d += " (until " + f.Ignored.Expires + ")"
		}
		return d
	case f.Kind == policy.KindSecret:
		d := f.Preview + "  " + f.Fingerprint
		if f.Context != "" {
			d += "  (" + ContextNote(f.Context) + ")"
		}
		switch {
		case f.Live():
			d = "LIVE  " + d
		case f.Validity != "":
			d += "  (" + f.ValidityNote() + ")"
		}
		return d
	case f.ExploitNote() != "":
		// Exploitation first: it is why the tier is what it is.
		return strings.ToUpper(f.ExploitNote()[:1]) + f.ExploitNote()[1:] + ": " + cmp.Or(f.Fix, f.Title)
	case f.Fix != "":
		return f.Fix
	}
	return f.Title
}

// table writes rows with columns padded to their widest cell (ANSI codes
// are added after padding so they do not skew the widths).
func (t Text) table(b *strings.Builder, rows [][]string, color func(row, col int) string) {
	var width []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	for ri, r := range rows {
		b.WriteString("  ")
		for i, c := range r {
			cell := c
			if i < len(r)-1 {
				cell += strings.Repeat(" ", width[i]-len([]rune(c))+2)
			}
			b.WriteString(t.paint(color(ri, i), cell))
		}
		b.WriteString("\n")
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func nextStep(r Report) string {
	secrets, vulns, images, other := 0, 0, 0, 0
	for _, f := range r.Findings {
		if f.Action != policy.ActionFail && f.Action != policy.ActionBlockProduction {
			continue
		}
		switch f.Kind {
		case policy.KindSecret:
			secrets++
		case policy.KindVulnerability:
			vulns++
		case policy.KindImage:
			images++
		default:
			other++
		}
	}
	switch r.Verdict {
	case policy.VerdictError:
		return "The gate could not run and fails closed: fix the error above and run it again."
	case policy.VerdictPass:
		if r.Counts.Medium > 0 {
			return "Nothing blocks this change. Plan the fixes for the medium findings (filed as issues outside a dry run)."
		}
		return "Nothing to do."
	}
	var steps []string
	if secrets > 0 {
		what := "the leaked credential"
		if secrets > 1 {
			what = fmt.Sprintf("the %d leaked credentials", secrets)
		}
		steps = append(steps, fmt.Sprintf("revoke and rotate %s first (exposed wherever this code went), then remove %s from the code",
			what, pluralize(secrets, "it", "them")))
	}
	if vulns > 0 {
		steps = append(steps, "upgrade the vulnerable packages as each finding's fix says")
	}
	if images > 0 {
		steps = append(steps, "change the image as each finding's fix says")
	}
	if other > 0 {
		steps = append(steps, "change the files as each finding's fix says")
	}
	s := "Fix the findings marked fail or block-production: " + strings.Join(steps, "; ") + "."
	return s + " A false positive or an accepted risk: add its id or fingerprint to `exceptions` in " + policy.FileName + " with a reason and an expiry date."
}

func plural(n int, one, many string) string {
	return fmt.Sprintf("%d %s", n, pluralize(n, one, many))
}

func pluralize(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// attestationNames name the attested predicate types for a reader: "the
// verdict, the SBOM (CycloneDX) and the VEX document". The types are
// gate/sign's (PredicateType, PredicateCycloneDX, PredicateSPDX,
// PredicateOpenVEX), spelled out: the report does not import the signer.
func attestationNames(types []string) string {
	var names []string
	for _, t := range types {
		name, ok := map[string]string{
			"https://github.com/secgate/secgate/attestation/verdict/v1": "the verdict",
			"https://cyclonedx.org/bom":                                 "the SBOM (CycloneDX)",
			"https://spdx.dev/Document":                                 "the SBOM (SPDX)",
			"https://openvex.dev/ns":                                    "the VEX document",
		}[t]
		if !ok {
			name = t
		}
		names = append(names, name)
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// SignatureLines say what the signing step did, image by image.
func SignatureLines(s Signature) []string {
	var out []string
	if s.Identity != "" {
		out = append(out, "signed by "+s.Identity)
	}
	for _, im := range s.Images {
		switch {
		case im.Signed && len(im.Attestations) > 1:
			out = append(out, fmt.Sprintf("signed %s (signature %s, attestations of %s in %s)", im.Digest, im.Signature, attestationNames(im.Attestations), im.Attestation))
		case im.Signed:
			out = append(out, fmt.Sprintf("signed %s (signature %s, verdict attestation %s)", im.Digest, im.Signature, im.Attestation))
		case im.Digest != "":
			out = append(out, fmt.Sprintf("not signed %s: %s", im.Digest, im.Reason))
		default:
			out = append(out, fmt.Sprintf("not signed %s: %s", im.Reference, im.Reason))
		}
	}
	if len(s.Images) == 0 && s.Reason != "" {
		out = append(out, "not signed: "+s.Reason)
	}
	return out
}

// ContextNote says in words why a secret finding has its context's tier.
func ContextNote(context string) string {
	switch context {
	case policy.SecretContextTest:
		return "test or fixture path, generic rule: tier from secrets.context.test"
	case policy.SecretContextExample:
		return "example path, generic rule: tier from secrets.context.example"
	case policy.SecretContextDocs:
		return "documentation, generic rule: tier from secrets.context.docs"
	case policy.SecretContextVendored:
		return "vendored code, generic rule: tier from secrets.context.vendored"
	case policy.SecretContextLocalHost:
		return "a local or single-label host: tier from secrets.context.local-host"
	case policy.SecretContextChecksum:
		return "the token's checksum fails, it was not issued: tier from secrets.context.checksum-invalid"
	}
	return "tier from secrets.context." + context
}

// NotificationLines say who was told, or would be, of which groups.
func NotificationLines(ns []Notification) []string {
	var out []string
	for _, n := range ns {
		to := n.Channel
		if n.To != "" {
			to += " " + n.To
		}
		l := fmt.Sprintf("%s %s: %d new or reopened group(s)", n.State, to, len(n.Groups))
		if n.Error != "" {
			l += ": " + n.Error
		}
		out = append(out, l)
	}
	return out
}
