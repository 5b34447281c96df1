package deps

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/secgate/secgate/gate/repo"
	"github.com/secgate/secgate/internal/scratch"
	"github.com/secgate/secgate/policy"
)

// markNew scans the base revision's versions of the lockfiles found (read
// with git show, no checkout) and marks each finding new or existing. A
// finding is existing when the base had the same advisory for the same
// package in the same lockfile, whatever its version: an upgrade that does
// not fix it does not make it new.
func (s *Scanner) markNew(ctx context.Context, root string, res vulnResults, read []string, out policy.ScanResult) (policy.ScanResult, error) {
	if err := repo.VerifyRevision(ctx, root, s.opts.Base); err != nil {
		return out, err
	}
	base := "" // made when the base has a lockfile to write
	defer func() {
		if base != "" {
			os.RemoveAll(base)
		}
	}()
	// The files that gave packages, and every lockfile of the tree read: a
	// requirements file of includes only gives none, and the base's
	// includes are found from it.
	paths := slices.Clone(read)
	for _, src := range res.Results {
		rel := relPath(root, src.Source.Path)
		if filepath.IsAbs(rel) {
			continue // a --lockfile outside the tree
		}
		paths = appendUnique(paths, filepath.ToSlash(rel))
	}
	found := 0
	for _, rel := range paths {
		// A lockfile that is a link (inside the tree: the others are not
		// read) is compared with the base's version of the file it leads
		// to: the base's blob of the link itself is the link's text.
		from, abs := rel, filepath.Join(root, filepath.FromSlash(rel))
		if fi, err := os.Lstat(abs); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			target, err := filepath.EvalSymlinks(abs)
			realRoot, rerr := filepath.EvalSymlinks(root)
			if err != nil || rerr != nil || !within(realRoot, target) {
				continue
			}
			from = relPath(realRoot, target)
		}
		data, ok, err := repo.ReadFile(ctx, root, s.opts.Base, from)
		if err != nil {
			return out, err
		}
		if !ok {
			continue // the change adds this lockfile
		}
		if base == "" {
			dir, _, err := scratch.Dir("reading the base revision's lockfiles", "secgate-base-", repo.GitDir(root))
			if err != nil {
				return out, err
			}
			base = dir
		}
		if err := writeFile(filepath.Join(base, filepath.FromSlash(rel)), data); err != nil {
			return out, err
		}
		found++
	}
	existing := map[string]bool{}
	if found > 0 {
		opts := s.opts
		opts.DownloadDB = false // the scan of the change fetched it
		opts.Base = ""          // the base's lockfiles, in a temporary tree
		// A base lockfile that cannot be read leaves its findings new,
		// the stricter side: it is not the change's error.
		opts.SkipUnparsable = true
		baseRes, _, _, err := s.scanTree(ctx, opts, base, nil)
		if err != nil {
			return out, fmt.Errorf("scanning the lockfiles of base revision %s: %w", s.opts.Base, err)
		}
		for _, f := range baseRes.Findings {
			existing[baseKey(f)] = true
		}
	}
	newCount := 0
	for i := range out.Findings {
		if existing[baseKey(out.Findings[i])] {
			out.Findings[i].Status = policy.StatusExisting
		} else {
			out.Findings[i].Status = policy.StatusNew
			newCount++
		}
	}
	out.Notes = append(out.Notes, fmt.Sprintf("%d of %d findings are new since %s", newCount, len(out.Findings), s.opts.Base))
	return out, nil
}

func baseKey(f policy.Finding) string {
	return strings.Join([]string{f.Location.Path, baseEcosystem(f.Location.Ecosystem), f.Location.Package, f.ID}, "\x00")
}

func writeFile(p string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, b, 0o644)
}
