package deps

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	scalibrfs "github.com/google/osv-scalibr/fs"
	scalibrlog "github.com/google/osv-scalibr/log"
)

// The image reader: a docker-archive's layers read once, in order, into
// one tree of every path any layer has, each path with its version per
// layer. A view of the tree is the filesystem after a given layer (what
// osv-scalibr's layerscanning called a chain layer) or of one layer alone,
// and it is what the extractors walk: an image is attacker input, so
// nothing in it reaches the host's filesystem, a link resolves inside the
// image root or not at all, and every size is bounded. Only the content of
// files an extractor asks for (FileRequired) is kept, in one temporary
// file; any other file an extractor opens (an os-release behind a link, a
// Homebrew formula) is read again from its layer when asked for.
//
// It replaces osv-scalibr's artifact/image/layerscanning (image and
// trace), which linked Docker's daemon client and OpenTelemetry's HTTP
// instrumentation (44 packages) for a tarball the gate reads itself. The
// rules are layerscanning's where it is right, so that TestEnginesAgree
// holds, and the image's where it is not (opaque whiteouts, hard links:
// TestEnginesDifferOnOpaqueWhiteouts and TestEnginesDifferOnHardlinks).

// imageLimits bound what reading an image may cost.
type imageLimits struct {
	// fileBytes: a file of this size or more is left out of the image, as
	// layerscanning (DefaultMaxFileBytes) left it out.
	fileBytes int64
	// entries bounds the tree's memory: files, directories, links and
	// whiteouts of all layers together (a large real image has a few
	// hundred thousand). layerscanning had no bound.
	entries int
	// keptBytes bounds the temporary file of kept contents (a
	// decompression bomb of many files just under fileBytes).
	keptBytes int64
	// readBytes bounds what the layers decompress to, every reading of
	// them counted (the image checks' bound, image.Options.MaxExtract): a
	// small archive that lists one layer many times, or a zstd bomb, read
	// for hours (red team, session 8: 143 kB, 127 s; 1,000 repeats ~3 h).
	readBytes int64
	// pathBytes bounds the entries' paths together: what the tree holds
	// and what every extractor's FileRequired matches against, once an
	// entry (400,000 entries of 4,000-character paths took 73 s and
	// 2.9 GB; a large real image has 300,000 paths of ~60 characters).
	pathBytes int64
}

var defaultImageLimits = imageLimits{fileBytes: 1 << 30, entries: 1 << 21, keptBytes: 32 << 30, readBytes: 16 << 30, pathBytes: 256 << 20}

