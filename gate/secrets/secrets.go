// Package secrets finds leaked credentials with the gitleaks library: in a
// working tree, in the whole git history, or in a commit range (the diff of
// a pull/merge request or push). A secret value never leaves this package:
// findings carry a fingerprint and a redacted preview.
package secrets

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/rs/zerolog"
	"github.com/zricethezav/gitleaks/v8/logging"
	"github.com/zricethezav/gitleaks/v8/report"
	"github.com/zricethezav/gitleaks/v8/sources"

	"github.com/secgate/secgate/gate/repo"
	"github.com/secgate/secgate/internal/cache"
	"github.com/secgate/secgate/policy"
)

// IgnoreFile is gitleaks' ignore file, honoured at the root of the scan.
const IgnoreFile = ".gitleaksignore"

const (
	maxDecodeDepth  = 5 // as the gitleaks CLI (the library default is 0)
	maxArchiveDepth = 4 // zip in jar in tar...: gitleaks' CLI default is 0, no archives
)

// Options says what to scan.
type Options struct {
	Root    string // directory or repository root
	History bool   // scan every commit reachable from any ref
	Base    string // with Head: scan the commits in Base..Head only
	Head    string // defaults to HEAD when Base is set
	// ConfigRevision, when set, is the revision whose .gitleaks.toml and
	// .gitleaksignore apply (a pull/merge request's base): the change
	// under review cannot loosen the rules it is judged by.
	ConfigRevision string
	// RequireFiles makes a scan that read no file an error
	// (secrets.require_files): for teams that want emptiness to fail.
	RequireFiles bool
	// FingerprintKey keys the hash of each secret value in its fingerprint
	// (SECGATE_FINGERPRINT_KEY); empty: a public default key.
	FingerprintKey []byte
	// Cache, when set, keeps the files and commits that gave nothing
	// between runs (see cache.go); CacheVersion names this build and its
	// gitleaks in its digest.
	Cache        *cache.Store
	CacheVersion string
	// ArchiveBytes and RunArchiveBytes bound the bytes decompressed from
	// one archive file and from all of a run's (0: DefaultArchiveBytes,
	// DefaultRunArchiveBytes). Past a bound the scan fails, unless
	// SkipArchiveBounds (secrets.archives: skip): then the archive is
	// read no further and coverage names it.
	ArchiveBytes, RunArchiveBytes int64
	SkipArchiveBounds             bool
	// Verify, when set, asks each provider whether a found credential is
	// live (secrets.verify, --verify-secrets; see verify.go).
	Verify *Verify
	// VerifyDryRun says secrets.verify is set but this dry run leaves it
	// off (--verify-secrets turns it on): a note.
	VerifyDryRun bool
	Logger       *slog.Logger
}

// Mode describes what Options scan, for the report.
func (o Options) Mode() string {
	switch {
	case o.Base != "":
		return fmt.Sprintf("commits %s..%s", o.Base, o.head())
	case o.History:
		return "full git history"
	}
	return "working tree"
}

func (o Options) head() string {
	if o.Head == "" {
		return "HEAD"
	}
	return o.Head
}

// Scanner is the secret scanner.
type Scanner struct {
	opts Options
}

// New returns a secret scanner.
func New(opts Options) *Scanner {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Scanner{opts: opts}
}

// Name implements gate.Scanner.
func (s *Scanner) Name() string { return "secrets" }

// Target says what the scan covers, for the report.
func (s *Scanner) Target() string { return s.opts.Mode() + " of " + s.opts.Root }

// gitleaks logs through a process-global zerolog logger, at debug and trace
// level with the secret values in the fields. It is switched off once,
// before the first scan; errors reach us through the source callback.
var silenceGitleaks sync.Once

