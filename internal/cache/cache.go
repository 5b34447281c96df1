// Package cache keeps, between runs, what a scanner already judged clean:
// a set of 20-byte ids (a file's path and content, a commit) that gave no
// finding under one configuration, named by that configuration's digest.
// Only clean ids are kept, so a cache holds no finding, no secret, no
// path: what had a finding is scanned again, every run.
//
// A set is one file, DIR/<scanner>-<digest>.set: a versioned header, the
// sorted ids, an HMAC-SHA256 of everything before it under the store's
// key, which is never in DIR (key.go): whoever can write DIR (a pull
// request that restores a poisoned CI cache) cannot forge an entry that
// says "judged clean". A file that is short, corrupt, forged (the HMAC
// does not verify), of another version or of another configuration is
// ignored with a warning, never trusted, never an error. Writes go to a temporary file
// renamed over the old one, so concurrent runs sharing DIR never see half
// a file (the last writer's set wins: a run's additions can be lost, never
// a wrong id kept). The directory is bounded: past the limit, the sets
// least recently written are removed.
package cache

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
)

// ID is what a set holds: a hash of what was judged.
type ID [20]byte

const (
	magic = "SECGATE-CACHE\n"
	// 2: the checksum is an HMAC under a key outside the directory; a
	// version-1 set (a plain SHA-256 anyone can recompute) is not trusted.
	version = 2
	suffix  = ".set"
)

// Store is a cache directory.
type Store struct {
	dir string
	max int64
	key []byte // authenticates every file (key.go)
	// holdsSecret, when set, says whether an entry's payload holds a
	// secret: Put keeps no such entry (SetSecretCheck).
	holdsSecret func([]byte) bool
}

// SetSecretCheck makes Put keep no entry whose payload f says holds a
// secret. A scanner keeps its own secret findings out of its entries, but
// not the secrets another scanner finds in the same file: the manifests
// scan kept object names and image tags verbatim, an AWS key id among
// them (red team, session 8), in a cache CI shares across branches.
func (s *Store) SetSecretCheck(f func([]byte) bool) { s.holdsSecret = f }

// Open makes the directory if needed; max bounds its size in bytes (0: no
// bound); key authenticates what is written and read (Key gives it).
func Open(dir string, max int64, key []byte) (*Store, error) {
	if len(key) < 16 {
		return nil, fmt.Errorf("cache directory %s: an authentication key of at least 16 bytes is needed, %d given", dir, len(key))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cache directory %s: %w", dir, err)
	}
	return &Store{dir: dir, max: max, key: slices.Clone(key)}, nil
}

// mac is the HMAC-SHA256 of data under the store's key.
func (s *Store) mac(data []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write(data)
	return h.Sum(nil)
}

// Set is one scanner's clean ids under one configuration.
type Set struct {
	store  *Store
	name   string // <scanner>-<digest>
	digest [32]byte

	mu    sync.Mutex
	ids   map[ID]struct{}
	added int
	// used are the ids this run found or added: what its tree and
	// history still have (prune).
	used map[ID]struct{}
}

// A set only grows: every changed file or new commit adds an id, and the
// whole set is read every run. When a save finds it holding more than
// keepFactor times the ids its run used (and more than minKeep), the ids
// the run did not use go: what was deleted, rewritten or is on branches
// long gone. An id dropped that was still good costs one rescan of that
// file or commit.
const (
	keepFactor = 4
	minKeep    = 1 << 16
)

// Digest names a configuration: everything that can change a result.
func Digest(parts ...string) [32]byte {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	var d [32]byte
	copy(d[:], h.Sum(nil))
	return d
}

// Load reads the set of scanner under the configuration digest; warning
// says why an existing file was not trusted ("" when it was, or when
// there was none).
func (s *Store) Load(scanner string, digest [32]byte) (set *Set, warning string) {
	set = &Set{store: s, name: scanner + "-" + hex.EncodeToString(digest[:12]), digest: digest, ids: map[ID]struct{}{}}
	data, err := os.ReadFile(set.path())
	if errors.Is(err, fs.ErrNotExist) {
		return set, ""
	}
	if err != nil {
		return set, fmt.Sprintf("cache %s not read (%v): scanning everything", set.path(), err)
	}
	ids, err := s.decode(data, digest)
	if err != nil {
		return set, fmt.Sprintf("cache %s ignored (%v): scanning everything", set.path(), err)
	}
	for _, id := range ids {
		set.ids[id] = struct{}{}
	}
	return set, ""
}

func (set *Set) path() string { return filepath.Join(set.store.dir, set.name+suffix) }

// Len is the number of ids held.
func (set *Set) Len() int {
	set.mu.Lock()
	defer set.mu.Unlock()
	return len(set.ids)
}

