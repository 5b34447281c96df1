package deps

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/secgate/secgate/gate/repo"
)

// Equivalent spellings of a version. osv-scalibr's local matcher (the
// osvlocal enricher of osv-scalibr v0.4.6-0.20260727075515-eb1ca153f805,
// which osv-scanner v2.5.0 uses) compares a package version with an
// advisory's explicit `versions` list as strings, and stops reading an
// affected entry's ranges at its first GIT range — pypa's PYSEC records list
// one first —, so for those records the list is all that matches:
// `urllib3==v2.0.4`, which pip installs as 2.0.4, misses PYSEC-2023-192
// (TestEquivalentVersions reproduces it). The package versions are
// normalised here, before matching, and the normal spellings matched by the
// library again (its osv-scanner-custom.json input); the advisories are
// left as published.
//
// Per ecosystem: PyPI follows PEP 440 (a leading v, leading zeros, case,
// separators, and release segments equal up to trailing zeros); npm drops
// what its semver.clean drops (a v or = prefix, build metadata). Maven is left alone: a
// repository resolves a version by its exact (case-sensitive) path, so a
// qualifier spelt in another case is not what gets installed, and its ranges
// already compare qualifiers without case.
func equivalents(ecosystem, version string) []string {
	var out []string
	switch baseEcosystem(ecosystem) {
	case "PyPI":
		out = pep440Spellings(version)
	case "npm":
		// semver.clean: surrounding blanks, leading = and v, build metadata.
		v := strings.TrimLeft(strings.TrimSpace(version), "=v \t")
		v, _, _ = strings.Cut(v, "+")
		if v != "" {
			out = []string{v}
		}
	}
	return slices.DeleteFunc(out, func(s string) bool { return s == version })
}

// pep440 is PEP 440's version pattern (its appendix B), case-insensitive.
var pep440 = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)^\s*v?(?:(?P<epoch>[0-9]+)!)?(?P<release>[0-9]+(?:\.[0-9]+)*)` +
		`(?P<pre>[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?` +
		`(?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?))?` +
		`(?P<dev>[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?` +
		`(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$`)
})

// pep440Spellings returns the normal form of a PEP 440 version with its
// release written with as few trailing zeros as it can have and with up to
// max(3, its own length) segments: 1.24.1.0, 01.24.01 and v1.24.1 give
// 1.24.1 and 1.24.1.0, all the same version to pip. Not a PEP 440
// version: none.
func pep440Spellings(v string) []string {
	re := pep440()
	m := re.FindStringSubmatch(v)
	if m == nil {
		return nil
	}
	g := func(name string) string { return m[re.SubexpIndex(name)] }
	num := func(s string) string {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return strings.TrimLeft(s, "0") // longer than 64 bits: still digits
		}
		return strconv.FormatUint(n, 10)
	}
	var rest strings.Builder
	if g("pre") != "" {
		l := strings.ToLower(g("pre_l"))
		switch l {
		case "alpha":
			l = "a"
		case "beta":
			l = "b"
		case "c", "pre", "preview":
			l = "rc"
		}
		rest.WriteString(l + num(cmpOr(g("pre_n"), "0")))
	}
	if g("post") != "" {
		rest.WriteString(".post" + num(cmpOr(g("post_n1"), g("post_n2"), "0")))
	}
	if g("dev") != "" {
		rest.WriteString(".dev" + num(cmpOr(g("dev_n"), "0")))
	}
	if local := g("local"); local != "" {
		parts := strings.FieldsFunc(strings.ToLower(local), func(r rune) bool { return r == '-' || r == '_' || r == '.' })
		for i, p := range parts {
			if strings.Trim(p, "0123456789") == "" {
				parts[i] = num(p)
			}
		}
		rest.WriteString("+" + strings.Join(parts, "."))
	}
	prefix := ""
	if e := g("epoch"); e != "" && num(e) != "0" {
		prefix = num(e) + "!"
	}
	release := strings.Split(g("release"), ".")
	for i, r := range release {
		release[i] = num(r)
	}
	n := len(release)
	for n > 1 && release[n-1] == "0" {
		n--
	}
	var out []string
	for l := n; l <= max(3, len(release)); l++ {
		segs := slices.Clone(release[:min(l, len(release))])
		for len(segs) < l {
			segs = append(segs, "0")
		}
		out = append(out, prefix+strings.Join(segs, ".")+rest.String())
	}
	return out
}

func cmpOr(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// errNoScratch: matchEquivalents had nowhere to write the library's input.
var errNoScratch = errors.New("equivalent version spellings not matched")

// matchEquivalents matches the equivalent spellings of every package
// version of res that has some (equivalents), through the library with the
// same data source and the same fail-closed checks as the scan, and adds
// what they match to the package as it is written in its lockfile.
func (s *Scanner) matchEquivalents(ctx context.Context, opts Options, root string, res *vulnResults) error {
	type ref struct{ src, pkg int }
	type spelling struct{ eco, name, version string }
	refs := map[spelling][]ref{}
	var pkgs []packageInfo
	for i, src := range res.Results {
		for j, pv := range src.Packages {
			for _, v := range equivalents(pv.Package.Ecosystem, pv.Package.Version) {
				key := spelling{pv.Package.Ecosystem, pv.Package.Name, v}
				if _, seen := refs[key]; !seen {
					pkgs = append(pkgs, packageInfo{Name: key.name, Version: key.version, Ecosystem: key.eco})
				}
				refs[key] = append(refs[key], ref{i, j})
			}
		}
	}
	if len(refs) == 0 {
		return nil
	}
	actions, tr, err := newActions(opts)
	if err != nil {
		return err
	}
	got, logs, err := runLibrary(ctx, opts.Logger, func(e engine) (vulnResults, error) {
		return e.match(ctx, actions, pkgs, repo.GitDir(root))
	})
	if errors.Is(err, errNoScratch) {
		return err
	}
	if err != nil {
		return fmt.Errorf("osv-scalibr (%s), matching equivalent versions: %w", opts.Source(), err)
	}
	if err := tr.failure(); err != nil {
		return err
	}
	if err := checkLogs(root, logs, opts, nil); err != nil {
		return err
	}
	for _, src := range got.Results {
		for _, pv := range src.Packages {
			for _, r := range refs[spelling{pv.Package.Ecosystem, pv.Package.Name, pv.Package.Version}] {
				mergeVulns(&res.Results[r.src].Packages[r.pkg], pv)
			}
		}
	}
	return nil
}

// mergeVulns adds to dst the advisories of from it does not have, and the
// groups of from that share no id with a group of dst.
func mergeVulns(dst *packageVulns, from packageVulns) {
	have := map[string]bool{}
	for _, v := range dst.Vulnerabilities {
		have[v.GetId()] = true
	}
	for _, v := range from.Vulnerabilities {
		if !have[v.GetId()] {
			have[v.GetId()] = true
			dst.Vulnerabilities = append(dst.Vulnerabilities, v)
		}
	}
	grouped := map[string]bool{}
	for _, g := range dst.Groups {
		for _, id := range g.IDs {
			grouped[id] = true
		}
	}
	for _, g := range from.Groups {
		if !slices.ContainsFunc(g.IDs, func(id string) bool { return grouped[id] }) {
			dst.Groups = append(dst.Groups, g)
			for _, id := range g.IDs {
				grouped[id] = true
			}
		}
	}
}
