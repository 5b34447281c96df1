package image

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/secgate/secgate/policy"
)

// target is one image to check: a single-platform image of a reference.
type target struct {
	ref         string // as the user wrote it
	indexDigest string // of the multi-platform index it came from, if any
	// identity names the image in tracking keys: its repository, or with
	// none (an OCI layout, an untagged archive) its digest; never a tag,
	// never the path of a file it was read from.
	identity string
	digest   string // what later steps (signing) use, never the tag
	platform string // "linux/amd64", or "" for a single-platform image
	img      v1.Image
	// layerSizes are the sizes of the layers as stored, and sizeMeasure
	// says what they are ("compressed", or "stored uncompressed" for a
	// docker-archive whose layers were saved as plain tar).
	layerSizes  []int64
	sizeMeasure string
	annotations map[string]string
}

// resolve turns a reference into the images to check: every platform of a
// multi-platform index, or those named in platforms.
func (s *Scanner) resolve(ctx context.Context, ref string) ([]target, string, error) {
	ts, repo, err := s.resolveTargets(ctx, ref)
	return withIdentity(ts, repo), repo, err
}

// resolveTargets resolves ref, and names the repository the images belong
// to ("" when the source has none).
func (s *Scanner) resolveTargets(ctx context.Context, ref string) ([]target, string, error) {
	switch {
	case strings.HasPrefix(ref, "docker-archive:"):
		return dockerArchive(strings.TrimPrefix(ref, "docker-archive:"), ref)
	case strings.HasPrefix(ref, "oci-layout:"):
		dir, name := layoutRef(strings.TrimPrefix(ref, "oci-layout:"))
		var idx v1.ImageIndex
		var err error
		if name != "" {
			idx, err = LayoutEntry(dir, name)
		} else {
			idx, err = layout.ImageIndexFromPath(dir)
		}
		if err != nil {
			return nil, "", err
		}
		ts, err := s.fromIndex(ref, idx)
		return ts, "", err
	case strings.HasPrefix(ref, "docker-daemon:"):
		image := strings.TrimPrefix(ref, "docker-daemon:")
		targets, cleanup, err := s.fromDaemon(ctx, image, ref)
		if cleanup != nil {
			s.cleanups = append(s.cleanups, cleanup)
		}
		return targets, Repository(image), err
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, "", fmt.Errorf("invalid image reference: %w", err)
	}
	ts, err := s.fromRegistry(ctx, ref, r)
	return ts, r.Context().Name(), err
}

// fromRegistry reads an image or an index from a registry.
func (s *Scanner) fromRegistry(ctx context.Context, ref string, r name.Reference) ([]target, error) {
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(s.keychain())}
	if s.opts.Transport != nil {
		opts = append(opts, remote.WithTransport(s.opts.Transport))
	}
	desc, err := remote.Get(r, opts...)
	if err != nil {
		return nil, err
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, err
		}
		ts, err := s.fromIndex(ref, idx)
		for i := range ts {
			ts[i].indexDigest = desc.Digest.String()
		}
		return ts, err
	}
	img, err := desc.Image()
	if err != nil {
		return nil, err
	}
	return imageTarget(ref, r.Context().Digest(desc.Digest.String()).String(), "", img, nil)
}

// checked describes the images of one reference as data.
func checked(ref, repo string, ts []target) (policy.CheckedImage, error) {
	c := policy.CheckedImage{Reference: ref, Repository: repo, Images: []policy.PlatformImage{}}
	for _, t := range ts {
		d, err := t.img.Digest()
		if err != nil {
			return c, fmt.Errorf("digest of %s: %w", t.name(), err)
		}
		id, err := t.img.ConfigName()
		if err != nil {
			return c, fmt.Errorf("config digest of %s: %w", t.name(), err)
		}
		c.IndexDigest = t.indexDigest
		c.Images = append(c.Images, policy.PlatformImage{Platform: t.platform, Digest: d.String(), ImageID: id.String()})
	}
	return c, nil
}

// withIdentity sets the tracking identity of targets: the repository when
// there is one, else each image's own digest.
func withIdentity(ts []target, repo string) []target {
	for i := range ts {
		ts[i].identity = repo
		if repo == "" {
			ts[i].identity = ts[i].digest
		}
	}
	return ts
}

// Repository is the repository of a registry reference as
// go-containerregistry names it (nginx:1.27 is index.docker.io/library/nginx),
// "" if ref is not one. A digest that does not parse is left out first
// (manifests and findings carry references as people wrote them).
func Repository(ref string) string {
	r, err := name.ParseReference(ref)
	if err != nil {
		base, _, cut := strings.Cut(ref, "@")
		if !cut {
			return ""
		}
		if r, err = name.ParseReference(base); err != nil {
			return ""
		}
	}
	return r.Context().Name()
}

// fromIndex lists the images of an index, recursing into nested indexes.
func (s *Scanner) fromIndex(ref string, idx v1.ImageIndex) ([]target, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading the index manifest: %w", err)
	}
	var out []target
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			more, err := s.fromIndex(ref, child)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		case d.MediaType.IsImage():
			plat := ""
			if d.Platform != nil {
				if d.Platform.OS == "unknown" { // attestation manifests
					continue
				}
				plat = d.Platform.String()
			}
			if len(s.opts.Platforms) > 0 && !slices.Contains(s.opts.Platforms, plat) {
				continue
			}
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, err
			}
			t, err := imageTarget(ref, digestRef(ref, d.Digest), plat, img, d.Annotations)
			if err != nil {
				return nil, err
			}
			out = append(out, t...)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no image for platform %v in the index", s.opts.Platforms)
	}
	return out, nil
}

