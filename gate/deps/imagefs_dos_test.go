package deps

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/secgate/secgate/gate/image/imagetest"
)

// An image is attacker input: what a crafted one costs to read is
// bounded by the reader, not by the image.

// Links whose targets name other links many times over (b -> a/a/…/a,
// c -> b/b/…/b, …): each level multiplies the work by a target's length,
// and the depth bound (6) alone let four levels of 200 resolve in 18 s
// (and six levels of 2,000 never). A lookup follows at most 40 links in
// all, as Linux does; removing that budget from resolve fails this test
// (the lookup then succeeds, after those 18 s).
func TestImageFSSymlinkFanout(t *testing.T) {
	rep := func(s string, n int) string { return "/" + strings.TrimSuffix(strings.Repeat(s+"/", n), "/") }
	im := readerOf(t, keepAll, []imagetest.Entry{
		symlink("a", "/"),
		symlink("b", rep("a", 200)),
		symlink("c", rep("b", 200)),
		symlink("d", rep("c", 200)),
		symlink("e", rep("d", 200)),
		file("x", "hi"),
		symlink("f", "/a/a/a/x"), // three links: a real lookup still resolves
	})
	if _, err := readAll(im.chainView(0), "e/x"); !errors.Is(err, errSymlinkDepth) {
		t.Errorf("e/x: %v, want %v", err, errSymlinkDepth)
	}
	if got, err := readAll(im.chainView(0), "f"); err != nil || got != "hi" {
		t.Errorf("f: %q, %v; want hi", got, err)
	}
}

// countingLayer counts how often a layer is decompressed.
type countingLayer struct {
	v1.Layer
	n *atomic.Int32
}

func (l countingLayer) Uncompressed() (io.ReadCloser, error) {
	l.n.Add(1)
	return l.Layer.Uncompressed()
}

// Hard links to files no extractor asked for, each named like a file one
// does: each link read its layer again up to the file, so a layer of many
// such links behind one large file cost one decompression of the layer a
// link. Now the files are kept in one more pass over the layer; reading
// the layer again for each link fails the count.
func TestImageFSHardlinksReadTheirLayerOnce(t *testing.T) {
	var entries []imagetest.Entry
	for i := range 50 {
		entries = append(entries, file(fmt.Sprintf("t/%d", i), fmt.Sprintf("content %d", i)))
	}
	for i := range 50 {
		entries = append(entries, hardlink(fmt.Sprintf("app/%d/package.json", i), fmt.Sprintf("t/%d", i)))
	}
	var n atomic.Int32
	layer := countingLayer{imagetest.Layer(t, entries...), &n}
	keep := func(p string, _ fs.FileInfo) bool { return strings.HasSuffix(p, "package.json") }
	im, err := newImageFS(context.Background(), []v1.Layer{layer}, nil, t.TempDir(), keep, defaultImageLimits)
	if err != nil {
		t.Fatal(err)
	}
	defer im.close()
	if got := n.Load(); got != 2 {
		t.Errorf("the layer was decompressed %d times for 50 hard links, want 2 (read, then the linked files kept)", got)
	}
	for _, i := range []int{0, 49} {
		if got, err := readAll(im.chainView(0), fmt.Sprintf("app/%d/package.json", i)); err != nil || got != fmt.Sprintf("content %d", i) {
			t.Errorf("app/%d/package.json: %q, %v", i, got, err)
		}
	}
	if got := n.Load(); got != 2 {
		t.Errorf("opening kept files decompressed the layer again: %d times in all", got)
	}
}

// Files opened though no extractor asked for them are read again from
// their layer, up to maxLazyLoads an image; past that they do not open and
// the image's scan fails (failed), rather than decompress a layer each.
func TestImageFSLazyLoadsBounded(t *testing.T) {
	var entries []imagetest.Entry
	for i := range maxLazyLoads + 1 {
		entries = append(entries, file(fmt.Sprintf("f/%d", i), "x"))
	}
	im := readerOf(t, keepNone, entries)
	for i := range maxLazyLoads {
		if _, err := readAll(im.chainView(0), fmt.Sprintf("f/%d", i)); err != nil {
			t.Fatalf("f/%d: %v", i, err)
		}
	}
	if im.failed() != nil {
		t.Fatalf("failed after %d loads: %v", maxLazyLoads, im.failed())
	}
	if _, err := readAll(im.chainView(0), fmt.Sprintf("f/%d", maxLazyLoads)); err == nil {
		t.Error("a file past the budget opened")
	}
	if im.failed() == nil {
		t.Error("past the budget, the image does not say it failed")
	}
}

// wrongLayer is a layer whose bytes are not what its diff id says.
type wrongLayer struct {
	v1.Layer
	content []byte
}

func (l wrongLayer) Uncompressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.content)), nil
}

// A layer is read only as what its diff id says it is (docker load's
// rule): cut short at an entry's end, empty, or another layer's bytes, it
// was read as far as it went and the rest not scanned (red team, session
// 8: exit 0 with no packages). Not verifying fails the three cases; the
// layer itself passes.
func TestImageFSLayersMatchTheirDiffIDs(t *testing.T) {
	good := imagetest.Layer(t, file("a", "one"), file("app/node_modules/.package-lock.json", "{}"))
	rc, err := good.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	whole, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	other := imagetest.Layer(t, file("a", "two"))
	orc, _ := other.Uncompressed()
	otherBytes, _ := io.ReadAll(orc)
	for name, content := range map[string][]byte{
		"cut after its first entry": whole[:1024], // header and one block: "one" padded
		"empty":                     nil,
		"another layer's bytes":     otherBytes,
	} {
		_, err := newImageFS(context.Background(), []v1.Layer{wrongLayer{good, content}}, nil, t.TempDir(), keepAll, defaultImageLimits)
		if err == nil || !strings.Contains(err.Error(), "its diff id says") {
			t.Errorf("%s: %v, want a diff id mismatch", name, err)
		}
	}
	if _, err := newImageFS(context.Background(), []v1.Layer{wrongLayer{good, whole}}, nil, t.TempDir(), keepAll, defaultImageLimits); err != nil {
		t.Errorf("the layer as it is: %v", err)
	}
}

