// Package deps finds known-vulnerable dependencies with osv-scalibr's
// extractors and OSV matchers (engine.go): it reads every lockfile and
// manifest under a directory, matches the packages against the OSV API or
// an offline OSV database, and scores each advisory by CVSS. It fails closed wherever the library fails open.
package deps

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/secgate/secgate/gate/repo"
	"github.com/secgate/secgate/internal/cache"
	"github.com/secgate/secgate/policy"
)

// Default endpoints of the real services; tests point them at httptest servers.
const (
	DefaultAPIURL = "https://api.osv.dev"
	DefaultDBURL  = "https://osv-vulnerabilities.storage.googleapis.com"
)

// Options says what to scan and where vulnerability data comes from.
type Options struct {
	Root      string   // directory scanned recursively for lockfiles and manifests
	Lockfiles []string // further files to scan
	// Images are container images whose OS and language packages are
	// scanned too. Until the image checks land only docker-archive:FILE
	// (a `docker save` tarball) is read here.
	Images []string
	// ExportImage writes an image that is not a docker-archive (a registry
	// reference, oci-layout:, docker-daemon:) as one, for the package scan
	// (gate/image reads images); cleanup removes it.
	ExportImage func(ctx context.Context, ref string) (archive string, cleanup func(), err error)
	Exclude     []string // directories to skip: names, g:globs, r:regexes (osv-scanner's syntax)

	// OfflineDB is a directory in osv-scanner's offline layout
	// (DIR/osv-scalibr/<Ecosystem>/all.zip). Empty: the OSV API.
	OfflineDB  string
	DownloadDB bool   // fetch the offline database into OfflineDB first
	APIURL     string // OSV API base URL (default DefaultAPIURL)
	DBURL      string // offline database export base URL (default DefaultDBURL)
	// KEVURL and EPSSURL are where --download-db fetches CISA's KEV catalog
	// and FIRST's EPSS scores (default DefaultKEVURL, DefaultEPSSURL).
	KEVURL, EPSSURL string
	// EOLProducts are the endoflife.date products --download-db fetches
	// into DIR/eol/<product>.json, from EOLURL (default DefaultEOLURL).
	EOLProducts []string
	EOLURL      string

	// FetchRisk fetches, in the OSV API mode (no OfflineDB), the KEV
	// catalog and EPSS scores the floors need from KEVURL and EPSSURL at
	// run time, kept in CacheDir/risk when CacheDir is set (fetchRisk).
	// KEVOff and EPSSOff say a floor is off (deps.kev, deps.epss: off):
	// its data is neither fetched nor read.
	FetchRisk       bool
	KEVOff, EPSSOff bool
	CacheDir        string

	// MaxDBAge is how old offline data may be (deps.max_db_age): older is
	// an error; over 3 days a warning. 0: not checked.
	MaxDBAge time.Duration

	// RequireLockfiles makes a tree with no lockfile an error
	// (deps.require_lockfiles).
	RequireLockfiles bool

	// LockfilePatterns are files read as lockfiles beyond the names
	// osv-scanner knows, per ecosystem (deps.lockfile_patterns); nil:
	// policy.DefaultDepsLockfilePatterns.
	LockfilePatterns map[string][]string

	// SkipUnparsable turns a lockfile that cannot be read into a note
	// instead of an error (the policy's deps.unparsable: warn).
	SkipUnparsable bool

	// Base is the base revision of a pull/merge request: its lockfiles are
	// read with git show (no checkout) and each finding is marked new or
	// existing.
	Base string

	// Cache keeps whole results between runs, CacheVersion naming this
	// build in their digests (cache.go); nil: none. ImageDigest names an
	// image that is not a docker-archive by its content digest without
	// pulling it (nil: such images are not cached).
	Cache        *cache.Store
	CacheVersion string
	ImageDigest  func(ctx context.Context, ref string) (string, error)

	Now        time.Time // the clock, for osv-scanner.toml ignore expiry
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Source describes where the vulnerability data comes from, for messages.
func (o Options) Source() string {
	switch {
	case o.OfflineDB != "" && o.DownloadDB:
		return fmt.Sprintf("offline database %s (downloaded from %s)", o.OfflineDB, redactURL(o.dbURL()))
	case o.OfflineDB != "":
		return "offline database " + o.OfflineDB
	}
	return "OSV API " + redactURL(o.apiURL())
}

// redactURL drops credentials from a URL (a proxy's user:password@) before
// it appears in a report.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return redact(u)
}

