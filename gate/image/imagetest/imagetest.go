// Package imagetest builds container images for tests — layers of given
// files, a config — and writes them as `docker save` tarballs, so that
// tests outside gate/image need not import go-containerregistry.
package imagetest

import (
	"archive/tar"
	"bytes"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Spec describes an image: its layers (path → content, one map a layer),
// and its config's environment and user. The image is linux/amd64.
type Spec struct {
	Layers []map[string]string
	Env    []string
	User   string
}

// Entry is one entry of a layer's tar: a file (Type tar.TypeReg, with its
// Content), a directory, a symlink (Linkname), with its mode.
type Entry struct {
	Name     string
	Mode     int64
	Type     byte
	Content  string
	Linkname string
}

// Layer makes a layer of the entries, in order.
func Layer(t testing.TB, entries ...Entry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Mode: e.Mode, Typeflag: e.Type, Linkname: e.Linkname}
		if e.Type == tar.TypeReg {
			h.Size = int64(len(e.Content))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.Type == tar.TypeReg {
			if _, err := tw.Write([]byte(e.Content)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Build makes the image.
func Build(t testing.TB, s Spec) v1.Image {
	t.Helper()
	img := empty.Image
	for _, files := range s.Layers {
		var entries []Entry
		for _, name := range slices.Sorted(maps.Keys(files)) {
			entries = append(entries, Entry{Name: name, Mode: 0o644, Type: tar.TypeReg, Content: files[name]})
		}
		var err error
		if img, err = mutate.AppendLayers(img, Layer(t, entries...)); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Config.Env, cfg.Config.User = s.Env, s.User
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	return img
}

// Archive writes img as a `docker save` tarball tagged ref, in a new
// temporary directory, and returns its path.
func Archive(t testing.TB, ref string, img v1.Image) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "image.tar")
	if err := tarball.WriteToFile(path, r, img); err != nil {
		t.Fatal(err)
	}
	return path
}

// Push pushes the image to ref (a tag in a registry the test runs); the
// digest reference it was pushed as.
func Push(t testing.TB, ref string, img v1.Image) string {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return tag.Context().Digest(d.String()).String()
}

// Layout writes the image as an OCI image layout in a temporary
// directory; its path.
func Layout(t testing.TB, img v1.Image) string {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	return dir
}
