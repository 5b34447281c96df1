package secrets

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/zricethezav/gitleaks/v8/sources"
)

// BenchmarkArchiveBound reads a decompression bomb as the scan does (the
// bounded archive walk, every fragment through the detector) until the
// per-archive bound stops it: a 3 MB zip of 48 deflated 64 MiB entries
// (3 GiB), and a zip nesting it. decompressed-B/op is what was read before
// the bound (DefaultArchiveBytes and a read's overshoot); without the
// bound the walk reads all 3 GiB (minutes on a shared runner).
func BenchmarkArchiveBound(b *testing.B) {
	entry := contentDeflated(b, make([]byte, 64<<20))
	bomb := contentRawZip(b, entry, 64<<20, 48)
	nested := contentRawZip(b, contentStored(bomb), uint64(len(bomb)), 1)
	cfg, _, err := loadConfig(context.Background(), "", "")
	if err != nil {
		b.Fatal(err)
	}
	c := newContentDetector(context.Background(), cfg, maxDecodeDepth, maxArchiveDepth)
	for _, bc := range []struct {
		name string
		zip  []byte
	}{{"zip", bomb}, {"nested", nested}} {
		b.Run(bc.name, func(b *testing.B) {
			var read int64
			for b.Loop() {
				ctx := context.Background()
				budget := newArchiveBudget(0, 0)
				t := &treeFiles{cfg: &cfg}
				w := &archiveWalk{t: t, path: "bomb.zip", budget: budget, left: budget.perArchive,
					yield: func(f sources.Fragment, err error) error {
						if err != nil {
							return err
						}
						c.Detect(ctx, f)
						return nil
					}}
				format, _, err := identifyName(ctx, "x.zip")
				if err != nil {
					b.Fatal(err)
				}
				err = w.walk(ctx, bytes.NewReader(bc.zip), format, "bomb.zip", 0)
				var bound *ArchiveBoundError
				if !errors.As(err, &bound) {
					b.Fatalf("walk: %v, want the bound", err)
				}
				read = budget.perArchive - w.left
			}
			b.ReportMetric(float64(read), "decompressed-B/op")
			b.ReportMetric(float64(len(bc.zip)), "archive-B")
		})
	}
}

// contentDeflated is data compressed once, to be stored as many entries.
func contentDeflated(b *testing.B, data []byte) []byte {
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := fw.Write(data); err != nil {
		b.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// contentStored marks data to be stored as it is (contentRawZip).
type contentStored []byte

// contentRawZip is a zip of n entries holding what entry holds: deflated
// bytes that decompress to size zero bytes, or stored bytes.
func contentRawZip(b *testing.B, entry any, size uint64, n int) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range n {
		h := &zip.FileHeader{Name: "part" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ".txt", UncompressedSize64: size}
		var raw []byte
		switch e := entry.(type) {
		case contentStored:
			h.Method, h.Name, raw = zip.Store, "inner.zip", e
			h.CRC32 = crc32.ChecksumIEEE(e)
		case []byte:
			h.Method, raw = zip.Deflate, e
			h.CRC32 = crc32.ChecksumIEEE(make([]byte, size))
		}
		h.CompressedSize64 = uint64(len(raw))
		w, err := zw.CreateRaw(h)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write(raw); err != nil {
			b.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}
