package secrets

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/zricethezav/gitleaks/v8/detect/codec"
)

func TestZZSegments(t *testing.T) {
	for _, dir := range []string{os.Getenv("SECGATE_BENCH_TREE"), "/work/main/bench/.out/self"} {
		chunks, seg, bytes, segBytes := 0, 0, 0, 0
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if d.Type().IsRegular() {
				b, _ := os.ReadFile(p)
				for len(b) > 0 {
					n := min(len(b), 100000)
					c := string(b[:n])
					chunks++
					bytes += n
					if _, s := codec.NewDecoder().Decode(c, nil); len(s) > 0 {
						seg++
						segBytes += n
					}
					b = b[n:]
				}
			}
			return nil
		})
		t.Logf("%s: chunks %d with segments %d; bytes %d in those %d", dir, chunks, seg, bytes, segBytes)
	}
}