// Has reports whether id was judged clean.
func (set *Set) Has(id ID) bool {
	set.mu.Lock()
	defer set.mu.Unlock()
	_, ok := set.ids[id]
	if ok {
		set.use(id)
	}
	return ok
}

func (set *Set) use(id ID) {
	if set.used == nil {
		set.used = map[ID]struct{}{}
	}
	set.used[id] = struct{}{}
}

// Add records id as clean.
func (set *Set) Add(id ID) {
	set.mu.Lock()
	defer set.mu.Unlock()
	if _, ok := set.ids[id]; !ok {
		set.ids[id] = struct{}{}
		set.added++
	}
	set.use(id)
}

// Save writes the set when it grew, with what another run wrote since it
// was loaded, then bounds the directory.
func (set *Set) Save() error {
	set.mu.Lock()
	defer set.mu.Unlock()
	if set.added == 0 {
		return nil
	}
	if data, err := os.ReadFile(set.path()); err == nil {
		if ids, err := set.store.decode(data, set.digest); err == nil {
			for _, id := range ids {
				set.ids[id] = struct{}{}
			}
		}
	}
	set.prune()
	ids := make([]ID, 0, len(set.ids))
	for id := range set.ids {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
	tmp, err := os.CreateTemp(set.store.dir, "."+set.name+"-*")
	if err != nil {
		return fmt.Errorf("writing the cache: %w", err)
	}
	_, err = tmp.Write(set.store.encode(ids, set.digest))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644) // CreateTemp's 0600: a CI cache is shared by the jobs' users
	}
	if err == nil {
		err = os.Rename(tmp.Name(), set.path())
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing the cache: %w", err)
	}
	set.added = 0
	return set.store.evict(set.path())
}

// prune drops the ids this run did not use when the set has outgrown
// them (keepFactor).
func (set *Set) prune() {
	if len(set.ids) <= max(minKeep, keepFactor*len(set.used)) {
		return
	}
	for id := range set.ids {
		if _, ok := set.used[id]; !ok {
			delete(set.ids, id)
		}
	}
}

func (s *Store) encode(ids []ID, digest [32]byte) []byte {
	var b bytes.Buffer
	b.WriteString(magic)
	b.WriteByte(version)
	b.Write(digest[:])
	binary.Write(&b, binary.BigEndian, uint32(len(ids)))
	for _, id := range ids {
		b.Write(id[:])
	}
	b.Write(s.mac(b.Bytes()))
	return b.Bytes()
}

func (s *Store) decode(data []byte, digest [32]byte) ([]ID, error) {
	head := len(magic) + 1 + 32 + 4
	switch {
	case len(data) < head+32 || !strings.HasPrefix(string(data), magic):
		return nil, errors.New("not a secgate cache file")
	case data[len(magic)] != version:
		return nil, fmt.Errorf("version %d, this secgate writes %d", data[len(magic)], version)
	}
	if !hmac.Equal(s.mac(data[:len(data)-32]), data[len(data)-32:]) {
		return nil, errors.New("authentication failed: corrupt, truncated, or not written under this key")
	}
	if !bytes.Equal(data[len(magic)+1:len(magic)+33], digest[:]) {
		return nil, errors.New("written for another configuration")
	}
	n := int(binary.BigEndian.Uint32(data[head-4 : head]))
	if len(data) != head+n*20+32 {
		return nil, errors.New("length does not match its count")
	}
	ids := make([]ID, n)
	for i := range ids {
		copy(ids[i][:], data[head+i*20:])
	}
	return ids, nil
}

// ours reports whether a file of the directory is a set or an entry.
func ours(name string) bool {
	return strings.HasSuffix(name, suffix) || strings.HasSuffix(name, entrySuffix)
}

// evict removes the sets and entries least recently written until the directory is
// within its bound; keep (the set just written) goes last.
func (s *Store) evict(keep string) error {
	if s.max <= 0 {
		return nil
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	type file struct {
		path string
		size int64
		mod  int64
	}
	var files []file
	var total int64
	for _, e := range entries {
		if !ours(e.Name()) || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		p := filepath.Join(s.dir, e.Name())
		files = append(files, file{p, info.Size(), info.ModTime().UnixNano()})
		total += info.Size()
	}
	sort.Slice(files, func(i, j int) bool {
		if (files[i].path == keep) != (files[j].path == keep) {
			return files[j].path == keep
		}
		return files[i].mod < files[j].mod
	})
	for _, f := range files {
		if total <= s.max {
			break
		}
		if err := os.Remove(f.path); err == nil {
			total -= f.size
		}
	}
	return nil
}

// Size is the directory's sets' total size in bytes.
func (s *Store) Size() int64 {
	var total int64
	entries, _ := os.ReadDir(s.dir)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && ours(e.Name()) {
			total += info.Size()
		}
	}
	return total
}