const (
	// maxSymlinkDepth is how deep links may nest (layerscanning's
	// DefaultMaxSymlinkDepth): a deeper one is an error, not a loop.
	maxSymlinkDepth = 6
	// maxSymlinkFollows bounds the links one lookup follows in all, as
	// Linux does (MAXSYMLINKS, 40): the depth bound alone let links whose
	// targets name other links many times over (b -> a/a/a/…, c -> b/b/b/…)
	// cost the length of a target to the power of the depth; four levels
	// of 200 took 18 s (TestImageFSSymlinkFanout).
	maxSymlinkFollows = 40
	// maxLazyLoads bounds the files read again from their layer on open
	// (load); a real image needs a handful.
	maxLazyLoads = 256
	// maxImagePath: no Linux path is longer (PATH_MAX); a longer tar name
	// cannot be a file of the running container.
	maxImagePath = 4096
	// maxImageName: no Linux file name is longer (NAME_MAX).
	maxImageName = 255

	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// errNoLayers: an image with no layer and no history has nothing to scan.
var errNoLayers = errors.New("no layers found in image")

type entryKind uint8

const (
	kindDir entryKind = iota
	kindFile
	kindSymlink
	kindWhiteout
)

// version is what one layer has at a path.
type version struct {
	layer   int
	kind    entryKind
	mode    fs.FileMode
	size    int64
	modTime time.Time
	target  []string // a symlink's target, absolute, as components
	content *content // a file's (shared by its hardlinks)
	// hardlink: the file was named by a hard link entry (layerscanning
	// read those as dangling symlinks: TestEnginesDifferOnHardlinks).
	hardlink bool
}

// content locates a file's bytes: in its layer (the ordinal of its tar
// entry), and once read, in the temporary file.
type content struct {
	layer, ordinal int
	off            int64
	kept           bool
}

// node is one path of the tree.
type node struct {
	name     string
	children map[string]*node
	versions []version // by layer, ascending; one a layer
	opaque   []int     // layers whose tar marks this directory opaque
}

func (n *node) child(name string, create bool) *node {
	c := n.children[name]
	if c == nil && create {
		if n.children == nil {
			n.children = map[string]*node{}
		}
		// a copy: name is a piece of the tar entry's whole path, which
		// it would keep alive (100,000 entries of 4,000-character paths
		// in one directory held 1.1 GB)
		name = strings.Clone(name)
		c = &node{name: name}
		n.children[name] = c
	}
	return c
}

// set records v as the node's version in v.layer; a later entry of the
// same layer replaces an earlier one (a tar's last entry wins), except
// that an implied directory never replaces what the layer says.
func (n *node) set(v version, implied bool) {
	if k := len(n.versions); k > 0 && n.versions[k-1].layer == v.layer {
		if !implied {
			n.versions[k-1] = v
		}
		return
	}
	n.versions = append(n.versions, v)
}

// chainLayer is one entry of the image's history: the filesystem after it
// is the layers up to top.
type chainLayer struct {
	diffID, command string
	empty           bool
	top             int // index in imageFS.layers of its newest layer; -1 none
	own             bool
}

// imageFS is a docker-archive image's tree and the contents kept of it.
type imageFS struct {
	layers  []v1.Layer
	chains  []chainLayer
	root    *node
	entries int
	limits  imageLimits

	mu        sync.Mutex // guards blob, blobSize, content loading and the counts below
	blob      *os.File
	blobSize  int64
	pending   []*content // contents hard links want kept (loadPending)
	lazyLoads int        // contents read again on open (load)
	loadErr   error
	read      int64 // bytes the layers decompressed to, every reading counted
	pathBytes int64 // of the entries' paths
}

// keepFunc says whether an extractor wants the file at path (relative to
// the root) with the given info.
type keepFunc func(path string, info fs.FileInfo) bool

// openImage reads the docker-archive file: its config's history, then
// every layer, keeping the contents keep wants in a file under scratch
// (removed by close).
func openImage(ctx context.Context, file, scratch string, keep keepFunc) (*imageFS, error) {
	if err := uniqueNames(file); err != nil {
		return nil, err
	}
	img, err := tarball.ImageFromPath(file, nil)
	if err != nil {
		return nil, fmt.Errorf("reading image %s: %w", file, err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading the layers of image %s: %w", file, err)
	}
	var history []v1.History
	if cfg, err := img.ConfigFile(); err == nil {
		history = cfg.History
		if n := len(cfg.RootFS.DiffIDs); n != len(layers) {
			return nil, fmt.Errorf("image %s: %d layers, its config lists %d diff ids: docker load refuses it", file, len(layers), n)
		}
	} else {
		scalibrlog.Warnf("image %s: no config (%v): layers without commands", file, err)
	}
	im, err := newImageFS(ctx, layers, history, scratch, keep, defaultImageLimits)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", file, err)
	}
	return im, nil
}

// uniqueNames refuses a docker-archive that names one file twice:
// go-containerregistry reads the first of two manifest.json or layer
// entries, docker load the last, so the image scanned would not be the
// image run (red team, session 8: a benign first manifest, a vulnerable
// last one, exit 0). The image checks refuse it alike (gate/image).
func uniqueNames(file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	seen := map[string]bool{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading image %s: %w", file, err)
		}
		name := path.Clean(h.Name)
		if seen[name] {
			return fmt.Errorf("image %s: the archive holds %s twice (docker load reads the last, this reader the first): refused", file, name)
		}
		seen[name] = true
	}
}

