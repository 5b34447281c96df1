package deps

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/google/osv-scalibr/extractor"
	"github.com/google/osv-scalibr/extractor/filesystem"
	scalibrfs "github.com/google/osv-scalibr/fs"
	"github.com/google/osv-scalibr/stats"
)

// maxAliasCandidates bounds the paths through links examined per image
// (a link to / names the whole tree again): past it the scan fails rather
// than report part of the image. One costs about 2.5 µs (150,000 files
// under /usr/lib reached by /lib and /lib64: 300,000 in 0.76 s), so the
// bound is about 2.5 s of work, and is high enough that a large merged-/usr
// image (every file under /usr/lib counted once per link to it) passes.
const maxAliasCandidates = 1_000_000

// aliasPackages extracts the packages the container sees only through a
// symlink. osv-scalibr's walk does not descend into a linked directory nor
// read a linked file, and its extractors judge a file by the path they are
// given: /app/node_modules -> /opt/nm hides /opt/nm/.package-lock.json,
// which no extractor wants at its real path. So every path that reaches a
// file through a link (an alias) is offered to the extractors, and those
// some extractor wants at the alias but none at the file's real path (or
// the walk has already extracted it there: merged-/usr's /lib -> usr/lib)
// are extracted at the alias, the path the container sees.
//
// The alias's file is read through the view; its content was kept only if
// an extractor wanted its real path, so it is usually read again from its
// layer, which imageFS.load bounds (maxLazyLoads: past it the scan fails).
func aliasPackages(ctx context.Context, v view, exts []filesystem.Extractor, limit int) ([]*extractor.Package, error) {
	paths, err := aliasPaths(v, exts, limit)
	if err != nil || len(paths) == 0 {
		return nil, err
	}
	inv, statuses, err := filesystem.Run(ctx, &filesystem.Config{
		Extractors:     exts,
		ScanRoots:      []*scalibrfs.ScanRoot{{FS: v}},
		PathsToExtract: paths,
		Stats:          stats.NoopCollector{},
	})
	if err != nil {
		return nil, err
	}
	if err := logStatuses(statuses, "/", nil); err != nil {
		return nil, err
	}
	return inv.Packages, nil
}

// extractorWants says whether a file extractor wants the file at p.
func extractorWants(exts []filesystem.Extractor, p string, info fs.FileInfo) bool {
	api := entryAPI{path: p, info: info}
	for _, e := range exts {
		if !e.Requirements().ExtractFromDirs && e.FileRequired(api) {
			return true
		}
	}
	return false
}

// aliasPaths lists the alias paths to extract, in the order of the tree.
// Every symlink the view has at a real path (one reached through no link)
// is resolved by the view's own rules; a link to a file is one candidate,
// a link to a directory names each file under it, found without following
// the links below it (those are links at a real path of their own, met by
// the outer walk), so a link to an ancestor ends.
func aliasPaths(v view, exts []filesystem.Extractor, limit int) ([]string, error) {
	var links []string
	var walkReal func(n *node, floor int, p string)
	walkReal = func(n *node, floor int, p string) {
		for _, name := range sortedChildren(n) {
			c := n.children[name]
			cv, cf := v.visible(c, floor)
			if cv == nil || cv.kind == kindWhiteout {
				continue
			}
			cp := path.Join(p, name)
			switch cv.kind {
			case kindDir:
				walkReal(c, cf, cp)
			case kindSymlink:
				links = append(links, cp)
			}
		}
	}
	if v.top >= 0 {
		walkReal(v.im.root, v.bottom, "")
	}

	var out []string
	seen := map[string]bool{}
	examined := 0
	// offer a file at alias (real being its path through no link).
	offer := func(alias, real string, ver *version) error {
		if examined++; examined > limit {
			return fmt.Errorf("more than %d paths reach files through symlinks: the image is not scanned further", limit)
		}
		info := fileInfo{name: path.Base(alias), v: ver}
		if seen[alias] || !extractorWants(exts, alias, info) {
			return nil
		}
		if extractorWants(exts, real, fileInfo{name: path.Base(real), v: ver}) {
			return nil // the walk extracted it at its real path
		}
		seen[alias] = true
		out = append(out, alias)
		return nil
	}
	for _, l := range links {
		real, n, ver, floor, err := v.canonical(components(l))
		if err != nil {
			continue // dangling, a loop, or too deep: the container cannot open it either
		}
		switch ver.kind {
		case kindFile:
			if err := offer(l, real, ver); err != nil {
				return nil, err
			}
		case kindDir:
			if err := v.underLink(n, floor, l, real, offer); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// underLink offers each file under the directory n, reached as alias and
// really at real; links below it are offered when they reach a file.
func (v view) underLink(n *node, floor int, alias, real string, offer func(alias, real string, ver *version) error) error {
	for _, name := range sortedChildren(n) {
		c := n.children[name]
		cv, cf := v.visible(c, floor)
		if cv == nil || cv.kind == kindWhiteout {
			continue
		}
		ca, cr := path.Join(alias, name), path.Join(real, name)
		switch cv.kind {
		case kindDir:
			if err := v.underLink(c, cf, ca, cr, offer); err != nil {
				return err
			}
		case kindFile:
			if err := offer(ca, cr, cv); err != nil {
				return err
			}
		case kindSymlink:
			// A link to a file: offered under this alias too. A link to a
			// directory is not followed (that is what bounds a cycle).
			r, _, tv, _, err := v.canonical(components(cr))
			if err == nil && tv.kind == kindFile {
				if err := offer(ca, r, tv); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func sortedChildren(n *node) []string {
	names := make([]string, 0, len(n.children))
	for name := range n.children {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// canonical resolves comps as the view's Open does (walk with follow) and
// also returns the path it reached through no link, relative to the root.
func (v view) canonical(comps []string) (string, *node, *version, int, error) {
	follows := maxSymlinkFollows
	real, n, ver, floor, err := v.canonicalFrom(comps, 0, &follows)
	return strings.Join(real, "/"), n, ver, floor, err
}

// canonicalFrom is resolve keeping the components it went through.
func (v view) canonicalFrom(comps []string, depth int, follows *int) ([]string, *node, *version, int, error) {
	return v.resolvePath(comps, true, true, depth, follows)
}