func digestRef(ref string, h v1.Hash) string {
	if r, err := name.ParseReference(ref); err == nil {
		return r.Context().Digest(h.String()).String()
	}
	return h.String()
}

// imageTarget reads the manifest's layer sizes: compressed, as pushed.
func imageTarget(ref, digest, plat string, img v1.Image, annotations map[string]string) ([]target, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading the manifest: %w", err)
	}
	t := target{ref: ref, digest: digest, platform: plat, img: img, sizeMeasure: "compressed", annotations: annotations}
	for _, l := range m.Layers {
		t.layerSizes = append(t.layerSizes, l.Size)
	}
	if len(m.Annotations) > 0 {
		t.annotations = m.Annotations
	}
	return []target{t}, nil
}

// dockerArchive opens a `docker save` tarball. Its layers may be stored
// uncompressed; their sizes are read from the tar headers, because asking
// go-containerregistry for the compressed size would recompress them.
func dockerArchive(file, ref string) ([]target, string, error) {
	img, err := tarball.ImageFromPath(file, nil)
	if err != nil {
		return nil, "", err
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	sizes := map[string]int64{}
	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "", fmt.Errorf("reading %s: %w", file, err)
		}
		if _, twice := sizes[path.Clean(h.Name)]; twice {
			// go-containerregistry reads the first of two entries of a
			// name, docker load the last: the image checked would not
			// be the image run (red team, session 8)
			return nil, "", fmt.Errorf("%s: the archive holds %s twice (docker load reads the last, this reader the first): refused", file, path.Clean(h.Name))
		}
		sizes[path.Clean(h.Name)] = h.Size
		if path.Clean(h.Name) == "manifest.json" {
			if err := json.NewDecoder(io.LimitReader(tr, 16<<20)).Decode(&manifest); err != nil {
				return nil, "", fmt.Errorf("%s: manifest.json: %w", file, err)
			}
		}
	}
	if len(manifest) == 0 {
		return nil, "", fmt.Errorf("%s: no image in manifest.json", file)
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return nil, "", err
	}
	t := target{ref: ref, digest: "image id " + cfgName.String(), img: img, sizeMeasure: "stored compressed in the docker-archive"}
	compressed := true
	for _, l := range manifest[0].Layers {
		t.layerSizes = append(t.layerSizes, sizes[path.Clean(l)])
		if strings.HasSuffix(l, ".tar") || strings.HasSuffix(l, "layer.tar") {
			compressed = false
		}
	}
	if !compressed {
		t.sizeMeasure = "stored uncompressed (docker save), above the compressed size a registry would report"
	}
	repo := ""
	for _, tag := range manifest[0].RepoTags {
		if r, err := name.ParseReference(tag); err == nil {
			repo = r.Context().Name()
			break
		}
	}
	return []target{t}, repo, nil
}

func (s *Scanner) keychain() authn.Keychain { return Keychain(s.opts.Credentials) }

// Keychain logs in to registries as the image checks do: the docker
// config, plus the credentials the caller resolved (the CI platform's
// own). Signing pushes with it.
func Keychain(creds []Credential) authn.Keychain {
	chains := []authn.Keychain{authn.DefaultKeychain}
	for _, c := range creds {
		if c.Host != "" && c.Password != "" {
			chains = append(chains, staticKeychain{host: c.Host, auth: &authn.Basic{Username: c.Username, Password: c.Password}})
		}
	}
	return authn.NewMultiKeychain(chains...)
}

type staticKeychain struct {
	host string
	auth authn.Authenticator
}

func (k staticKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() == k.host {
		return k.auth, nil
	}
	return authn.Anonymous, nil
}

// layoutRef splits oci-layout:DIR[:NAME] (skopeo's oci:DIR:REF): NAME
// picks the layout's entry whose org.opencontainers.image.ref.name it is;
// without it every entry is checked.
func layoutRef(p string) (dir, name string) {
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		return p, ""
	}
	if i := strings.LastIndex(p, ":"); i > 0 {
		if fi, err := os.Stat(p[:i]); err == nil && fi.IsDir() {
			return p[:i], p[i+1:]
		}
	}
	return p, ""
}

// layoutImage is the entry of a layout's index named name, as an index.
func layoutImage(idx v1.ImageIndex, name string) (v1.ImageIndex, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading the layout's index: %w", err)
	}
	var names []string
	for _, d := range im.Manifests {
		n := d.Annotations["org.opencontainers.image.ref.name"]
		if n != name {
			if n != "" {
				names = append(names, n)
			}
			continue
		}
		if d.MediaType.IsIndex() {
			return idx.ImageIndex(d.Digest)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, err
		}
		return mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img, Descriptor: d}), nil
	}
	return nil, fmt.Errorf("the layout has no entry named %q (it has: %s)", name, strings.Join(names, ", "))
}

// LayoutEntry is the entry of the OCI layout at dir named name (its
// org.opencontainers.image.ref.name), as an index: what
// oci-layout:DIR:NAME checks.
func LayoutEntry(dir, name string) (v1.ImageIndex, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	return layoutImage(idx, name)
}
