package secrets

import (
	"context"
	"os"
	"testing"
)

func BenchmarkLoadConfig(b *testing.B) {
	dir := b.TempDir()
	for b.Loop() {
		if _, _, err := loadConfig(context.Background(), dir, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanTree scans SECGATE_BENCH_TREE (e.g. bench/.out/tree50mb made
// by bench/secrets.sh); skipped when unset.
func BenchmarkScanTree(b *testing.B) {
	dir := os.Getenv("SECGATE_BENCH_TREE")
	if dir == "" {
		b.Skip("SECGATE_BENCH_TREE not set")
	}
	for b.Loop() {
		if _, err := New(Options{Root: dir}).Scan(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
