package deps

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	cpb "github.com/google/osv-scalibr/binary/proto/config_go_proto"
	"github.com/google/osv-scalibr/extractor"
	"github.com/google/osv-scalibr/extractor/filesystem"
	"github.com/google/osv-scalibr/extractor/filesystem/language/cpp/conanlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/dart/pubspec"
	"github.com/google/osv-scalibr/extractor/filesystem/language/dotnet/csproj"
	"github.com/google/osv-scalibr/extractor/filesystem/language/dotnet/depsjson"
	"github.com/google/osv-scalibr/extractor/filesystem/language/dotnet/nugetcpm"
	"github.com/google/osv-scalibr/extractor/filesystem/language/dotnet/packagesconfig"
	"github.com/google/osv-scalibr/extractor/filesystem/language/dotnet/packageslockjson"
	"github.com/google/osv-scalibr/extractor/filesystem/language/erlang/mixlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/golang/gobinary"
	"github.com/google/osv-scalibr/extractor/filesystem/language/golang/gomod"
	"github.com/google/osv-scalibr/extractor/filesystem/language/haskell/cabal"
	"github.com/google/osv-scalibr/extractor/filesystem/language/haskell/stacklock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/java/archive"
	"github.com/google/osv-scalibr/extractor/filesystem/language/java/gradlelockfile"
	"github.com/google/osv-scalibr/extractor/filesystem/language/java/gradleverificationmetadataxml"
	"github.com/google/osv-scalibr/extractor/filesystem/language/java/pomxml"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/bunlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/packagelockjson"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/pnpmlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/yarnlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/php/composerlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/pdmlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/pipfilelock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/poetrylock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/pylock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/requirements"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/uvlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/wheelegg"
	"github.com/google/osv-scalibr/extractor/filesystem/language/r/renvlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/ruby/gemfilelock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/rust/cargoauditable"
	"github.com/google/osv-scalibr/extractor/filesystem/language/rust/cargolock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/swift/packageresolved"
	"github.com/google/osv-scalibr/extractor/filesystem/os/apk"
	"github.com/google/osv-scalibr/extractor/filesystem/os/chisel"
	"github.com/google/osv-scalibr/extractor/filesystem/os/dpkg"
	"github.com/google/osv-scalibr/extractor/filesystem/os/homebrew"
	"github.com/google/osv-scalibr/extractor/filesystem/sbom/cdx"
	"github.com/google/osv-scalibr/extractor/filesystem/sbom/spdx"
	"github.com/google/osv-scalibr/inventory"
	"github.com/google/osv-scalibr/plugin"
)

// extractorKind says where an extractor runs and what its packages are.
type extractorKind int

const (
	lockfileKind extractorKind = 1 << iota // a lockfile or manifest of a tree (and of an image)
	sbomKind                               // an SBOM in a tree
	osKind                                 // an OS package database: in a tree (strict paths) and an image
	artifactKind                           // an installed artifact in an image
)

const (
	forSource = lockfileKind | sbomKind | osKind
	forImage  = osKind | artifactKind
)