func (o Options) lockfilePatterns() map[string][]string {
	if o.LockfilePatterns == nil {
		return policy.DefaultDepsLockfilePatterns
	}
	return o.LockfilePatterns
}

func (o Options) apiURL() string { return cmp.Or(o.APIURL, DefaultAPIURL) }
func (o Options) dbURL() string  { return cmp.Or(o.DBURL, DefaultDBURL) }

// Scanner is the dependency scanner.
type Scanner struct {
	opts Options
}

// New returns a dependency scanner.
func New(opts Options) *Scanner {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 2 * time.Minute}
	}
	return &Scanner{opts: opts}
}

// Name implements gate.Scanner.
func (s *Scanner) Name() string { return "deps" }

// Target says what the scan covers, for the report.
func (s *Scanner) Target() string {
	what := "lockfiles under " + s.opts.Root
	if len(s.opts.Images) > 0 {
		what += " and the packages of " + strings.Join(s.opts.Images, ", ")
	}
	return what + " against the " + s.opts.Source()
}

// osv-scalibr (and osv-scanner, the tests' reference engine) keep their
// loggers in process globals, and report much of what goes wrong only
// there: scans are serialised so that each reads its own.
var libMu sync.Mutex

// Scan runs the scan.
func (s *Scanner) Scan(ctx context.Context) (policy.ScanResult, error) {
	root, err := filepath.Abs(s.opts.Root)
	if err != nil {
		return policy.ScanResult{}, err
	}
	if fi, err := os.Stat(root); err != nil {
		return policy.ScanResult{}, fmt.Errorf("scan path: %w", err)
	} else if !fi.IsDir() {
		return policy.ScanResult{}, fmt.Errorf("scan path %s is not a directory", root)
	}
	// A scan path through a link (a runner's workspace) is walked where it
	// leads: osv-scanner and the walk for links read nothing past a link.
	if root, err = filepath.EvalSymlinks(root); err != nil {
		return policy.ScanResult{}, fmt.Errorf("scan path: %w", err)
	}
	if s.opts.OfflineDB != "" && !s.opts.DownloadDB {
		if fi, err := os.Stat(s.opts.OfflineDB); err != nil || !fi.IsDir() {
			return policy.ScanResult{}, fmt.Errorf("offline database %s: not a readable directory (fetch it with --download-db, or use the OSV API)", s.opts.OfflineDB)
		}
	}
	var lockfiles []string
	for _, l := range s.opts.Lockfiles {
		abs, err := filepath.Abs(l)
		if err != nil {
			return policy.ScanResult{}, err
		}
		if _, err := os.Stat(abs); err != nil {
			return policy.ScanResult{}, fmt.Errorf("lockfile: %w", err)
		}
		lockfiles = append(lockfiles, abs)
	}

	if s.opts.OfflineDB != "" && s.opts.DownloadDB {
		if err := downloadRisk(ctx, s.opts.OfflineDB, s.opts); err != nil {
			return policy.ScanResult{}, err
		}
	}
	out, err := s.cachedScan("deps-lockfiles", "the lockfiles' scan", func() ([32]byte, error) { return s.treeDigest(ctx, root, lockfiles) }, func() (policy.ScanResult, error) {
		out, res, read, err := s.scanTree(ctx, s.opts, root, lockfiles)
		if err == nil && s.opts.Base != "" {
			out, err = s.markNew(ctx, root, res, read, out)
		}
		return out, err
	})
	if err != nil {
		return out, err
	}
	for _, ref := range s.opts.Images {
		img, err := s.scanImageCached(ctx, ref)
		out.Findings = append(out.Findings, img.Findings...)
		out.Notes = append(out.Notes, img.Notes...)
		out.Coverage.Images += img.Coverage.Images
		out.Coverage.Packages += img.Coverage.Packages
		out.Packages = append(out.Packages, img.Packages...)
		out.Coverage.Skipped = append(out.Coverage.Skipped, img.Coverage.Skipped...)
		if err != nil {
			return out, fmt.Errorf("image %s: %w", ref, err)
		}
	}
	if s.opts.OfflineDB != "" {
		facts, err := annotateRisk(s.opts.OfflineDB, out.Findings, s.opts)
		out.Notes = append(out.Notes, facts.notes...)
		if err != nil {
			return out, err
		}
	} else if s.opts.FetchRisk && apiModeRiskNote(out.Findings) != "" {
		dir, cleanup, notes, err := fetchRisk(ctx, s.opts)
		defer cleanup()
		out.Notes = append(out.Notes, notes...)
		if err != nil {
			return out, err
		}
		if dir != "" {
			facts, err := annotateRisk(dir, out.Findings, s.opts)
			out.Notes = append(out.Notes, facts.notes...)
			if err != nil {
				return out, err
			}
		}
	} else if n := apiModeRiskNote(out.Findings); n != "" {
		out.Notes = append(out.Notes, n)
	}
	return out, nil
}

