// Command imagebuild writes the release image as an OCI layout, in Go,
// where no container engine is at hand: the same final image as the
// Dockerfile's last stage — the static binary, the CA certificates, the
// passwd and group files of release/rootfs, user 65532, the entrypoint,
// the environment and the OCI labels — for each platform, under one
// multi-platform index; and the Dockerfile's action target, the same image
// with USER 0:0, under a second index (ref name VERSION-action).
// release/build-image.sh cross-compiles the binaries and runs it;
// imagebuild_test.go holds it in step with the Dockerfile.
//
//	imagebuild -out DIR -version V -revision R -binary linux/amd64=FILE -binary linux/arm64=FILE
//	imagebuild -unpack ROOTFS -from DIR -ref NAME -platform linux/amd64   (the image's files, for .ci/run to run it chrooted)
//	imagebuild -push REF -from DIR -ref NAME   (the release workflow: the index to a registry, docker login's credentials; prints REF@DIGEST)
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/secgate/secgate/gate/image"
)

// The final stage, as the Dockerfile states it (imagebuild_test.go
// compares the two).
var (
	binaryPath = "/usr/local/bin/secgate"
	caPath     = "/etc/ssl/certs/ca-certificates.crt"
	rootfsDir  = "release/rootfs" // COPY release/rootfs/ /
	user       = "65532:65532"
	actionUser = "0:0" // the action target: USER 0:0 (see the Dockerfile)
	// ENV of the action target: secgate becomes the workspace's owner.
	actionEnv  = append(slices.Clone(env), "SECGATE_AS_WORKSPACE_OWNER=1")
	workdir    = "/src"
	entrypoint = []string{binaryPath}
	env        = []string{"PATH=/usr/local/bin", "HOME=/home/nonroot"}
	// Labels; version and revision come from the build.
	staticLabels = map[string]string{
		"org.opencontainers.image.title":       "secgate",
		"org.opencontainers.image.description": "The security gate of a CI pipeline: secrets, dependencies, images and deploy manifests, judged by a CVSS-tiered policy",
		"org.opencontainers.image.source":      "https://github.com/secgate/secgate",
		"org.opencontainers.image.licenses":    "Apache-2.0",
	}
	// Directories of the final image: a home for the user, and /tmp (a
	// read-only root filesystem may leave it unwritable; secgate copes).
	dirs = []struct {
		path string
		mode int64
		uid  int
	}{{"/home/nonroot", 0o755, 65532}, {"/tmp", 0o1777, 0}, {workdir, 0o755, 0}}

	// The debug variant (the Dockerfile's debug target): the release image
	// and a layer with Debian's static busybox in /busybox, for GitLab's
	// Docker executor, which runs a job's script with the image's shell.
	busyboxDir     = "/busybox"
	debugEnv       = []string{"PATH=/usr/local/bin:/busybox", "HOME=/home/nonroot"}
	busyboxApplets = []string{"sh", "ash", "cat", "chmod", "cp", "cut", "date", "echo", "env", "false", "grep", "gzip", "head", "id", "ls", "mkdir", "mv", "printf", "pwd", "rm", "sed", "sleep", "sort", "tail", "tar", "test", "touch", "tr", "true", "uname", "wc", "which", "xargs"}
)

func main() {
	var (
		out, version, revision, ca string
		binaries                   multiFlag
	)
	flag.StringVar(&out, "out", "", "the OCI layout directory to write")
	flag.StringVar(&version, "version", "dev", "the image's version (label and index annotation)")
	flag.StringVar(&revision, "revision", "unknown", "the source revision (label)")
	flag.StringVar(&ca, "ca-certificates", "/etc/ssl/certs/ca-certificates.crt", "the CA bundle to ship")
	flag.Var(&binaries, "binary", "PLATFORM=FILE, once per platform (linux/amd64=dist/secgate_linux_amd64)")
	var busyboxes multiFlag
	flag.Var(&busyboxes, "busybox", "PLATFORM=FILE, a static busybox per platform: also write the VERSION-debug index (release/busybox.sh fetches them)")
	var unpackDir, from, ref, platform string
	flag.StringVar(&unpackDir, "unpack", "", "write the files of one image of -from's -ref for -platform to this directory")
	flag.StringVar(&from, "from", "", "the OCI layout to unpack from")
	flag.StringVar(&ref, "ref", "", "the layout entry (ref name) to unpack")
	flag.StringVar(&platform, "platform", "linux/amd64", "the platform to unpack")
	var push string
	flag.StringVar(&push, "push", "", "push -from's -ref index to this registry reference")
	flag.Parse()
	if push != "" {
		pushed, err := pushIndex(push, from, ref)
		if err != nil {
			fmt.Fprintln(os.Stderr, "imagebuild:", err)
			os.Exit(1)
		}
		fmt.Println(pushed)
		return
	}
	if unpackDir != "" {
		if err := unpack(unpackDir, from, ref, platform); err != nil {
			fmt.Fprintln(os.Stderr, "imagebuild:", err)
			os.Exit(1)
		}
		return
	}
	if out == "" || len(binaries) == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := build(out, version, revision, ca, binaries, busyboxes...); err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		os.Exit(1)
	}
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