// newImageFS reads the layers in order.
func newImageFS(ctx context.Context, layers []v1.Layer, history []v1.History, scratch string, keep keepFunc, limits imageLimits) (*imageFS, error) {
	chains := chainLayers(layers, history)
	if len(chains) == 0 {
		return nil, errNoLayers
	}
	blob, err := os.CreateTemp(scratch, "secgate-image-*")
	if err != nil {
		return nil, fmt.Errorf("a file for the image's contents: %w", err)
	}
	im := &imageFS{layers: layers, chains: chains, root: &node{}, blob: blob, limits: limits}
	for i, l := range layers {
		if err := im.readLayer(ctx, i, l, keep); err != nil {
			im.close()
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
	}
	if err := im.loadPending(ctx); err != nil {
		im.close()
		return nil, err
	}
	return im, nil
}

// loadPending keeps the contents hard links asked for: one pass over each
// layer that has any.
func (im *imageFS) loadPending(ctx context.Context) error {
	byLayer := map[int]map[int]*content{}
	for _, c := range im.pending {
		if byLayer[c.layer] == nil {
			byLayer[c.layer] = map[int]*content{}
		}
		byLayer[c.layer][c.ordinal] = c
	}
	im.pending = nil
	for layer, want := range byLayer {
		if err := im.loadFrom(ctx, layer, want); err != nil {
			return fmt.Errorf("layer %d: %w", layer, err)
		}
	}
	return nil
}

// loadFrom reads layer again and keeps the contents of the entries want
// names by ordinal.
func (im *imageFS) loadFrom(ctx context.Context, layer int, want map[int]*content) error {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.blob == nil {
		return errors.New("image closed")
	}
	rc, err := im.layers[layer].Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(im.counted(rc))
	left := len(want)
	for ordinal := 0; left > 0; ordinal++ {
		if ordinal%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		h, err := tr.Next()
		if err != nil {
			return fmt.Errorf("entry %d: %w", ordinal, err)
		}
		if c := want[ordinal]; c != nil && !c.kept {
			if err := im.keepLocked(c, tr, h.Size); err != nil {
				return err
			}
			left--
		}
	}
	return nil
}

func (im *imageFS) close() {
	if im.blob == nil {
		return
	}
	name := im.blob.Name()
	_ = im.blob.Close()
	if err := os.Remove(name); err != nil {
		scalibrlog.Warnf("removing %s: %v", name, err)
	}
	im.blob = nil
}

// chainLayers pairs the history with the layers as layerscanning did: one
// chain layer an entry of the history, the empty ones (ENV, CMD, …) with
// no layer; a history that does not count the layers is ignored (one
// chain layer a layer, no commands).
func chainLayers(layers []v1.Layer, history []v1.History) []chainLayer {
	diffIDs := make([]string, len(layers))
	for i, l := range layers {
		if d, err := l.DiffID(); err == nil {
			diffIDs[i] = d.String()
		} else {
			scalibrlog.Warnf("layer %d: no diff id: %v", i, err)
		}
	}
	nonEmpty := 0
	for _, h := range history {
		if !h.EmptyLayer {
			nonEmpty++
		}
	}
	var out []chainLayer
	if nonEmpty != len(layers) {
		if len(history) > 0 {
			scalibrlog.Warnf("the image's history has %d non-empty entries for %d layers: layers without commands", nonEmpty, len(layers))
		}
		for i := range layers {
			out = append(out, chainLayer{diffID: diffIDs[i], top: i, own: true})
		}
		return out
	}
	next := 0
	for _, h := range history {
		if h.EmptyLayer {
			out = append(out, chainLayer{command: h.CreatedBy, empty: true, top: next - 1})
			continue
		}
		out = append(out, chainLayer{diffID: diffIDs[next], command: h.CreatedBy, top: next, own: true})
		next++
	}
	return out
}

// entryAPI is a tar entry for FileRequired, before it is in the tree.
type entryAPI struct {
	path string
	info fs.FileInfo
}

func (e entryAPI) Path() string               { return e.path }
func (e entryAPI) Stat() (fs.FileInfo, error) { return e.info, nil }

// cleanName is a tar entry's path as components under the root; nil for
// the root itself or a name that climbs out of it (layerscanning skipped
// those too: "zip slip").
func cleanName(name string) ([]string, bool) {
	if len(name) > maxImagePath {
		return nil, false
	}
	name = path.Clean("/" + strings.TrimPrefix(name, "/"))
	if strings.Contains(name, "/../") || strings.HasSuffix(name, "/..") {
		return nil, false
	}
	name = strings.TrimPrefix(name, "/")
	if name == "" {
		return nil, false
	}
	comps := strings.Split(name, "/")
	for _, c := range comps {
		if len(c) > maxImageName {
			return nil, false
		}
	}
	return comps, true
}

// climbs says whether a relative path leaves its base, lexically.
func climbs(base []string, rel string) bool {
	depth := len(base)
	for _, c := range strings.Split(rel, "/") {
		switch c {
		case "", ".":
		case "..":
			depth--
			if depth < 0 {
				return true
			}
		default:
			depth++
		}
	}
	return false
}

// symlinkTarget resolves a link's target against the link's directory,
// lexically; !ok for a target that climbs above the root, which is left
// out of the image (as layerscanning left it out) rather than clamped.
func symlinkTarget(dir []string, target string) ([]string, bool) {
	base := dir
	if path.IsAbs(target) {
		base = nil
	}
	if climbs(base, target) {
		return nil, false
	}
	p := path.Clean("/" + strings.Join(base, "/") + "/" + target)
	if p == "/" {
		return []string{}, true
	}
	return strings.Split(strings.TrimPrefix(p, "/"), "/"), true
}

// readLayer adds layer i's entries to the tree.
func (im *imageFS) readLayer(ctx context.Context, i int, l v1.Layer, keep keepFunc) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	// hashed and counted in large reads, whatever sizes tar reads in
	digest := sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(im.counted(rc), digest), 1<<20)
	tr := tar.NewReader(br)
	for ordinal := 0; ; ordinal++ {
		if ordinal%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		h, err := tr.Next()
		if err == io.EOF {
			return verifyLayer(l, br, digest)
		}
		if err != nil {
			return fmt.Errorf("reading tar: %w", err)
		}
		if im.pathBytes += int64(len(h.Name)); im.pathBytes > im.limits.pathBytes {
			return fmt.Errorf("the paths of its entries are more than %d bytes together: the image is not read", im.limits.pathBytes)
		}
		comps, ok := cleanName(h.Name)
		if !ok {
			continue
		}
		base := comps[len(comps)-1]
		dir := comps[:len(comps)-1]
		if base == opaqueMarker {
			n, err := im.ensureDirs(i, comps[:len(comps)-1])
			if err != nil {
				return err
			}
			if !slices.Contains(n.opaque, i) {
				n.opaque = append(n.opaque, i)
			}
			continue
		}
		if name, ok := strings.CutPrefix(base, whiteoutPrefix); ok {
			if name == "" || name == "." || name == ".." {
				continue
			}
			if err := im.add(i, append(slices.Clip(dir), name), version{layer: i, kind: kindWhiteout, mode: h.FileInfo().Mode()}); err != nil {
				return err
			}
			continue
		}
		v, ok, err := im.entry(i, ordinal, h, tr, comps, keep)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if err := im.add(i, comps, v); err != nil {
			return err
		}
	}
}