// scanTree scans one directory (the change, or its base revision's lockfiles).
// It also returns the lockfiles of the tree it read (relative paths), for
// the base revision's scan.
func (s *Scanner) scanTree(ctx context.Context, opts Options, root string, lockfiles []string) (policy.ScanResult, vulnResults, []string, error) {
	var none vulnResults
	actions, tr, err := newActions(opts)
	if err != nil {
		return policy.ScanResult{}, none, nil, err
	}
	actions.DirectoryPaths, actions.LockfilePaths = []string{root}, lockfiles
	actions.ExcludePatterns = excludePatterns(root, opts.Exclude)
	// osv-scanner scans from the filesystem root and applies the
	// .gitignore files of every directory above the tree too: a repository
	// under an ignored build/ or tmp/ (gitlab-ci-local's builds) would have
	// no lockfile. The tree's own rules are applied here instead (neither
	// engine reads .gitignore files).
	ignored, err := repo.IgnoredDirs(ctx, root)
	if err != nil {
		return policy.ScanResult{}, none, nil, err
	}
	base := regexp.QuoteMeta(strings.TrimPrefix(filepath.ToSlash(root), "/"))
	for _, d := range ignored {
		actions.ExcludePatterns = append(actions.ExcludePatterns, "r:^"+base+"/"+regexp.QuoteMeta(d)+"(/|$)")
	}

	skipDir, err := excludedDir(actions.ExcludePatterns)
	if err != nil {
		return policy.ScanResult{}, none, nil, err
	}
	prep, err := prepare(root, skipDir, opts.lockfilePatterns(), repo.GitDir(root))
	if err != nil {
		return policy.ScanResult{}, none, nil, err
	}
	defer prep.cleanup()
	explicit, err := prep.explicit(lockfiles, repo.GitDir(root))
	if err != nil {
		return policy.ScanResult{}, none, prep.paths(), err
	}
	actions.LockfilePaths = append(explicit, prep.lockfiles...)

	res, logs, err := doScan(ctx, actions, opts.Logger)
	if err != nil && strings.Contains(err.Error(), specifiedLockfileFailed) && opts.SkipUnparsable {
		// A staged copy that does not parse stops the library's whole
		// scan; under deps.unparsable: warn it is left out and the scan
		// run again, its error kept for the report.
		if failed, recs := prep.failedCopies(logs); len(failed) > 0 {
			actions.LockfilePaths = slices.DeleteFunc(actions.LockfilePaths, func(p string) bool { return failed[p] })
			var more []slog.Record
			res, more, err = doScan(ctx, actions, opts.Logger)
			logs = append(recs, more...)
		}
	}
	prep.results(&res)
	logs = prep.rewriteLogs(logs)
	var notes []string
	var skipped policy.Coverage
	if len(ignored) > 0 {
		skipped.AddSkip("directory", "ignored by the tree's own .gitignore", ignored...)
	}
	for _, sk := range prep.skipped.Skipped {
		skipped.AddSkip(sk.What, sk.Why, sk.Paths...)
	}
	switch {
	case err != nil && strings.Contains(err.Error(), specifiedLockfileFailed):
		// A staged copy that does not parse stops the whole library scan;
		// its logged error names the file.
		if lerr := checkLogs(root, logs, opts, nil); lerr != nil {
			return policy.ScanResult{Coverage: skipped}, none, prep.paths(), lerr
		}
		return policy.ScanResult{Coverage: skipped}, none, prep.paths(), fmt.Errorf("osv-scalibr (%s): %w", opts.Source(), err)
	case errors.Is(err, errNoPackagesFound):
		if err := checkLogs(root, logs, opts, nil); err != nil {
			return policy.ScanResult{}, res, prep.paths(), err
		}
		if out, err := unreadLockfiles(root, prep, res, opts, nil); err != nil || len(out.Warnings) > 0 {
			out.Coverage.Skipped = append(skipped.Skipped, out.Coverage.Skipped...)
			return out, res, prep.paths(), err
		}
		if opts.RequireLockfiles {
			return policy.ScanResult{Coverage: skipped}, res, prep.paths(), fmt.Errorf("no lockfile or manifest found under %s, and deps.require_lockfiles is true", root)
		}
		return policy.ScanResult{Notes: []string{"no lockfile or manifest found"}, Coverage: skipped}, res, prep.paths(), nil
	case err != nil:
		return policy.ScanResult{}, none, prep.paths(), fmt.Errorf("osv-scalibr (%s): %w", opts.Source(), err)
	}
	if err := tr.failure(); err != nil {
		return policy.ScanResult{}, none, prep.paths(), err
	}
	var dbNotes, dbWarnings []string
	if err := s.matchEquivalents(ctx, opts, root, &res); errors.Is(err, errNoScratch) {
		// A read-only container with no writable TMPDIR and no .git: the
		// versions are matched as the lockfiles write them, and the report
		// says so (the README's docker run gives a tmpfs).
		dbWarnings = append(dbWarnings, err.Error())
	} else if err != nil {
		return policy.ScanResult{}, none, prep.paths(), err
	}
	if err := checkLogs(root, logs, opts, &notes); err != nil {
		// A lockfile that did not parse: the others are still reported.
		out, _ := s.convert(ctx, opts, root, res, nil)
		out.Notes = append(out.Notes, notes...)
		return out, res, prep.paths(), err
	}
	if opts.OfflineDB != "" {
		facts, err := checkOfflineCoverage(actions.LocalDBPath, root, res, opts)
		if err != nil {
			return policy.ScanResult{}, none, prep.paths(), err
		}
		dbNotes, dbWarnings = facts.notes, append(dbWarnings, facts.warnings...)
	}
	out, err := s.convert(ctx, opts, root, res, nil)
	out.Coverage.Skipped = skipped.Skipped
	failed := map[string]bool{}
	for _, n := range notes {
		if p, ok := strings.CutPrefix(n, "skipped (deps.unparsable: warn): "); ok {
			out.Coverage.AddSkip("lockfile", "does not parse (deps.unparsable: warn)", p)
			path, _, _ := strings.Cut(p, ": ")
			failed[path] = true
		}
	}
	if err == nil {
		var un policy.ScanResult
		un, err = unreadLockfiles(root, prep, res, opts, failed)
		out.Warnings = append(out.Warnings, un.Warnings...)
		for _, sk := range un.Coverage.Skipped {
			out.Coverage.AddSkip(sk.What, sk.Why, sk.Paths...)
		}
	}
	out.Notes = append(out.Notes, notes...)
	out.Notes = append(out.Notes, dbNotes...)
	out.Warnings = append(out.Warnings, dbWarnings...)
	return out, res, prep.paths(), err
}

