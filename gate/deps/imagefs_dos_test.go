package deps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