// entry is the version a tar entry (a file, directory or link; ordinal
// in layer i, at comps) gives its path, keeping the file's content when
// keep wants it; !ok for an entry the image leaves out.
func (im *imageFS) entry(i, ordinal int, h *tar.Header, tr io.Reader, comps []string, keep keepFunc) (version, bool, error) {
	base := comps[len(comps)-1]
	dir := comps[:len(comps)-1]
	info := h.FileInfo()
	v := version{layer: i, mode: info.Mode(), modTime: info.ModTime()}
	switch h.Typeflag {
	case tar.TypeDir:
		v.kind, v.mode = kindDir, info.Mode()|fs.ModeDir
	case tar.TypeReg:
		if h.Size >= im.limits.fileBytes {
			scalibrlog.Infof("skipping file %q: %d bytes, over the limit of %d", h.Name, h.Size, im.limits.fileBytes)
			return version{}, false, nil
		}
		v.kind, v.size = kindFile, h.Size
		v.content = &content{layer: i, ordinal: ordinal}
		if keep(strings.Join(comps, "/"), info) {
			if err := im.keep(v.content, tr, h.Size); err != nil {
				return version{}, false, err
			}
		}
	case tar.TypeSymlink:
		if h.Linkname == "" {
			return version{}, false, fmt.Errorf("symlink %q has no target", h.Name)
		}
		if len(h.Linkname) > maxImagePath {
			scalibrlog.Warnf("skipping symlink %q: a target of %d bytes", h.Name, len(h.Linkname))
			return version{}, false, nil
		}
		t, ok := symlinkTarget(dir, h.Linkname)
		if !ok {
			scalibrlog.Warnf("skipping symlink %q -> %q: it points outside the image root", h.Name, h.Linkname)
			return version{}, false, nil
		}
		v.kind, v.target, v.mode = kindSymlink, t, info.Mode()|fs.ModeSymlink
	case tar.TypeLink:
		// A hard link names a file of the image by its path from the
		// root (never through a symlink): the same file, so the same
		// content and mode.
		t, ok := cleanName(h.Linkname)
		if !ok {
			return version{}, false, nil
		}
		target := im.hardlinkTarget(i, t)
		if target == nil {
			scalibrlog.Warnf("skipping hard link %q -> %q: no such file in the image", h.Name, h.Linkname)
			return version{}, false, nil
		}
		v.kind, v.size, v.mode, v.content, v.hardlink = kindFile, target.size, target.mode, target.content, true
		if !target.content.kept && keep(strings.Join(comps, "/"), fileInfo{name: base, v: target}) {
			// kept once all layers are read, in one more pass over
			// each layer that has such files (loadPending): reading
			// the layer again here for each link made a layer of
			// many links behind a large file cost one decompression
			// of the layer a link
			im.pending = append(im.pending, target.content)
		}
	default:
		return version{}, false, nil // devices, fifos: nothing an extractor reads
	}
	return v, true, nil
}

