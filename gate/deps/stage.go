package deps

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	cpb "github.com/google/osv-scalibr/binary/proto/config_go_proto"
	"github.com/google/osv-scalibr/extractor/filesystem"
	"github.com/google/osv-scalibr/extractor/filesystem/language/dotnet/packageslockjson"
	"github.com/google/osv-scalibr/extractor/filesystem/language/golang/gomod"
	"github.com/google/osv-scalibr/extractor/filesystem/language/java/pomxml"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/packagelockjson"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/pnpmlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/yarnlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/php/composerlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/pdmlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/pipfilelock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/poetrylock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/requirements"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/uvlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/ruby/gemfilelock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/rust/cargolock"
	"github.com/google/osv-scalibr/extractor/filesystem/simplefileapi"

	"github.com/secgate/secgate/internal/scratch"
	"github.com/secgate/secgate/policy"
)

// What osv-scanner v2.5.0 reads differently from the package managers
// (issue 26), and what prepare does about it before the scan:
//   - it does not follow symbolic links (scalibr's ReadSymlinks is false):
//     a requirements.txt or package-lock.json that is a link to another
//     file of the repository read as "no lockfile";
//   - a UTF-8 byte order mark (Windows editors write one; pip, npm and
//     bundler read past it) made the first line of a requirements.txt a
//     package nobody has, or a JSON lockfile a parse error;
//   - only a .txt whose name contains "requirements" is a pip requirements
//     file: requirements/production.txt, requirements.in and
//     constraints.txt (Django and pip-tools layouts) were not read, nor
//     the files a requirements file names with -c or --requirement.
//
// Such a file is copied, under the name the library recognises, into a
// scratch directory and given to the scan as a lockfile; its findings are
// reported at its own path (or the link's). TestSymlinkedLockfiles,
// TestByteOrderMark and TestRequirementsLayouts reproduce each.

// lockfileExtractors are osv-scanner v2.5.0's lockfile extractors (its
// "lockfile" and "sbom" presets, the OS package databases left out): the
// library's own FileRequired says which names it reads.
var lockfileExtractors = sync.OnceValue(func() []filesystem.Extractor {
	out, err := newExtractors(&cpb.PluginConfig{}, lockfileKind|sbomKind)
	if err != nil {
		panic(err)
	}
	return out
})

// nativeLockfile is the extractor osv-scanner reads the file at rel (its
// path in the tree, with info its target's) with, if any.
func nativeLockfile(rel string, info fs.FileInfo) filesystem.Extractor {
	return nativeLockfileAPI(simplefileapi.New(filepath.ToSlash(rel), info))
}

func nativeLockfileAPI(api filesystem.FileAPI) filesystem.Extractor {
	for _, e := range lockfileExtractors() {
		if e.FileRequired(api) {
			return e
		}
	}
	return nil
}

// walkedFile is a FileAPI that stats the file only when an extractor asks
// (most decide by the name): the walk stays about as cheap as the
// library's own.
type walkedFile struct {
	rel string
	d   fs.DirEntry
}

func (w walkedFile) Path() string               { return filepath.ToSlash(w.rel) }
func (w walkedFile) Stat() (fs.FileInfo, error) { return w.d.Info() }

var utf8BOM = []byte("\ufeff")

// prepared is what a scan adds to osv-scanner's own reading of a tree.
type prepared struct {
	lockfiles []string          // staged copies, given to the scan
	origin    map[string]string // staged copy → the path in the tree it stands for
	// superseded are files osv-scanner reads itself (absolute paths) that
	// are staged too (without their BOM): its own reading is dropped.
	superseded map[string]bool
	// read are the lockfiles of the tree (relative paths), for the check
	// that a file with content gave packages.
	read    map[string]readFile
	skipped policy.Coverage
	cleanup func()

	dir    string // the scratch directory, made for the first copy
	copies int
}

