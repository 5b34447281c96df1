package secrets

import (
	"context"
	"crypto/sha1"
	"fmt"
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
	// of 2 may hide a finding. 4: a commit's message and the names of
	// the paths it adds are read (names.go): a commit clean to 3 may
	// hold a token in either
	return cache.Digest("secgate secrets cache 4", kind, s.opts.CacheVersion,
		string(data), fmt.Sprint(maxDecodeDepth, maxArchiveDepth)), nil
}

// fileKey is a file's cache id: its path (rules and allowlists depend on
// it) and git's blob id of its content.
func fileKey(rel string, blob [20]byte) cache.ID {
	h := sha1.New()
	h.Write([]byte(rel))
	h.Write([]byte{0})
	h.Write(blob[:])
	var id cache.ID
	copy(id[:], h.Sum(nil))
	return id
}

// blobID is git's id of a file's content: from the index when the file is
// as the index has it (not even read), else by reading it.
func blobID(path string, info os.FileInfo, index map[string]repo.IndexEntry, indexTime time.Time) ([20]byte, error) {
	if e, ok := index[path]; ok && e.Size == info.Size() && e.ModTime.Equal(info.ModTime()) && info.ModTime().Before(indexTime) {
		return e.Blob, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return [20]byte{}, err
	}
	defer f.Close()
	return repo.BlobID(f, info.Size())
}

// findingFile is the file a finding is in (an archive's, for its entries).
func findingFile(p string) string {
	f, _, _ := strings.Cut(p, sources.InnerPathSeparator)
	return f
}