// verifyLayer reads what is left of a layer after its tar's end and
// checks the whole against the layer's diff id (the config's
// rootfs.diff_ids): docker load refuses a layer cut short, empty, of a
// bad gzip checksum or of another content, and the reader read such
// layers as far as they went, scanning nothing of the rest (red team,
// session 8: exit 0 with no packages).
func verifyLayer(l v1.Layer, rest io.Reader, digest hash.Hash) error {
	if _, err := io.Copy(io.Discard, rest); err != nil {
		return fmt.Errorf("reading the layer to its end: %w", err)
	}
	want, err := l.DiffID()
	if err != nil {
		return fmt.Errorf("the layer's diff id: %w", err)
	}
	if got := hex.EncodeToString(digest.Sum(nil)); want.Algorithm != "sha256" || want.Hex != got {
		return fmt.Errorf("the layer's content is sha256:%s, its diff id says %s: the image is not what its config says", got, want)
	}
	return nil
}

// counted counts what r decompresses against the image's readBytes.
func (im *imageFS) counted(r io.Reader) io.Reader { return &readCounter{r: r, im: im} }

type readCounter struct {
	r  io.Reader
	im *imageFS
}

func (c *readCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if total := atomic.AddInt64(&c.im.read, int64(n)); total > c.im.limits.readBytes {
		return n, fmt.Errorf("its layers decompress to more than %d bytes: the image is not read", c.im.limits.readBytes)
	}
	return n, err
}

// add records v at comps, with the directories the path implies.
func (im *imageFS) add(layer int, comps []string, v version) error {
	parent, err := im.ensureDirs(layer, comps[:len(comps)-1])
	if err != nil {
		return err
	}
	if err := im.count(); err != nil {
		return err
	}
	parent.child(comps[len(comps)-1], true).set(v, false)
	return nil
}

