package deps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/requirements"

	"github.com/secgate/secgate/gate/repo"
	"github.com/secgate/secgate/policy"
)

// The result cache (Options.Cache): a scan of the tree's lockfiles, and a
// scan of one image's packages, is kept whole and served again while
// everything it is a function of is unchanged — the digest (treeDigest,
// imageDigest) names all of it:
//
//   - this build and its osv-scalibr (Options.CacheVersion), the options
//     that change what is read or said (root, excludes, lockfile patterns,
//     deps.unparsable, deps.require_lockfiles, deps.max_db_age, the data
//     source, the base revision and the commit it names);
//   - the content of every lockfile the walk finds (and what it skips and
//     why, the directories .gitignore leaves out, the files pip includes
//     name), of every --lockfile, and of each osv-scanner.toml that can
//     ignore their findings, with, for each of its dates, whether it has
//     passed (an ignore that expires expires in a cached result too);
//   - the offline database: each ecosystem zip's SHA-256, its date and
//     its age as the scan reports and judges it (days, over 3 days, over
//     deps.max_db_age); with --download-db the digest is taken after the
//     download, so an entry never outlives a database change. With the OSV
//     API, whose data changes under the same URL, an entry is served for
//     an hour (apiTTL);
//   - an image: its docker-archive's SHA-256 (or the digest its registry
//     or OCI layout names, ImageDigest; a docker-daemon: image is not
//     cached), with the database's identity.
//
// What is kept is the scanner's own result (findings scored by their
// advisories' vectors, notes, coverage, packages); the policy's tiers,
// exceptions and verdict, and the KEV/EPSS annotation, are applied to it
// again every run. Errors are never kept. An entry that does not verify
// (internal/cache: HMAC) or does not decode is ignored and the scan runs.

// apiTTL is how long a result matched against the OSV API is served.
const apiTTL = time.Hour

// digester writes length-prefixed parts into a SHA-256.
type digester struct{ h hash.Hash }

func newDigester(parts ...string) *digester {
	d := &digester{sha256.New()}
	d.add(parts...)
	return d
}

func (d *digester) add(parts ...string) {
	for _, p := range parts {
		fmt.Fprintf(d.h, "%d:%s;", len(p), p)
	}
}

// file adds a file's SHA-256, or that it is absent.
func (d *digester) file(path string) error {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		d.add("absent")
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	d.add(hex.EncodeToString(h.Sum(nil)))
	return nil
}

func (d *digester) sum() [32]byte {
	var out [32]byte
	copy(out[:], d.h.Sum(nil))
	return out
}

func (s *Scanner) now() time.Time {
	if s.opts.Now.IsZero() {
		return time.Now()
	}
	return s.opts.Now
}

func (s *Scanner) ttl() time.Duration {
	if s.opts.OfflineDB == "" {
		return apiTTL
	}
	return 0
}

// cachedScan serves scan's result from the cache under the digest that
// key computes, or runs scan and keeps its result when it succeeds. A key
// that cannot be computed runs the scan (whose own errors say why).
func (s *Scanner) cachedScan(name, what string, key func() ([32]byte, error), scan func() (policy.ScanResult, error)) (policy.ScanResult, error) {
	if s.opts.Cache == nil {
		return scan()
	}
	digest, err := key()
	if err != nil {
		s.opts.Logger.Debug("deps cache: no key, scanning", "scan", name, "error", err)
		return scan()
	}
	payload, warning := s.opts.Cache.Get(name, digest, s.now(), s.ttl())
	if warning != "" {
		s.opts.Logger.Warn(warning)
	}
	if payload != nil {
		var out policy.ScanResult
		if err := json.Unmarshal(payload, &out); err == nil {
			out.Notes = append(out.Notes, "cache: "+what+" read from the cache (the same content, the same database)")
			return out, nil
		}
		s.opts.Logger.Warn("deps cache: an entry does not decode: scanning again", "scan", name)
	}
	out, err := scan()
	if err != nil {
		return out, err
	}
	if payload, err := json.Marshal(out); err == nil {
		if err := s.opts.Cache.Put(name, digest, payload, s.now()); err != nil {
			s.opts.Logger.Warn("deps cache: " + err.Error())
		}
	}
	return out, nil
}

// common adds what every entry of this scanner depends on.
func (s *Scanner) common(d *digester) error {
	o := s.opts
	d.add(o.CacheVersion, o.Source(), fmt.Sprint(o.SkipUnparsable, o.RequireLockfiles, o.MaxDBAge, o.DownloadDB))
	return s.dbIdentity(d)
}

// dbIdentity adds the offline database's identity: every file under
// DIR/osv-scalibr (each ecosystem's all.zip), by SHA-256, with each zip's
// date and its age as the scan reports and judges it.
func (s *Scanner) dbIdentity(d *digester) error {
	if s.opts.OfflineDB == "" {
		return nil
	}
	now := s.now()
	dir := filepath.Join(s.opts.OfflineDB, "osv-scalibr")
	var files []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("offline database %s: %w", s.opts.OfflineDB, err)
	}
	for _, p := range files {
		rel, _ := filepath.Rel(dir, p)
		d.add("db", filepath.ToSlash(rel))
		if err := d.file(p); err != nil {
			return err
		}
		if filepath.Base(p) != "all.zip" {
			continue
		}
		records, newest, err := zipFacts(p)
		if err != nil {
			return err
		}
		age := now.Sub(newest)
		d.add(fmt.Sprint(records, newest.UnixNano(), int(age.Hours()/24), age > staleAfter, s.opts.MaxDBAge > 0 && age > s.opts.MaxDBAge))
	}
	return nil
}

