package secrets

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync/atomic"

	"github.com/mholt/archives"
	"github.com/zricethezav/gitleaks/v8/sources"
)

// Archives are walked here, not by gitleaks' file source (issue 24, class
// 6): gitleaks reads every entry to its end and copies a nested zip whole
// to a temporary file, so a small zip of deflated gigabyte entries, nested,
// keeps a scan busy for minutes. Every byte a decompressor or an archive's
// entry gives counts against two bounds: one per archive file of the scan
// (its nested archives included) and one for the whole run. Past either,
// that archive is read no further and the scan fails (*ArchiveBoundError)
// unless the policy says secrets.archives: skip. The same walk reads an
// archive's entries as the tree walk reads files: their content decides
// what is a nested archive, and what is text (readableText).

// Default bounds of the bytes decompressed from archives (README, secrets).
const (
	DefaultArchiveBytes    = 256 << 20 // from one archive file, nested archives included
	DefaultRunArchiveBytes = 1 << 30   // from all archives of one scan
)

// ArchiveBoundError says that an archive decompressed past a bound: what
// was read of it was scanned, the rest was not.
type ArchiveBoundError struct {
	Path  string // the archive file (relative to the scan root when known)
	Limit int64  // the bound, in bytes
	Run   bool   // the bound of the run, not of this archive
	Depth int    // not 0: the bound is this many archives nested (Limit is 0)
}

func (e *ArchiveBoundError) Error() string {
	if e.Depth > 0 {
		return fmt.Sprintf("%s: archives nested deeper than %d: not read further (policy secrets.archives: skip lets the scan go on)", e.Path, e.Depth)
	}
	which := "an archive's bound of"
	if e.Run {
		which = "the run's bound of"
	}
	return fmt.Sprintf("%s: decompressed past %s %d bytes: not read further (policy secrets.archives: skip lets the scan go on)", e.Path, which, e.Limit)
}

// archiveBudget is what a run may still decompress.
type archiveBudget struct {
	perArchive int64
	run        int64
	left       atomic.Int64 // of run
}

func newArchiveBudget(perArchive, run int64) *archiveBudget {
	if perArchive <= 0 {
		perArchive = DefaultArchiveBytes
	}
	if run <= 0 {
		run = DefaultRunArchiveBytes
	}
	b := &archiveBudget{perArchive: perArchive, run: run}
	b.left.Store(run)
	return b
}

type budgetKey struct{}

// withArchiveBudget makes b the budget of the archives read under ctx: the
// tree walk and the history walk each reach archives their own way, and
// the run's bound is one for both.
func withArchiveBudget(ctx context.Context, b *archiveBudget) context.Context {
	return context.WithValue(ctx, budgetKey{}, b)
}

func archiveBudgetOf(ctx context.Context) *archiveBudget {
	if b, ok := ctx.Value(budgetKey{}).(*archiveBudget); ok {
		return b
	}
	return newArchiveBudget(0, 0)
}

// archiveWalk reads one archive file of the scan.
type archiveWalk struct {
	t      *treeFiles
	path   string // the archive file, as fragments name it
	budget *archiveBudget
	left   int64 // of this archive
	yield  sources.FragmentsFunc
}

// take counts n decompressed bytes.
func (w *archiveWalk) take(n int) error {
	w.left -= int64(n)
	if w.left < 0 {
		return &ArchiveBoundError{Path: w.path, Limit: w.budget.perArchive}
	}
	if w.budget.left.Add(-int64(n)) < 0 {
		return &ArchiveBoundError{Path: w.path, Limit: w.budget.run, Run: true}
	}
	return nil
}

// counted counts what a decompressor or an entry gives.
type counted struct {
	r io.Reader
	w *archiveWalk
}

func (c *counted) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		if berr := c.w.take(n); berr != nil {
			return n, berr
		}
	}
	return n, err
}

