package secrets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mholt/archives"
	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/sources"

	"github.com/secgate/secgate/gate/repo"
	"github.com/secgate/secgate/internal/cache"
	"github.com/secgate/secgate/policy"
)

// treeFiles yields the fragments of every file of a working tree, as
// gitleaks' sources.Files does (same walk: empty files and symlinks
// skipped), except how archives are told apart and walked (archive.go),
// what is read as text (textdecode.go), and that gitleaks' default
// allowlist's paths are read for the provider-format rules (content.go),
// only the repository's own allowlisted paths skipped.
//
// gitleaks picks an archive format by the file's name alone, by substring:
// `.browserslistrc` is opened as brotli (".br") and its failure stops the
// scan; `Directory.Build.targets` (".tar") and `x.zipcode.js` (".zip") are
// skipped as broken archives; a jar, a wheel or a zip under any other name
// is skipped as a binary. Here the content decides (mholt/archives'
// Identify with no name: magic bytes, or a trial decode for brotli): an
// archive is handed to gitleaks under a name with its format's extension,
// anything else under a name with no extension at all, so that gitleaks
// reads it as text; and a file that looks like an archive but does not
// open as one is scanned as text, with a note, never an error.
type treeFiles struct {
	root string
	cfg  *config.Config
	sema interface{ Go(func() error) } // the detector's semaphore, as gitleaks uses it

	mu       sync.Mutex
	notes    []string
	coverage policy.Coverage

	// With a cache: the clean set, git's index, and the keys of the files
	// read this run (by path), added to the set when they give nothing.
	clean     *cache.Set
	index     map[string]repo.IndexEntry
	indexTime time.Time
	keys      map[string]cache.ID
	scanned   []scannedFile
	hits      int
	examples  int // the public examples of the files spared (cache.go)
	// providerOnly are the files spared that the provider-format rules
	// alone read (the coverage lists them, as when they are read)
	providerOnly []string

	// ignored are the directories the tree's own ignore rules leave out
	// (repo.IgnoredDirs, as the other scanners of files read it: build
	// output, downloaded repositories); one holding a tracked file is
	// never among them.
	ignored map[string]bool
}

// cached reports whether the file at path is known clean (counted as read);
// else it remembers its key, to be added when the scan finds nothing in it.
func (t *treeFiles) cached(path string, info fs.FileInfo) bool {
	if t.clean == nil {
		return false
	}
	content, err := contentOf(path, info, t.index, t.indexTime)
	if err != nil {
		return false // scanned, and its error said, as without a cache
	}
	key := fileKey(relPath(t.root, path), content)
	examples, ok := cachedExamples(t.clean, key)
	if ok {
		t.mu.Lock()
		t.hits++
		t.examples += examples
		if t.clean.Has(providerOnlyMark(key)) {
			t.providerOnly = append(t.providerOnly, path)
		}
		t.coverage.Files++
		t.coverage.Bytes += info.Size()
		t.mu.Unlock()
		return true
	}
	t.mu.Lock()
	t.keys[path] = key
	t.mu.Unlock()
	return false
}

func (t *treeFiles) skip(what, why, path string) {
	t.mu.Lock()
	t.coverage.AddSkip(what, why, relPath(t.root, path))
	t.mu.Unlock()
}

// read counts a file scanned (its content handed to gitleaks).
func (t *treeFiles) read(path string, n int64) {
	t.mu.Lock()
	t.coverage.Files++
	t.coverage.Bytes += n
	if key, ok := t.keys[path]; ok {
		t.scanned = append(t.scanned, scannedFile{path, key})
	}
	t.mu.Unlock()
}

// scannedFile is a file read this run and its cache key.
type scannedFile struct {
	path string
	key  cache.ID
}

// Placeholder names under which files are handed to gitleaks; fragment
// paths are rewritten back to the real path.
const (
	asText    = "secgate-text"    // no dot: matches no archive extension
	asArchive = "secgate-archive" // followed by the format's extension
)

func (t *treeFiles) note(format string, args ...any) {
	t.mu.Lock()
	t.notes = append(t.notes, fmt.Sprintf(format, args...))
	t.mu.Unlock()
}

