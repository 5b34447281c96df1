package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Verdict is the gate's overall outcome.
type Verdict string

// The verdicts. Error is set by the gate when it could not run, never by Decide.
const (
	VerdictPass            Verdict = "pass"
	VerdictBlockProduction Verdict = "block-production"
	VerdictFail            Verdict = "fail"
	VerdictError           Verdict = "error"
)

// FailsJob reports whether a verdict fails the CI job (exit 1 or 2): fail,
// error, an unknown verdict, and block-production when the target is a
// production environment. It is the one place that decides it; the exit
// code and every platform output derive from it.
func (v Verdict) FailsJob(production bool) bool {
	switch v {
	case VerdictPass:
		return false
	case VerdictBlockProduction:
		return production
	}
	return true
}

// Blocking is true when the job must fail: a fail action, or a
// block-production action with a production target.
func (d Decision) Blocking() bool { return d.Verdict.FailsJob(d.Production) }

// Context is what Decide needs to know about the run besides findings.
type Context struct {
	Environment     string    // target environment name, if any
	EnvironmentTier string    // GitLab's CI_ENVIRONMENT_TIER, if any
	PullRequest     bool      // a pull/merge request: findings may be new or existing
	Now             time.Time // the clock, for exception expiry
}

// Counts are the number of findings per tier, ignored ones excluded.
type Counts struct {
	Critical int `json:"critical"`
	High     int `json:"high"`
	Medium   int `json:"medium"`
	Low      int `json:"low"`
}

func (c *Counts) add(s Severity) {
	switch s {
	case Critical:
		c.Critical++
	case High:
		c.High++
	case Medium:
		c.Medium++
	default:
		c.Low++
	}
}

// Tally counts listed findings per tier, ignored ones excluded: the
// report's counts are made from the findings it lists, so the two cannot
// disagree (red team F6: counts said two keys where one was listed).
func Tally(fs []Finding) Counts {
	var c Counts
	for _, f := range fs {
		if f.Action != ActionIgnored {
			c.add(f.Severity)
		}
	}
	return c
}

// Of returns the count of one tier.
func (c Counts) Of(s Severity) int {
	switch s {
	case Critical:
		return c.Critical
	case High:
		return c.High
	case Medium:
		return c.Medium
	}
	return c.Low
}

// Decision is the verdict with every finding's tier and action.
type Decision struct {
	Verdict       Verdict
	DeployAllowed bool
	Production    bool      // the target environment is a production one
	Findings      []Finding // classified, with actions, in report order
	Counts        Counts
	Reasons       []string // why this verdict, one line each
	Warnings      []string // exceptions expired or about to
	Notes         []string // VEX statements no finding matched
}

// ExpiryWarning is how far ahead an exception's expiry is warned about.
const ExpiryWarning = 7 * 24 * time.Hour

// Decide judges findings against the policy: it assigns each its tier and
// action, applies exceptions, and returns the verdict.
func (p *Policy) Decide(findings []Finding, c Context) Decision {
	d := Decision{Production: p.IsProduction(c.Environment, c.EnvironmentTier), Findings: make([]Finding, 0, len(findings))}
	today := c.Now.UTC().Truncate(24 * time.Hour)
	warned := map[string]bool{}
	var fails, blocks, relieved int
	for _, f := range findings {
		p.classify(&f)
		f.Action = p.Actions.For(f.Severity)
		if f.Ignored != nil {
			// Suppressed by the scanner's own ignore file (.gitleaksignore,
			// osv-scanner.toml): honoured, and shown as ignored.
			f.Action = ActionIgnored
		} else if ex, ok := p.exceptionFor(f); ok {
			expires := ex.Expires.UTC()
			if msg, ok := expiryWarning(p.Path, ex, today); ok && !warned[ex.ID] {
				d.Warnings = append(d.Warnings, msg)
			}
			if !today.After(expires) {
				f.Action = ActionIgnored
				f.Ignored = &Ignored{Reason: ex.Reason, Expires: ex.ExpiresString(), Owner: ex.Owner, Source: p.Path}
			}
			warned[ex.ID] = true
		}
		// A VEX statement (the supplier's word, or the repository's)
		// applies where no exception does, an expired one included.
		if doc, st, ok := VEXFor(p.VEX, f); ok && f.Ignored == nil {
			f.Action = ActionIgnored
			f.Ignored = &Ignored{Reason: cmpOr(st.ImpactStatement, "VEX: "+cmpOr(st.Justification, st.Status)), By: IgnoredByVEX,
				Status: st.Status, Justification: st.Justification, Document: doc.Path}
		}
		if p.NewFindingsOnly && c.PullRequest && f.Status == StatusExisting &&
			(f.Action == ActionFail || f.Action == ActionBlockProduction) {
			f.Action = ActionFileIssue
			relieved++
		}
		switch f.Action {
		case ActionIgnored:
			d.Findings = append(d.Findings, f)
			continue
		case ActionFail:
			fails++
		case ActionBlockProduction:
			blocks++
		}
		d.Findings = append(d.Findings, f)
	}
	sortFindings(d.Findings)
	d.Counts = Tally(d.Findings)
	d.Notes = UnmatchedVEX(p.VEX, findings)

	switch {
	case fails > 0:
		d.Verdict, d.DeployAllowed = VerdictFail, false
		d.Reasons = append(d.Reasons, fmt.Sprintf("%s the gate (action fail)", plural(fails, "finding fails", "findings fail")))
	case blocks > 0:
		d.Verdict, d.DeployAllowed = VerdictBlockProduction, false
	default:
		d.Verdict, d.DeployAllowed = VerdictPass, true
	}
	if blocks > 0 {
		r := fmt.Sprintf("%s production deploys (action block-production)", plural(blocks, "finding blocks", "findings block"))
		switch {
		case fails > 0:
		case d.Production:
			r += fmt.Sprintf("; environment %q is a production one, so the job fails", c.Environment+tierNote(c.EnvironmentTier))
		case c.Environment != "":
			r += fmt.Sprintf("; environment %q is not a production one, so the job passes with deploy_allowed=false", c.Environment)
		default:
			r += "; no target environment given, so the job passes with deploy_allowed=false"
		}
		d.Reasons = append(d.Reasons, r)
	}
	if relieved > 0 {
		d.Reasons = append(d.Reasons, fmt.Sprintf("%s already on the base revision: filed as issues, not failed (new_findings_only)", plural(relieved, "finding is", "findings are")))
	}
	if n := d.Counts.Medium; n > 0 && p.Actions.Medium == ActionFileIssue {
		d.Reasons = append(d.Reasons, fmt.Sprintf("%s to file as issues", plural(n, "medium finding", "medium findings")))
	}
	if d.Verdict == VerdictPass && len(d.Reasons) == 0 {
		d.Reasons = append(d.Reasons, "no finding requires action")
	}
	return d
}

