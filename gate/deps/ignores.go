package deps

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/secgate/secgate/gate/repo"
	"github.com/secgate/secgate/policy"
)

// ConfigFile is osv-scanner's own configuration, read from the directory of
// each lockfile, as osv-scanner does.
const ConfigFile = "osv-scanner.toml"

// osvConfig is the part of osv-scanner.toml that ignores findings.
type osvConfig struct {
	IgnoredVulns []struct {
		ID          string    `toml:"id"`
		IgnoreUntil time.Time `toml:"ignoreUntil"`
		Reason      string    `toml:"reason"`
	} `toml:"IgnoredVulns"`
	PackageOverrides []struct {
		Name          string `toml:"name"`
		Version       string `toml:"version"`
		Ecosystem     string `toml:"ecosystem"`
		Group         string `toml:"group"`
		NameIsRegex   bool   `toml:"nameIsRegex"`
		Ignore        bool   `toml:"ignore"`
		Vulnerability struct {
			Ignore bool `toml:"ignore"`
		} `toml:"vulnerability"`
		License        toml.Primitive `toml:"license"`
		EffectiveUntil time.Time      `toml:"effectiveUntil"`
		Reason         string         `toml:"reason"`
	} `toml:"PackageOverrides"`
	GoVersionOverride string `toml:"GoVersionOverride"`
	ScanGoModVersion  bool   `toml:"ScanGoModVersion"`
}

// ignoreFiles loads osv-scanner.toml files on demand, one per directory:
// from the working tree, or from revision rev (a pull/merge request's
// base: the change cannot add an ignore for its own findings).
type ignoreFiles struct {
	ctx       context.Context
	root, rev string
	now       time.Time
	cache     map[string]*osvConfig
}

func newIgnoreFiles(ctx context.Context, root, rev string, now time.Time) *ignoreFiles {
	if now.IsZero() {
		now = time.Now()
	}
	return &ignoreFiles{ctx: ctx, root: root, rev: rev, now: now, cache: map[string]*osvConfig{}}
}

// ignoreFileAt is where the osv-scanner.toml of the lockfile directory dir
// is read (ReadFile's root, revision and slash-separated path): in the
// scanned tree root, at revision rev (a pull/merge request's base); for a
// --lockfile beside the tree but in its git repository (a monorepo), the
// repository's file all the same, at rev: the change under review can
// edit it; only beside a lockfile outside the repository, the file as it
// is.
func ignoreFileAt(root, rev, dir string) (at, atRev, rel string) {
	p := filepath.Join(dir, ConfigFile)
	if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
		return root, rev, filepath.ToSlash(r)
	}
	if top, r, ok := repo.Locate(root, p); ok {
		return top, rev, r
	}
	return dir, "", ConfigFile
}

func (ig *ignoreFiles) load(dir string) (*osvConfig, error) {
	if c, ok := ig.cache[dir]; ok {
		return c, nil
	}
	root, rev, rel := ignoreFileAt(ig.root, ig.rev, dir)
	path := filepath.Join(dir, ConfigFile)
	if rev != "" {
		path = fmt.Sprintf("%s (at base revision %s)", path, rev)
	}
	data, ok, err := repo.ReadFile(ig.ctx, root, rev, rel)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: %w", path, err)
	case !ok:
		ig.cache[dir] = nil
		return nil, nil
	}
	var c osvConfig
	md, err := toml.Decode(string(data), &c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		return nil, fmt.Errorf("%s: unknown key %s", path, undecoded[0])
	}
	ig.cache[dir] = &c
	return &c, nil
}

// match applies the osv-scanner.toml next to lockfile to a finding:
// IgnoredVulns by id or alias (until ignoreUntil), and PackageOverrides
// that ignore a package or its vulnerabilities (until effectiveUntil).
func (ig *ignoreFiles) match(lockfile, root string, f policy.Finding, pv packageVulns) (*policy.Ignored, error) {
	pkg := pv.Package
	c, err := ig.load(filepath.Dir(lockfile))
	if c == nil || err != nil {
		return nil, err
	}
	source := relPath(root, filepath.Join(filepath.Dir(lockfile), ConfigFile))
	active := func(until time.Time) bool { return until.IsZero() || ig.now.Before(until) }
	date := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format(time.DateOnly)
	}
	keys := f.Keys()
	for _, iv := range c.IgnoredVulns {
		if slices.Contains(keys, iv.ID) && active(iv.IgnoreUntil) {
			return &policy.Ignored{Reason: cmp.Or(iv.Reason, "(no reason given)"), Expires: date(iv.IgnoreUntil), Source: source}, nil
		}
	}
	for _, po := range c.PackageOverrides {
		if !(po.Ignore || po.Vulnerability.Ignore) || !active(po.EffectiveUntil) {
			continue
		}
		if po.Name != "" {
			if po.NameIsRegex {
				re, err := regexp.Compile("^" + po.Name + "$")
				if err != nil {
					return nil, fmt.Errorf("%s: PackageOverrides name %q: %w", source, po.Name, err)
				}
				if !re.MatchString(pkg.Name) {
					continue
				}
			} else if po.Name != pkg.Name {
				continue
			}
		}
		if po.Version != "" && po.Version != pkg.Version {
			continue
		}
		if po.Ecosystem != "" && po.Ecosystem != pkg.Ecosystem && po.Ecosystem != baseEcosystem(pkg.Ecosystem) {
			continue
		}
		if po.Group != "" && !slices.Contains(pv.DepGroups, po.Group) {
			continue
		}
		return &policy.Ignored{Reason: cmp.Or(po.Reason, "(no reason given)"), Expires: date(po.EffectiveUntil), Source: source}, nil
	}
	return nil, nil
}