// unreadLockfiles checks that every lockfile of the tree that declares
// packages gave some: an error, or with deps.unparsable: warn a warning and
// a coverage entry.
func unreadLockfiles(root string, prep *prepared, res vulnResults, opts Options, failed map[string]bool) (policy.ScanResult, error) {
	var out policy.ScanResult
	unread, err := prep.unread(root, res, failed)
	if err != nil || len(unread) == 0 {
		return out, err
	}
	if !opts.SkipUnparsable {
		var errs []error
		for _, rel := range unread {
			errs = append(errs, fmt.Errorf("%s: read as %s, it declares packages and gave none (a layout the scanner does not read?); deps.unparsable: warn reports it and goes on", rel, prep.read[rel].format))
		}
		return out, errors.Join(errs...)
	}
	for _, rel := range unread {
		out.Warnings = append(out.Warnings, fmt.Sprintf("%s: read as %s, it declares packages and gave none: not checked (deps.unparsable: warn)", rel, prep.read[rel].format))
	}
	out.Coverage.AddSkip("lockfile", "declares packages and gave none (deps.unparsable: warn)", unread...)
	return out, nil
}

// specifiedLockfileFailed is osv-scanner v2.5.0's unexported error when a
// file given to it by path (LockfilePaths: a staged copy, a --lockfile)
// does not parse: it stops the whole scan, and the log says which file.
const specifiedLockfileFailed = "extraction failed on specified lockfile"

