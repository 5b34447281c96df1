package report

import (
	"cmp"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/secgate/secgate/gate/render"
	"github.com/secgate/secgate/policy"
)

// SARIF writes the report as SARIF 2.1.0 for code scanning: one run per
// scanner, each with its own automationDetails.id (code scanning refuses
// two runs of one category in an upload), rules with help and a
// security-severity, results with partialFingerprints from the findings'
// tracking keys, so that alerts stay the same alerts across runs.
type SARIF struct {
	// PathPrefix is the scanned directory's path in the repository
	// ("" at its root): SARIF locations are relative to the repository.
	PathPrefix string
	// Version is secgate's version, for the tool driver.
	Version string
	// MaxResults bounds the results of a run (code scanning takes 25,000):
	// the lowest tiers are left out first, and the run says how many.
	MaxResults int
}

// sarifMaxResults is code scanning's limit of results per run.
const sarifMaxResults = 25000

// FingerprintKey names secgate's tracking key among a result's
// partialFingerprints.
const FingerprintKey = "secgate/v2"

// Write implements Writer.
func (s SARIF) Write(w io.Writer, r Report) error {
	doc := sarif.NewReport()
	for _, sc := range r.Scanners {
		run := sarif.NewRunWithInformationURI("secgate", "https://github.com/secgate/secgate")
		run.Tool.Driver.Version = strPtr(cmp.Or(s.Version, "dev"))
		run.WithAutomationDetails(sarif.NewRunAutomationDetails().WithID("secgate/" + sc.Name + "/"))
		var fs []policy.Finding
		for _, f := range r.Findings {
			if f.Scanner == sc.Name {
				fs = append(fs, f)
			}
		}
		max := cmp.Or(s.MaxResults, sarifMaxResults)
		if len(fs) > max {
			// Findings are sorted most severe first: the lowest tiers go.
			left := len(fs) - max
			fs = fs[:max]
			run.AddInvocation(sarif.NewInvocation().WithExecutionSuccessful(true).
				AddToolExecutionNotification(sarif.NewNotification().WithLevel("warning").
					WithMessage(sarif.NewTextMessage(fmt.Sprintf("%d results of the lowest tiers left out: code scanning takes %d per run; the JSON report has them all", left, max)))))
		}
		for _, f := range fs {
			s.addResult(run, f)
		}
		doc.AddRun(run)
	}
	return doc.PrettyWrite(w)
}

func (s SARIF) addResult(run *sarif.Run, f policy.Finding) {
	rule := run.AddRule(f.Rule)
	if rule.ShortDescription == nil {
		rule.WithName(ruleName(f.Rule)).
			WithShortDescription(sarif.NewMultiformatMessageString().WithText(render.SARIFText(ruleTitle(f)))).
			WithHelp(sarif.NewMultiformatMessageString().WithText(ruleHelp(f, render.SARIFText)).WithMarkdown(ruleHelp(f, render.SARIFMarkdown))).
			WithProperties(sarif.NewPropertyBag().
				Add("security-severity", securitySeverity(f)).
				WithTags([]string{"security", string(f.Kind)}))
		if strings.HasPrefix(f.Rule, "GHSA-") {
			rule.WithHelpURI("https://github.com/advisories/" + f.Rule)
		}
	}
	res := run.CreateResultForRule(f.Rule).
		WithLevel(level(f.Severity)).
		WithMessage(sarif.NewTextMessage(resultMessage(f))).
		WithPartialFingerprints(map[string]string{FingerprintKey: f.Fingerprint})
	loc := sarif.NewPhysicalLocation().WithArtifactLocation(sarif.NewSimpleArtifactLocation(s.uri(f)))
	if f.Location.Line > 0 {
		loc.WithRegion(sarif.NewSimpleRegion(f.Location.Line, f.Location.Line))
	}
	res.AddLocation(sarif.NewLocationWithPhysicalLocation(loc))
	if f.Ignored != nil {
		res.WithSuppressions([]*sarif.Suppression{sarif.NewSuppression().WithKind("external").
			WithJustification(render.SARIFText(fmt.Sprintf("%s (%s%s)", f.Ignored.Reason, f.Ignored.Source, expiresNote(f.Ignored.Expires))))})
	}
	res.WithProperties(sarif.NewPropertyBag().Add("secgate/action", string(f.Action)).Add("secgate/severity", f.Severity.String()))
}

