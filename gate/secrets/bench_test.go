package secrets

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/zricethezav/gitleaks/v8/sources"
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

// BenchmarkDetect compares, on the files of SECGATE_BENCH_TREE read into
// memory (with SECGATE_BENCH_HISTORY set: what each of its commits adds), gitleaks' DetectContext with all the rules and secgate's
// windowed detection (one goroutine: the detection alone, no file system).
func BenchmarkDetect(b *testing.B) {
	dir := os.Getenv("SECGATE_BENCH_TREE")
	if dir == "" {
		b.Skip("SECGATE_BENCH_TREE not set")
	}
	cfg, _, err := loadConfig(context.Background(), dir, "")
	if err != nil {
		b.Fatal(err)
	}
	d := newContentDetector(context.Background(), cfg, maxDecodeDepth, maxArchiveDepth)
	var (
		frags []sources.Fragment
		size  int
		mu    sync.Mutex
	)
	ctx := context.Background()
	if os.Getenv("SECGATE_BENCH_HISTORY") != "" {
		// what each commit of the repository adds
		err = (&gitHistory{root: dir, cfg: &cfg}).Fragments(ctx, func(f sources.Fragment, err error) error {
			mu.Lock()
			defer mu.Unlock()
			frags = append(frags, f)
			size += len(f.Raw)
			return err
		})
	} else {
		err = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
			if err != nil || !e.Type().IsRegular() {
				return err
			}
			data, err := os.ReadFile(p)
			frags = append(frags, sources.Fragment{Raw: string(data), FilePath: p, StartLine: 1})
			size += len(data)
			return err
		})
	}
	if err != nil {
		b.Fatal(err)
	}
	benchDetect(b, d, frags, size)
}

// BenchmarkDetectMinified compares gitleaks' DetectContext and secgate's
// windowed detection on a minified file: one 600 kB line with 80,000
// anchors (key, token, api, s.) and no secret.
func BenchmarkDetectMinified(b *testing.B) {
	cfg, _, err := loadConfig(context.Background(), "", "")
	if err != nil {
		b.Fatal(err)
	}
	d := newContentDetector(context.Background(), cfg, maxDecodeDepth, maxArchiveDepth)
	f := sources.Fragment{Raw: strings.Repeat(`var a={key:b.token,api:c.s.x};`, 20000), FilePath: "app.min.js", StartLine: 1}
	benchDetect(b, d, []sources.Fragment{f}, len(f.Raw))
}

// benchDetect runs gitleaks' DetectContext with all the rules, secgate's
// windowed detection, and the scan's detection (content: with the
// provider rules on allowlisted paths and padded URL-safe base64, issue
// 24) on the same fragments.
func benchDetect(b *testing.B, d *contentDetector, frags []sources.Fragment, size int) {
	ctx := context.Background()
	for _, run := range []struct {
		name   string
		detect func(sources.Fragment)
	}{
		{"gitleaks", func(f sources.Fragment) { d.full().DetectContext(ctx, asDetect(f)) }},
		{"secgate", func(f sources.Fragment) { d.DetectContext(ctx, f) }},
		{"content", func(f sources.Fragment) { d.Detect(ctx, f) }},
	} {
		b.Run(run.name, func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				for _, f := range frags {
					run.detect(f)
				}
			}
		})
	}
}

// BenchmarkHistoryRead reads what each commit of SECGATE_BENCH_TREE's
// repository adds (SECGATE_BENCH_HISTORY set), without detection: the
// cost of go-git's walk, object reads and line diffs.
func BenchmarkHistoryRead(b *testing.B) {
	dir := os.Getenv("SECGATE_BENCH_TREE")
	if dir == "" || os.Getenv("SECGATE_BENCH_HISTORY") == "" {
		b.Skip("SECGATE_BENCH_TREE and SECGATE_BENCH_HISTORY not set")
	}
	cfg, _, err := loadConfig(context.Background(), dir, "")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		var size atomic.Int64
		err := (&gitHistory{root: dir, cfg: &cfg}).Fragments(context.Background(), func(f sources.Fragment, err error) error {
			size.Add(int64(len(f.Raw)))
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(size.Load())
	}
}