// treeDigest names a scan of the tree's lockfiles (and, on a pull
// request, of the base revision's): see the comment at the top.
func (s *Scanner) treeDigest(ctx context.Context, root string, lockfiles []string) ([32]byte, error) {
	o := s.opts
	d := newDigester("secgate deps lockfiles 1", root, strings.Join(o.Exclude, "\x00"), o.Base)
	for _, eco := range slices.Sorted(maps.Keys(o.lockfilePatterns())) {
		d.add("pattern", eco, strings.Join(o.lockfilePatterns()[eco], "\x00"))
	}
	if err := s.common(d); err != nil {
		return [32]byte{}, err
	}
	if o.Base != "" {
		r, err := repo.Open(root)
		if err != nil {
			return [32]byte{}, err
		}
		h, err := repo.ResolveCommit(r, o.Base)
		if err != nil {
			return [32]byte{}, err
		}
		d.add("base", h.String())
	}
	dirs := map[string]bool{".": true}
	for _, l := range lockfiles {
		d.add("lockfile", l)
		if err := d.file(l); err != nil {
			return [32]byte{}, err
		}
		dirs[filepath.Dir(l)] = true
	}

	// The walk the scan makes (scanTree): the same directories skipped.
	patterns := excludePatterns(root, o.Exclude)
	ignored, err := repo.IgnoredDirs(ctx, root)
	if err != nil {
		return [32]byte{}, err
	}
	base := regexp.QuoteMeta(strings.TrimPrefix(filepath.ToSlash(root), "/"))
	for _, dir := range ignored {
		patterns = append(patterns, "r:^"+base+"/"+regexp.QuoteMeta(dir)+"(/|$)")
		d.add("ignored", dir)
	}
	skipDir, err := excludedDir(patterns)
	if err != nil {
		return [32]byte{}, err
	}
	prep, err := prepare(root, skipDir, o.lockfilePatterns(), repo.GitDir(root))
	if err != nil {
		return [32]byte{}, err
	}
	defer prep.cleanup()
	d.add("skipped", fmt.Sprint(prep.skipped.Skipped))
	seen := map[string]bool{}
	var follow func(rel, content string) error
	follow = func(rel, content string) error {
		if seen[rel] {
			return nil
		}
		seen[rel] = true
		d.add("file", rel, content)
		if err := d.file(content); err != nil {
			return err
		}
		dirs[filepath.Join(root, filepath.Dir(filepath.FromSlash(rel)))] = true
		f, ok := prep.read[rel]
		if ok && f.format != requirements.Name {
			return nil
		}
		// pip's includes, whatever their names: osv-scalibr reads them.
		data, err := os.ReadFile(content)
		if err != nil {
			return nil // absent: said by the digest above
		}
		for _, inc := range includes(data) {
			incRel := filepath.ToSlash(filepath.Join(filepath.Dir(filepath.FromSlash(rel)), inc.path))
			if filepath.IsAbs(inc.path) {
				incRel = inc.path
			}
			target := filepath.Join(root, filepath.FromSlash(incRel))
			if filepath.IsAbs(inc.path) {
				target = inc.path
			}
			if err := follow(incRel, target); err != nil {
				return err
			}
		}
		return nil
	}
	for _, rel := range prep.paths() {
		d.add("format", prep.read[rel].format)
		if err := follow(rel, prep.read[rel].content); err != nil {
			return [32]byte{}, err
		}
	}

	// The osv-scanner.toml files that can ignore the findings (the base
	// revision's on a pull request, as convert reads them), and which of
	// their dates have passed.
	now := s.now()
	for _, dir := range slices.Sorted(maps.Keys(dirs)) {
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(root, dir)
		}
		rootOf, rev, rel := ignoreFileAt(root, o.Base, dir)
		data, ok, err := repo.ReadFile(ctx, rootOf, rev, rel)
		if err != nil {
			return [32]byte{}, err
		}
		if !ok {
			continue
		}
		d.add("osv-scanner.toml", dir, string(data))
		var c osvConfig
		if _, err := toml.Decode(string(data), &c); err != nil {
			return [32]byte{}, err // the scan says it
		}
		for _, iv := range c.IgnoredVulns {
			d.add(fmt.Sprint(iv.IgnoreUntil.IsZero() || now.Before(iv.IgnoreUntil)))
		}
		for _, po := range c.PackageOverrides {
			d.add(fmt.Sprint(po.EffectiveUntil.IsZero() || now.Before(po.EffectiveUntil)))
		}
	}
	return d.sum(), nil
}

// imageDigest names a scan of one image's packages.
func (s *Scanner) imageDigest(ctx context.Context, ref string) ([32]byte, error) {
	d := newDigester("secgate deps image 1", ref)
	if err := s.common(d); err != nil {
		return [32]byte{}, err
	}
	if path, ok := strings.CutPrefix(ref, "docker-archive:"); ok {
		if err := d.file(path); err != nil {
			return [32]byte{}, err
		}
		return d.sum(), nil
	}
	if s.opts.ImageDigest == nil || strings.HasPrefix(ref, "docker-daemon:") {
		// A daemon's image is exported to be named: the scan would export
		// it a second time on a miss. Not cached.
		return [32]byte{}, fmt.Errorf("%s: no digest known without exporting it", ref)
	}
	digest, err := s.opts.ImageDigest(ctx, ref)
	if err != nil {
		return [32]byte{}, err
	}
	d.add("digest", digest)
	return d.sum(), nil
}

// scanImageCached is scanImage through the cache.
func (s *Scanner) scanImageCached(ctx context.Context, ref string) (policy.ScanResult, error) {
	return s.cachedScan("deps-image", "the packages of "+ref,
		func() ([32]byte, error) { return s.imageDigest(ctx, ref) },
		func() (policy.ScanResult, error) { return s.scanImage(ctx, s.opts, ref) })
}
