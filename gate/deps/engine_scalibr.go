package deps

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	cpb "github.com/google/osv-scalibr/binary/proto/config_go_proto"
	"github.com/google/osv-scalibr/enricher"
	"github.com/google/osv-scalibr/enricher/vulnmatch/osvdev"
	"github.com/google/osv-scalibr/enricher/vulnmatch/osvlocal"
	"github.com/google/osv-scalibr/extractor"
	"github.com/google/osv-scalibr/extractor/filesystem"
	"github.com/google/osv-scalibr/extractor/filesystem/language/golang/gomod"
	archivemeta "github.com/google/osv-scalibr/extractor/filesystem/language/java/archive/metadata"
	apkmeta "github.com/google/osv-scalibr/extractor/filesystem/os/apk/metadata"
	dpkgmeta "github.com/google/osv-scalibr/extractor/filesystem/os/dpkg/metadata"
	scalibrosv "github.com/google/osv-scalibr/extractor/filesystem/osv"
	"github.com/google/osv-scalibr/extractor/filesystem/sbom/cdx"
	cdxmeta "github.com/google/osv-scalibr/extractor/filesystem/sbom/cdx/metadata"
	scalibrfs "github.com/google/osv-scalibr/fs"
	"github.com/google/osv-scalibr/inventory"
	scalibrlog "github.com/google/osv-scalibr/log"
	"github.com/google/osv-scalibr/plugin"
	"github.com/google/osv-scalibr/plugin/config"
	"github.com/google/osv-scalibr/stats"
	"github.com/ossf/osv-schema/bindings/go/osvschema"
	"google.golang.org/grpc"
)

// scalibrEngine drives osv-scalibr's extractors (extractors.go) and its
// vulnmatch enrichers (osvlocal: the offline zips; osvdev: the OSV API)
// directly, doing what osv-scanner v2.5.0's DoScan and DoContainerScan do
// around them for the options secgate sets: the walk from the filesystem
// root, the scannable-package filter, deduplication, the Go toolchain
// version left out of go.mod, per-lockfile results with alias groups, and
// for images the layer that brought each package in. What osv-scanner
// only logs it logs with the same words, so checkLogs reads both engines.
type scalibrEngine struct{}

// errExtractorNotFound is osv-scanner's message for a file given by path
// that no extractor reads.
var errExtractorNotFound = errors.New("could not determine extractor suitable to this file")

func (scalibrEngine) setLogger(h slog.Handler) { scalibrlog.SetLogger(slogAdapter{slog.New(h)}) }

// slogAdapter is osv-scalibr's logger interface on a slog.Logger.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Errorf(format string, args ...any) { a.l.Error(fmt.Sprintf(format, args...)) }
func (a slogAdapter) Warnf(format string, args ...any)  { a.l.Warn(fmt.Sprintf(format, args...)) }
func (a slogAdapter) Infof(format string, args ...any)  { a.l.Info(fmt.Sprintf(format, args...)) }
func (a slogAdapter) Debugf(format string, args ...any) { a.l.Debug(fmt.Sprintf(format, args...)) }
func (a slogAdapter) Error(args ...any)                 { a.l.Error(fmt.Sprint(args...)) }
func (a slogAdapter) Warn(args ...any)                  { a.l.Warn(fmt.Sprint(args...)) }
func (a slogAdapter) Info(args ...any)                  { a.l.Info(fmt.Sprint(args...)) }
func (a slogAdapter) Debug(args ...any)                 { a.l.Debug(fmt.Sprint(args...)) }

// clients gives the matchers the scan's HTTP client (the recording
// transport); nothing here speaks gRPC or Google auth.
type clients struct{ http *http.Client }

func (c clients) HTTPClient() *http.Client { return c.http }
func (clients) GRPCClientConn(string, ...grpc.DialOption) (grpc.ClientConnInterface, error) {
	return nil, errors.New("secgate: no gRPC client")
}
func (clients) GoogleHTTPClient(context.Context, ...string) (*http.Client, error) {
	return nil, errors.New("secgate: no Google-authenticated client")
}