// newActions is what every library call of a scan shares: the data
// source and the failure-recording transport.
func newActions(opts Options) (scanActions, *transport, error) {
	tr := newTransport(opts)
	actions := scanActions{
		HTTPClient:       &http.Client{Transport: tr, Timeout: opts.HTTPClient.Timeout},
		RequestUserAgent: "secgate",
	}
	if opts.OfflineDB != "" {
		db, err := filepath.Abs(opts.OfflineDB)
		if err != nil {
			return scanActions{}, nil, err
		}
		actions.CompareOffline, actions.LocalDBPath, actions.DownloadDatabases = true, db, opts.DownloadDB
	}
	return actions, tr, nil
}

// doScan runs the engine with its logs captured. A cancelled scan returns
// at once; osv-scalibr's walk and matchers stop at their next check of the
// context (osv-scanner, the tests' reference, took none and ran on).
func doScan(ctx context.Context, actions scanActions, log *slog.Logger) (vulnResults, []slog.Record, error) {
	return runLibrary(ctx, log, func(e engine) (vulnResults, error) { return e.scan(ctx, actions) })
}

// runLibrary runs one engine call with its logs captured.
func runLibrary(ctx context.Context, log *slog.Logger, call func(engine) (vulnResults, error)) (vulnResults, []slog.Record, error) {
	type result struct {
		res vulnResults
		err error
	}
	done := make(chan result, 1)
	libMu.Lock()
	capture := &captureHandler{next: log.Handler()}
	e := defaultEngine
	e.setLogger(capture)
	go func() {
		// The library's globals are released when the library is done,
		// not when a cancelled caller gives up on it.
		defer libMu.Unlock()
		defer func() {
			// A panic in the library is this scan's error, never a crash
			// of the process with no report.
			if p := recover(); p != nil {
				e.setLogger(slog.DiscardHandler)
				done <- result{err: fmt.Errorf("osv-scalibr panicked: %v", p)}
			}
		}()
		r, err := call(e)
		e.setLogger(slog.DiscardHandler)
		done <- result{r, err}
	}()
	select {
	case r := <-done:
		return r.res, capture.records(), r.err
	case <-ctx.Done():
		return vulnResults{}, nil, ctx.Err()
	}
}