func (t *treeFiles) Fragments(ctx context.Context, yield sources.FragmentsFunc) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	// Outside a repository nothing is ignored: no file is tracked there,
	// so a .gitignore inside the input could hide any directory of it.
	t.ignored = map[string]bool{}
	if _, err := repo.Open(t.root); err == nil {
		ignored, err := repo.IgnoredDirs(ctx, t.root)
		if err != nil {
			return err
		}
		for _, d := range ignored {
			t.ignored[d] = true
		}
	}
	walkErr := filepath.WalkDir(t.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == t.root {
				return err
			}
			t.note("%s: not readable, not scanned: %v", relPath(t.root, path), err)
			if d != nil && d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" && path != t.root {
				t.skip("directory", "git's own data (the history modes read it)", path)
				return filepath.SkipDir
			}
			if skipPath(t.cfg, path) {
				t.skip("directory", "a path the secret rules allowlist", path)
				return filepath.SkipDir
			}
			if t.ignored[relPath(t.root, path)] {
				t.skip("directory", "ignored by the tree's own .gitignore", path)
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			if d.Type()&fs.ModeSymlink != 0 {
				t.skip("file", "a symlink, not followed", path)
			}
			return nil
		}
		if skipPath(t.cfg, path) {
			t.skip("file", "a path the secret rules allowlist", path)
			return nil
		}
		info, err := d.Info()
		if err != nil || info.Size() == 0 {
			return nil
		}
		wg.Add(1)
		t.sema.Go(func() error {
			defer wg.Done()
			// The cache's key is the content's hash when git's index does
			// not vouch for the file: hashed by the workers, not the walk
			// (a tree git does not track: 28 MB, 45 ms of one core).
			if t.cached(path, info) {
				return nil
			}
			if err := t.scanFile(ctx, path, yield); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
			return nil
		})
		return nil
	})
	wg.Wait()
	return errors.Join(append([]error{walkErr}, errs...)...)
}

