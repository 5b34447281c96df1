package cache

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testKey = bytes.Repeat([]byte("k"), 32)

// A forged set: what an attacker who can write the directory (a pull
// request restoring a poisoned CI cache) writes, with the old format's
// plain SHA-256 recomputed over ids of their choosing. It is not trusted,
// nor is one written under another key.
func TestForgedSetIsRejected(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, 0, testKey)
	d := Digest("rules")
	set, _ := s.Load("secrets-files", d)
	set.Add(id(1))
	if err := set.Save(); err != nil {
		t.Fatal(err)
	}
	genuine, _ := os.ReadFile(set.path())

	// The attacker knows the format and the digest (both public), and
	// claims id 7 — the file with the token — was judged clean.
	body := append([]byte(nil), genuine[:len(genuine)-32-20]...)
	body = append(body, id(7).bytes()...)
	sum := sha256.Sum256(body)
	forged := append(body, sum[:]...)

	other, _ := Open(t.TempDir(), 0, bytes.Repeat([]byte("x"), 32))
	otherSet, _ := other.Load("secrets-files", d)
	otherSet.Add(id(7))
	if err := otherSet.Save(); err != nil {
		t.Fatal(err)
	}
	otherKey, _ := os.ReadFile(otherSet.path())

	for name, data := range map[string][]byte{"sha-256 recomputed": forged, "another key": otherKey} {
		if err := os.WriteFile(set.path(), data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, warn := s.Load("secrets-files", d)
		if got.Has(id(7)) || got.Len() != 0 || !strings.Contains(warn, "authentication failed") {
			t.Errorf("%s: trusted (%d ids, warning %q)", name, got.Len(), warn)
		}
	}
}

func (i ID) bytes() []byte { return i[:] }

func TestEntries(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, 0, testKey)
	d := Digest("lockfiles", "db")
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	if got, warn := s.Get("deps", d, now, 0); got != nil || warn != "" {
		t.Fatalf("empty store: %q %q", got, warn)
	}
	if err := s.Put("deps", d, []byte(`{"findings":[]}`), now); err != nil {
		t.Fatal(err)
	}
	if got, warn := s.Get("deps", d, now.Add(time.Hour), 0); string(got) != `{"findings":[]}` || warn != "" {
		t.Errorf("read back: %q %q", got, warn)
	}
	// A TTL: younger is served, as old is not (and is no anomaly).
	if got, _ := s.Get("deps", d, now.Add(59*time.Minute), time.Hour); got == nil {
		t.Error("an entry within its TTL was not served")
	}
	if got, warn := s.Get("deps", d, now.Add(time.Hour), time.Hour); got != nil || warn != "" {
		t.Errorf("an expired entry: %q %q", got, warn)
	}
	// Another digest's entry is another file.
	if got, _ := s.Get("deps", Digest("other"), now, 0); got != nil {
		t.Error("another digest was served")
	}

	path := s.entryPath("deps", d)
	good, _ := os.ReadFile(path)
	flip := append([]byte(nil), good...)
	flip[len(flip)-40] ^= 1
	// Rewritten with a plain SHA-256, as the old sets were: forged.
	forged := append([]byte(nil), good[:len(good)-32]...)
	copy(forged[len(forged)-len(`{"findings":[]}`):], `{"findings":[1]}`[:len(`{"findings":[]}`)])
	sum := sha256.Sum256(forged)
	forged = append(forged, sum[:]...)
	other, _ := Open(t.TempDir(), 0, bytes.Repeat([]byte("x"), 32))
	if err := other.Put("deps", d, []byte(`{"findings":[]}`), now); err != nil {
		t.Fatal(err)
	}
	otherKey, _ := os.ReadFile(other.entryPath("deps", d))
	for name, data := range map[string][]byte{
		"corrupt":     flip,
		"truncated":   good[:len(good)-5],
		"forged":      forged,
		"another key": otherKey,
		"not ours":    []byte("hello"),
	} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, warn := s.Get("deps", d, now, 0)
		if got != nil || !strings.Contains(warn, "ignored") {
			t.Errorf("%s: served %q (warning %q)", name, got, warn)
		}
	}
	// Written "in the future" (a clock set back, or a planted time to
	// outlive the TTL): not trusted.
	if err := s.Put("deps", d, []byte("x"), now.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, warn := s.Get("deps", d, now, time.Hour); got != nil || !strings.Contains(warn, "future") {
		t.Errorf("an entry from the future: %q %q", got, warn)
	}
	// Entries count in the directory's bound.
	if s.Size() == 0 {
		t.Error("entries are not counted in the size")
	}
	left, _ := os.ReadDir(dir)
	for _, e := range left {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("a temporary file is left: %s", e.Name())
		}
	}
}

func TestKey(t *testing.T) {
	dir := t.TempDir()
	cacheDir, keyDir := filepath.Join(dir, "cache"), filepath.Join(dir, "user", "secgate")

	// The secret decides, in CI or not, and no file is made.
	k1, why, err := Key("s3cret", true, cacheDir, keyDir)
	if err != nil || why != "" || len(k1) != 32 {
		t.Fatalf("from the secret: %x %q %v", k1, why, err)
	}
	if k2, _, _ := Key("another", true, cacheDir, keyDir); bytes.Equal(k1, k2) {
		t.Error("two secrets give one key")
	}
	if _, err := os.Stat(keyDir); err == nil {
		t.Error("a key file was made although a secret was given")
	}
	// In CI with no secret: no key, and a reason.
	if k, why, err := Key("", true, cacheDir, keyDir); k != nil || err != nil || !strings.Contains(why, "SECGATE_CACHE_KEY") {
		t.Errorf("in CI without a secret: %x %q %v", k, why, err)
	}
	// Outside CI: the machine's key file, made once, mode 0600, the same
	// key next time.
	m1, why, err := Key("", false, cacheDir, keyDir)
	if err != nil || why != "" || len(m1) != 32 {
		t.Fatalf("machine key: %x %q %v", m1, why, err)
	}
	fi, err := os.Stat(filepath.Join(keyDir, KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	if m2, _, _ := Key("", false, cacheDir, keyDir); !bytes.Equal(m1, m2) {
		t.Error("the machine key changed between runs")
	}
	// A key file others can write is not trusted.
	os.Chmod(filepath.Join(keyDir, KeyFile), 0o666)
	if k, _, err := Key("", false, cacheDir, keyDir); err == nil || k != nil {
		t.Errorf("a world-writable key file was used: %v", err)
	}
	// A key file inside the cache directory would travel with it.
	if k, why, err := Key("", false, dir, keyDir); k != nil || err != nil || !strings.Contains(why, "inside") {
		t.Errorf("key file inside the cache dir: %x %q %v", k, why, err)
	}
}

func TestOpenNeedsAKey(t *testing.T) {
	if _, err := Open(t.TempDir(), 0, nil); err == nil {
		t.Error("a store without a key was opened")
	}
}