// ensureDirs makes the directories of comps exist in layer as the tar
// implies them (a layer names a file without its directory); a path the
// layer itself names stays as it says. A directory the layer itself made
// a symlink is written through, as extracting the layer writes: a layer
// of app/node_modules -> /opt/nm and then app/node_modules/.package-lock.json
// has the lockfile at /opt/nm (red team, session 8: it was kept under the
// link's own node, which no lookup reaches, and its packages were not
// reported). A link below an earlier layer's is not: each layer is
// extracted into a directory of its own.
func (im *imageFS) ensureDirs(layer int, comps []string) (*node, error) {
	n := im.root
	redirects := 0
	for i := 0; i < len(comps); i++ {
		n = n.child(comps[i], true)
		k := len(n.versions)
		if k > 0 && n.versions[k-1].layer == layer && n.versions[k-1].kind == kindSymlink && redirects < maxSymlinkDepth {
			comps = append(slices.Clip(n.versions[k-1].target), comps[i+1:]...)
			n, i = im.root, -1
			redirects++
			continue
		}
		if k == 0 || n.versions[k-1].layer != layer {
			if err := im.count(); err != nil {
				return nil, err
			}
			n.set(version{layer: layer, kind: kindDir, mode: fs.ModeDir}, true)
		}
	}
	return n, nil
}

// count counts one more entry of the tree against the bound.
func (im *imageFS) count() error {
	im.entries++
	if im.entries > im.limits.entries {
		return fmt.Errorf("more than %d files, directories and links: the image is not read", im.limits.entries)
	}
	return nil
}

// hardlinkTarget is the file a hard link of layer i names: in the layer
// itself (an earlier entry), else in the layers below.
func (im *imageFS) hardlinkTarget(i int, comps []string) *version {
	_, ver, _, err := view{im: im, bottom: 0, top: i}.walk(comps, false, 0)
	if err != nil || ver.kind != kindFile {
		return nil
	}
	return ver
}

// keep copies a file's content from its tar into the temporary file.
func (im *imageFS) keep(c *content, r io.Reader, size int64) error {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.keepLocked(c, r, size)
}

func (im *imageFS) keepLocked(c *content, r io.Reader, size int64) error {
	if im.blobSize+size > im.limits.keptBytes {
		return fmt.Errorf("the files extractors read are more than %d bytes together: the image is not read", im.limits.keptBytes)
	}
	n, err := io.Copy(im.blob, io.LimitReader(r, size))
	if err != nil {
		return fmt.Errorf("keeping a file of the image in %s: %w", im.blob.Name(), err)
	}
	if n != size {
		return fmt.Errorf("a file of the image: %d bytes of %d", n, size)
	}
	c.off, c.kept = im.blobSize, true
	im.blobSize += n
	return nil
}

// load reads a content not kept from its layer again: a file an
// extractor opens though it did not ask for it when the layers were read
// (an os-release behind a link, a Homebrew formula). Each such read
// decompresses the layer up to the file, so an image gets maxLazyLoads of
// them; past that the file does not open and the scan fails (loadErr): a
// crafted image of many such files behind a large one would otherwise
// cost a decompression of that layer each.
func (im *imageFS) load(c *content) error {
	im.mu.Lock()
	kept := c.kept
	if !kept {
		im.lazyLoads++
		if im.lazyLoads > maxLazyLoads {
			im.loadErr = fmt.Errorf("the extractors opened more than %d files of the image outside the files they ask for: the image is not read further", maxLazyLoads)
			im.mu.Unlock()
			return im.loadErr
		}
	}
	im.mu.Unlock()
	if kept {
		return nil
	}
	return im.loadFrom(context.Background(), c.layer, map[int]*content{c.ordinal: c})
}

// failed is the error that made a file of the image not open, if any.
func (im *imageFS) failed() error {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.loadErr
}

// view is the image's filesystem made of the layers bottom..top: a chain
// layer (bottom 0) or one layer alone (bottom = top). It is a scalibrfs.FS.
type view struct {
	im          *imageFS
	bottom, top int
}