// stage writes a copy named name into the scratch directory.
func (p *prepared) stage(name string, data []byte, gitDir string) (string, error) {
	if p.dir == "" {
		dir, cleanup, err := scratch.Dir("reading linked, byte-order-marked or extra lockfiles", "secgate-lockfiles-", gitDir)
		if err != nil {
			return "", err
		}
		p.dir, p.cleanup = dir, cleanup
	}
	p.copies++
	dst := filepath.Join(p.dir, strconv.Itoa(p.copies), name)
	return dst, writeFile(dst, data)
}

// explicit returns the --lockfile files as the scan reads them: one that
// starts with a BOM as a copy without it.
func (p *prepared) explicit(lockfiles []string, gitDir string) ([]string, error) {
	var out []string
	for _, l := range lockfiles {
		data, err := os.ReadFile(l)
		if err != nil {
			return nil, fmt.Errorf("lockfile: %w", err)
		}
		if !bytes.HasPrefix(data, utf8BOM) {
			out = append(out, l)
			continue
		}
		dst, err := p.stage(filepath.Base(l), bytes.TrimPrefix(data, utf8BOM), gitDir)
		if err != nil {
			return nil, fmt.Errorf("staging %s: %w", l, err)
		}
		p.origin[dst] = l
		out = append(out, dst)
	}
	return out, nil
}

// readFile is a lockfile of the tree: the format (extractor) it is read
// as, and the file read (a link's target).
type readFile struct{ format, content string }

// paths are the lockfiles of the tree read (relative, slash-separated,
// sorted).
func (p *prepared) paths() []string { return slices.Sorted(maps.Keys(p.read)) }

// stagedPath maps a path the scan reports to the path in the tree.
func (p *prepared) stagedPath(path string) string {
	if o, ok := p.origin[path]; ok {
		return o
	}
	return path
}