// What the layers decompress to is bounded, every reading counted: a
// small archive listing one layer many times read for hours.
func TestImageFSReadBytesBounded(t *testing.T) {
	l := imagetest.Layer(t, file("a", strings.Repeat("x", 10_000)))
	limits := defaultImageLimits
	limits.readBytes = 25_000
	if _, err := newImageFS(context.Background(), []v1.Layer{l, l}, nil, t.TempDir(), keepAll, limits); err != nil {
		t.Fatalf("two readings within the bound: %v", err)
	}
	if _, err := newImageFS(context.Background(), []v1.Layer{l, l, l}, nil, t.TempDir(), keepAll, limits); err == nil || !strings.Contains(err.Error(), "decompress to more than 25000 bytes") {
		t.Errorf("three readings over the bound: %v", err)
	}
}

// Paths are bounded together, and a name longer than Linux's NAME_MAX
// (no container has such a file) is left out.
func TestImageFSPathBytesBounded(t *testing.T) {
	long := strings.Repeat("n", 256)
	im := readerOf(t, keepAll, []imagetest.Entry{file(long, "x"), file(strings.Repeat("n", 255), "y")})
	if _, err := readAll(im.chainView(0), long); err == nil {
		t.Error("a 256-byte name is in the image")
	}
	if got, err := readAll(im.chainView(0), strings.Repeat("n", 255)); err != nil || got != "y" {
		t.Errorf("a 255-byte name: %q, %v", got, err)
	}
	var entries []imagetest.Entry
	for i := range 100 {
		entries = append(entries, file(fmt.Sprintf("%s/%d", strings.Repeat("d", 200), i), ""))
	}
	limits := defaultImageLimits
	limits.pathBytes = 50 * 204
	if _, err := newImageFS(context.Background(), []v1.Layer{imagetest.Layer(t, entries...)}, nil, t.TempDir(), keepAll, limits); err == nil || !strings.Contains(err.Error(), "paths of its entries are more than") {
		t.Errorf("100 paths of ~204 bytes under a bound of 50: %v", err)
	}
}

// A docker-archive naming one file twice is refused: go-containerregistry
// reads the first manifest.json or layer, docker load the last (red team,
// session 8: a benign first manifest, a vulnerable last one, exit 0).
func TestImageArchiveNamesTwiceRefused(t *testing.T) {
	img := imagetest.Build(t, imagetest.Spec{Layers: []map[string]string{{"a": "x"}}})
	archive := imagetest.Archive(t, "example.com/app:1", img)
	if err := uniqueNames(archive); err != nil {
		t.Fatalf("a docker save archive: %v", err)
	}
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	// the archive again with a second manifest.json appended
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	tr := tar.NewReader(bytes.NewReader(data))
	var manifest *tar.Header
	var manifestBody []byte
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "manifest.json" {
			manifest, manifestBody = h, body
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if manifest == nil {
		t.Fatal("no manifest.json in the archive")
	}
	if err := tw.WriteHeader(manifest); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(manifestBody); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	twice := filepath.Join(t.TempDir(), "twice.tar")
	if err := os.WriteFile(twice, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := openImage(context.Background(), twice, t.TempDir(), keepAll); err == nil || !strings.Contains(err.Error(), "holds manifest.json twice") {
		t.Errorf("manifest.json twice: %v", err)
	}
}

// A layer that makes a directory a link and then writes under the link's
// path writes through it, as extracting the layer does: the red team's
// h_sl_parent_write_same kept the lockfile under the link's own node,
// where no lookup reaches, and its packages were not reported (exit 0).
// A link of an earlier layer is not written through: each layer is
// extracted into a directory of its own, and the later layer's path is a
// directory over the link. Keeping the entry under the link fails the
// first half.
func TestImageFSWritesThroughItsOwnLink(t *testing.T) {
	same := readerOf(t, keepAll, []imagetest.Entry{
		dir("opt/nm"),
		symlink("app/node_modules", "/opt/nm"),
		file("app/node_modules/.package-lock.json", "lock"),
	})
	for _, p := range []string{"opt/nm/.package-lock.json", "app/node_modules/.package-lock.json"} {
		if got, err := readAll(same.chainView(0), p); err != nil || got != "lock" {
			t.Errorf("same layer: %s: %q, %v; want the file written through the link", p, got, err)
		}
	}
	later := readerOf(t, keepAll,
		[]imagetest.Entry{dir("b"), symlink("a", "/b")},
		[]imagetest.Entry{file("a/f", "later")},
	)
	if got, err := readAll(later.chainView(1), "a/f"); err != nil || got != "later" {
		t.Errorf("later layer: a/f: %q, %v", got, err)
	}
	if _, err := readAll(later.chainView(1), "b/f"); err == nil {
		t.Error("a later layer's file was written through an earlier layer's link")
	}
}