// protoConfig is the plugin configuration osv-scanner v2.5.0 builds for
// the same options.
func protoConfig(a scanActions) *cpb.PluginConfig {
	return &cpb.PluginConfig{
		UserAgent:         a.RequestUserAgent,
		DisableGoogleAuth: true,
		PluginSpecific: []*cpb.PluginSpecificConfig{
			{Config: &cpb.PluginSpecificConfig_Osvlocal{Osvlocal: &cpb.OSVLocalConfig{
				Download: a.DownloadDatabases, LocalPath: a.LocalDBPath, RemoteHost: DefaultDBURL,
			}}},
			{Config: &cpb.PluginSpecificConfig_Osvdev{Osvdev: &cpb.OSVDevConfig{InitialQueryTimeoutSeconds: 300}}},
		},
	}
}

// matcher is the enricher that matches packages against OSV data.
func matcher(a scanActions) (enricher.Enricher, error) {
	cfg := &config.PluginConfig{ClientFactories: clients{a.HTTPClient}, ProtoConfig: protoConfig(a)}
	if a.CompareOffline {
		return osvlocal.New(cfg)
	}
	return osvdev.New(cfg)
}

// extracted records every file an extractor ran on, to check that each
// file given by path was read.
type extracted struct {
	stats.NoopCollector
	files map[string]bool
}

func (c *extracted) AfterExtractorRun(_ string, s *stats.AfterExtractorStats) {
	c.files[filepath.Join(s.Root, filepath.FromSlash(s.Path))] = true
}

func (e scalibrEngine) scan(ctx context.Context, a scanActions) (vulnResults, error) {
	// osv-scanner walks from the filesystem root: the paths it reports are
	// relative to it, and a lockfile under a scanned directory is read once.
	var paths, specific []string
	add := func(p string) (string, error) {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("failed to resolve path: %w", err)
		}
		for _, d := range paths {
			if rel, err := filepath.Rel(d, abs); err == nil && !strings.HasPrefix(rel, "..") {
				return abs, nil
			}
		}
		paths = append(paths, abs)
		return abs, nil
	}
	for _, d := range a.DirectoryPaths {
		if _, err := add(d); err != nil {
			return vulnResults{}, err
		}
	}
	for _, l := range a.LockfilePaths {
		abs, err := add(l)
		if err != nil {
			return vulnResults{}, err
		}
		specific = append(specific, abs)
	}
	skip, err := skipRegex(a.ExcludePatterns)
	if err != nil {
		return vulnResults{}, err
	}
	exts, err := newExtractors(protoConfig(a), forSource)
	if err != nil {
		return vulnResults{}, err
	}
	seen := &extracted{files: map[string]bool{}}
	inv, statuses, err := filesystem.Run(ctx, &filesystem.Config{
		Extractors:     exts,
		ScanRoots:      scalibrfs.RealFSScanRoots("/"),
		PathsToExtract: paths,
		SkipDirRegex:   skip,
		Stats:          seen,
	})
	if err != nil {
		return vulnResults{}, err
	}
	if err := logStatuses(statuses, "/", specific); err != nil {
		return vulnResults{}, err
	}
	for _, p := range specific {
		if !seen.files[p] {
			return vulnResults{}, fmt.Errorf("%w: %q", errExtractorNotFound, p)
		}
	}
	pkgs := dedupPackages(inv.Packages)
	if len(pkgs) == 0 {
		return vulnResults{}, errNoPackagesFound
	}
	scannable, unscannable := splitScannable(pkgs, false)
	// go.mod's go directive is the minimum language version, not the
	// toolchain that builds: osv-scanner leaves it out (ScanGoModVersion).
	scannable = slices.DeleteFunc(scannable, func(p *extractor.Package) bool {
		return pkgName(p) == "stdlib" && p.Ecosystem().Ecosystem == "Go" && slices.Contains(p.Plugins, gomod.Name)
	})
	vulns, err := matchPackages(ctx, a, scannable)
	if err != nil {
		return vulnResults{}, err
	}
	return buildResults(append(scannable, unscannable...), vulns, nil), nil
}