// checkLogs turns the errors osv-scanner only logs into errors: a missing
// ecosystem database (it then matches nothing, for any ecosystem) and
// lockfiles that failed to parse (the others are still scanned).
func checkLogs(root string, logs []slog.Record, opts Options, notes *[]string) error {
	var dbErrs, fileErrs []error
	for _, r := range logs {
		if r.Level < slog.LevelError {
			continue
		}
		msg := r.Message
		switch {
		case strings.HasPrefix(msg, "could not load db for "):
			eco, why, _ := strings.Cut(strings.TrimPrefix(msg, "could not load db for "), " ecosystem: ")
			if opts.OfflineDB != "" && !opts.DownloadDB {
				dbErrs = append(dbErrs, fmt.Errorf("offline database %s has no %s data (osv-scalibr/%s/all.zip): %s", opts.OfflineDB, eco, eco, why))
			} else {
				dbErrs = append(dbErrs, fmt.Errorf("%s: no %s data: %s", opts.Source(), eco, why))
			}
		case strings.Contains(msg, "(extracting as vulnmatch/"):
			// The matcher's summary of the error above; kept only if alone.
			if len(dbErrs) == 0 {
				dbErrs = append(dbErrs, fmt.Errorf("%s: %s", opts.Source(), afterParen(msg)))
			}
		case strings.HasPrefix(msg, "Error during extraction: "):
			fileErrs = append(fileErrs, lockfileError(root, msg))
		case strings.Contains(msg, "osv-scanner.toml") || strings.Contains(msg, "config file"):
			fileErrs = append(fileErrs, errors.New(msg))
		}
	}
	if len(dbErrs) > 0 {
		return fmt.Errorf("vulnerability data unavailable, failing closed: %w", errors.Join(dbErrs...))
	}
	if len(fileErrs) > 0 {
		if opts.SkipUnparsable && notes != nil {
			for _, e := range fileErrs {
				*notes = append(*notes, "skipped (deps.unparsable: warn): "+e.Error())
			}
			return nil
		}
		return errors.Join(fileErrs...)
	}
	return nil
}

func afterParen(msg string) string {
	if _, rest, ok := strings.Cut(msg, ") "); ok {
		return rest
	}
	return msg
}

// lockfileError rewrites "Error during extraction: (extracting as
// javascript/packagelockjson) tmp/x/package-lock.json: could not extract: …"
// as "package-lock.json: cannot parse (javascript/packagelockjson): …".
func lockfileError(root, msg string) error {
	rest := strings.TrimPrefix(msg, "Error during extraction: ")
	extractor := ""
	if strings.HasPrefix(rest, "(extracting as ") {
		extractor, rest, _ = strings.Cut(strings.TrimPrefix(rest, "(extracting as "), ") ")
	}
	var errs []error
	for _, line := range strings.Split(rest, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		path, why, ok := strings.Cut(line, ": ")
		if !ok {
			errs = append(errs, fmt.Errorf("cannot parse a lockfile (%s): %s", extractor, line))
			continue
		}
		// osv-scanner scans from the filesystem root and reports paths relative to it.
		abs := string(filepath.Separator) + strings.TrimPrefix(path, string(filepath.Separator))
		if rel, err := filepath.Rel(root, abs); err == nil && !strings.HasPrefix(rel, "..") {
			path = filepath.ToSlash(rel)
		} else {
			path = abs
		}
		// The parser names the file by osv-scanner's path: the message
		// names it once, relative to the scanned directory.
		why = strings.ReplaceAll(why, strings.TrimPrefix(abs, string(filepath.Separator)), path)
		why = strings.TrimPrefix(strings.TrimPrefix(why, "could not extract: "), path+":")
		line, why := withoutContent(why)
		errs = append(errs, fmt.Errorf("%s%s: cannot parse as %s: %s", path, line, extractor, why))
	}
	return errors.Join(errs...)
}