// scanFile yields the fragments of one file, its archive entries if its
// content is an archive.
func (t *treeFiles) scanFile(ctx context.Context, path string, yield sources.FragmentsFunc) error {
	f, err := os.Open(path)
	if err != nil {
		t.note("%s: not readable, not scanned: %v", relPath(t.root, path), err)
		return nil
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	var format archives.Format
	idErr := archives.NoMatch
	if !isText(head) {
		format, _, idErr = archives.Identify(ctx, "", f) // the content only: no name
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
	}
	if errors.Is(idErr, archives.NoMatch) || idErr == nil && format == nil {
		if !isText(head) && providerOnlyPath(t.cfg, path) && utf16Order(head) == "" && !isMostlyText(head) {
			// provider rules read a default-allowlisted path's text only
			t.skip("file", "a path gitleaks' default rules allowlist, and not text: not read", path)
			return nil
		}
		// gitleaks skips a file whose first bytes say it is a binary (an
		// image, an executable), and reads UTF-16 as bytes: leaf reads
		// what is text of those (readableText) and skips the rest.
		fi, err := f.Stat()
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		read, err := t.leaf(ctx, f, head, path, yield)
		if read {
			t.read(path, fi.Size())
		}
		return err
	}
	// gitleaks logs an archive it cannot open and goes on with nothing:
	// try it first.
	var archiveErrs []error
	what := "an archive"
	if idErr != nil {
		archiveErrs = append(archiveErrs, idErr)
	} else {
		what = strings.TrimPrefix(format.Extension(), ".")
		if err := opens(ctx, format, f); err != nil {
			archiveErrs = append(archiveErrs, err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
	}
	if len(archiveErrs) == 0 {
		if fi, err := f.Stat(); err == nil {
			t.read(path, fi.Size())
		}
		err := t.fragments(ctx, f, path, asArchive+format.Extension(), yield, &archiveErrs)
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if err != nil {
			archiveErrs = append(archiveErrs, err)
		}
		if len(archiveErrs) == 0 {
			return nil
		}
	}
	// Brotli has no magic number: mholt/archives guesses it by decoding a
	// few bytes, and many text files pass that. A guess that does not open
	// is a text file, not worth a note.
	if _, guessed := format.(archives.Brotli); !guessed {
		t.note("%s: its content looks like %s but it does not open as one (%v): scanned as text",
			relPath(t.root, path), what, errors.Join(archiveErrs...))
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	// As text, whatever its first bytes say: gitleaks would skip it as a
	// binary by its magic number.
	data, err := io.ReadAll(io.LimitReader(f, maxTextFallback))
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	t.read(path, int64(len(data)))
	return yield(sources.Fragment{Raw: string(data), Bytes: data, FilePath: path, StartLine: 1}, nil)
}

// isText reports whether a file's first bytes are text: UTF-8 with no
// control character but tab, line feed, form feed and carriage return.
// No archive or compressed format starts so (they have magic bytes with
// control characters, or NULs in a tar header; brotli is random bytes),
// and the guess that needs a trial decode (brotli) is the costly one.
func isText(head []byte) bool {
	// a multi-byte character cut at the end of the head is still text
	if i := len(head) - 1; i >= 0 && !utf8.Valid(head) {
		for i > 0 && len(head)-i < utf8.UTFMax && !utf8.RuneStart(head[i]) {
			i--
		}
		if !utf8.FullRune(head[i:]) {
			head = head[:i]
		}
	}
	if !utf8.Valid(head) {
		return false
	}
	for _, c := range head {
		if c < ' ' && c != '\t' && c != '\n' && c != '\f' && c != '\r' || c == 0x7f {
			return false
		}
	}
	return true
}

// maxTextFallback bounds what is read as text of a file that is not the
// archive its content suggests.
const maxTextFallback = 16 << 20

// fragments yields the fragments of content under path: an archive (name
// is asArchive followed by its format's extension) through the bounded
// archive walk (archive.go), anything else as text. With archiveErrs set,
// errors are collected there instead of yielded; a bound's error is always
// yielded (the scan fails closed, or notes it under secrets.archives: skip).
func (t *treeFiles) fragments(ctx context.Context, content io.Reader, path, name string, yield sources.FragmentsFunc, archiveErrs *[]error) error {
	collect := func(fr sources.Fragment, ferr error) error {
		if bound := (*ArchiveBoundError)(nil); errors.As(ferr, &bound) {
			// gitleaks' file source yields a read error with what it
			// read, and reads on: that is scanned, and the walk stops
			if fr.Raw != "" {
				if err := yield(fr, nil); err != nil {
					return err
				}
			}
			return ferr
		}
		if ferr != nil && archiveErrs != nil {
			*archiveErrs = append(*archiveErrs, ferr)
			return nil
		}
		return yield(fr, ferr)
	}
	if !strings.HasPrefix(name, asArchive) {
		return t.textFragments(ctx, content, path, collect)
	}
	format, _, err := identifyName(ctx, name)
	if err != nil || format == nil {
		return collect(sources.Fragment{FilePath: path}, fmt.Errorf("%s: %w", path, archives.NoMatch))
	}
	b := archiveBudgetOf(ctx)
	w := &archiveWalk{t: t, path: relPath(t.root, path), budget: b, left: b.perArchive, yield: collect}
	err = w.walk(ctx, content, format, path, 0)
	var bound *ArchiveBoundError
	if errors.As(err, &bound) {
		return yield(sources.Fragment{FilePath: path}, bound)
	}
	if err != nil && archiveErrs != nil {
		*archiveErrs = append(*archiveErrs, err)
		return nil
	}
	return err
}

// errFirstEntry stops a trial extraction after its first entry.
var errFirstEntry = errors.New("first entry read")

// opens tries an archive: its first entry (an extractor) or its first
// bytes (a decompressor) must read without error.
func opens(ctx context.Context, format archives.Format, f *os.File) error {
	if a, ok := format.(archives.CompressedArchive); ok && a.Compression != nil {
		// a compressed zip or 7z needs random access: the archive walk
		// decompresses it (counted, bounded) before it opens it, as in
		// history and range mode; its own Extract would fail here on the
		// stream. Its stream must decompress.
		format = a.Compression
	}
	switch a := format.(type) {
	case archives.Extractor:
		err := a.Extract(ctx, f, func(_ context.Context, fi archives.FileInfo) error {
			if fi.IsDir() {
				return nil
			}
			rc, err := fi.Open()
			if err != nil {
				return err
			}
			defer rc.Close()
			if _, err := io.CopyN(io.Discard, rc, 512); err != nil && err != io.EOF {
				return err
			}
			return errFirstEntry
		})
		if errors.Is(err, errFirstEntry) {
			return nil
		}
		return err
	case archives.Decompressor:
		rc, err := a.OpenReader(f)
		if err != nil {
			return err
		}
		defer rc.Close()
		if _, err := io.CopyN(io.Discard, rc, 512); err != nil && err != io.EOF {
			return err
		}
	}
	return nil
}

// skipPath reports whether a path is left out of the scan: allowlisted by
// a path allowlist of the repository's own (.gitleaks.toml). gitleaks'
// default allowlist's paths are read with the provider-format rules only
// (providerOnlyPath, content.go).
func skipPath(cfg *config.Config, path string) bool {
	for _, a := range cfg.Allowlists {
		if len(a.Paths) > 0 && !isDefaultPathAllowlist(a) && a.PathAllowed(path) {
			return true
		}
	}
	return false
}