// walk reads the archive r of format, named name in fragments, at archive
// depth depth (0: a file of the tree or a blob).
func (w *archiveWalk) walk(ctx context.Context, r io.Reader, format archives.Format, name string, depth int) error {
	if depth+1 > maxArchiveDepth {
		// a bound as the decompressed bytes are: what lies deeper is not
		// read, so the scan fails closed (or, under secrets.archives:
		// skip, the coverage names the file), in every mode
		return &ArchiveBoundError{Path: w.path, Depth: maxArchiveDepth}
	}
	switch a := format.(type) {
	case archives.CompressedArchive:
		if a.Compression != nil {
			rc, err := a.Compression.OpenReader(r)
			if err != nil {
				return err
			}
			defer rc.Close()
			r = &counted{rc, w}
		}
		if a.Extraction == nil {
			return w.entry(ctx, r, name, depth+1)
		}
		return w.extract(ctx, a.Extraction, r, name, depth)
	case archives.Extractor:
		return w.extract(ctx, a, r, name, depth)
	case archives.Decompressor:
		rc, err := a.OpenReader(r)
		if err != nil {
			return err
		}
		defer rc.Close()
		// a compressed file holds one file: its name without the
		// compression's extension, as gitleaks names it (the same path)
		return w.entry(ctx, &counted{rc, w}, name, depth+1)
	}
	return nil
}

