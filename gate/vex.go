package gate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/secgate/secgate/gate/repo"
	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/policy"
)

// VEX documents are policy files: the policy's `vex:` paths are read like
// .secgate.yml (the base revision's on a pull/merge request), and so is a
// --vex file inside the repository; a --vex file outside it is the
// pipeline's (a supplier's document), read as it is.

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
	read := func(rel, given string) {
		data, ok, err := repo.ReadFile(ctx, c.Path, c.Base, rel)
		name := filepath.Join(c.Path, filepath.FromSlash(rel))
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
		read(rel, rel)
	}
	for _, f := range c.VEXFiles {
		if rel, ok := c.inRepository(f); ok {
			read(rel, f)
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

// inRepository is f's path relative to the scanned tree when f is in it
// (links resolved), slash-separated.
func (c Config) inRepository(f string) (string, bool) {
	root, err := filepath.Abs(c.Path)
	if err != nil {
		return "", false
	}
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	abs, err := filepath.Abs(f)
	if err != nil {
		return "", false
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	} else if d, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		abs = filepath.Join(d, filepath.Base(abs)) // absent in the tree: maybe at base
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// vexFiles are the VEX documents in the repository, for the config
// scanner: a change to them is a change to the gate's configuration.
func (c Config) vexFiles(pol *policy.Policy) []string {
	out := slices.Clone(pol.VEXPaths)
	for _, f := range c.VEXFiles {
		if rel, ok := c.inRepository(f); ok && !slices.Contains(out, rel) {
			out = append(out, rel)
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