// Scan runs the scan.
func (s *Scanner) Scan(ctx context.Context) (policy.ScanResult, error) {
	silenceGitleaks.Do(func() { logging.Logger = zerolog.Nop() })
	root, err := filepath.Abs(s.opts.Root)
	if err != nil {
		return policy.ScanResult{}, err
	}
	if fi, err := os.Stat(root); err != nil {
		return policy.ScanResult{}, fmt.Errorf("scan path: %w", err)
	} else if !fi.IsDir() {
		return policy.ScanResult{}, fmt.Errorf("scan path %s is not a directory", root)
	}
	cfg, notes, err := loadConfig(ctx, root, s.opts.ConfigRevision)
	if err != nil {
		return policy.ScanResult{}, err
	}
	ignores, err := readIgnoreFile(ctx, root, s.opts.ConfigRevision)
	if err != nil {
		return policy.ScanResult{}, err
	}
	if s.opts.ConfigRevision != "" {
		notes = append(notes, fmt.Sprintf("%s and %s read from the base revision %s", RepoConfigFile, IgnoreFile, s.opts.ConfigRevision))
	}

	d := newContentDetector(ctx, cfg, maxDecodeDepth, maxArchiveDepth)
	ctx = withArchiveBudget(ctx, newArchiveBudget(s.opts.ArchiveBytes, s.opts.RunArchiveBytes))

	var src sources.Source
	var tree *treeFiles
	var hist *gitHistory
	status := policy.Status("")
	var clean *cache.Set
	var cacheWarnings []string
	if s.opts.Cache != nil {
		kind := "files"
		if s.opts.Base != "" || s.opts.History {
			kind = "commits"
		}
		digest, err := s.cacheDigest(ctx, root, kind)
		if err != nil {
			return policy.ScanResult{}, err
		}
		var warning string
		clean, warning = s.opts.Cache.Load("secrets-"+kind, digest)
		if warning != "" {
			cacheWarnings = append(cacheWarnings, warning)
		}
	}
	switch {
	case s.opts.Base != "" || s.opts.History:
		h := &gitHistory{root: root, cfg: &cfg, clean: clean, names: &names{}}
		hist = h
		if s.opts.Base != "" {
			for _, rev := range []string{s.opts.Base, s.opts.head()} {
				if err := repo.VerifyRevision(ctx, root, rev); err != nil {
					return policy.ScanResult{}, err
				}
			}
			h.base, h.head = s.opts.Base, s.opts.head()
			status = policy.StatusNew
		} else if err := repo.VerifyRevision(ctx, root, "HEAD"); err != nil {
			return policy.ScanResult{}, err
		}
		src = h
	default:
		tree = &treeFiles{root: root, cfg: &cfg, sema: d.rest.Sema, clean: clean, keys: map[string]cache.ID{}}
		if clean != nil {
			tree.index, tree.indexTime = repo.Index(root)
		}
		src = tree
	}

	// The loop of detect.Detector.DetectSource, with source errors kept
	// (gitleaks only logs them: a broken git log would pass as clean).
	var (
		mu         sync.Mutex
		srcErrs    []error
		raw        []report.Finding
		bounded    []string         // archives past a bound, under secrets.archives: skip
		unfinished []report.Finding // their files and commits, for the cache
	)
	err = src.Fragments(ctx, func(fragment sources.Fragment, ferr error) error {
		if ferr != nil {
			mu.Lock()
			if bound := (*ArchiveBoundError)(nil); errors.As(ferr, &bound) && s.opts.SkipArchiveBounds {
				bounded = append(bounded, bound.Path)
				// not read to its end: never remembered as clean
				unfinished = append(unfinished, report.Finding{File: fragment.FilePath, Commit: fragment.CommitSHA})
			} else {
				srcErrs = append(srcErrs, ferr)
			}
			mu.Unlock()
			return nil
		}
		if len(fragment.Raw) == 0 && len(fragment.FilePath) == 0 {
			return nil
		}
		found := d.Detect(ctx, fragment)
		if len(found) > 0 {
			mu.Lock()
			raw = append(raw, found...)
			mu.Unlock()
		}
		return nil
	})
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return policy.ScanResult{}, fmt.Errorf("scanning %s (%s): %w", root, s.opts.Mode(), err)
	}
	if len(srcErrs) > 0 {
		return policy.ScanResult{}, fmt.Errorf("scanning %s (%s): %w", root, s.opts.Mode(), errors.Join(srcErrs...))
	}

	if hist != nil {
		raw = hist.settle(ctx, d, raw, s.opts.FingerprintKey) // the range's last pass against its walk
	}
	nameFindings, err := s.names(ctx, d, root, tree, hist)
	if err != nil {
		return policy.ScanResult{}, fmt.Errorf("scanning %s (%s): %w", root, s.opts.Mode(), err)
	}
	read := slices.Clip(raw) // the files' and commits' own matches
	raw = append(raw, nameFindings...)
	cachedExamples := 0
	if tree != nil {
		cachedExamples = tree.examples
	}
	res, values := convert(root, raw, ignores, status, s.opts.FingerprintKey, cachedExamples)
	switch {
	case s.opts.Verify != nil && len(res.Findings) > 0:
		notes = append(notes, s.opts.Verify.verifyFindings(ctx, res.Findings, values))
	case s.opts.VerifyDryRun:
		notes = append(notes, "secrets.verify: not in a dry run; --verify-secrets asks the providers")
	}
	if tree != nil {
		notes = append(notes, tree.notes...)
		res.Coverage = tree.coverage
	} else {
		notes = append(notes, hist.pass.notes...)
		res.Coverage = hist.coverage(s.opts.Mode())
		hist.markExisting(res.Findings)
	}
	for _, p := range bounded {
		res.Coverage.AddSkip("archive", "decompressed past its bound: read no further (secrets.archives: skip)", relPath(root, p))
	}
	// the paths the provider-format rules only read, those the cache
	// spared too (a warm run's coverage is a cold run's), in path order
	// (the detector meets them in the order its workers finish)
	var providerOnly []string
	for _, p := range d.ProviderOnlyPaths() {
		providerOnly = append(providerOnly, relPath(root, p))
	}
	if tree != nil {
		for _, p := range tree.providerOnly {
			providerOnly = append(providerOnly, relPath(root, p))
		}
	}
	slices.Sort(providerOnly)
	for _, p := range slices.Compact(providerOnly) {
		res.Coverage.AddSkip("file", ProviderOnlyWhy, p)
	}
	res.Warnings = append(res.Warnings, cacheWarnings...)
	if clean != nil {
		if note, warning := s.remember(clean, root, read, append(slices.Clip(nameFindings), unfinished...), d.ProviderOnlyPaths(), tree, hist); warning != "" {
			res.Warnings = append(res.Warnings, warning)
		} else {
			notes = append(notes, note)
		}
	}
	res.Notes = append(notes, res.Notes...)
	if s.opts.RequireFiles && res.Coverage.Empty() {
		return res, fmt.Errorf("scanning %s (%s): nothing was read, and secrets.require_files is true", root, s.opts.Mode())
	}
	return res, nil
}

