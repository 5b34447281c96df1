package manifests

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"

	"github.com/secgate/secgate/policy"
)

// The result cache (Options.Cache): the scan's result is kept whole and
// served again while everything it is a function of is unchanged — the
// digest names all of it: this build (Options.CacheVersion: the version,
// or a dev binary's identity, which covers the checks and the YAML
// parser), the tiers and excluded directories, what the walk left out and
// why (the directories .gitignore ignores), and every candidate file (a
// .yaml, .yml or .json the walk found) by path, in the walk's order, with
// its content's SHA-256 or that it could not be read. What is kept is the
// scanner's result (findings with the policy's tiers for its checks,
// deployments, notes, warnings, coverage); the exceptions and the verdict
// are applied again every run. Errors are never kept, nor a result with a
// secret finding (none today: the rule of every cache), nor one whose
// files changed between the walk's hashing and their reading. An entry
// that does not verify (internal/cache: HMAC) or decode is ignored with a
// warning and the files are read.

// cacheName is the entries' name in the cache directory.
const cacheName = "manifests"

// cacheHit is the note of a result served from the cache.
const cacheHit = "cache: the manifests' checks read from the cache (the same files, the same options)"

// fileSum is a file's content SHA-256, streamed; unreadable when it
// cannot be read (the scan skips such a file, so the key says so).
func fileSum(p string) (sum [32]byte, unreadable bool) {
	f, err := os.Open(p)
	if err != nil {
		return sum, true
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, true
	}
	h.Sum(sum[:0])
	return sum, false
}

// holds reports whether data (read with err) is the content the walk
// hashed.
func (c candidate) holds(data []byte, err error) bool {
	if err != nil || c.unreadable {
		return err != nil && c.unreadable
	}
	return sha256.Sum256(data) == c.sum
}

// digest names everything the result of checking files is a function of.
func (s *Scanner) digest(walked policy.Coverage, files []candidate) ([32]byte, error) {
	h := sha256.New()
	add := func(parts ...string) {
		for _, p := range parts {
			fmt.Fprintf(h, "%d:%s;", len(p), p)
		}
	}
	o := s.opts
	add("secgate manifests cache 1", o.CacheVersion, fmt.Sprint(maxFile))
	for _, k := range slices.Sorted(maps.Keys(o.Tiers)) {
		add("tier", k, o.Tiers[k].String())
	}
	for _, d := range o.Exclude {
		add("exclude", d)
	}
	cov, err := json.Marshal(walked)
	if err != nil {
		return [32]byte{}, err
	}
	add("walk", string(cov))
	for _, f := range files {
		if f.unreadable {
			add("file", f.rel, "unreadable")
			continue
		}
		add("file", f.rel, hex.EncodeToString(f.sum[:]))
	}
	var out [32]byte
	h.Sum(out[:0])
	return out, nil
}

// cachedCheck is check through the cache.
func (s *Scanner) cachedCheck(ctx context.Context, walked policy.Coverage, files []candidate) (policy.ScanResult, error) {
	store := s.opts.Cache
	digest, err := s.digest(walked, files)
	if err != nil {
		s.opts.Logger.Debug("manifests cache: no key, checking", "error", err)
		res, _ := s.check(ctx, walked, files)
		return res, ctx.Err()
	}
	now := s.now()
	payload, warning := store.Get(cacheName, digest, now, 0)
	if warning != "" {
		s.opts.Logger.Warn(warning)
	}
	if payload != nil {
		var res policy.ScanResult
		if err := json.Unmarshal(payload, &res); err == nil {
			res.Notes = append(res.Notes, cacheHit)
			return res, nil
		}
		s.opts.Logger.Warn("manifests cache: an entry does not decode: checking again")
	}
	res, same := s.check(ctx, walked, files)
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if !same || slices.ContainsFunc(res.Findings, func(f policy.Finding) bool { return f.Kind == policy.KindSecret }) {
		return res, nil
	}
	if payload, err := json.Marshal(res); err == nil {
		if err := store.Put(cacheName, digest, payload, now); err != nil {
			s.opts.Logger.Warn("manifests cache: " + err.Error())
		}
	}
	return res, nil
}