// prepare walks the tree as osv-scanner will (the same directories
// skipped), and stages the files the library would not read as the
// package managers do.
func prepare(root string, skipDir func(abs string) bool, patterns map[string][]string, gitDir string) (*prepared, error) {
	p := &prepared{origin: map[string]string{}, superseded: map[string]bool{}, read: map[string]readFile{}, cleanup: func() {}}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("scan path: %w", err)
	}
	extra, err := compilePatterns(patterns)
	if err != nil {
		return nil, err
	}
	type job struct {
		rel         string // the path in the tree
		content     string // the file read (a link's target)
		requirement bool   // a pip requirements file named by an include
	}
	var queue []job
	var outside []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // osv-scanner's walk skips what it cannot read too
		}
		if d.IsDir() {
			if path != root && (d.Name() == ".git" || skipDir(path)) {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := filepath.EvalSymlinks(path)
			info, serr := os.Stat(path)
			if err != nil || serr != nil || !within(realRoot, target) {
				// Not read: a link that leaves the tree (or leads nowhere)
				// is listed when it could be a lockfile or hold some.
				linfo, _ := d.Info()
				if serr == nil && info.IsDir() || linfo != nil && nativeLockfile(rel, linfo) != nil || extra.match(rel) != "" {
					outside = append(outside, filepath.ToSlash(rel))
				}
				return nil
			}
			// A directory inside the tree is scanned where it is.
			if info.Mode().IsRegular() && (nativeLockfile(rel, info) != nil || extra.match(rel) != "") {
				queue = append(queue, job{rel: rel, content: target})
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if nativeLockfileAPI(walkedFile{rel, d}) != nil || extra.match(rel) != "" {
			queue = append(queue, job{rel: rel, content: path})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", root, err)
	}
	if len(outside) > 0 {
		p.skipped.AddSkip("symlink", "leaves the scanned tree: not read", outside...)
	}

	seen := map[string]bool{}
	var leaving []string
	for len(queue) > 0 {
		j := queue[0]
		queue = queue[1:]
		if seen[j.rel] {
			continue
		}
		info, err := os.Stat(j.content)
		if err != nil {
			continue
		}
		format, link := "", false
		if li, err := os.Lstat(filepath.Join(root, j.rel)); err == nil {
			link = li.Mode()&fs.ModeSymlink != 0
		}
		native := nativeLockfile(j.rel, info)
		switch {
		case native != nil:
			format = native.Name()
		case j.requirement || extra.match(j.rel) != "":
			format = requirements.Name
		default:
			continue
		}
		seen[j.rel] = true
		data, err := os.ReadFile(j.content)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", filepath.ToSlash(j.rel), err)
		}
		p.read[filepath.ToSlash(j.rel)] = readFile{format, j.content}
		bom := bytes.HasPrefix(data, utf8BOM)
		stage := link || bom || native == nil
		if format == requirements.Name {
			// pip resolves an include against the file's own directory (a
			// link's, not its target's). osv-scalibr follows "-r" itself,
			// in the files it reads; the rest are followed here.
			for _, inc := range includes(data) {
				if !stage && inc.scalibrFollows {
					continue
				}
				incRel := filepath.Join(filepath.Dir(j.rel), inc.path)
				abs := filepath.Join(root, incRel)
				target, err := filepath.EvalSymlinks(abs)
				if filepath.IsAbs(inc.path) || err != nil || !within(realRoot, target) {
					leaving = appendUnique(leaving, filepath.ToSlash(j.rel))
					continue
				}
				queue = append(queue, job{rel: incRel, content: target, requirement: true})
			}
		}
		if !stage {
			continue
		}
		name := filepath.Base(j.rel)
		if native == nil {
			name = "requirements.txt"
		}
		data = bytes.TrimPrefix(data, utf8BOM)
		if format == requirements.Name {
			data = dropIncludes(data) // followed above, from where they are
		}
		dst, err := p.stage(name, data, gitDir)
		if err != nil {
			return nil, fmt.Errorf("staging %s: %w", filepath.ToSlash(j.rel), err)
		}
		p.lockfiles = append(p.lockfiles, dst)
		p.origin[dst] = filepath.Join(root, j.rel)
		if !link && native != nil {
			p.superseded[filepath.Join(root, j.rel)] = true
		}
	}
	if len(leaving) > 0 {
		p.skipped.AddSkip("requirements file", "includes (-r/-c) a file outside the scanned tree: that file is not read", leaving...)
	}
	return p, nil
}

// within reports whether path (symlinks resolved) is root or under it.
func within(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

type include struct {
	path           string
	scalibrFollows bool // osv-scalibr's requirements extractor reads it itself
}

// includeLine is a pip requirements file's include: -r/--requirement
// (another requirements file) or -c/--constraint (a constraints file; its
// pins are what gets installed when the package is).
var includeLine = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^\s*(-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+|)(\S+)`)
})

func includes(data []byte) []include {
	var out []include
	s := bufio.NewScanner(bytes.NewReader(bytes.TrimPrefix(data, utf8BOM)))
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		if m := includeLine().FindStringSubmatch(s.Text()); m != nil {
			out = append(out, include{path: filepath.FromSlash(m[2]), scalibrFollows: m[1] == "-r"})
		}
	}
	return out
}

// dropIncludes blanks the include lines of a staged copy (the included
// files are read from the tree, not from the scratch directory); line
// numbers stay.
func dropIncludes(data []byte) []byte {
	lines := bytes.Split(data, []byte("\n"))
	for i, l := range lines {
		if includeLine().Match(l) {
			lines[i] = nil
		}
	}
	return bytes.Join(lines, []byte("\n"))
}

// lockfilePatterns are compiled deps.lockfile_patterns: a pattern with no
// slash matches a file name anywhere in the tree, one with a slash a path
// relative to any directory of it; * and ? stay within a name, ** does not.
type lockfilePatterns []lockfilePattern

type lockfilePattern struct {
	ecosystem string
	re        *regexp.Regexp
	// parts is how many trailing path elements the pattern is matched
	// against (its slashes + 1); 0 with **: the whole path. Every file of
	// the tree is matched: a regex with a leading (.*/)? costs more.
	parts int
}

func compilePatterns(patterns map[string][]string) (lockfilePatterns, error) {
	var out lockfilePatterns
	for _, eco := range slices.Sorted(maps.Keys(patterns)) {
		for _, p := range patterns[eco] {
			p = strings.TrimPrefix(p, "/")
			expr, parts := `^`+globRegex(p)+`$`, strings.Count(p, "/")+1
			if strings.Contains(p, "**") {
				// a/**/b is also a/b
				expr, parts = `^(.*/)?`+strings.ReplaceAll(globRegex(p), "/.*/", "/(.*/)?")+`$`, 0
			}
			re, err := regexp.Compile(expr)
			if err != nil {
				return nil, fmt.Errorf("deps.lockfile_patterns %s: %q: %w", eco, p, err)
			}
			out = append(out, lockfilePattern{eco, re, parts})
		}
	}
	return out, nil
}

// match is the ecosystem of the first pattern rel matches, or "".
func (ps lockfilePatterns) match(rel string) string {
	rel = filepath.ToSlash(rel)
	for _, p := range ps {
		tail := rel
		if p.parts > 0 {
			tail = lastElements(rel, p.parts)
			if tail == "" {
				continue
			}
		}
		if p.re.MatchString(tail) {
			return p.ecosystem
		}
	}
	return ""
}

// lastElements is the last n elements of a slash-separated path, "" when
// it has fewer.
func lastElements(p string, n int) string {
	i := len(p)
	for ; n > 0; n-- {
		j := strings.LastIndexByte(p[:i], '/')
		if j < 0 {
			if n == 1 {
				return p
			}
			return ""
		}
		i = j
	}
	return p[i+1:]
}

// excludedDir reports whether osv-scanner skips the directory at abs: the
// patterns are excludePatterns' (all r: regexes, against the path without
// its leading slash).
func excludedDir(patterns []string) (func(abs string) bool, error) {
	var res []*regexp.Regexp
	for _, p := range patterns {
		re, err := regexp.Compile(strings.TrimPrefix(p, "r:"))
		if err != nil {
			return nil, fmt.Errorf("deps.exclude: %w", err)
		}
		res = append(res, re)
	}
	return func(abs string) bool {
		p := strings.TrimPrefix(filepath.ToSlash(abs), "/")
		for _, re := range res {
			if re.MatchString(p) {
				return true
			}
		}
		return false
	}, nil
}

// results maps the scan's results to the tree: staged copies reported at
// the path they stand for, the library's own reading of a superseded file
// dropped.
func (p *prepared) results(res *vulnResults) {
	kept := res.Results[:0]
	for _, r := range res.Results {
		if p.superseded[filepath.Join("/", r.Source.Path)] {
			continue
		}
		r.Source.Path = p.stagedPath(r.Source.Path)
		kept = append(kept, r)
	}
	res.Results = kept
}

// failedCopies are the staged copies the library logged parse errors for
// (absolute paths), and those records.
func (p *prepared) failedCopies(logs []slog.Record) (map[string]bool, []slog.Record) {
	failed := map[string]bool{}
	var recs []slog.Record
	for _, r := range logs {
		rest, ok := strings.CutPrefix(r.Message, "Error during extraction: ")
		if !ok {
			continue
		}
		if _, files, ok := strings.Cut(rest, ") "); ok && strings.HasPrefix(rest, "(extracting as ") {
			rest = files
		}
		hit := false
		for _, line := range strings.Split(rest, "\n") {
			path, _, _ := strings.Cut(strings.TrimSpace(line), ": ")
			if abs := filepath.Join("/", path); p.origin[abs] != "" {
				failed[abs], hit = true, true
			}
		}
		if hit {
			recs = append(recs, r)
		}
	}
	return failed, recs
}

// rewriteLogs does the same for the library's messages: a superseded
// file's parse error dropped (its BOM), staged copies named by the paths
// in the tree they stand for.
func (p *prepared) rewriteLogs(logs []slog.Record) []slog.Record {
	var out []slog.Record
	for _, r := range logs {
		if rest, ok := strings.CutPrefix(r.Message, "Error during extraction: "); ok && len(p.superseded) > 0 {
			head, files := "", rest
			if strings.HasPrefix(rest, "(extracting as ") {
				if h, f, ok := strings.Cut(rest, ") "); ok {
					head, files = h+") ", f
				}
			}
			var keep []string
			for _, line := range strings.Split(files, "\n") {
				path, _, _ := strings.Cut(strings.TrimSpace(line), ": ")
				if strings.TrimSpace(line) == "" || p.superseded[filepath.Join("/", path)] {
					continue
				}
				keep = append(keep, line)
			}
			if len(keep) == 0 {
				continue
			}
			r.Message = "Error during extraction: " + head + strings.Join(keep, "\n")
		}
		for staged, origin := range p.origin {
			r.Message = strings.ReplaceAll(r.Message, strings.TrimPrefix(staged, "/"), strings.TrimPrefix(origin, "/"))
		}
		out = append(out, r)
	}
	return out
}

// declares says, per format, what in a file declares a package: a file of
// that format with such content that gives no package is one the library
// did not read as its package manager does (issue 26). A lockfile with no
// dependency (a package-lock.json of a project with none, a parent
// pom.xml) gives none and declares none. Formats not listed are not
// checked.
var declares = sync.OnceValue(func() map[string]*regexp.Regexp {
	return map[string]*regexp.Regexp{
		requirements.Name:     regexp.MustCompile(`(?m)^[ \t]*[^-#\s]`), // a line that is neither a comment nor an option
		packagelockjson.Name:  regexp.MustCompile(`"node_modules/|"dependencies"\s*:\s*\{\s*"`),
		yarnlock.Name:         regexp.MustCompile(`(?m)^[^#\s_][^\n]*:\s*$`),
		pnpmlock.Name:         regexp.MustCompile(`(?m)^packages:[ \t]*\r?\n[ \t]+\S`),
		pomxml.Name:           regexp.MustCompile(`<dependency>`),
		gomod.Name:            regexp.MustCompile(`(?m)^\s*require\b`),
		cargolock.Name:        regexp.MustCompile(`(?m)^\[\[package\]\]`),
		poetrylock.Name:       regexp.MustCompile(`(?m)^\[\[package\]\]`),
		uvlock.Name:           regexp.MustCompile(`(?m)^\[\[package\]\]`),
		pdmlock.Name:          regexp.MustCompile(`(?m)^\[\[package\]\]`),
		gemfilelock.Name:      regexp.MustCompile(`(?m)^    [^ \r\n]`),
		pipfilelock.Name:      regexp.MustCompile(`"version"\s*:`),
		composerlock.Name:     regexp.MustCompile(`"packages(-dev)?"\s*:\s*\[\s*\{`),
		packageslockjson.Name: regexp.MustCompile(`"resolved"\s*:`),
	}
})

var xmlComment = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?s)<!--.*?-->`) })

// unread lists the lockfiles of the tree that declare packages and gave
// none (relative paths, sorted), parse failures (already reported) aside.
func (p *prepared) unread(root string, res vulnResults, failed map[string]bool) ([]string, error) {
	got := map[string]int{}
	for _, src := range res.Results {
		got[relPath(root, src.Source.Path)] += len(src.Packages)
	}
	var out []string
	for _, rel := range slices.Sorted(maps.Keys(p.read)) {
		f := p.read[rel]
		re := declares()[f.format]
		if re == nil || got[rel] > 0 || failed[rel] {
			continue
		}
		data, err := os.ReadFile(f.content)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", rel, err)
		}
		data = bytes.TrimPrefix(data, utf8BOM)
		if f.format == pomxml.Name {
			data = xmlComment().ReplaceAll(data, nil)
		}
		if re.Match(data) {
			out = append(out, rel)
		}
	}
	return out, nil
}
