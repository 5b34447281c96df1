package gate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/secgate/secgate/gate/deps"
	"github.com/secgate/secgate/gate/repo"
	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/policy"
)

// VEX documents are policy files: the policy's `vex:` paths are read like
// .secgate.yml (the base revision's on a pull/merge request), and so is a
// --vex file anywhere in the git repository — not only in the scanned
// tree: a monorepo scanned one directory at a time keeps its VEX beside
// it, and the change under review can edit it all the same. Only a --vex
// file outside the repository is the pipeline's (a supplier's document),
// read as it is.

// repoFile is a file of the repository: its work tree and its
// slash-separated path there.
type repoFile struct{ top, rel string }

// withVEX returns the policy with its VEX documents loaded, and the
// warnings of documents a pull/merge request adds (not applied before
// they are merged).
func (c Config) withVEX(ctx context.Context, pol *policy.Policy) (*policy.Policy, []string, error) {
	if len(pol.VEXPaths) == 0 && len(c.VEXFiles) == 0 {
		return pol, nil, nil
	}
	var docs []*policy.VEX
	var warnings []string
	var errs []error
	// read reads rel of the work tree root; name is how messages call it.
	read := func(root, rel, name string) {
		given := name
		data, ok, err := repo.ReadFile(ctx, root, c.Base, rel)
		if c.Base != "" {
			name = fmt.Sprintf("%s (at base revision %s)", name, c.Base)
		}
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("reading VEX document %s: %w", name, err))
		case !ok && c.Base != "":
			warnings = append(warnings, fmt.Sprintf("VEX document %s is not in the base revision %s: not applied until the change is merged", given, c.Base))
		case !ok:
			errs = append(errs, fmt.Errorf("reading VEX document %s: no such file", name))
		default:
			doc, err := policy.ParseVEX(name, data)
			if err != nil {
				errs = append(errs, err)
				return
			}
			docs = append(docs, doc)
		}
	}
	for _, rel := range pol.VEXPaths {
		read(c.Path, rel, filepath.Join(c.Path, filepath.FromSlash(rel)))
	}
	for _, f := range c.VEXFiles {
		if top, rel, ok := repo.Locate(c.Path, f); ok {
			read(top, rel, f) // as the pipeline wrote it
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("reading VEX document: %w", err))
			continue
		}
		doc, err := policy.ParseVEX(f, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		docs = append(docs, doc)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	p := *pol
	p.VEX = docs
	return &p, warnings, nil
}

// givenFiles are the files the pipeline names that are the repository's,
// for the config scanner: a change to them is a change to the gate's
// configuration. They are the --policy and --vex files in the repository,
// and the osv-scanner.toml beside a --lockfile in the repository but not
// in the scanned tree (the tree's own are the config scanner's already, as
// are the policy's vex: paths).
func (c Config) givenFiles() []repoFile {
	var out []repoFile
	add := func(f string) {
		if top, rel, ok := repo.Locate(c.Path, f); ok && !slices.ContainsFunc(out, func(r repoFile) bool { return r.rel == rel }) {
			out = append(out, repoFile{top, rel})
		}
	}
	if c.PolicyFile != "" {
		add(c.PolicyFile)
	}
	for _, f := range c.VEXFiles {
		add(f)
	}
	tree, _ := filepath.Abs(c.Path)
	for _, l := range c.Lockfiles {
		abs, _ := filepath.Abs(l)
		if r, err := filepath.Rel(tree, abs); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			add(filepath.Join(filepath.Dir(abs), deps.ConfigFile))
		}
	}
	return out
}

// vexNotes puts the notes of VEX statements no finding matched on the
// deps scanner (whose findings VEX is about), else the first scanner.
func vexNotes(results []report.Scanner, notes []string) {
	if len(notes) == 0 || len(results) == 0 {
		return
	}
	i := max(slices.IndexFunc(results, func(s report.Scanner) bool { return s.Name == "deps" }), 0)
	results[i].Notes = append(results[i].Notes, notes...)
}
