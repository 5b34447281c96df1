package gate

import (
	"log/slog"
	"os"
	"path/filepath"

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
	return cache.Open(c.CacheDir, c.CacheMax, key)
}