// convert turns gitleaks findings into policy findings: paths relative to
// the root, secrets replaced by fingerprint and preview, public example
// values dropped, the same secret found twice (plain and decoded, or on two
// lines of one file, or by two rules) reported once, .gitleaksignore
// entries marked ignored.
//
// values[i] is the secret of res.Findings[i], for verification only: it
// stays in this package.
//
// examples counts the public examples of files the cache spared (their
// matches are not in raw): the note says how many were dropped in all.
func convert(root string, raw []report.Finding, ignores map[string]int, status policy.Status, key []byte, examples int) (res policy.ScanResult, values []string) {
	red := &Redactor{}
	res = policy.ScanResult{Redactor: red}
	type kept struct {
		f       policy.Finding
		decoded bool
		mac     string
		value   string
	}
	var found []kept
	bySecret := map[string]int{} // path + keyed hash of the value → index in found
	for _, g := range dropGenericOverlaps(raw) {
		path := relPath(root, g.File)
		context, drop := judgeExample(g, path)
		if drop {
			examples++
			continue
		}
		red.add(g.Secret)
		mac := valueMAC(key, g.Secret)
		f := policy.Finding{
			Kind:     policy.KindSecret,
			Rule:     g.RuleID,
			Title:    title(g),
			Location: policy.Location{Path: path, Line: g.StartLine, Commit: g.Commit},
			Preview:  preview(g),
			Context:  context,
			Fix:      "revoke and rotate this credential now (it is exposed), remove it from the code and load it from a secret store",
			Status:   status,
		}
		if line, ok := matchIgnore(ignores, g, path); ok {
			f.Ignored = &policy.Ignored{Reason: fmt.Sprintf("listed in %s line %d", IgnoreFile, line), Source: IgnoreFile}
		}
		decoded := isDecoded(g)
		at := path + "\x00" + mac
		if i, seen := bySecret[at]; seen {
			if better(f, decoded, found[i].f, found[i].decoded) {
				found[i] = kept{f, decoded, mac, g.Secret}
			}
			continue
		}
		bySecret[at] = len(found)
		found = append(found, kept{f, decoded, mac, g.Secret})
	}
	for _, k := range found {
		k.f.Fingerprint = policy.Fingerprint(policy.KindSecret, k.f.Rule, k.f.Location.Path, k.mac)
		k.f.ID = k.f.Fingerprint
		res.Findings = append(res.Findings, k.f)
		values = append(values, k.value)
	}
	if examples > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d matches of public example values, placeholders and sample credentials (documentation keys, RFC examples, template slots, demo accounts) not reported", examples))
	}
	if len(found) > 0 && len(key) == 0 {
		res.Notes = append(res.Notes, "fingerprints use the public default key (SECGATE_FINGERPRINT_KEY is unset): set one before reports or issues go public (README, \"Finding identity\")")
	}
	return res, values
}