// match matches packages given by ecosystem, name and version directly:
// no file is written.
func (e scalibrEngine) match(ctx context.Context, a scanActions, infos []packageInfo, _ string) (vulnResults, error) {
	var pkgs []*extractor.Package
	for _, p := range infos {
		t, ok := purlTypes[baseEcosystem(p.Ecosystem)]
		if !ok {
			return vulnResults{}, fmt.Errorf("matching %s %s: no package type for the %s ecosystem", p.Name, p.Version, p.Ecosystem)
		}
		pkgs = append(pkgs, &extractor.Package{Name: p.Name, Version: p.Version, PURLType: t})
	}
	vulns, err := matchPackages(ctx, a, pkgs)
	if err != nil {
		return vulnResults{}, err
	}
	res := buildResults(pkgs, vulns, nil)
	// One source, as osv-scanner reports its custom input file.
	out := packageSource{Source: sourceInfo{Path: "equivalent versions", Type: sourceLockfile}}
	for _, src := range res.Results {
		out.Packages = append(out.Packages, src.Packages...)
	}
	return vulnResults{Results: []packageSource{out}}, nil
}

// matchPackages runs the matcher. A matcher that fails is logged as
// osv-scanner logs it (the scan goes on with what it has; checkLogs and
// the transport turn it into an error).
func matchPackages(ctx context.Context, a scanActions, pkgs []*extractor.Package) ([]*inventory.PackageVuln, error) {
	if len(pkgs) == 0 {
		return nil, nil
	}
	m, err := matcher(a)
	if err != nil {
		return nil, err
	}
	inv := inventory.Inventory{Packages: pkgs}
	if err := m.Enrich(ctx, &enricher.ScanInput{}, &inv); err != nil {
		scalibrlog.Errorf("Error during extraction: (extracting as %s) %s", m.Name(), err)
	}
	return inv.PackageVulns, nil
}

// logStatuses logs each extractor's failures as osv-scanner does, and
// fails the scan when a file given by path is among them.
func logStatuses(statuses []*plugin.Status, root string, specific []string) error {
	for _, st := range statuses {
		if st.Status.Status == plugin.ScanStatusSucceeded {
			continue
		}
		var b strings.Builder
		critical := false
		for _, fe := range st.Status.FileErrors {
			if len(st.Status.FileErrors) > 1 {
				b.WriteString("\n\t")
			}
			fmt.Fprintf(&b, "%s: %s", fe.FilePath, fe.ErrorMessage)
			if slices.Contains(specific, filepath.Join(root, fe.FilePath)) {
				critical = true
			}
		}
		msg := st.Status.FailureReason
		if len(st.Status.FileErrors) > 0 {
			msg = b.String()
		}
		scalibrlog.Errorf("Error during extraction: (extracting as %s) %s", st.Name, msg)
		if critical {
			return errors.New(specifiedLockfileFailed)
		}
	}
	return nil
}

// skipRegex joins the r: patterns as osv-scanner does.
func skipRegex(patterns []string) (*regexp.Regexp, error) {
	var res []string
	for _, p := range patterns {
		re, ok := strings.CutPrefix(p, "r:")
		if !ok {
			return nil, fmt.Errorf("exclude pattern %q: only r: patterns reach the library", p)
		}
		res = append(res, re)
	}
	switch len(res) {
	case 0:
		return nil, nil
	case 1:
		return regexp.Compile(res[0])
	}
	return regexp.Compile("(" + strings.Join(res, "|") + ")")
}

// dedupPackages sorts and deduplicates as osv-scanner's scan does: one
// package per location, name, version, source and package URL.
func dedupPackages(pkgs []*extractor.Package) []*extractor.Package {
	pkgs = slices.Clone(pkgs)
	slices.SortFunc(pkgs, inventorySort)
	return slices.CompactFunc(pkgs, func(a, b *extractor.Package) bool { return inventorySort(a, b) == 0 })
}

func inventorySort(a, b *extractor.Package) int {
	purlOf := func(p *extractor.Package) string {
		if u := p.PURL(); u != nil {
			return u.String()
		}
		return ""
	}
	return cmp.Or(
		cmp.Compare(a.Location.PathOrEmpty(), b.Location.PathOrEmpty()),
		cmp.Compare(a.Name, b.Name),
		cmp.Compare(a.Version, b.Version),
		cmp.Compare(fmt.Sprintf("%v", a.SourceCode), fmt.Sprintf("%v", b.SourceCode)),
		cmp.Compare(purlOf(a), purlOf(b)),
	)
}

