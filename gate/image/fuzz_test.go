package image

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// FuzzLayerTar feeds arbitrary bytes to the layer reader as a layer's
// content: it may fail, never panic, and never reads past its bounds.
func FuzzLayerTar(f *testing.F) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range []struct{ name, body string }{{"etc/passwd", "root:x:0:0::/root:/bin/sh\napp:x:0:0::/app:/bin/sh\n"}, {"../escape", "x"}, {"bin/sh", "#!"}} {
		_ = tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o4755, Size: int64(len(e.body)), Typeflag: tar.TypeReg})
		_, _ = tw.Write([]byte(e.body))
	}
	_ = tw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte{})
	f.Add(buf.Bytes()[:700])
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
		if err != nil {
			return
		}
		img, err := mutate.AppendLayers(empty.Image, l)
		if err != nil {
			return
		}
		s := New(Options{MaxExtract: 1 << 20, MaxFileRead: 1 << 16})
		facts, err := s.walk(context.Background(), img, nil)
		if err == nil && facts.bytesRead > 1<<20 {
			t.Fatalf("read %d bytes past the 1 MiB bound", facts.bytesRead)
		}
	})
}
