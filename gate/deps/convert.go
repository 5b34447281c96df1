package deps

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/osv-scalibr/semantic"
	"github.com/ossf/osv-schema/bindings/go/osvschema"

	"github.com/secgate/secgate/policy"
)

// convert turns osv-scanner's results into findings: one per (lockfile,
// package, version, advisory group), aliases merged, scored, with a fix.
// img, when set, locates the findings in a container image.
func (s *Scanner) convert(ctx context.Context, opts Options, root string, res vulnResults, img *imageInfo) (policy.ScanResult, error) {
	var out policy.ScanResult
	lookup, done := s.aliasLookup(opts, res)
	defer done()
	ignores := newIgnoreFiles(ctx, root, opts.Base, opts.Now)
	packages := 0
	for _, src := range res.Results {
		path := relPath(root, src.Source.Path)
		for _, pv := range src.Packages {
			packages++
			for _, g := range pv.Groups {
				f, notes, err := s.finding(ctx, path, pv, g, lookup)
				if err != nil {
					return out, err
				}
				out.Notes = append(out.Notes, notes...)
				if img != nil {
					// osv-scanner.toml files are the repository's; an image has none.
					img.locate(&f, pv.Package)
					out.Findings = append(out.Findings, f)
					continue
				}
				ig, err := ignores.match(src.Source.Path, root, f, pv)
				if err != nil {
					return out, err
				}
				f.Ignored = ig
				out.Findings = append(out.Findings, f)
			}
		}
	}
	out.Coverage.Lockfiles, out.Coverage.Packages = len(res.Results), packages
	out.Packages = packagesOf(root, res, img)
	out.Notes = append(out.Notes, fmt.Sprintf("%d packages in %d lockfiles checked against the %s", packages, len(res.Results), opts.Source()))
	return out, nil
}

func (s *Scanner) finding(ctx context.Context, path string, pv packageVulns, g groupInfo, lookup advisoryLookup) (policy.Finding, []string, error) {
	var vulns []*osvschema.Vulnerability
	for _, v := range pv.Vulnerabilities {
		if slices.Contains(g.IDs, v.GetId()) {
			vulns = append(vulns, v)
		}
	}
	pkg := pv.Package
	id := representative(g.IDs)
	var aliases []string
	for _, a := range slices.Concat(g.IDs, g.Aliases) {
		if a != id && !slices.Contains(aliases, a) {
			aliases = append(aliases, a)
		}
	}
	slices.Sort(aliases)

	f := policy.Finding{
		ID:       id,
		Aliases:  aliases,
		Kind:     policy.KindVulnerability,
		Rule:     id,
		Title:    title(id, vulns),
		Location: policy.Location{Path: path, Package: pkg.Name, Version: pkg.Version, Ecosystem: pkg.Ecosystem, PURL: purlFor(pkg)},
		Fix:      fixLine(pkg, vulns),
	}
	f.Fingerprint = fingerprint(f, "")

	var notes []string
	vectors, bad := vectorsOf(vulns, pkg)
	notes = append(notes, bad...)
	if best, ok, _ := policy.ScoreVectors(vectors); ok {
		f.Score, f.ScoreSource = &best.Score, best.Source()
		return f, notes, nil
	}
	// No vector of its own: an aliased record's (its GHSA/CVE twin).
	var twins []*advisory
	for _, a := range aliases {
		if slices.Contains(g.IDs, a) {
			continue
		}
		adv, err := lookup(ctx, a)
		if err != nil {
			return f, notes, err
		}
		if adv != nil {
			twins = append(twins, adv)
		}
	}
	var twinVectors []string
	for _, t := range twins {
		for _, v := range t.vectors {
			if _, err := policy.ScoreVector(v); err == nil {
				twinVectors = append(twinVectors, v)
			} else {
				notes = append(notes, fmt.Sprintf("%s: ignoring an invalid vector: %v", t.id, err))
			}
		}
	}
	if best, ok, _ := policy.ScoreVectors(twinVectors); ok {
		f.Score, f.ScoreSource = &best.Score, policy.SourceAliasPrefix+best.Source()
		return f, notes, nil
	}
	// Then the database's severity word (GHSA's database_specific.severity).
	words := wordsOf(vulns)
	for _, t := range twins {
		words = append(words, t.word)
	}
	for _, w := range words {
		if sev, err := policy.ParseSeverity(w); err == nil && w != "" {
			f.Severity, f.ScoreSource = sev, policy.SourceDatabase
			return f, notes, nil
		}
	}
	return f, notes, nil // unscored: the policy's tier
}