// ExpiryWarnings lists the exceptions that have expired or expire within
// ExpiryWarning of now, whether or not they match a finding.
func (p *Policy) ExpiryWarnings(now time.Time) []string {
	var out []string
	for _, ex := range p.Exceptions {
		if msg, ok := expiryWarning(p.Path, ex, now.UTC().Truncate(24*time.Hour)); ok {
			out = append(out, msg)
		}
	}
	return out
}

func expiryWarning(file string, ex Exception, today time.Time) (string, bool) {
	where := fmt.Sprintf("%s line %d%s", file, ex.Line, ownerNote(ex.Owner))
	expires := ex.Expires.UTC()
	switch {
	case today.After(expires):
		return fmt.Sprintf("exception %s (%s) expired on %s and no longer applies: fix the finding or renew the exception",
			ex.ID, where, ex.ExpiresString()), true
	case expires.Sub(today) <= ExpiryWarning:
		return fmt.Sprintf("exception %s (%s) expires on %s", ex.ID, where, ex.ExpiresString()), true
	}
	return "", false
}

// classify sets a finding's tier from the policy where the policy decides it.
func (p *Policy) classify(f *Finding) {
	defer p.applyFloors(f)
	switch {
	case f.Kind == KindSecret:
		f.Severity, f.ScoreSource = p.SecretsTier, SourcePolicyDefault
		if t, ok := p.SecretsContext[f.Context]; ok && f.Context != "" {
			f.Severity, f.ScoreSource = t, SourceSecretContext+f.Context
		}
		// A credential its provider rejected is revoked: cleaning it up is
		// still due (secrets.invalid), unless its context already put it
		// lower (a revoked test fixture stays low). Valid and unknown
		// keep the tier above.
		if f.Validity == ValidityInvalid && (f.Context == "" || p.SecretsInvalid < f.Severity) {
			f.Severity, f.ScoreSource = p.SecretsInvalid, SourceSecretInvalid
		}
	case f.Score != nil && isVectorSource(f.ScoreSource):
		f.Severity = p.TierFor(*f.Score)
	case f.Severity == SeverityUnset:
		f.Severity, f.ScoreSource = p.Unscored, SourcePolicyDefault
	}
}

func isVectorSource(s string) bool {
	s = strings.TrimPrefix(baseSource(s), SourceAliasPrefix)
	return s == SourceCVSSv4 || s == SourceCVSSv3 || s == SourceCVSSv2
}

func (p *Policy) exceptionFor(f Finding) (Exception, bool) {
	keys := f.Keys()
	for _, ex := range p.Exceptions {
		for _, k := range keys {
			if k != "" && strings.EqualFold(k, ex.ID) {
				return ex, true
			}
		}
	}
	return Exception{}, false
}

// sortFindings orders findings by severity, then by every field that
// tells two findings apart, so that each output is byte-stable whatever
// order the scanners returned them in.
func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(b.Severity, a.Severity),
			cmp.Compare(b2i(a.Action == ActionIgnored), b2i(b.Action == ActionIgnored)),
			cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(a.Location.Image, b.Location.Image),
			cmp.Compare(a.Location.Path, b.Location.Path),
			cmp.Compare(a.Location.Line, b.Location.Line),
			cmp.Compare(a.Location.Commit, b.Location.Commit),
			cmp.Compare(a.Location.Package, b.Location.Package),
			cmp.Compare(a.Location.Version, b.Location.Version),
			cmp.Compare(a.Location.Ecosystem, b.Location.Ecosystem),
			cmp.Compare(a.Location.Layer, b.Location.Layer),
			cmp.Compare(a.ID, b.ID),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Fingerprint, b.Fingerprint),
			cmp.Compare(a.Title, b.Title),
		)
	})
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func ownerNote(owner string) string {
	if owner == "" {
		return ""
	}
	return ", owner " + owner
}

func tierNote(tier string) string {
	if tier == "" {
		return ""
	}
	return " (tier " + tier + ")"
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
