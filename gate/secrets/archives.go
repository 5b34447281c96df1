package secrets

import (
	"archive/zip"
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/zricethezav/gitleaks/v8/sources"
)

// zipExtensions are zip files under another name. gitleaks recognises
// archives by file name only, so it skips a .jar as a binary file: secrets
// in a Spring Boot jar's application.properties would go unseen.
var zipExtensions = map[string]bool{
	".jar": true, ".war": true, ".ear": true, ".aar": true, ".apk": true, ".ipa": true,
	".whl": true, ".egg": true, ".nupkg": true, ".vsix": true, ".xpi": true, ".crx": true,
}

func isZipAlias(path string) bool { return zipExtensions[strings.ToLower(filepath.Ext(path))] }

// zipAliases is a source yielding the fragments of every zip-alias file
// (jar, war, wheel, ...) under a directory, entry by entry, with
// gitleaks' "outer!inner" paths. Nested archives are gitleaks' business.
type zipAliases struct {
	files *sources.Files
}

func (z *zipAliases) Fragments(ctx context.Context, yield sources.FragmentsFunc) error {
	return filepath.WalkDir(z.files.Path, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // gitleaks' own walk skips unreadable entries too
		}
		if d.IsDir() {
			if skipPath(z.files, path) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !isZipAlias(path) || skipPath(z.files, path) {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		return scanZip(ctx, path, yield)
	})
}

func skipPath(f *sources.Files, path string) bool {
	for _, a := range f.Config.Allowlists {
		if a.PathAllowed(path) {
			return true
		}
	}
	return false
}

func scanZip(ctx context.Context, path string, yield sources.FragmentsFunc) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		// Not a zip after all (a jar-named text file, say): gitleaks' own
		// walk scans it as a regular file.
		return nil
	}
	defer zr.Close()
	for _, e := range zr.File {
		if e.FileInfo().IsDir() {
			continue
		}
		rc, err := e.Open()
		if err != nil {
			return yield(sources.Fragment{FilePath: path}, fmt.Errorf("reading %s in %s: %w", e.Name, path, err))
		}
		f := &sources.File{
			Content:         rc,
			Path:            filepath.ToSlash(path) + sources.InnerPathSeparator + filepath.ToSlash(filepath.Clean(e.Name)),
			MaxArchiveDepth: maxArchiveDepth - 1,
		}
		err = f.Fragments(ctx, yield)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