// better chooses which of two findings of one secret in one file to keep:
// a provider's own rule over a generic one (generic-api-key, curl-*), the
// plain occurrence over a decoded one, then the first location.
func better(f policy.Finding, fDecoded bool, g policy.Finding, gDecoded bool) bool {
	if fg, gg := isGenericRule(f.Rule), isGenericRule(g.Rule); fg != gg {
		return gg
	}
	if fDecoded != gDecoded {
		return gDecoded
	}
	return less(f.Location, g.Location)
}

// dropGenericOverlaps drops a generic rule's finding when a provider rule
// found the same secret on the same line (a GitHub token passed to curl's
// -u option is one GitHub token, not also a curl credential). gitleaks does this for its
// generic-api-key rule only, and only when the generic secret is the shorter.
func dropGenericOverlaps(raw []report.Finding) []report.Finding {
	type at struct {
		file, commit string
		line         int
	}
	specific := map[at][]string{}
	for _, g := range raw {
		if !isGenericRule(g.RuleID) && g.Secret != "" {
			k := at{g.File, g.Commit, g.StartLine}
			specific[k] = append(specific[k], g.Secret)
		}
	}
	out := raw[:0:0]
	for _, g := range raw {
		if isGenericRule(g.RuleID) {
			overlap := false
			for _, s := range specific[at{g.File, g.Commit, g.StartLine}] {
				if strings.Contains(g.Secret, s) || strings.Contains(s, g.Secret) {
					overlap = true
					break
				}
			}
			if overlap {
				continue
			}
		}
		out = append(out, g)
	}
	return out
}

func isGenericRule(id string) bool {
	return strings.Contains(id, "generic") || strings.HasPrefix(id, "curl-") || id == "connection-url-credentials"
}

func less(a, b policy.Location) bool {
	if a.Commit != b.Commit {
		return a.Commit < b.Commit
	}
	if a.Path != b.Path {
		return a.Path < b.Path
	}
	return a.Line < b.Line
}

func isDecoded(g report.Finding) bool {
	for _, t := range g.Tags {
		if strings.HasPrefix(t, "decoded:") {
			return true
		}
	}
	return false
}