var _ scalibrfs.FS = view{}

// chainView is the filesystem after chain layer k.
func (im *imageFS) chainView(k int) view {
	return view{im: im, bottom: 0, top: im.chains[k].top}
}

// layerView is chain layer k's own layer alone (empty for an empty one).
func (im *imageFS) layerView(k int) view {
	c := im.chains[k]
	if !c.own {
		return view{im: im, bottom: 0, top: -1}
	}
	return view{im: im, bottom: c.top, top: c.top}
}

// visible is what the view has at n, given floor, the lowest layer whose
// entries under n's parent are still seen: the newest version in
// floor..top, and the floor for n's children, raised by an opaque marker
// on n or a layer where n was no directory (its old children are gone).
func (v view) visible(n *node, floor int) (*version, int) {
	var best *version
	f := floor
	for i := range n.versions {
		ver := &n.versions[i]
		if ver.layer < floor || ver.layer > v.top {
			continue
		}
		best = ver
		if ver.kind != kindDir {
			f = max(f, ver.layer+1)
		}
	}
	for _, o := range n.opaque {
		if o >= floor && o <= v.top {
			f = max(f, o)
		}
	}
	return best, f
}

var rootVersion = version{kind: kindDir, mode: fs.ModeDir}

// errSymlinkDepth: links nest deeper than maxSymlinkDepth.
var errSymlinkDepth = errors.New("symlink depth exceeded")

// walk finds comps in the view, following links on the way (and the last
// one with follow). Like layerscanning it bounds how deep links nest, each
// resolved from the root. It returns the node, its version and the floor
// for its children.
func (v view) walk(comps []string, follow bool, depth int) (*node, *version, int, error) {
	follows := maxSymlinkFollows
	return v.resolve(comps, follow, depth, &follows)
}

// resolve is walk with the lookup's budget of links followed.
func (v view) resolve(comps []string, follow bool, depth int, follows *int) (*node, *version, int, error) {
	_, n, ver, floor, err := v.resolvePath(comps, follow, false, depth, follows)
	return n, ver, floor, err
}

// resolvePath is resolve that also gives, with track, the components of
// the path it reached through no link (canonical, imagealias.go): one
// set of rules for both.
func (v view) resolvePath(comps []string, follow, track bool, depth int, follows *int) ([]string, *node, *version, int, error) {
	n, ver, floor := v.im.root, &rootVersion, v.bottom
	if len(comps) == 0 {
		return nil, n, ver, floor, nil
	}
	if depth > maxSymlinkDepth {
		return nil, nil, nil, 0, errSymlinkDepth
	}
	if v.top < 0 {
		return nil, nil, nil, 0, fs.ErrNotExist
	}
	var real []string
	for i, c := range comps {
		if ver.kind != kindDir {
			return nil, nil, nil, 0, fs.ErrNotExist
		}
		child := n.children[c]
		if child == nil {
			return nil, nil, nil, 0, fs.ErrNotExist
		}
		cv, cf := v.visible(child, floor)
		if cv == nil || cv.kind == kindWhiteout {
			return nil, nil, nil, 0, fs.ErrNotExist
		}
		if cv.kind == kindSymlink && (i < len(comps)-1 || follow) {
			if *follows--; *follows < 0 {
				return nil, nil, nil, 0, errSymlinkDepth
			}
			var err error
			if real, n, ver, floor, err = v.resolvePath(cv.target, true, track, depth+1, follows); err != nil {
				return nil, nil, nil, 0, err
			}
			continue
		}
		if track {
			real = append(real, c)
		}
		n, ver, floor = child, cv, cf
	}
	return real, n, ver, floor, nil
}

// components is an fs.FS name as components; "." is the root.
func components(name string) []string {
	name = path.Clean("/" + name)
	if name == "/" {
		return nil
	}
	return strings.Split(name[1:], "/")
}

