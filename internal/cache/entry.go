package cache

import (
	"bytes"
	"crypto/hmac"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// An entry is one scan result kept whole (a dependency scan of one set of
// lockfiles, one image's packages), named by the digest of everything the
// result is a function of: DIR/<scanner>-<digest>.entry, a versioned
// header, the full digest, when it was written, the payload, and the HMAC
// of all of it under the store's key. What is kept is the scanner's raw
// result, never a verdict: the policy judges it again every run.

const (
	entryMagic   = "SECGATE-ENTRY\n"
	entryVersion = 1
	entrySuffix  = ".entry"
)

func (s *Store) entryPath(scanner string, digest [32]byte) string {
	return filepath.Join(s.dir, scanner+"-"+hex.EncodeToString(digest[:16])+entrySuffix)
}

// Get returns the payload stored for scanner under digest, when there is
// one, it verifies under the store's key, it was written for this digest,
// and (ttl > 0) it was written less than ttl before now. warning says why
// an existing entry was not trusted ("" when it was, or when there was
// none): the caller scans again.
func (s *Store) Get(scanner string, digest [32]byte, now time.Time, ttl time.Duration) (payload []byte, warning string) {
	path := s.entryPath(scanner, digest)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ""
	}
	if err != nil {
		return nil, fmt.Sprintf("cache %s not read (%v): scanning again", path, err)
	}
	payload, written, err := s.decodeEntry(data, digest)
	switch {
	case err != nil:
		return nil, fmt.Sprintf("cache %s ignored (%v): scanning again", path, err)
	case written.After(now.Add(time.Minute)):
		return nil, fmt.Sprintf("cache %s ignored (written in the future, %s): scanning again", path, written.UTC().Format(time.RFC3339))
	case ttl > 0 && now.Sub(written) >= ttl:
		return nil, "" // expired: not an anomaly
	}
	return payload, ""
}

// Put stores payload for scanner under digest, written at now: a
// temporary file renamed over the old one, then the directory bounded.
func (s *Store) Put(scanner string, digest [32]byte, payload []byte, now time.Time) error {
	if s.holdsSecret != nil && s.holdsSecret(payload) {
		return nil // never kept: the scan runs again next time
	}
	path := s.entryPath(scanner, digest)
	tmp, err := os.CreateTemp(s.dir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("writing the cache: %w", err)
	}
	_, err = tmp.Write(s.encodeEntry(payload, digest, now))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644) // CreateTemp's 0600: a CI cache is shared by the jobs' users
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing the cache: %w", err)
	}
	return s.evict(path)
}

func (s *Store) encodeEntry(payload []byte, digest [32]byte, now time.Time) []byte {
	var b bytes.Buffer
	b.WriteString(entryMagic)
	b.WriteByte(entryVersion)
	b.Write(digest[:])
	binary.Write(&b, binary.BigEndian, now.UnixNano())
	binary.Write(&b, binary.BigEndian, uint64(len(payload)))
	b.Write(payload)
	b.Write(s.mac(b.Bytes()))
	return b.Bytes()
}

func (s *Store) decodeEntry(data []byte, digest [32]byte) ([]byte, time.Time, error) {
	head := len(entryMagic) + 1 + 32 + 8 + 8
	switch {
	case len(data) < head+32 || !bytes.HasPrefix(data, []byte(entryMagic)):
		return nil, time.Time{}, errors.New("not a secgate cache entry")
	case data[len(entryMagic)] != entryVersion:
		return nil, time.Time{}, fmt.Errorf("version %d, this secgate writes %d", data[len(entryMagic)], entryVersion)
	}
	if !hmac.Equal(s.mac(data[:len(data)-32]), data[len(data)-32:]) {
		return nil, time.Time{}, errors.New("authentication failed: corrupt, truncated, or not written under this key")
	}
	if !bytes.Equal(data[len(entryMagic)+1:len(entryMagic)+33], digest[:]) {
		return nil, time.Time{}, errors.New("written for another key digest")
	}
	written := time.Unix(0, int64(binary.BigEndian.Uint64(data[head-16:head-8])))
	n := binary.BigEndian.Uint64(data[head-8 : head])
	if n != uint64(len(data)-head-32) {
		return nil, time.Time{}, errors.New("length does not match its count")
	}
	return data[head : len(data)-32], written, nil
}