// extractors is every osv-scalibr extractor the gate runs, chosen by name
// in this one list: osv-scanner v2.5.0's "lockfile", "sbom" and
// "artifact" presets, which is what it ran for secgate's options. Each is
// a package imported by name; the registries that list every plugin
// (extractor/filesystem/list, enricher/enricherlist, detector/list, the
// top-level scalibr package) are not linked (gate/depcheck_test.go).
// Left out, as osv-scanner left them out for these options: rpm (not in
// its presets), the transitive-dependency enrichers (transitive scanning
// is off), the git-repository extractor. Left out although osv-scanner ran
// them (they are osv-scanner internals, not osv-scalibr packages): its
// reader of osv-scanner-custom.json files, and with the OSV API its
// vendored C/C++ detector (TestEnginesDifferOn... hold both differences).
var extractors = []struct {
	name string
	new  func(*cpb.PluginConfig) (filesystem.Extractor, error)
	kind extractorKind
}{
	{conanlock.Name, conanlock.New, lockfileKind},
	{mixlock.Name, mixlock.New, lockfileKind},
	{pubspec.Name, pubspec.New, lockfileKind},
	{gomod.Name, gomod.New, lockfileKind},
	{gradlelockfile.Name, gradlelockfile.New, lockfileKind},
	{gradleverificationmetadataxml.Name, gradleverificationmetadataxml.New, lockfileKind},
	{pomxml.Name, pomxml.New, lockfileKind},
	{packagelockjson.Name, packagelockjson.New, lockfileKind},
	{pnpmlock.Name, pnpmlock.New, lockfileKind},
	{yarnlock.Name, yarnlock.New, lockfileKind},
	{bunlock.Name, bunlock.New, lockfileKind},
	{composerlock.Name, composerlock.New, lockfileKind},
	{pipfilelock.Name, pipfilelock.New, lockfileKind},
	{pdmlock.Name, pdmlock.New, lockfileKind},
	{poetrylock.Name, poetrylock.New, lockfileKind},
	{pylock.Name, pylock.New, lockfileKind},
	{requirements.Name, requirements.New, lockfileKind},
	{uvlock.Name, uvlock.New, lockfileKind},
	{renvlock.Name, renvlock.New, lockfileKind},
	{gemfilelock.Name, gemfilelock.New, lockfileKind},
	{packageresolved.Name, packageresolved.New, lockfileKind},
	{cargolock.Name, cargolock.New, lockfileKind},
	{csproj.Name, csproj.New, lockfileKind},
	{depsjson.Name, depsjson.New, lockfileKind},
	{nugetcpm.Name, nugetcpm.New, lockfileKind},
	{packagesconfig.Name, packagesconfig.New, lockfileKind},
	{packageslockjson.Name, packageslockjson.New, lockfileKind},
	{cabal.Name, cabal.New, lockfileKind},
	{stacklock.Name, stacklock.New, lockfileKind},
	{cdx.Name, cdx.New, sbomKind},
	{spdx.Name, spdx.New, sbomKind},
	{apk.Name, apk.New, osKind},
	{dpkg.Name, dpkg.New, osKind},
	{chisel.Name, chisel.New, artifactKind}, // images only, as in osv-scanner's presets
	{homebrew.Name, homebrew.New, artifactKind},
	{wheelegg.Name, wheelegg.New, artifactKind},
	{archive.Name, archive.New, artifactKind},
	{gobinary.Name, gobinary.New, artifactKind},
	{nodeModulesName, newNodeModules, artifactKind},
	{cargoauditable.Name, cargoauditable.New, artifactKind},
}

// newExtractors makes a fresh instance of every extractor of the kinds
// (extractors keep state per scan).
func newExtractors(cfg *cpb.PluginConfig, kinds extractorKind) ([]filesystem.Extractor, error) {
	var out []filesystem.Extractor
	for _, e := range extractors {
		if e.kind&kinds == 0 {
			continue
		}
		x, err := e.new(cfg)
		if err != nil {
			return nil, fmt.Errorf("osv-scalibr extractor %s: %w", e.name, err)
		}
		out = append(out, x)
	}
	return out, nil
}

// sourceTypeOf is what osv-scanner calls the source of a package, from the
// extractor that read it.
func sourceTypeOf(p *extractor.Package) sourceKind {
	for _, name := range p.Plugins {
		if strings.HasPrefix(name, "os/") {
			return sourceOSPackage
		}
		for _, e := range extractors {
			if e.name != name {
				continue
			}
			switch {
			case e.kind&sbomKind != 0:
				return sourceSBOM
			case e.kind&artifactKind != 0:
				return sourceArtifact
			case e.kind&lockfileKind != 0:
				return sourceLockfile
			}
		}
	}
	return sourceUnknown
}

// nodeModulesName is osv-scanner's extractor of node_modules/.package-lock.json
// (npm's hidden lockfile of what is installed), which is osv-scalibr's
// package-lock.json reader on another name.
const nodeModulesName = "javascript/nodemodules"

type nodeModules struct{ packagelockjson.Extractor }

func newNodeModules(*cpb.PluginConfig) (filesystem.Extractor, error) { return &nodeModules{}, nil }

func (nodeModules) Name() string                       { return nodeModulesName }
func (nodeModules) Version() int                       { return 0 }
func (nodeModules) Requirements() *plugin.Capabilities { return &plugin.Capabilities{} }
func (nodeModules) FileRequired(api filesystem.FileAPI) bool {
	return filepath.Base(filepath.Dir(api.Path())) == "node_modules" && filepath.Base(api.Path()) == ".package-lock.json"
}
func (n *nodeModules) Extract(ctx context.Context, in *filesystem.ScanInput) (inventory.Inventory, error) {
	return n.Extractor.Extract(ctx, in)
}
