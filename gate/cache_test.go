package gate

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secgate/secgate/gate/secrets/secretstest"
	"github.com/secgate/secgate/internal/cache"
)

// In CI the cache directory is used only with SECGATE_CACHE_KEY: the
// machine's key file would be readable by the job that restores the cache.
// Outside CI the key file is made outside the cache directory. Entries
// written under one key are not read under another.
func TestCacheKeyChoice(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	base := Config{CacheDir: filepath.Join(dir, "cache"), CacheKeyDir: filepath.Join(dir, "home", "secgate")}

	ci := base
	ci.InCI = true
	if s, err := ci.openCache(log, true); s != nil || err != nil || !strings.Contains(logs.String(), "SECGATE_CACHE_KEY") {
		t.Errorf("in CI without a key: store %v, err %v, log %q", s, err, logs.String())
	}

	ci.CacheSecret = "a CI secret"
	withSecret, err := ci.openCache(log, true)
	if err != nil || withSecret == nil {
		t.Fatalf("in CI with a key: %v", err)
	}
	digest := cache.Digest("x")
	now := time.Now()
	if err := withSecret.Put("deps-lockfiles", digest, []byte("{}"), now); err != nil {
		t.Fatal(err)
	}

	local, err := base.openCache(log, true)
	if err != nil || local == nil {
		t.Fatalf("outside CI: %v", err)
	}
	if _, err := os.Stat(filepath.Join(base.CacheKeyDir, cache.KeyFile)); err != nil {
		t.Errorf("no key file outside the cache directory: %v", err)
	}
	if got, warn := local.Get("deps-lockfiles", digest, now, 0); got != nil || !strings.Contains(warn, "authentication failed") {
		t.Errorf("an entry of another key was read: %q %q", got, warn)
	}
	if again, _ := ci.openCache(log, true); again == nil {
		t.Fatal("no store")
	} else if got, _ := again.Get("deps-lockfiles", digest, now, 0); string(got) != "{}" {
		t.Errorf("the same secret does not read its own entry: %q", got)
	}
}

// An entry whose payload holds a secret is not kept, whichever scanner
// wrote it: the manifests scan kept object names and image tags verbatim,
// an AWS key id among them, in a cache CI shares across branches (red
// team, session 8). Not setting the check in openCache fails it.
func TestCacheKeepsNoSecret(t *testing.T) {
	c := Config{CacheDir: filepath.Join(t.TempDir(), "cache"), CacheSecret: "a CI secret", InCI: true}
	store, err := c.openCache(slog.New(slog.DiscardHandler), false)
	if err != nil || store == nil {
		t.Fatalf("store %v, %v", store, err)
	}
	now := time.Now()
	akia := secretstest.AWSKeyID(t)
	held := []byte(`{"findings":[{"object":"deploy/` + akia + `","image":"app:1"}]}`)
	if err := store.Put("manifests", cache.Digest("a"), held, now); err != nil {
		t.Fatal(err)
	}
	if got, _ := store.Get("manifests", cache.Digest("a"), now, 0); got != nil {
		t.Errorf("an entry holding an AWS key id was kept: %s", got)
	}
	entries, _ := filepath.Glob(filepath.Join(c.CacheDir, "*"))
	for _, e := range entries {
		data, _ := os.ReadFile(e)
		if bytes.Contains(data, []byte(akia[4:10])) {
			t.Errorf("%s holds a piece of the key", e)
		}
	}
	clean := []byte(`{"findings":[{"object":"deploy/web","image":"app:1"}]}`)
	if err := store.Put("manifests", cache.Digest("b"), clean, now); err != nil {
		t.Fatal(err)
	}
	if got, _ := store.Get("manifests", cache.Digest("b"), now, 0); !bytes.Equal(got, clean) {
		t.Errorf("a clean entry was not kept: %q", got)
	}
}