// representative picks the id a finding is known by: the GHSA id when the
// group has one (GitHub, Dependabot and most tools use it), else the first.
func representative(ids []string) string {
	sorted := slices.Clone(ids)
	slices.SortFunc(sorted, func(a, b string) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b))
	})
	return sorted[0]
}

func rank(id string) int {
	switch {
	case strings.HasPrefix(id, "GHSA-"):
		return 0
	case strings.HasPrefix(id, "CVE-"):
		return 2
	}
	return 1
}

func title(id string, vulns []*osvschema.Vulnerability) string {
	for _, v := range vulns {
		if v.GetId() == id && v.GetSummary() != "" {
			return v.GetSummary()
		}
	}
	for _, v := range vulns {
		if v.GetSummary() != "" {
			return v.GetSummary()
		}
	}
	for _, v := range vulns {
		if d := strings.TrimSpace(v.GetDetails()); d != "" {
			line, _, _ := strings.Cut(d, "\n")
			if len(line) > 120 {
				line = line[:117] + "..."
			}
			return line
		}
	}
	return id
}

// vectorsOf collects the CVSS vectors of the advisories, top-level and on
// the affected entry of this package. Invalid ones are left out, with a note.
func vectorsOf(vulns []*osvschema.Vulnerability, pkg packageInfo) (vectors, notes []string) {
	add := func(id string, sevs []*osvschema.Severity) {
		for _, s := range sevs {
			switch s.GetType() {
			case osvschema.Severity_CVSS_V2, osvschema.Severity_CVSS_V3, osvschema.Severity_CVSS_V4:
			default:
				continue
			}
			if _, err := policy.ScoreVector(s.GetScore()); err != nil {
				notes = append(notes, fmt.Sprintf("%s: ignoring an invalid vector: %v", id, err))
				continue
			}
			vectors = append(vectors, s.GetScore())
		}
	}
	for _, v := range vulns {
		add(v.GetId(), v.GetSeverity())
		for _, a := range v.GetAffected() {
			if affects(a, pkg) {
				add(v.GetId(), a.GetSeverity())
			}
		}
	}
	return vectors, notes
}

func affects(a *osvschema.Affected, pkg packageInfo) bool {
	p := a.GetPackage()
	return p != nil && p.GetName() == pkg.Name && baseEcosystem(p.GetEcosystem()) == baseEcosystem(pkg.Ecosystem)
}

func wordsOf(vulns []*osvschema.Vulnerability) []string {
	var words []string
	for _, v := range vulns {
		if ds := v.GetDatabaseSpecific(); ds != nil {
			if w, ok := ds.GetFields()["severity"]; ok {
				words = append(words, w.GetStringValue())
			}
		}
	}
	return words
}

// fixLine says what to upgrade to: the fixed version of the range that
// contains the installed version, else the lowest fix above it.
func fixLine(pkg packageInfo, vulns []*osvschema.Vulnerability) string {
	eco := baseEcosystem(pkg.Ecosystem)
	cur, err := semantic.Parse(pkg.Version, eco)
	var fixes []string
	for _, v := range vulns {
		for _, a := range v.GetAffected() {
			if !affects(a, pkg) {
				continue
			}
			for _, r := range a.GetRanges() {
				if r.GetType() == osvschema.Range_GIT {
					continue
				}
				introduced := "0"
				for _, e := range r.GetEvents() {
					if e.GetIntroduced() != "" {
						introduced = e.GetIntroduced()
					}
					fixed := e.GetFixed()
					if fixed == "" {
						continue
					}
					if err != nil {
						fixes = appendUnique(fixes, fixed)
						continue
					}
					above, err1 := cur.CompareStr(fixed)
					from, err2 := cur.CompareStr(introduced)
					if err1 == nil && above < 0 && (introduced == "0" || err2 == nil && from >= 0) {
						fixes = appendUnique(fixes, fixed)
					}
				}
			}
		}
	}
	if len(fixes) == 0 {
		return fmt.Sprintf("no fixed version of %s is published: replace it, or record an exception with a reason and an expiry", pkg.Name)
	}
	// The highest fix needed by any advisory of the group.
	best := fixes[0]
	for _, f := range fixes[1:] {
		if v, err := semantic.Parse(best, eco); err == nil {
			if c, err := v.CompareStr(f); err == nil && c < 0 {
				best = f
			}
		}
	}
	return fmt.Sprintf("upgrade %s to %s", pkg.Name, best)
}

// fingerprint is a vulnerability's tracking key: advisory, ecosystem,
// package and manifest path, or the image and the path in it; never the
// version (policy.Fingerprint).
func fingerprint(f policy.Finding, image string) string {
	return policy.Fingerprint(policy.KindVulnerability, f.ID, baseEcosystem(f.Location.Ecosystem), f.Location.Package, f.Location.Path, image)
}
