package deps

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/google/osv-scalibr/extractor"
	"github.com/google/osv-scalibr/extractor/filesystem"
	"github.com/google/osv-scalibr/extractor/filesystem/os/osrelease"
	scalibrfs "github.com/google/osv-scalibr/fs"
	"github.com/google/osv-scalibr/stats"

	"github.com/secgate/secgate/internal/scratch"
)

// scanImage extracts the image's packages from its filesystem (imagefs.go),
// finds the layer that brought each in, and matches them.
func (e scalibrEngine) scanImage(ctx context.Context, a scanActions) (vulnResults, error) {
	exts, err := newExtractors(protoConfig(a), forImage)
	if err != nil {
		return vulnResults{}, err
	}
	dir, cleanup, err := scratch.Dir("reading an image's packages", "secgate-image-", a.ScratchIn)
	if err != nil {
		return vulnResults{}, err
	}
	defer cleanup()
	img, err := openImage(ctx, a.Image, dir, wanted(exts))
	if err != nil {
		return vulnResults{}, fmt.Errorf("failed to scan container image: %w", err)
	}
	defer img.close()
	last := len(img.chains) - 1
	inv, statuses, err := filesystem.Run(ctx, &filesystem.Config{
		Extractors: exts,
		ScanRoots:  []*scalibrfs.ScanRoot{{FS: img.chainView(last)}},
		Stats:      stats.NoopCollector{},
	})
	if err != nil {
		return vulnResults{}, fmt.Errorf("failed to scan container image: %w", err)
	}
	if err := img.failed(); err != nil {
		return vulnResults{}, fmt.Errorf("failed to scan container image: %w", err)
	}
	if err := logStatuses(statuses, "/", nil); err != nil {
		return vulnResults{}, err
	}
	// then the packages the container sees only through a link (imagealias.go)
	aliased, err := aliasPackages(ctx, img.chainView(last), exts, maxAliasCandidates)
	if err != nil {
		return vulnResults{}, fmt.Errorf("failed to scan container image: %w", err)
	}
	inv.Packages = append(inv.Packages, aliased...)
	if err := img.failed(); err != nil {
		return vulnResults{}, fmt.Errorf("failed to scan container image: %w", err)
	}
	meta := &imageMetadata{}
	if osInfo, err := osrelease.GetOSRelease(img.chainView(last)); err == nil {
		meta.OS = osInfo["PRETTY_NAME"]
	}
	for _, c := range img.chains {
		meta.LayerMetadata = append(meta.LayerMetadata, layerMetadata{DiffID: c.diffID, Command: c.command, IsEmpty: c.empty})
	}
	if err := attributeLayers(ctx, img, inv.Packages, exts); err != nil {
		return vulnResults{}, fmt.Errorf("failed to scan container image: %w", err)
	}
	if err := img.failed(); err != nil {
		return vulnResults{}, fmt.Errorf("failed to scan container image: %w", err)
	}
	if len(inv.Packages) == 0 {
		return vulnResults{}, errNoPackagesFound
	}
	scannable, unscannable := splitScannable(inv.Packages, true)
	vulns, err := matchPackages(ctx, a, scannable)
	if err != nil {
		return vulnResults{}, err
	}
	return buildResults(append(scannable, unscannable...), vulns, meta), nil
}

// wanted says whether any extractor reads a file; os-release too, which
// the OS extractors read beside their database (kept here rather than read
// again from its layer).
func wanted(exts []filesystem.Extractor) keepFunc {
	return func(p string, info fs.FileInfo) bool {
		if info.Name() == "os-release" {
			return true
		}
		api := entryAPI{path: p, info: info}
		for _, e := range exts {
			if !e.Requirements().ExtractFromDirs && e.FileRequired(api) {
				return true
			}
		}
		return false
	}
}

// attributeLayers sets the layer that brought each package in, by the rule
// osv-scalibr's trace.PopulateLayerDetails follows: going down from the
// newest chain layer, the package came in with the last layer seen that
// has it, where a layer is looked at only when it has the package's file
// itself (or no longer has the file at all); a package in every layer
// looked at came with the first.
func attributeLayers(ctx context.Context, img *imageFS, pkgs []*extractor.Package, exts []filesystem.Extractor) error {
	type key struct {
		extractor, path string
		layer           int
	}
	cache := map[key][]*extractor.Package{}
	last := len(img.chains) - 1
	for _, p := range pkgs {
		var ex filesystem.Extractor
		for _, e := range exts {
			if slices.Contains(p.Plugins, e.Name()) {
				ex = e
				break
			}
		}
		loc := p.Location.PathOrEmpty()
		if ex == nil || loc == "" {
			continue
		}
		purl := ""
		if u := p.PURL(); u != nil {
			purl = u.String()
		}
		origin, lastSeen := 0, last
		for i := last - 1; i >= 0; i-- {
			k := key{ex.Name(), loc, i}
			old, ok := cache[k]
			switch {
			case ok:
			case isNotExist(img.chainView(i), loc):
				old = []*extractor.Package{}
			case hasOwnFile(img.layerView(i), p.Location):
				inv, _, err := filesystem.Run(ctx, &filesystem.Config{
					Extractors:     []filesystem.Extractor{ex},
					ScanRoots:      []*scalibrfs.ScanRoot{{FS: img.chainView(i)}},
					PathsToExtract: []string{loc},
					Stats:          stats.NoopCollector{},
				})
				if err != nil {
					return err
				}
				old = inv.Packages
			default:
				continue
			}
			cache[k] = old
			if !slices.ContainsFunc(old, func(o *extractor.Package) bool { return samePackage(o, purl, p.Location) }) {
				origin = lastSeen
				break
			}
			lastSeen = i
		}
		c := img.chains[origin]
		p.LayerMetadata = &extractor.LayerMetadata{Index: origin, Command: c.command, IsEmpty: c.empty}
	}
	return nil
}

func isNotExist(v view, p string) bool {
	_, err := v.Stat(p)
	return errors.Is(err, fs.ErrNotExist)
}

// hasOwnFile says whether the layer itself has one of the location's files.
func hasOwnFile(v view, loc extractor.PackageLocation) bool {
	if p := loc.PathOrEmpty(); p != "" {
		if _, err := v.Stat(p); err == nil {
			return true
		}
	}
	for _, r := range loc.Related {
		if r.File != nil {
			if _, err := v.Stat(r.File.Path); err == nil {
				return true
			}
		}
	}
	return false
}

// samePackage: the same package URL at the same file.
func samePackage(o *extractor.Package, purl string, loc extractor.PackageLocation) bool {
	u := o.PURL()
	if u == nil || u.String() != purl {
		return false
	}
	a, b := o.Location.PathOrEmpty(), loc.PathOrEmpty()
	return a != "" && a == b
}