// extract reads an archive's entries. A tar's entries are not counted: a
// tar compresses nothing, its bytes are those of a file of the tree or
// of a stream counted already.
func (w *archiveWalk) extract(ctx context.Context, ex archives.Extractor, r io.Reader, name string, depth int) error {
	switch ex.(type) {
	case archives.Zip, archives.SevenZip:
		// random access: a nested one is spooled to a file first, as
		// gitleaks does, but only as far as the bounds allow
		if _, ok := r.(interface {
			io.ReaderAt
			io.Seeker
		}); !ok {
			tmp, err := os.CreateTemp("", "secgate-archive-")
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			defer func() {
				_ = tmp.Close()
				_ = os.Remove(tmp.Name())
			}()
			if _, err := io.Copy(tmp, r); err != nil {
				return err
			}
			if _, err := tmp.Seek(0, io.SeekStart); err != nil {
				return err
			}
			r = tmp
		}
	}
	_, isTar := ex.(archives.Tar)
	return ex.Extract(ctx, r, func(ctx context.Context, fi archives.FileInfo) error {
		if fi.IsDir() || !fi.Mode().IsRegular() {
			return nil
		}
		rc, err := fi.Open()
		if err != nil {
			w.t.skip("archive entry", "does not open", name+sources.InnerPathSeparator+fi.NameInArchive)
			return nil
		}
		defer rc.Close()
		var er io.Reader = rc
		if !isTar {
			er = &counted{rc, w}
		}
		inner := path.Clean(strings.ReplaceAll(fi.NameInArchive, `\`, "/"))
		return w.entry(ctx, er, name+sources.InnerPathSeparator+inner, depth+1)
	})
}

// entry reads one entry of an archive (or a compressed file's content):
// a nested archive, text, or a binary to skip.
func (w *archiveWalk) entry(ctx context.Context, r io.Reader, name string, depth int) error {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(512)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		var bound *ArchiveBoundError
		if errors.As(err, &bound) {
			return err
		}
		w.t.skip("archive entry", "does not read", name)
		return nil
	}
	if len(head) == 0 {
		return nil
	}
	if !isText(head) {
		format, stream, idErr := archives.Identify(ctx, "", br)
		if idErr == nil && format != nil {
			if _, guessed := format.(archives.Brotli); !guessed {
				err := w.walk(ctx, stream, format, name, depth)
				var bound *ArchiveBoundError
				if err == nil || errors.As(err, &bound) || ctx.Err() != nil {
					return err
				}
				// one entry that does not open stops no other
				w.t.skip("archive", "a nested archive that does not open, not read further", name)
				return nil
			}
		}
		var bound *ArchiveBoundError
		if errors.As(idErr, &bound) {
			return idErr
		}
		if stream != nil {
			br = bufio.NewReaderSize(stream, 64<<10)
		}
	}
	_, err = w.t.leaf(ctx, br, head, name, w.yield)
	return err
}

// leaf yields the fragments of a file's content (not an archive): text as
// readableText reads it, through gitleaks' file source when gitleaks would
// read it as it is, else decoded here; a binary is skipped, in coverage
// (read is false).
func (t *treeFiles) leaf(ctx context.Context, r io.Reader, head []byte, name string, yield sources.FragmentsFunc) (read bool, err error) {
	magic, utf16 := binaryMagic(head), wideOrder(head) != ""
	if magic == "" && !utf16 {
		return true, t.textFragments(ctx, r, name, yield)
	}
	// a sample decides, before the whole is read
	sample := make([]byte, textSample)
	n, err := io.ReadFull(r, sample)
	sample = sample[:n]
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return false, readErr(name, err, yield)
	}
	if _, _, ok := readableText(sample); !ok {
		why := "binary, not read"
		if magic != "" {
			why = "binary (" + magic + "), not read"
		}
		t.skip("file", why, name)
		return false, nil
	}
	rest, err := io.ReadAll(io.LimitReader(r, maxDecodedText-int64(n)))
	if err != nil {
		return false, readErr(name, err, yield)
	}
	text, _, ok := readableText(append(sample, rest...))
	if !ok {
		t.skip("file", "binary, not read", name)
		return false, nil
	}
	return true, textChunks(text, func(chunk []byte, line int) error {
		return yield(sources.Fragment{Raw: string(chunk), Bytes: chunk, FilePath: name, StartLine: line}, nil)
	})
}

// readErr passes a bound's error on, and yields any other read error.
func readErr(name string, err error, yield sources.FragmentsFunc) error {
	var bound *ArchiveBoundError
	if errors.As(err, &bound) {
		return err
	}
	return yield(sources.Fragment{FilePath: name}, fmt.Errorf("reading %s: %w", name, err))
}

// maxDecodedText bounds what is read of one file that is decoded here
// (UTF-16, or text with a binary's magic number) rather than streamed.
const maxDecodedText = 64 << 20

// textFragments yields text read from content as fragments named path,
// each about textChunk long and ending, when one is near, at a blank line
// (else at a line's end): as gitleaks' file source chunks a file, but
// without its binary test, which it makes again on every chunk until one
// holds a line break, so that a first line of 125 kB followed by "MZ"
// hid the rest of a minified file.
func (t *treeFiles) textFragments(ctx context.Context, content io.Reader, path string, yield sources.FragmentsFunc) error {
	br := bufio.NewReaderSize(content, 64<<10)
	buf := make([]byte, textChunk)
	line := 1
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := io.ReadFull(br, buf[:textChunk])
		chunk := buf[:n]
		if err == nil {
			chunk, err = extendToBoundary(br, chunk)
		}
		if len(chunk) > 0 {
			if yerr := yield(sources.Fragment{Raw: string(chunk), FilePath: path, StartLine: line}, nil); yerr != nil {
				return yerr
			}
			// the UTF-16 and UTF-32 runs of a chunk with NULs, as readableText adds
			// them (a file half UTF-8, half UTF-16); none in most chunks
			if runs := textRuns(chunk); len(runs) > 0 {
				if yerr := yield(sources.Fragment{Raw: string(runs), FilePath: path, StartLine: line}, nil); yerr != nil {
					return yerr
				}
			}
			line += bytes.Count(chunk, []byte{'\n'})
		}
		buf = chunk[:0:cap(chunk)]
		switch {
		case err == nil:
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			return nil
		default:
			return readErr(path, err, yield)
		}
	}
}

// maxPeek is how far past textChunk a chunk looks for a blank line, then
// for a line's end (a line longer than that is cut).
const maxPeek = 25_000

// extendToBoundary reads whole lines onto chunk until a blank line, or
// past maxPeek until a line's end, or 4·maxPeek in all.
func extendToBoundary(br *bufio.Reader, chunk []byte) ([]byte, error) {
	start := len(chunk)
	for {
		if n := len(chunk); n > 0 && chunk[n-1] == '\n' && (n-start >= maxPeek || n >= 2 && chunk[n-2] == '\n') {
			return chunk, nil
		}
		if len(chunk)-start >= 4*maxPeek {
			return chunk, nil
		}
		part, err := br.ReadSlice('\n')
		chunk = append(chunk, part...)
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return chunk, err
		}
	}
}

// identifyName is an archive's format by its name alone.
func identifyName(ctx context.Context, name string) (archives.Format, io.Reader, error) {
	return archives.Identify(ctx, name, nil)
}