// splitScannable is osv-scanner's filter annotator: packages with no
// ecosystem, name or version (local paths, workspace members) or a short
// commit are not matched but still reported (ShowAllPackages); in an image
// the kernel package is dropped.
func splitScannable(pkgs []*extractor.Package, image bool) (scannable, unscannable []*extractor.Package) {
	for _, p := range pkgs {
		eco := p.Ecosystem()
		commit := ""
		if p.SourceCode != nil {
			commit = p.SourceCode.Commit
		}
		ok := !eco.IsEmpty() && pkgName(p) != "" && p.Version != "" || commit != ""
		switch {
		case !ok,
			eco.Ecosystem == "Maven" && pkgName(p) == "unknown",
			eco.GetValidity() != nil && !eco.IsEmpty(),
			commit != "" && len(commit) < 40:
			unscannable = append(unscannable, p)
		case image && pkgName(p) == "linux":
		default:
			scannable = append(scannable, p)
		}
	}
	slices.SortStableFunc(scannable, cmpPackages)
	return scannable, unscannable
}

// cmpPackages is osv-scalibr's package order (scalibr.CmpPackages, which
// is in the package that links every plugin).
func cmpPackages(a, b *extractor.Package) int {
	if r := cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version), cmp.Compare(len(a.Plugins), len(b.Plugins))); r != 0 {
		return r
	}
	for i := range a.Plugins {
		if r := cmp.Compare(a.Plugins[i], b.Plugins[i]); r != 0 {
			return r
		}
	}
	return 0
}

