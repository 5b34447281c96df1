package image

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/secgate/secgate/internal/scratch"
)

// Export writes one image of ref — a registry reference, an oci-layout:
// or a docker-daemon: image — as a docker-archive in a temporary
// directory, for the package scan (osv-scanner reads images from
// archives). Of a multi-platform index it writes the first of the
// platforms asked for (else linux/amd64, else the first). Its size is
// bounded as the image checks' reading is; cleanup removes it, on every
// path. A docker-archive: reference is returned as is.
func Export(ctx context.Context, ref string, o Options) (archive string, cleanup func(), err error) {
	if a, ok := cutArchive(ref); ok {
		return a, func() {}, nil
	}
	s := New(o)
	done := func() {
		for _, c := range s.cleanups {
			c()
		}
	}
	targets, repo, err := s.resolve(ctx, ref)
	if err != nil {
		done()
		return "", nil, fmt.Errorf("image %s: %w", ref, err)
	}
	t, err := exported(ref, targets, o)
	if err != nil {
		done()
		return "", nil, err
	}
	var total int64
	for _, n := range t.layerSizes {
		total += n
	}
	if total > s.opts.MaxExtract {
		done()
		return "", nil, fmt.Errorf("image %s: %s of layers, over the %s bound", ref, mb(total), mb(s.opts.MaxExtract))
	}
	dir, rm, err := scratch.Dir("exporting image "+ref+" for the package scan", "secgate-image-", o.ScratchDir)
	if err != nil {
		done()
		return "", nil, err
	}
	cleanup = func() { rm(); done() }
	// The tag carries the repository (the package findings' identity); an
	// OCI layout has none: the archive then names the image by digest.
	tagName := "secgate.invalid/unnamed:scan"
	if repo != "" {
		tagName = repo + ":scan"
	}
	tag, err := name.NewTag(tagName, name.WeakValidation)
	if err != nil {
		cleanup()
		return "", nil, err
	}
	archive = filepath.Join(dir, "image.tar")
	if err := tarball.WriteToFile(archive, tag, t.img); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("image %s: writing it for the package scan: %w", ref, err)
	}
	return archive, cleanup, nil
}

// exported is the image of a reference's targets that Export writes.
func exported(ref string, targets []target, o Options) (target, error) {
	if len(targets) == 0 {
		return target{}, fmt.Errorf("image %s: no image for the platforms asked for", ref)
	}
	t := targets[0]
	if i := slices.IndexFunc(targets, func(t target) bool { return t.platform == "linux/amd64" }); i >= 0 && len(o.Platforms) == 0 {
		t = targets[i]
	}
	return t, nil
}

// Digest is the content digest of the image Export writes for ref,
// without writing it (a registry's manifests, a layout's index): the
// package scan's cache names an image by it (an OCI layout's layers
// verified against their names first: verifyLayout).
func Digest(ctx context.Context, ref string, o Options) (string, error) {
	s := New(o)
	defer func() {
		for _, c := range s.cleanups {
			c()
		}
	}()
	targets, _, err := s.resolve(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("image %s: %w", ref, err)
	}
	t, err := exported(ref, targets, o)
	if err != nil {
		return "", err
	}
	if err := verifyLayout(t); err != nil {
		return "", fmt.Errorf("image %s: %w", ref, err)
	}
	h, err := t.img.Digest()
	if err != nil {
		return "", fmt.Errorf("image %s: %w", ref, err)
	}
	return t.platform + " " + h.String(), nil
}

func cutArchive(ref string) (string, bool) {
	const p = "docker-archive:"
	if len(ref) > len(p) && ref[:len(p)] == p {
		return ref[len(p):], true
	}
	return "", false
}
