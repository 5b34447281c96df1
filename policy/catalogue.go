package policy

import (
	"slices"
	"strings"
)

// Check is one check a scanner runs, as SARIF rules, GitLab identifiers
// and `secgate policy check` describe it.
type Check struct {
	ID    string
	Title string
	Help  string   // why it matters and how to fix it
	Tier  Severity // the default tier; SeverityUnset when each finding carries its own (CVSS, secrets.tier)
}

// ScannerInfo is what the policy knows of one scanner: its name (in
// --only/--skip and skip_on_error), its section in the policy file and its
// checks.
type ScannerInfo struct {
	Name    string
	Section string
	Checks  []Check
}

// Catalogue lists the scanners of a build. The gate's registry makes it;
// Parse checks scanner names and check ids against it.
type Catalogue []ScannerInfo

// Names are the scanner names, in registry order.
func (c Catalogue) Names() []string {
	names := make([]string, 0, len(c))
	for _, s := range c {
		names = append(names, s.Name)
	}
	return names
}

// Has reports whether a scanner of that name exists.
func (c Catalogue) Has(name string) bool { return slices.Contains(c.Names(), name) }

// Check finds a check by id in a section ("" for any).
func (c Catalogue) Check(section, id string) (Check, bool) {
	for _, s := range c {
		if section != "" && s.Section != section {
			continue
		}
		for _, ch := range s.Checks {
			if ch.ID == id {
				return ch, true
			}
		}
	}
	return Check{}, false
}

// checkIDs lists the check ids of a section, for error messages.
func (c Catalogue) checkIDs(section string) string {
	var ids []string
	for _, s := range c {
		if section == "" || s.Section == section {
			for _, ch := range s.Checks {
				ids = append(ids, ch.ID)
			}
		}
	}
	return strings.Join(ids, ", ")
}

// FileFinding is a finding of one of checks over a file (a deploy manifest,
// a Dockerfile): titled by the check (its parenthesised reference left
// out) and detail, at the tier the policy gives the check (tiers), else
// the check's default, located at path:line in object (a workload, a
// stage), identified by kind, check, path and object.
func FileFinding(kind Kind, checks []Check, tiers map[string]Severity, id, path string, line int, object, detail, fix string) Finding {
	var ch Check
	if i := slices.IndexFunc(checks, func(c Check) bool { return c.ID == id }); i >= 0 {
		ch = checks[i]
	}
	tier, ok := tiers[id]
	if !ok {
		tier = ch.Tier
	}
	title := ch.Title
	if i := strings.Index(title, " ("); i > 0 {
		title = title[:i]
	}
	return Finding{
		ID: id, Kind: kind, Rule: id,
		Title:       title + ": " + detail,
		Severity:    tier,
		ScoreSource: SourceRuleDefault,
		Location:    Location{Path: path, Line: line, Object: object},
		Fix:         fix,
		Fingerprint: Fingerprint(kind, id, path, object),
	}
}