func title(g report.Finding) string {
	t := g.Description
	if t == "" {
		t = g.RuleID
	}
	for _, tag := range g.Tags {
		if enc, ok := strings.CutPrefix(tag, "decoded:"); ok {
			t += " (" + enc + "-encoded)"
			break
		}
	}
	return t
}

// defaultFingerprintKey keys the value hash when no repository key is
// configured: public, so it only separates secgate's hashes from others.
var defaultFingerprintKey = []byte("secgate/secret-fingerprint/default-key")

// valueMAC is the keyed hash of a secret value that its fingerprint is
// made from (HMAC-SHA256, hex): the value itself never leaves.
func valueMAC(key []byte, secret string) string {
	if len(key) == 0 {
		key = defaultFingerprintKey
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(secret))
	return hex.EncodeToString(m.Sum(nil))
}

func relPath(root, p string) string {
	outer, inner, archived := strings.Cut(p, sources.InnerPathSeparator)
	if filepath.IsAbs(outer) {
		if r, err := filepath.Rel(root, outer); err == nil {
			outer = r
		}
	}
	outer = filepath.ToSlash(outer)
	if archived {
		return outer + sources.InnerPathSeparator + inner
	}
	return outer
}

// readIgnoreFile reads .gitleaksignore (of revision rev, when set): one
// gitleaks fingerprint per line, `file:rule:line` or
// `commit:file:rule:line`. It maps each to its line.
func readIgnoreFile(ctx context.Context, root, rev string) (map[string]int, error) {
	data, ok, err := repo.ReadFile(ctx, root, rev, IgnoreFile)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", IgnoreFile, err)
	}
	if !ok {
		return nil, nil
	}
	m := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m[strings.ReplaceAll(line, `\`, "/")] = n
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", IgnoreFile, err)
	}
	return m, nil
}

func matchIgnore(ignores map[string]int, g report.Finding, path string) (int, bool) {
	if len(ignores) == 0 {
		return 0, false
	}
	global := fmt.Sprintf("%s:%s:%d", path, g.RuleID, g.StartLine)
	if n, ok := ignores[global]; ok {
		return n, true
	}
	if g.Commit != "" {
		n, ok := ignores[g.Commit+":"+global]
		return n, ok
	}
	return 0, false
}

// remember adds to the cache what this run scanned and found nothing in,
// and says what the cache spared.
//
// raw are the matches of the files and commits read; others (the names'
// matches, what was not read to its end) only keep theirs out;
// providerOnly are the files the provider-format rules alone read.
func (s *Scanner) remember(clean *cache.Set, root string, raw, others []report.Finding, providerOnly []string, tree *treeFiles, hist *gitHistory) (note, warning string) {
	hits := 0
	if tree != nil {
		found := map[string]bool{}
		examples := map[string]int{}
		// as convert reads them: a generic match that a provider's
		// overlaps is neither reported nor counted
		for _, g := range dropGenericOverlaps(raw) {
			f := findingFile(g.File)
			if _, drop := judgeExample(g, relPath(root, g.File)); drop {
				examples[f]++
			} else {
				found[f] = true
			}
		}
		for _, g := range others {
			found[findingFile(g.File)] = true
		}
		providerRead := map[string]bool{}
		for _, p := range providerOnly {
			providerRead[p] = true
		}
		for _, f := range tree.scanned {
			if !found[f.path] {
				keep(clean, f.key, examples[f.path])
				if providerRead[f.path] {
					clean.Add(providerOnlyMark(f.key))
				}
			}
		}
		hits = tree.hits
	} else {
		found := map[string]bool{}
		for _, g := range slices.Concat(raw, others) {
			found[g.Commit] = true
		}
		for _, c := range hist.scanned {
			if !found[c.String()] {
				clean.Add(cache.ID(c))
			}
		}
		hits = hist.hits
	}
	if err := clean.Save(); err != nil {
		return "", err.Error() + ": the next run scans everything again"
	}
	what := "files"
	if hist != nil {
		what = "commits"
	}
	return fmt.Sprintf("cache: %d %s known to hold nothing to report were not scanned again (%d entries in the cache)", hits, what, clean.Len()), ""
}
