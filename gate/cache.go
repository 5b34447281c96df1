package gate

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/secgate/secgate/gate/secrets"
	"github.com/secgate/secgate/internal/cache"
)

// openCache opens the run's --cache-dir, nil when there is none or when no
// key can authenticate it (then the reason is logged once, by the secret
// scan's registration: warn). Every scanner that caches shares the
// directory and the key.
func (c Config) openCache(log *slog.Logger, warn bool) (*cache.Store, error) {
	if c.CacheDir == "" {
		return nil, nil
	}
	keyDir := c.CacheKeyDir
	if keyDir == "" {
		if d, err := os.UserCacheDir(); err == nil {
			keyDir = filepath.Join(d, "secgate")
		}
	}
	key, why, err := cache.Key(c.CacheSecret, c.InCI, c.CacheDir, keyDir)
	if err != nil {
		return nil, err
	}
	if key == nil {
		if warn {
			log.Warn(why, "cache_dir", c.CacheDir)
		}
		return nil, nil
	}
	store, err := cache.Open(c.CacheDir, c.CacheMax, key)
	if err != nil {
		return nil, err
	}
	store.SetSecretCheck(holdsSecret)
	return store, nil
}

// holdsSecret says whether a cache entry's payload holds a value the
// secret rules find (the built-in rules: a repository's own rules could
// be edited by the change being judged).
func holdsSecret(payload []byte) bool {
	ts := cacheScanner()
	return ts == nil || len(ts.Scan(context.Background(), "cache entry", payload)) > 0
}

// cacheScanner is the detector holdsSecret uses, built once; nil when the
// rules do not load (then nothing is kept).
var cacheScanner = sync.OnceValue(func() *secrets.TextScanner {
	ts, _ := secrets.NewTextScanner(nil)
	return ts
})