var pypiSeparators = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[-_.]+`) })

// pkgName is the name osv-scanner reports a package by.
func pkgName(p *extractor.Package) string {
	eco := p.Ecosystem()
	switch {
	case eco.Ecosystem == "Go" && p.Name == "go":
		return "stdlib"
	case eco.Ecosystem == "PyPI":
		return strings.ToLower(pypiSeparators().ReplaceAllLiteralString(p.Name, "-"))
	}
	switch m := p.Metadata.(type) {
	case *archivemeta.Metadata:
		if m.ArtifactID != "" && m.GroupID != "" {
			return m.GroupID + ":" + m.ArtifactID
		}
	case *dpkgmeta.Metadata:
		if m.SourceName != "" {
			return m.SourceName
		}
	case *apkmeta.Metadata:
		if m.OriginName != "" {
			return m.OriginName
		}
	}
	if eco.String() == "GIT" && p.SourceCode != nil && p.SourceCode.Repo != "" {
		return p.SourceCode.Repo
	}
	return p.Name
}

// pkgVersion is the version osv-scanner reports: a Go toolchain given as
// major.minor is every patch of it.
func pkgVersion(p *extractor.Package) string {
	if p.Ecosystem().Ecosystem == "Go" && pkgName(p) == "stdlib" {
		parts := strings.Split(strings.TrimPrefix(p.Version, "go"), ".")
		if len(parts) == 2 && isDigits(parts[0]) && isDigits(parts[1]) {
			return parts[0] + "." + parts[1] + ".99"
		}
	}
	return p.Version
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func osPackageName(p *extractor.Package) string {
	switch m := p.Metadata.(type) {
	case *apkmeta.Metadata:
		return m.PackageName
	case *dpkgmeta.Metadata:
		return m.PackageName
	}
	return ""
}

// buildResults groups the packages by the file they come from, each with
// its advisories in alias groups, as osv-scanner's results are.
func buildResults(pkgs []*extractor.Package, vulns []*inventory.PackageVuln, meta *imageMetadata) vulnResults {
	out := vulnResults{Results: []packageSource{}, ImageMetadata: meta}
	byPkg := map[*extractor.Package][]*osvschema.Vulnerability{}
	for _, v := range vulns {
		if !slices.ContainsFunc(byPkg[v.Package], func(x *osvschema.Vulnerability) bool { return x.GetId() == v.Vulnerability.GetId() }) {
			byPkg[v.Package] = append(byPkg[v.Package], v.Vulnerability)
		}
	}
	bySource := map[sourceInfo]int{}
	for _, p := range pkgs {
		pv := packageVulns{Package: packageInfo{
			Name: pkgName(p), Version: pkgVersion(p), Ecosystem: p.Ecosystem().String(),
			OSPackageName: osPackageName(p), Deprecated: p.Deprecated, Inventory: p,
		}}
		if p.SourceCode != nil && p.SourceCode.Commit != "" {
			pv.Package.Commit = p.SourceCode.Commit
		}
		if p.LayerMetadata != nil {
			pv.Package.ImageOrigin = &imageOrigin{Index: p.LayerMetadata.Index}
		}
		pv.DepGroups = []string{}
		if dg, ok := p.Metadata.(scalibrosv.DepGroups); ok {
			pv.DepGroups = dg.DepGroups()
		}
		pv.Vulnerabilities = byPkg[p]
		pv.Groups = groupAliases(pv.Vulnerabilities)
		root := cmp.Or(p.ScanRoot, "/")
		src := sourceInfo{Path: filepath.ToSlash(filepath.Join(root, p.Location.PathOrEmpty())), Type: sourceTypeOf(p)}
		if slices.Contains(p.Plugins, cdx.Name) {
			if m, ok := p.Metadata.(*cdxmeta.Metadata); ok && len(m.CDXLocations) > 0 {
				src.Path += ":" + m.CDXLocations[0]
			}
		}
		i, ok := bySource[src]
		if !ok {
			i = len(out.Results)
			bySource[src] = i
			out.Results = append(out.Results, packageSource{Source: src})
		}
		out.Results[i].Packages = append(out.Results[i].Packages, pv)
	}
	sort.SliceStable(out.Results, func(i, j int) bool {
		a, b := out.Results[i].Source, out.Results[j].Source
		if a.Path == b.Path {
			return a.Type < b.Type
		}
		return a.Path < b.Path
	})
	return out
}

// groupAliases groups advisories that name each other, as osv-scanner's
// grouper does (in its order, with its pairwise merge).
func groupAliases(vulns []*osvschema.Vulnerability) []groupInfo {
	type idAliases struct {
		id      string
		aliases []string
	}
	sorted := slices.Clone(vulns)
	slices.SortFunc(sorted, func(a, b *osvschema.Vulnerability) int {
		return cmp.Or(-cmp.Compare(len(a.GetUpstream()), len(b.GetUpstream())), idOrder(a.GetId(), b.GetId()))
	})
	list := make([]idAliases, 0, len(sorted))
	for _, v := range sorted {
		ia := idAliases{id: v.GetId(), aliases: slices.Concat(v.GetAliases(), v.GetUpstream())}
		if strings.Split(v.GetId(), "-")[0] == "USN" {
			ia.aliases = append(ia.aliases, v.GetRelated()...)
		}
		list = append(list, ia)
	}
	intersect := func(a, b idAliases) bool {
		for _, x := range a.aliases {
			if slices.Contains(b.aliases, x) {
				return true
			}
		}
		return slices.Contains(a.aliases, b.id) || slices.Contains(b.aliases, a.id)
	}
	groups := make([]int, len(list))
	for i := range list {
		groups[i] = i
	}
	for i := range list {
		for j := i + 1; j < len(list); j++ {
			if intersect(list[i], list[j]) {
				groups[i] = min(groups[i], groups[j])
				groups[j] = groups[i]
			}
		}
	}
	ids, aliases := map[int][]string{}, map[int][]string{}
	for i, g := range groups {
		ids[g] = append(ids[g], list[i].id)
		aliases[g] = append(aliases[g], list[i].aliases...)
	}
	keys := make([]int, 0, len(ids))
	for k := range ids {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	out := make([]groupInfo, 0, len(keys))
	for _, k := range keys {
		slices.SortFunc(ids[k], idOrder)
		all := append(aliases[k], ids[k]...)
		sort.Strings(all)
		out = append(out, groupInfo{IDs: ids[k], Aliases: slices.Compact(all)})
	}
	return out
}

// idOrder is osv-scanner's advisory id order: DSA and USN first, then CVE,
// then others, then GHSA; by id within a prefix.
func idOrder(a, b string) int {
	rank := func(id string) int {
		switch strings.Split(id, "-")[0] {
		case "DSA", "USN":
			return 3
		case "CVE":
			return 2
		case "GHSA":
			return 0
		}
		return 1
	}
	return cmp.Or(-cmp.Compare(rank(a), rank(b)), strings.Compare(a, b))
}
