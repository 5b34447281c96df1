package deps

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"hash/fnv"
	"io"
	"io/fs"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// fuzzSeed is a layer tar of the entries (name, type, link or content).
func fuzzSeed(entries ...[3]string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e[0], Typeflag: e[1][0], Mode: 0o755}
		switch h.Typeflag {
		case tar.TypeReg:
			h.Size = int64(len(e[2]))
		case tar.TypeSymlink, tar.TypeLink:
			h.Linkname = e[2]
		}
		_ = tw.WriteHeader(h)
		if h.Typeflag == tar.TypeReg {
			_, _ = tw.Write([]byte(e[2]))
		}
	}
	_ = tw.Close()
	return buf.Bytes()
}

// FuzzImageLayers feeds two arbitrary byte strings to the image reader as
// an image's two layers: it may refuse them, never panics, never loops,
// and the filesystem it makes is consistent — every file the walk lists
// opens and reads as many bytes as its size says, in the filesystem after
// each layer and in each layer alone, whether its content was kept while
// reading or is read again from its layer.
func FuzzImageLayers(f *testing.F) {
	r, d, s, l := string(tar.TypeReg), string(tar.TypeDir), string(tar.TypeSymlink), string(tar.TypeLink)
	f.Add(fuzzSeed([3]string{"etc/os-release", r, "ID=debian\n"}, [3]string{"var/lib/dpkg", d, ""}, [3]string{"var/lib/dpkg/status", r, "Package: a\n"}),
		fuzzSeed([3]string{"var/lib/dpkg/.wh..wh..opq", r, ""}, [3]string{"etc/.wh.os-release", r, ""}, [3]string{"hard", l, "var/lib/dpkg/status"}))
	f.Add(fuzzSeed([3]string{"a", s, "b"}, [3]string{"b", s, "a"}, [3]string{"c", s, "/../../etc/passwd"}, [3]string{"d", s, "../../../../tmp"}),
		fuzzSeed([3]string{"a/x", r, "through a loop"}, [3]string{"e", s, "/"}, [3]string{"e/f", r, "?"}, [3]string{"h", l, "../../etc/passwd"}))
	f.Add(fuzzSeed([3]string{"./x/../y", r, "y"}, [3]string{"/abs", r, "abs"}, [3]string{"x/.wh..", r, ""}), []byte{})
	f.Add([]byte{}, []byte("not a tar"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var layers []v1.Layer
		for _, data := range [][]byte{a, b} {
			l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
			if err != nil {
				return
			}
			layers = append(layers, l)
		}
		// Every other file is kept; the others are read again when opened.
		keep := func(p string, _ fs.FileInfo) bool {
			h := fnv.New32()
			_, _ = h.Write([]byte(p))
			return h.Sum32()%2 == 0
		}
		im, err := newImageFS(context.Background(), layers, nil, t.TempDir(), keep, defaultImageLimits)
		if err != nil {
			return
		}
		defer im.close()
		for k := range im.chains {
			for _, v := range []view{im.chainView(k), im.layerView(k)} {
				walked := 0
				err := fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
					if err != nil {
						return err
					}
					if walked++; walked > 10000 {
						t.Fatalf("walked more than 10000 entries of two small layers: a loop")
					}
					if !d.Type().IsRegular() {
						return nil
					}
					info, err := d.Info()
					if err != nil {
						t.Fatalf("%s: %v", p, err)
					}
					b, err := readAll(v, p)
					if err != nil || int64(len(b)) != info.Size() {
						t.Fatalf("%s: read %d bytes of %d: %v", p, len(b), info.Size(), err)
					}
					return nil
				})
				if err != nil && !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("walk: %v", err)
				}
			}
		}
	})
}