// parserLine finds the line number a parser's message gives.
var parserLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?:\bline |^|:)(\d+)(?::|\b)`) })

// withoutContent keeps of a parser's message what it says was expected
// and where (":<line>", "" when it gives none), never the file's bytes:
// parsers quote what they could not read ("unknown directive: <word>",
// "invalid character entity &<name>;", `parsing "<value>"`), and in
// go.mod or a lockfile, which gitleaks' allowlist skips, that can be a
// token no scanner reported (issue 25). The message is cut at the first
// quote or entity, and a last ": <word>" is dropped.
func withoutContent(msg string) (line, why string) {
	if m := parserLine().FindStringSubmatch(msg); m != nil {
		line = ":" + m[1]
		msg = strings.TrimPrefix(msg, m[1]+": ")
	}
	if i := strings.IndexAny(msg, "'\"`&<«"); i >= 0 {
		msg = msg[:i]
	}
	if i := strings.LastIndex(msg, ": "); i >= 0 && !strings.ContainsAny(strings.TrimSpace(msg[i+2:]), " \t") {
		msg = msg[:i]
	}
	msg = strings.TrimRight(msg, " :,;")
	if strings.HasPrefix(msg, "strconv.Parse") {
		msg = "a number was expected"
	}
	return line, msg + " (the parser's quote of the file is left out)"
}

// captureHandler records what the engine logs and passes it on at debug level.
type captureHandler struct {
	next slog.Handler
	mu   *sync.Mutex
	recs *[]slog.Record
}

func (h *captureHandler) init() {
	if h.mu == nil {
		h.mu, h.recs = &sync.Mutex{}, &[]slog.Record{}
	}
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *captureHandler) Handle(ctx context.Context, r slog.Record) error {
	h.init()
	h.mu.Lock()
	*h.recs = append(*h.recs, r.Clone())
	h.mu.Unlock()
	fwd := slog.NewRecord(r.Time, slog.LevelDebug, "osv-scalibr: "+r.Message, r.PC)
	if h.next.Enabled(ctx, fwd.Level) {
		return h.next.Handle(ctx, fwd)
	}
	return nil
}

func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *captureHandler) WithGroup(string) slog.Handler      { return h }

func (h *captureHandler) records() []slog.Record {
	h.init()
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(*h.recs)
}

// excludePatterns translates the policy's deps.exclude into osv-scanner's
// patterns, every one anchored at the scanned root: osv-scanner matches
// them against the absolute path (without its leading slash), so a bare
// name would also match a directory above the root (a runner's
// /home/runner/work, a checkout under tmp/) and exclude the whole tree.
// A bare name is a directory of that name anywhere under the root; an
// entry with a slash a path under the root; g: globs are relative to the
// root; r: regexes are matched against the path relative to the root.
func excludePatterns(root string, entries []string) []string {
	base := regexp.QuoteMeta(strings.TrimPrefix(filepath.ToSlash(root), "/"))
	var out []string
	for _, e := range entries {
		switch {
		case strings.HasPrefix(e, "g:"):
			// Directories are what is skipped: fixtures/** is fixtures.
			glob := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(e, "g:"), "**/"), "/**")
			out = append(out, "r:^"+base+"/(.*/)?"+globRegex(glob)+"(/|$)")
		case strings.HasPrefix(e, "r:"):
			re := strings.TrimPrefix(strings.TrimPrefix(e, "r:"), "^")
			out = append(out, "r:^"+base+"/"+re)
		case strings.Contains(strings.Trim(e, "/"), "/"):
			out = append(out, "r:^"+base+"/"+regexp.QuoteMeta(strings.Trim(filepath.ToSlash(e), "/"))+"(/|$)")
		default:
			out = append(out, "r:^"+base+"/(.*/)?"+regexp.QuoteMeta(strings.Trim(e, "/"))+"(/|$)")
		}
	}
	return out
}

// globRegex turns a glob (*, **, ?) into a regular expression.
func globRegex(glob string) string {
	var b strings.Builder
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; {
		case c == '*' && i+1 < len(glob) && glob[i+1] == '*':
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	return strings.TrimSuffix(b.String(), "/")
}

func baseEcosystem(eco string) string {
	b, _, _ := strings.Cut(eco, ":")
	return b
}

func appendUnique(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func relPath(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return p
}
