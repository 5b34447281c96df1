//go:build osvscanner

package deps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/osv-scanner/v2/pkg/models"
	"github.com/google/osv-scanner/v2/pkg/osvscanner"

	"github.com/secgate/secgate/internal/scratch"
)

// osvScannerEngine runs osv-scanner v2.5.0's DoScan and DoContainerScan:
// the engine the gate's guarantees were first written against, kept in the
// tests only as the reference TestEnginesAgree compares scalibrEngine with
// (the secgate binary does not link osv-scanner's scanner and its plugin
// registries; the test binary does).
type osvScannerEngine struct{}

func (osvScannerEngine) actions(a scanActions) osvscanner.ScannerActions {
	out := osvscanner.ScannerActions{
		DirectoryPaths: a.DirectoryPaths,
		LockfilePaths:  a.LockfilePaths,
		Recursive:      true,
		// osv-scanner scans from the filesystem root and applies the
		// .gitignore files of every directory above the tree too: the
		// tree's own rules are applied by the caller instead.
		NoIgnore:        true,
		ShowAllPackages: true,
		// osv-scanner applies osv-scanner.toml ignores by dropping findings
		// silently. An empty override config turns that off: secgate applies
		// them itself, where they stay visible in the report. The empty file
		// is the null device (an empty TOML document): a file written to
		// TMPDIR stopped every scan on a read-only root filesystem.
		ConfigOverridePath: os.DevNull,
		ExperimentalScannerActions: osvscanner.ExperimentalScannerActions{
			ExcludePatterns:    a.ExcludePatterns,
			TransitiveScanning: osvscanner.TransitiveScanningActions{Disabled: true},
			HTTPClient:         a.HTTPClient,
			RequestUserAgent:   a.RequestUserAgent,
		},
	}
	if a.CompareOffline {
		// Without PluginNetworkDisabled osv-scanner v2.5.0 filters the
		// offline matcher out as a network plugin, and the scan finds
		// nothing (TestOfflineScanFindsKnownAdvisories would find nothing).
		out.CompareOffline, out.LocalDBPath = true, a.LocalDBPath
		out.DownloadDatabases, out.PluginNetworkDisabled = a.DownloadDatabases, !a.DownloadDatabases
	}
	if a.Image != "" {
		out.Image, out.IsImageArchive = a.Image, true
	}
	return out
}

// result drops osv-scanner's ErrVulnerabilitiesFound (an answer, not an
// error), names its ErrNoPackagesFound as ours, and copies its results
// into the gate's types field by field.
func (osvScannerEngine) result(res models.VulnerabilityResults, err error) (vulnResults, error) {
	switch {
	case errors.Is(err, osvscanner.ErrVulnerabilitiesFound):
		err = nil
	case errors.Is(err, osvscanner.ErrNoPackagesFound):
		err = errNoPackagesFound
	}
	var out vulnResults
	if m := res.ImageMetadata; m != nil {
		out.ImageMetadata = &imageMetadata{OS: m.OS}
		for _, l := range m.LayerMetadata {
			out.ImageMetadata.LayerMetadata = append(out.ImageMetadata.LayerMetadata, layerMetadata{DiffID: string(l.DiffID), Command: l.Command, IsEmpty: l.IsEmpty, BaseImageIndex: l.BaseImageIndex})
		}
	}
	for _, src := range res.Results {
		ps := packageSource{Source: sourceInfo{Path: src.Source.Path, Type: sourceKind(src.Source.Type)}}
		for _, pv := range src.Packages {
			p := pv.Package
			out := packageVulns{
				Package: packageInfo{Name: p.Name, OSPackageName: p.OSPackageName, Version: p.Version, Ecosystem: p.Ecosystem,
					Commit: p.Commit, Deprecated: p.Deprecated, Inventory: p.Inventory},
				DepGroups: pv.DepGroups, Vulnerabilities: pv.Vulnerabilities,
			}
			if p.ImageOrigin != nil {
				out.Package.ImageOrigin = &imageOrigin{Index: p.ImageOrigin.Index}
			}
			for _, g := range pv.Groups {
				out.Groups = append(out.Groups, groupInfo{IDs: g.IDs, Aliases: g.Aliases})
			}
			ps.Packages = append(ps.Packages, out)
		}
		out.Results = append(out.Results, ps)
	}
	return out, err
}

func (e osvScannerEngine) scan(_ context.Context, a scanActions) (vulnResults, error) {
	return e.result(osvscanner.DoScan(e.actions(a)))
}

func (e osvScannerEngine) scanImage(_ context.Context, a scanActions) (vulnResults, error) {
	return e.result(osvscanner.DoContainerScan(e.actions(a)))
}

// match writes the packages as osv-scanner's custom input file and scans it.
func (e osvScannerEngine) match(_ context.Context, a scanActions, pkgs []packageInfo, scratchIn string) (vulnResults, error) {
	synth := models.PackageSource{Source: models.SourceInfo{Path: "equivalent versions", Type: models.SourceTypeProjectPackage}}
	for _, p := range pkgs {
		synth.Packages = append(synth.Packages, models.PackageVulns{Package: models.PackageInfo{Name: p.Name, Version: p.Version, Ecosystem: p.Ecosystem}})
	}
	dir, cleanup, err := scratch.Dir("matching equivalent spellings of versions", "secgate-versions-", scratchIn)
	if err != nil {
		return vulnResults{}, fmt.Errorf("%w: versions matched only as the lockfiles spell them (%d packages have other spellings pip or npm install alike): %w", errNoScratch, len(pkgs), err)
	}
	defer cleanup()
	// The name is the one osv-scanner's custom input extractor requires.
	file := filepath.Join(dir, "osv-scanner-custom.json")
	b, err := json.Marshal(models.VulnerabilityResults{Results: []models.PackageSource{synth}})
	if err != nil {
		return vulnResults{}, err
	}
	if err := writeFile(file, b); err != nil {
		return vulnResults{}, err
	}
	a.DirectoryPaths, a.LockfilePaths = nil, []string{file}
	return e.scan(context.Background(), a)
}

func (osvScannerEngine) setLogger(h slog.Handler) { osvscanner.SetLogger(h) }

// referenceEngine is osv-scanner's engine: the build has it (-tags
// osvscanner; engine_noreference_test.go is the build without).
func referenceEngine(testing.TB) engine { return osvScannerEngine{} }

// haveReference: the reference engine is in this build.
const haveReference = true
