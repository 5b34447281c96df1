package deps

import (
	"context"
	"os"
	"testing"

	"github.com/secgate/secgate/internal/cache"
)

// BenchmarkLockfileScanCache: the scan of the lockfile corpora of
// testdata against the shared database, uncached and served from a warm
// cache (the key's walk and hashing, the entry's read and decoding).
func BenchmarkLockfileScanCache(b *testing.B) {
	root := b.TempDir()
	if err := os.CopyFS(root, os.DirFS("testdata")); err != nil {
		b.Fatal(err)
	}
	store, err := cache.Open(b.TempDir(), 0, testCacheKey)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		store *cache.Store
	}{{"uncached", nil}, {"warm", store}} {
		o := Options{Root: root, OfflineDB: sharedDB, Cache: bc.store, CacheVersion: "bench", Now: now}
		if _, err := New(o).Scan(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			for range b.N {
				res, err := New(o).Scan(context.Background())
				if err != nil || (bc.store != nil) != fromCache(res) {
					b.Fatalf("%v, cached %v", err, fromCache(res))
				}
			}
		})
	}
}