// build writes the layout: the release index (ref name version) and the
// action's (version-action), and prints each one's digest.
func build(out, version, revision, caFile string, binaries []string, busyboxes ...string) error {
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	p, err := layout.Write(out, empty.Index)
	if err != nil {
		return err
	}
	layers, err := platformLayers(caFile, binaries)
	if err != nil {
		return err
	}
	type variant struct {
		ref, user string
		env       []string
		extra     map[string]v1.Layer // by platform
	}
	variants := []variant{{version, user, env, nil}, {version + "-action", actionUser, actionEnv, nil}}
	if len(busyboxes) > 0 {
		extra, err := busyboxLayers(busyboxes, layers)
		if err != nil {
			return err
		}
		variants = append(variants, variant{version + "-debug", user, debugEnv, extra})
	}
	for _, v := range variants {
		idx, err := index(v.user, v.env, version, revision, layers, v.extra)
		if err != nil {
			return err
		}
		if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": v.ref})); err != nil {
			return err
		}
		d, err := idx.Digest()
		if err != nil {
			return err
		}
		fmt.Printf("%s %s\n", v.ref, d)
		if err := printSizes(idx); err != nil {
			return err
		}
	}
	return nil
}

// printSizes prints each platform's compressed size: what a pull fetches
// (manifest, config and layers).
func printSizes(idx v1.ImageIndex) error {
	m, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, desc := range m.Manifests {
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return err
		}
		layers, err := img.Layers()
		if err != nil {
			return err
		}
		total := desc.Size
		for _, l := range layers {
			n, err := l.Size()
			if err != nil {
				return err
			}
			total += n
		}
		raw, err := img.RawConfigFile()
		if err != nil {
			return err
		}
		total += int64(len(raw))
		fmt.Printf("  %s/%s: %.1f MB compressed\n", desc.Platform.OS, desc.Platform.Architecture, float64(total)/(1<<20))
	}
	return nil
}

// platformLayer is one platform's filesystem layer.
type platformLayer struct {
	os, arch string
	layer    v1.Layer
}

// platformLayers builds the layer of each -binary PLATFORM=FILE, once for
// both images.
func platformLayers(caFile string, binaries []string) ([]platformLayer, error) {
	created, err := sourceDate()
	if err != nil {
		return nil, err
	}
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("the CA bundle: %w", err)
	}
	var out []platformLayer
	for _, b := range binaries {
		platform, file, ok := strings.Cut(b, "=")
		osName, arch, ok2 := strings.Cut(platform, "/")
		if !ok || !ok2 {
			return nil, fmt.Errorf("-binary %q: want PLATFORM=FILE, e.g. linux/amd64=dist/secgate_linux_amd64", b)
		}
		bin, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		files, err := rootfs(bin, ca)
		if err != nil {
			return nil, err
		}
		layer, err := tarLayer(files, created)
		if err != nil {
			return nil, err
		}
		out = append(out, platformLayer{osName, arch, layer})
	}
	return out, nil
}

// sourceDate is the images' creation time: SOURCE_DATE_EPOCH, else the
// epoch (the same inputs give the same digests).
func sourceDate() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", s, err)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// index builds the multi-platform index of the image that runs as user.
func index(user string, env []string, version, revision string, layers []platformLayer, extra map[string]v1.Layer) (v1.ImageIndex, error) {
	created, err := sourceDate()
	if err != nil {
		return nil, err
	}
	labels := map[string]string{"org.opencontainers.image.version": version, "org.opencontainers.image.revision": revision}
	for k, v := range staticLabels {
		labels[k] = v
	}
	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, pl := range layers {
		osName, arch, layer := pl.os, pl.arch, pl.layer
		add := []v1.Layer{layer}
		if l, ok := extra[osName+"/"+arch]; ok {
			add = append(add, l)
		}
		img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), add...)
		if err != nil {
			return nil, err
		}
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture, cf.Created = osName, arch, v1.Time{Time: created}
		cf.Config.User, cf.Config.WorkingDir, cf.Config.Entrypoint, cf.Config.Env, cf.Config.Labels = user, workdir, entrypoint, env, labels
		cf.History = []v1.History{{Created: v1.Time{Time: created}, CreatedBy: "release/imagebuild: the Dockerfile's release stage", Comment: "secgate " + version}}
		if len(add) > 1 {
			cf.History = append(cf.History, v1.History{Created: v1.Time{Time: created}, CreatedBy: "release/imagebuild: the Dockerfile's debug stage (busybox)"})
		}
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			return nil, err
		}
		img = mutate.Annotations(img, map[string]string{"org.opencontainers.image.version": version, "org.opencontainers.image.revision": revision}).(v1.Image)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: osName, Architecture: arch}}})
	}
	return mutate.Annotations(idx, map[string]string{"org.opencontainers.image.version": version, "org.opencontainers.image.revision": revision, "org.opencontainers.image.source": staticLabels["org.opencontainers.image.source"]}).(v1.ImageIndex), nil
}

