package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/secgate/secgate/policy"
)

// The result cache (Options.Cache): the checks of one single-platform
// image are kept and served again for the same image content under the
// same options — the digest names the image's manifest digest (content:
// go-containerregistry verifies a registry's layers against it, computes
// a docker-archive's from its bytes, and an OCI layout's layer blobs are
// hashed here, since it reads them by name unverified), its platform,
// identity, sizes and annotations, the options and tiers the findings
// depend on, the end-of-life tables in force (DIR/eol files) and the UTC
// day (an OS's end of life is judged by the day). A result with a secret
// finding is never kept: its value must be found again to be redacted
// from every output. Errors are never kept; an entry that does not verify
// or decode is ignored and the image checked.

// checkCached is check through the cache.
func (s *Scanner) checkCached(ctx context.Context, t target, cov *policy.Coverage) ([]policy.Finding, []string, error) {
	if s.opts.Cache == nil {
		return s.check(ctx, t, cov)
	}
	digest, err := s.checkDigest(t)
	if err != nil {
		s.opts.Logger.Debug("image cache: no key, checking", "image", t.name(), "error", err)
		return s.check(ctx, t, cov)
	}
	now := s.now()
	type entry struct {
		Findings []policy.Finding
		Notes    []string
		Coverage policy.Coverage
	}
	payload, warning := s.opts.Cache.Get("image-checks", digest, now, 0)
	if warning != "" {
		s.opts.Logger.Warn(warning)
	}
	if payload != nil {
		var e entry
		if err := json.Unmarshal(payload, &e); err == nil {
			mergeCoverage(cov, e.Coverage)
			return e.Findings, append(e.Notes, "cache: the checks of "+t.name()+" read from the cache (the same image, the same options)"), nil
		}
		s.opts.Logger.Warn("image cache: an entry does not decode: checking again", "image", t.name())
	}
	var local policy.Coverage
	fs, notes, err := s.check(ctx, t, &local)
	mergeCoverage(cov, local)
	if err != nil || slices.ContainsFunc(fs, func(f policy.Finding) bool { return f.Kind == policy.KindSecret }) {
		return fs, notes, err
	}
	if payload, err := json.Marshal(entry{fs, notes, local}); err == nil {
		if err := s.opts.Cache.Put("image-checks", digest, payload, now); err != nil {
			s.opts.Logger.Warn("image cache: " + err.Error())
		}
	}
	return fs, notes, nil
}

func (s *Scanner) now() time.Time {
	if s.opts.Now.IsZero() {
		return time.Now()
	}
	return s.opts.Now
}

// checkDigest names everything one image's checks are a function of.
func (s *Scanner) checkDigest(t target) ([32]byte, error) {
	h := sha256.New()
	add := func(parts ...string) {
		for _, p := range parts {
			fmt.Fprintf(h, "%d:%s;", len(p), p)
		}
	}
	o := s.opts
	add("secgate image checks 1", o.CacheVersion, t.name(), t.identity, t.digest, t.platform, t.sizeMeasure, fmt.Sprint(t.layerSizes))
	for _, k := range slices.Sorted(maps.Keys(t.annotations)) {
		add("annotation", k, t.annotations[k])
	}
	add(fmt.Sprint(o.MaxSize, o.ConfigOnly, o.MaxExtract, o.MaxFileRead, o.MaxWasted, o.Secrets != nil))
	for _, k := range slices.Sorted(maps.Keys(o.Tiers)) {
		add("tier", k, o.Tiers[k].String())
	}
	add("day", s.now().UTC().Format(time.DateOnly))
	if o.EOLDir != "" {
		dir := filepath.Join(o.EOLDir, "eol")
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			add("eol", p, hex.EncodeToString(sum[:]))
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			return [32]byte{}, err
		}
	}
	if err := verifyLayout(t); err != nil {
		return [32]byte{}, err
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out, nil
}

// verifyLayout checks that an OCI layout image's layer blobs hold what
// their names say: go-containerregistry reads a layout's blobs by name,
// unverified, so its digest names the content only once this holds (a
// registry's layers are verified as they are read, an archive's digests
// computed from its bytes).
func verifyLayout(t target) error {
	if !strings.HasPrefix(t.ref, "oci-layout:") {
		return nil
	}
	layers, err := t.img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		want, err := l.Digest()
		if err != nil {
			return err
		}
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.Copy(h, rc)
		rc.Close()
		if err != nil {
			return err
		}
		if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != want.String() {
			return fmt.Errorf("layer %s holds %s", want, got)
		}
	}
	return nil
}

// mergeCoverage adds one image's coverage to the scan's.
func mergeCoverage(into *policy.Coverage, c policy.Coverage) {
	into.Files += c.Files
	into.Bytes += c.Bytes
	into.Images += c.Images
	into.Layers += c.Layers
	for _, sk := range c.Skipped {
		into.AddSkip(sk.What, sk.Why, sk.Paths...)
		// AddSkip counts the paths given: the count is the entry's.
		for i := range into.Skipped {
			if s := &into.Skipped[i]; s.What == sk.What && s.Why == sk.Why {
				s.Count += sk.Count - max(len(sk.Paths), 1)
			}
		}
	}
}