// uri is the result's file, relative to the repository: the finding's
// path, or for an image finding without one the image.
func (s SARIF) uri(f policy.Finding) string {
	p := f.Location.Path
	if f.Location.Image != "" {
		return uriPath(cmp.Or(strings.TrimPrefix(p, "/"), f.Location.Image))
	}
	if i := strings.Index(p, "!"); i >= 0 { // a file inside an archive: the archive
		p = p[:i]
	}
	if s.PathPrefix != "" {
		p = path.Join(s.PathPrefix, p)
	}
	// A URI reference, as SARIF requires: a path's spaces, controls,
	// bidi characters or "##[" percent-encoded, never raw.
	return cmp.Or(uriPath(p), ".")
}

// uriPath percent-encodes what RFC 3986 does not allow in a path (pchar
// and "/"): spaces, controls, non-ASCII, "#", "[", "%"; a usual path is
// left as it is.
func uriPath(p string) string {
	var b strings.Builder
	for _, c := range []byte(p) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("/-._~!$&'()*+,;=:@", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func level(s policy.Severity) string {
	switch s {
	case policy.Critical, policy.High:
		return "error"
	case policy.Medium:
		return "warning"
	}
	return "note"
}

// securitySeverity is what code scanning ranks by: the CVSS score, else
// the floor of the finding's tier.
func securitySeverity(f policy.Finding) string {
	// A KEV or EPSS floor raised the tier above what the score says: the
	// code-scanning severity follows the tier, as the gate does.
	if f.Score != nil && !f.Floored() {
		return fmt.Sprintf("%.1f", *f.Score)
	}
	switch f.Severity {
	case policy.Critical:
		return "9.0"
	case policy.High:
		return "7.0"
	case policy.Medium:
		return "4.0"
	}
	return "0.1"
}

func ruleName(id string) string {
	var b strings.Builder
	up := true
	for _, r := range id {
		switch {
		case r == '-' || r == '_' || r == '.':
			up = true
		case up:
			b.WriteString(strings.ToUpper(string(r)))
			up = false
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func ruleTitle(f policy.Finding) string {
	if f.Kind == policy.KindSecret {
		return cmp.Or(f.Title, f.Rule)
	}
	return cmp.Or(f.Title, f.Rule)
}

// ruleHelp is a rule's help, each untrusted piece (an advisory's or a
// config rule's title, a manifest's names in the fix) through the
// renderer of the field: SARIF text or markdown, which code scanning
// renders (no link or image from a scanned file).
func ruleHelp(f policy.Finding, untrusted func(string) string) string {
	var b strings.Builder
	b.WriteString(untrusted(ruleTitle(f)))
	if f.Fix != "" {
		b.WriteString("\n\nFix: " + untrusted(f.Fix))
	}
	if f.Kind == policy.KindVulnerability && len(f.Aliases) > 0 {
		b.WriteString("\n\nAliases: " + untrusted(strings.Join(f.Aliases, ", ")))
	}
	return b.String()
}

// resultMessage is a result's message text, its untrusted pieces through
// render.SARIFText.
func resultMessage(f policy.Finding) string {
	t := render.SARIFText
	msg := fmt.Sprintf("%s: %s", strings.ToUpper(f.Severity.String()), t(f.Title))
	switch f.Kind {
	case policy.KindVulnerability:
		msg += fmt.Sprintf(" (%s %s in %s)", t(f.Location.Package), t(f.Location.Version), t(cmp.Or(f.Location.Path, f.Location.Image)))
	case policy.KindSecret:
		msg += " — " + t(f.Preview)
	case policy.KindImage:
		msg += " (" + t(f.Location.Image) + ")"
	case policy.KindManifest, policy.KindDockerfile:
		msg += " (" + t(f.Location.Object) + ")"
	}
	if n := f.ExploitNote(); n != "" {
		msg += "; " + t(n)
	}
	if n := f.ValidityNote(); n != "" {
		msg += "; " + t(n)
	}
	if f.Fix != "" {
		msg += ". " + t(f.Fix)
	}
	return msg
}

func expiresNote(d string) string {
	if d == "" {
		return ""
	}
	return ", until " + d
}

func strPtr(s string) *string { return &s }