// pathError wraps the cause with %w, not as a *fs.PathError: os.IsNotExist
// does not see through it, which is what osv-scalibr's os-release reader
// met with layerscanning (and so both engines read os-release alike).
func pathError(op, name string, err error) error {
	return fmt.Errorf("%s %s in the image: %w", op, name, err)
}

func (v view) Open(name string) (fs.File, error) {
	n, ver, floor, err := v.walk(components(name), true, 0)
	if err != nil {
		return nil, pathError("open", name, err)
	}
	f := &imageFile{fileInfo: fileInfo{name: n.name, v: ver}, view: v, node: n, floor: floor}
	if ver.kind == kindFile {
		if err := v.im.load(ver.content); err != nil {
			return nil, pathError("open", name, err)
		}
		v.im.mu.Lock()
		f.r = io.NewSectionReader(v.im.blob, ver.content.off, ver.size)
		v.im.mu.Unlock()
	}
	return f, nil
}

func (v view) Stat(name string) (fs.FileInfo, error) {
	n, ver, _, err := v.walk(components(name), true, 0)
	if err != nil {
		return nil, pathError("stat", name, err)
	}
	return fileInfo{name: n.name, v: ver}, nil
}

func (v view) ReadDir(name string) ([]fs.DirEntry, error) {
	n, ver, floor, err := v.walk(components(name), true, 0)
	if err != nil {
		return nil, pathError("readdir", name, err)
	}
	if ver.kind != kindDir {
		return nil, pathError("readdir", name, fs.ErrInvalid)
	}
	return v.entries(n, floor), nil
}

// entries lists a directory's children as the view sees them, by name.
func (v view) entries(n *node, floor int) []fs.DirEntry {
	out := []fs.DirEntry{}
	for name, c := range n.children {
		if cv, _ := v.visible(c, floor); cv != nil && cv.kind != kindWhiteout {
			out = append(out, fs.FileInfoToDirEntry(fileInfo{name: name, v: cv}))
		}
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}

// fileInfo is a version as an fs.FileInfo.
type fileInfo struct {
	name string
	v    *version
}

func (i fileInfo) Name() string       { return i.name }
func (i fileInfo) Size() int64        { return i.v.size }
func (i fileInfo) Mode() fs.FileMode  { return i.v.mode }
func (i fileInfo) ModTime() time.Time { return i.v.modTime }
func (i fileInfo) IsDir() bool        { return i.v.kind == kindDir }
func (i fileInfo) Sys() any           { return nil }

// imageFile is an open file or directory of a view. Files read from the
// kept contents and are io.ReaderAt and io.Seeker, as osv-scalibr's
// extractors require.
type imageFile struct {
	fileInfo
	view  view
	node  *node
	floor int
	r     *io.SectionReader
	dir   []fs.DirEntry
	read  bool
}

var errIsDir = errors.New("is a directory")

func (f *imageFile) Stat() (fs.FileInfo, error) { return f.fileInfo, nil }
func (f *imageFile) Close() error               { return nil }

func (f *imageFile) Read(b []byte) (int, error) {
	if f.r == nil {
		return 0, errIsDir
	}
	return f.r.Read(b)
}

func (f *imageFile) ReadAt(b []byte, off int64) (int, error) {
	if f.r == nil {
		return 0, errIsDir
	}
	return f.r.ReadAt(b, off)
}

func (f *imageFile) Seek(off int64, whence int) (int64, error) {
	if f.r == nil {
		return 0, errIsDir
	}
	return f.r.Seek(off, whence)
}

// ReadDir makes an open directory an fs.ReadDirFile.
func (f *imageFile) ReadDir(count int) ([]fs.DirEntry, error) {
	if f.r != nil {
		return nil, errors.New("not a directory")
	}
	if !f.read {
		f.dir, f.read = f.view.entries(f.node, f.floor), true
	}
	if count <= 0 {
		out := f.dir
		f.dir = nil
		return out, nil
	}
	if len(f.dir) == 0 {
		return nil, io.EOF
	}
	k := min(count, len(f.dir))
	out := f.dir[:k]
	f.dir = f.dir[k:]
	return out, nil
}
