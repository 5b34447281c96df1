package secrets

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/zricethezav/gitleaks/v8/sources"

	"github.com/secgate/secgate/gate/repo"
	"github.com/secgate/secgate/internal/cache"
)

// The scan cache (Options.Cache): the files (by path and content) and the
// commits that gave gitleaks nothing under the same rules are not scanned
// again. Only clean ones are kept: a file or commit with a match — a
// finding, or a public example dropped later — is scanned every run, so a
// cached run's findings are a fresh run's, and the cache holds no secret,
// no preview, no path.

// cacheDigest names everything that can change what gitleaks finds: this
// build and its gitleaks (Options.CacheVersion), the repository's
// .gitleaks.toml (the base revision's on a pull request), the decoding
// and archive depths. Not the policy nor .gitleaksignore: they judge the
// findings after the scan, every run.
func (s *Scanner) cacheDigest(ctx context.Context, root, kind string) ([32]byte, error) {
	data, _, err := repo.ReadFile(ctx, root, s.opts.ConfigRevision, RepoConfigFile)
	if err != nil {
		return [32]byte{}, err
	}
	// 2: a history's walk reads merges, type changes and binary-to-text
	// changes, and files and commits are read further (issue 24: UTF-16,
	// text with a NUL, allowlisted paths, padded URL-safe base64): a
	// commit or file cached clean by 1 may not have been read whole.
	// 3: gitleaks:allow is not honoured, UTF-16 suspects are read as
	// bytes too, NUL-holding text is read in every mode, archives nested
	// past the depth fail (the red team after issue 24): a clean entry
	// of 2 may hide a finding
	// 4: a file read is keyed by its content's SHA-256, no longer its
	// blob id (fileContent): 3's keys of such files would never match
	// 5: a commit's message and the names of the paths it adds are read
	// (names.go): a commit clean to 4 may hold a token in either
	// 6: a commit's author and committer identities are read too
	// (names.go, red team A3)
	return cache.Digest("secgate secrets cache 6", kind, s.opts.CacheVersion,
		string(data), fmt.Sprint(maxDecodeDepth, maxArchiveDepth)), nil
}

// fileKey is a file's cache id: its path (rules and allowlists depend on
// it) and its content's id, each kind tagged: the two never make one key.
func fileKey(rel string, c fileContent) cache.ID {
	h := sha256.New()
	h.Write([]byte(rel))
	h.Write([]byte{0}) // a path holds no NUL
	if c.fromIndex {
		h.Write([]byte("git blob\x00"))
		h.Write(c.id[:20])
	} else {
		h.Write([]byte("sha256\x00"))
		h.Write(c.id[:])
	}
	var id cache.ID
	copy(id[:], h.Sum(nil))
	return id
}

// fileContent names a file's content in its cache key: git's blob id
// (SHA-1, the first 20 bytes of id) when the index vouches for the file,
// which is then not read; else the SHA-256 of its bytes, read. A file read
// used to be named by the blob id computed with collision detection
// (sha1cd, repo.BlobID), so that it had the same key either way; sha1cd
// runs at ~0.4x SHA-256's speed here (337 vs 834 MB/s, SHA-NI) and was 18%
// of a warm run's CPU on a tree git does not track, where every file is
// read every run. What is lost: a file that goes from read to vouched for
// between two runs (a racy timestamp, a change staged) is scanned once
// more. The SHA-256 is as collision-resistant as the blob id, or more.
type fileContent struct {
	fromIndex bool
	id        [32]byte
}

// contentOf is a file's fileContent: from the index when the file is as
// the index has it (not even read), else by reading it.
func contentOf(path string, info os.FileInfo, index map[string]repo.IndexEntry, indexTime time.Time) (fileContent, error) {
	if e, ok := index[path]; ok && repo.Unchanged(e, info, indexTime) {
		c := fileContent{fromIndex: true}
		copy(c.id[:], e.Blob[:])
		return c, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fileContent{}, err
	}
	defer f.Close()
	h := sha256.New()
	// (a file that changes while it is read gets an id of neither
	// version: a miss, never a false hit; the scan reads it again)
	if _, err := io.Copy(h, f); err != nil {
		return fileContent{}, err
	}
	var c fileContent
	h.Sum(c.id[:0])
	return c, nil
}

// A file whose every match is a public example, a placeholder or a
// sample (judgeExample: a function of the match and the path, so of the
// file's path and content under the digest's rules) gives nothing to
// report, and is kept too, with how many it dropped, so that the note's
// count is a fresh run's: an id that says the file has such an entry
// (exampleMark), and one that says how many (exampleCount). A file with
// more than maxCachedExamples is scanned every run. Such a match holds
// no secret (it is never redacted: public values), and the set holds
// only hashes, as for clean files.
const maxCachedExamples = 64

func exampleMark(key cache.ID) cache.ID { return derivedID(key, "examples") }

// providerOnlyMark says that the provider-format rules alone read the
// file of key (a path gitleaks' default allowlist has): a warm run's
// coverage lists it, as the cold run's did, without matching its path
// against the allowlists again (their regexes, for every file spared,
// were a third of a warm run's secret scan on the multi tree).
func providerOnlyMark(key cache.ID) cache.ID { return derivedID(key, "provider rules only") }

func exampleCount(key cache.ID, n int) cache.ID { return derivedID(key, fmt.Sprintf("examples %d", n)) }

func derivedID(key cache.ID, what string) cache.ID {
	h := sha256.New()
	h.Write(key[:])
	h.Write([]byte{0})
	h.Write([]byte(what))
	var id cache.ID
	copy(id[:], h.Sum(nil))
	return id
}

// cachedExamples reports whether the file of key is in the set: clean
// (no example), or with its number of public examples.
func cachedExamples(set *cache.Set, key cache.ID) (examples int, ok bool) {
	if set.Has(key) {
		return 0, true
	}
	if !set.Has(exampleMark(key)) {
		return 0, false
	}
	for n := 1; n <= maxCachedExamples; n++ {
		if set.Has(exampleCount(key, n)) {
			return n, true
		}
	}
	return 0, false
}

// keep adds the file of key to the set: clean, or with n public examples.
func keep(set *cache.Set, key cache.ID, examples int) {
	switch {
	case examples == 0:
		set.Add(key)
	case examples <= maxCachedExamples:
		set.Add(exampleMark(key))
		set.Add(exampleCount(key, examples))
	}
}

// findingFile is the file a finding is in (an archive's, for its entries).
func findingFile(p string) string {
	f, _, _ := strings.Cut(p, sources.InnerPathSeparator)
	return f
}
