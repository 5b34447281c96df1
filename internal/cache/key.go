package cache

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// The threat: whoever can write the cache directory can plant entries. In
// CI that is anyone whose pull request runs a job that saves the cache
// (actions/cache, GitLab's cache: keyed by branch and restored on the
// next run), so a plain checksum — anyone can recompute it — let a
// forged set say "this file, this commit was judged clean" and hide a
// token. Every file is therefore authenticated with an HMAC under a key
// that is never in the directory and that the change under review cannot
// read or choose:
//
//   - SECGATE_CACHE_KEY, a CI secret (GitHub: not given to pull requests
//     from forks; GitLab: a masked, protected variable), when set;
//   - else, outside CI, a per-machine key file, KEYDIR/cache-key (the
//     user's cache directory), made on first use with mode 0600;
//   - else (in CI with no secret) no key: the directory is not used, and
//     the run says so. A CI machine's key file would be readable by the
//     very job that restores and saves the cache.

// KeyFile is the per-machine key's file name under its directory.
const KeyFile = "cache-key"

// keyLabel separates this use of the secret from any other.
const keyLabel = "secgate cache authentication v1"

// Key returns the key that authenticates the files of the cache directory
// dir: from secret (SECGATE_CACHE_KEY) when given, else outside CI from
// the key file under keyDir. A nil key with a reason means: do not use
// the directory. An error is a key file that exists and cannot be trusted
// or read.
func Key(secret string, ci bool, dir, keyDir string) (key []byte, why string, err error) {
	if secret != "" {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(keyLabel))
		return m.Sum(nil), "", nil
	}
	if ci {
		return nil, "the cache directory is not used: in CI it needs SECGATE_CACHE_KEY (a secret the change under review cannot read) to authenticate its entries", nil
	}
	if keyDir == "" {
		return nil, "the cache directory is not used: no SECGATE_CACHE_KEY and no user cache directory for a key file", nil
	}
	file := filepath.Join(keyDir, KeyFile)
	if inside(dir, file) {
		return nil, fmt.Sprintf("the cache directory is not used: the key file %s would be inside it (set SECGATE_CACHE_KEY, or use another directory)", file), nil
	}
	k, err := machineKey(file)
	if err != nil {
		return nil, "", err
	}
	return k, "", nil
}

// machineKey reads the key file, making it first when there is none: a
// temporary file linked into place, so that concurrent first runs agree
// on one key.
func machineKey(file string) ([]byte, error) {
	if k, err := readKey(file); !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, fmt.Errorf("cache key %s: %w", file, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".cache-key-*")
	if err != nil {
		return nil, fmt.Errorf("cache key %s: %w", file, err)
	}
	defer os.Remove(tmp.Name())
	k := make([]byte, 32)
	rand.Read(k)
	_, err = tmp.Write(k)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("cache key %s: %w", file, err)
	}
	if err := os.Link(tmp.Name(), file); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("cache key %s: %w", file, err)
	}
	return readKey(file)
}

// readKey reads a key file that only its owner can write.
func readKey(file string) ([]byte, error) {
	fi, err := os.Lstat(file)
	if err != nil {
		return nil, err
	}
	// (Windows has no such mode bits: its files read as 0666.)
	if !fi.Mode().IsRegular() || runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("cache key %s: not a regular file of mode 0600 (%s): not trusted; remove it and a new one is made", file, fi.Mode())
	}
	k, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("cache key %s: %w", file, err)
	}
	if len(k) < 32 {
		return nil, fmt.Errorf("cache key %s: %d bytes, 32 expected: remove it and a new one is made", file, len(k))
	}
	return k, nil
}

// inside reports whether file is dir or under it (both made absolute,
// links resolved as far as they exist).
func inside(dir, file string) bool {
	d, f := resolve(dir), resolve(file)
	rel, err := filepath.Rel(d, f)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func resolve(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	// The longest existing prefix, its links resolved; the rest as is.
	rest := ""
	for cur := abs; ; cur = filepath.Dir(cur) {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest)
		}
		if filepath.Dir(cur) == cur {
			return abs
		}
		rest = filepath.Join(filepath.Base(cur), rest)
	}
}