// file is one entry of the image's filesystem.
type fileEntry struct {
	path     string
	mode     int64
	uid, gid int
	dir      bool
	link     string // a symlink's target
	data     []byte
}

// busyboxLayers makes each platform's debug layer: busybox and its
// applets' links in /busybox. Every platform of the image needs one.
func busyboxLayers(busyboxes []string, layers []platformLayer) (map[string]v1.Layer, error) {
	created, err := sourceDate()
	if err != nil {
		return nil, err
	}
	out := map[string]v1.Layer{}
	for _, b := range busyboxes {
		platform, file, ok := strings.Cut(b, "=")
		if !ok {
			return nil, fmt.Errorf("-busybox %q: want PLATFORM=FILE", b)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		files := []fileEntry{{path: busyboxDir + "/busybox", mode: 0o755, data: data}}
		for _, a := range busyboxApplets {
			files = append(files, fileEntry{path: busyboxDir + "/" + a, mode: 0o777, link: "busybox"})
		}
		if out[platform], err = tarLayer(files, created); err != nil {
			return nil, err
		}
	}
	for _, l := range layers {
		if _, ok := out[l.os+"/"+l.arch]; !ok {
			return nil, fmt.Errorf("no -busybox for %s/%s", l.os, l.arch)
		}
	}
	return out, nil
}

// rootfs lists the final image's files: the Dockerfile's COPY lines.
func rootfs(bin, ca []byte) ([]fileEntry, error) {
	files := []fileEntry{
		{path: binaryPath, mode: 0o755, data: bin},
		{path: caPath, mode: 0o644, data: ca},
	}
	err := filepath.WalkDir(rootfsDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(rootfsDir, p)
		files = append(files, fileEntry{path: "/" + filepath.ToSlash(rel), mode: 0o644, data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s (run from the repository's root): %w", rootfsDir, err)
	}
	for _, d := range dirs {
		files = append(files, fileEntry{path: d.path, mode: d.mode, uid: d.uid, gid: d.uid, dir: true})
	}
	return files, nil
}

// tarLayer writes files, with their parent directories, as one layer with
// fixed times: the same inputs give the same digest.
func tarLayer(files []fileEntry, mtime time.Time) (v1.Layer, error) {
	all := map[string]fileEntry{}
	for _, f := range files {
		all[f.path] = f
		for d := filepath.Dir(f.path); d != "/"; d = filepath.Dir(d) {
			if _, ok := all[d]; !ok {
				all[d] = fileEntry{path: d, mode: 0o755, dir: true}
			}
		}
	}
	paths := make([]string, 0, len(all))
	for p := range all {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		f := all[p]
		h := &tar.Header{Name: strings.TrimPrefix(p, "/"), Mode: f.mode, Uid: f.uid, Gid: f.gid, ModTime: mtime, Format: tar.FormatPAX}
		switch {
		case f.dir:
			h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
		case f.link != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, f.link
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
}

// pushIndex pushes the layout's index ref to the registry reference to,
// with the docker config's credentials, and returns it by digest.
func pushIndex(to, from, ref string, opts ...remote.Option) (string, error) {
	idx, err := image.LayoutEntry(from, ref)
	if err != nil {
		return "", err
	}
	tag, err := name.ParseReference(to)
	if err != nil {
		return "", err
	}
	if err := remote.WriteIndex(tag, idx, append([]remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}, opts...)...); err != nil {
		return "", fmt.Errorf("pushing %s: %w", to, err)
	}
	d, err := idx.Digest()
	if err != nil {
		return "", err
	}
	return tag.Context().Digest(d.String()).String(), nil
}

// unpack writes the files of the image ref/platform of the layout at from
// to dir (owners and modes kept: run it as root), flattened.
func unpack(dir, from, ref, platform string) error {
	idx, err := image.LayoutEntry(from, ref)
	if err != nil {
		return err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, m := range im.Manifests {
		if m.Platform == nil || m.Platform.String() != platform {
			continue
		}
		img, err := idx.Image(m.Digest)
		if err != nil {
			return err
		}
		rc := mutate.Extract(img)
		defer rc.Close()
		return untar(dir, rc)
	}
	return fmt.Errorf("%s has no %s image", ref, platform)
}

func untar(dir string, r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, filepath.Clean(dir)+string(filepath.Separator)) {
			return fmt.Errorf("%s leaves the directory", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(h.Linkname, p); err != nil {
				return err
			}
			if err := os.Lchown(p, h.Uid, h.Gid); err != nil {
				return err
			}
			continue
		default:
			continue
		}
		if err := os.Lchown(p, h.Uid, h.Gid); err != nil {
			return err
		}
		if err := os.Chmod(p, fs.FileMode(h.Mode&0o777)|modeBits(h.Mode)); err != nil {
			return err
		}
	}
}

// modeBits turns a tar header's setuid/setgid/sticky bits into Go's.
func modeBits(m int64) fs.FileMode {
	var out fs.FileMode
	if m&0o4000 != 0 {
		out |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		out |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		out |= fs.ModeSticky
	}
	return out
}
