//go:build osvscanner

package deps

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	lsimage "github.com/google/osv-scalibr/artifact/image/layerscanning/image"
	scalibrfs "github.com/google/osv-scalibr/fs"
)

// TestRealImagesAgree: on real images built by docker, the engines say
// the same of each (TestImageMetadataAgree's comparison): Alpine's apk
// packages with their layers, a file deleted and recreated in later
// layers, symlink attacks, cycles and depth.
func TestRealImagesAgree(t *testing.T) {
	for _, file := range scalibrImages(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			actions, _, err := newActions(New(Options{OfflineDB: sharedDB}).opts)
			if err != nil {
				t.Fatal(err)
			}
			actions.Image = file
			want := engineImage(t, referenceEngine(t), actions)
			got := engineImage(t, scalibrEngine{}, actions)
			if got != want {
				t.Errorf("the engines disagree:\n%s", lineDiff(want, got))
			}
			t.Logf("%d lines: %.300s", strings.Count(got, "\n"), got)
		})
	}
}

// fsListing is a filesystem as a walk sees it: every path with its type
// (and a regular file's mode, size and content), then what Stat says of
// each path (following links).
// Paths skip says are left out.
func fsListing(t *testing.T, fsys scalibrfs.FS, skip func(string) bool) string {
	t.Helper()
	var b strings.Builder
	var paths []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			fmt.Fprintf(&b, "%s: walk error\n", p)
			return nil
		}
		if skip(p) {
			return nil
		}
		paths = append(paths, p)
		fmt.Fprintf(&b, "%s %v", p, d.Type().Type())
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				t.Fatal(err)
			}
			f, err := fsys.Open(p)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			h := sha256.New()
			_, err = io.Copy(h, f)
			_ = f.Close()
			fmt.Fprintf(&b, " %v %d %x %v", info.Mode(), info.Size(), h.Sum(nil)[:8], err)
		}
		b.WriteString("\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		info, err := fsys.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			fmt.Fprintf(&b, "stat %s: not found\n", p)
		case err != nil:
			fmt.Fprintf(&b, "stat %s: error\n", p)
		default:
			fmt.Fprintf(&b, "stat %s: %v %d\n", p, info.Mode().Type(), info.Size())
		}
	}
	return b.String()
}

// TestImageFSAgreesWithLayerscanning compares the filesystems themselves,
// after every layer, with osv-scalibr's layerscanning's, on its test
// images and the rule images both read alike: the same paths, types,
// modes, sizes and contents, and Stat gives the same through links. Hard
// links are left out of the comparison (TestEnginesDifferOnHardlinks):
// alpine-with-packages has one, /etc/terminfo/v/vt220, a file here and a
// dangling symlink in layerscanning.
func TestImageFSAgreesWithLayerscanning(t *testing.T) {
	files := scalibrImages(t)
	for _, img := range ruleImages(t, hostFiles(t)) {
		files = append(files, img.archive)
	}
	for _, file := range files {
		t.Run(filepath.Base(filepath.Dir(file))+"/"+filepath.Base(file), func(t *testing.T) {
			ref, err := lsimage.FromTarball(file, lsimage.DefaultConfig())
			if err != nil {
				t.Skipf("layerscanning does not read it: %v", err)
			}
			defer ref.CleanUp()
			chain, err := ref.ChainLayers()
			if err != nil {
				t.Fatal(err)
			}
			im, err := openImage(context.Background(), file, t.TempDir(), keepAll) // every file is compared: kept in one pass, not read again one by one (maxLazyLoads)
			if err != nil {
				t.Fatal(err)
			}
			defer im.close()
			if len(chain) != len(im.chains) {
				t.Fatalf("%d chain layers, layerscanning %d", len(im.chains), len(chain))
			}
			hardlinks := 0
			for k := range chain {
				v := im.chainView(k)
				isHardlink := func(p string) bool {
					_, ver, _, err := v.walk(components(p), false, 0)
					if err == nil && ver.hardlink {
						hardlinks++
						return true
					}
					return false
				}
				want, got := fsListing(t, chain[k].FS(), isHardlink), fsListing(t, v, isHardlink)
				if got != want {
					t.Errorf("after layer %d:\n%s", k, lineDiff(want, got))
				}
			}
			t.Logf("%d chain layers compared, hard links left out %d times", len(chain), hardlinks/2)
		})
	}
}
