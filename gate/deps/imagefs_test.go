package deps

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/secgate/secgate/gate/image/imagetest"
)

// historyLayer is one entry of an image's history: a layer of entries, or
// an empty one (ENV, CMD, …) when entries is nil.
type historyLayer struct {
	command string
	entries []imagetest.Entry
}

// historyArchive builds a docker-archive of the layers, with the history
// saying which are empty and the command of each.
func historyArchive(t *testing.T, layers ...historyLayer) string {
	t.Helper()
	img := empty.Image
	var history []v1.History
	for _, l := range layers {
		history = append(history, v1.History{CreatedBy: l.command, EmptyLayer: l.entries == nil})
		if l.entries == nil {
			continue
		}
		var err error
		if img, err = mutate.AppendLayers(img, imagetest.Layer(t, l.entries...)); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.History = "linux", "amd64", history
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	return imagetest.Archive(t, "registry.example/rules:1.0", img)
}

func file(name, content string) imagetest.Entry {
	return imagetest.Entry{Name: name, Mode: 0o644, Type: tar.TypeReg, Content: content}
}
func dir(name string) imagetest.Entry {
	return imagetest.Entry{Name: name, Mode: 0o755, Type: tar.TypeDir}
}
func symlink(name, target string) imagetest.Entry {
	return imagetest.Entry{Name: name, Mode: 0o777, Type: tar.TypeSymlink, Linkname: target}
}
func hardlink(name, target string) imagetest.Entry {
	return imagetest.Entry{Name: name, Mode: 0o644, Type: tar.TypeLink, Linkname: target}
}

const bookworm = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n"

// dpkgStatus is a dpkg status file of the packages (name, source, version).
func dpkgStatus(pkgs ...[3]string) string {
	var b strings.Builder
	for _, p := range pkgs {
		fmt.Fprintf(&b, "Package: %s\nStatus: install ok installed\nArchitecture: amd64\nSource: %s\nVersion: %s\nDescription: %s\n\n", p[0], p[1], p[2], p[0])
	}
	return b.String()
}

var (
	zlibOld = [3]string{"zlib1g", "zlib", "1:1.2.13.dfsg-1"}
	zlibNew = [3]string{"zlib1g", "zlib", "1:1.2.13.dfsg-1+deb12u1"}
	libfoo  = [3]string{"libfoo1", "foo", "1.0-1"}
)

// ruleImage is an image made to exercise one rule of the image reader.
type ruleImage struct {
	name, archive string
}

// ruleImages are the images of the reader's rules that both engines read
// alike (TestEnginesAgree, TestImageMetadataAgree). host is a directory
// outside the image with a lockfile and an os-release in it.
func ruleImages(t *testing.T, host string) []ruleImage {
	t.Helper()
	base := []imagetest.Entry{
		dir("etc"), file("etc/os-release", bookworm),
		dir("var"), dir("var/lib"), dir("var/lib/dpkg"), file("var/lib/dpkg/status", dpkgStatus(zlibOld, libfoo)),
	}
	npm := func(pkgs map[string]string) imagetest.Entry {
		return file("app/node_modules/.package-lock.json", string(lockfile(pkgs)))
	}
	hostLock := filepath.Join(host, "node_modules", ".package-lock.json")
	return []ruleImage{
		{"a package removed in a later layer", historyArchive(t,
			historyLayer{"ADD rootfs.tar /", base},
			historyLayer{"COPY app /app", []imagetest.Entry{npm(map[string]string{"lodash": "4.17.15", "minimist": "1.2.5"})}},
			// apt-get remove libfoo1; rm of the hidden lockfile's directory
			historyLayer{"RUN apt-get remove libfoo1 && rm -r /app/node_modules", []imagetest.Entry{
				file("var/lib/dpkg/status", dpkgStatus(zlibOld)), file("app/.wh.node_modules", ""),
			}},
		)},
		{"a package upgraded in a later layer", historyArchive(t,
			historyLayer{"ADD rootfs.tar /", base},
			historyLayer{"COPY app /app", []imagetest.Entry{npm(map[string]string{"lodash": "4.17.15", "minimist": "1.2.5"})}},
			historyLayer{"RUN apt-get upgrade && npm update lodash", []imagetest.Entry{
				file("var/lib/dpkg/status", dpkgStatus(zlibNew, libfoo)), npm(map[string]string{"lodash": "4.17.21", "minimist": "1.2.5"}),
			}},
		)},
		{"os-release and the dpkg status through symlinks", historyArchive(t,
			// Debian's own layout: /etc/os-release -> ../usr/lib/os-release.
			historyLayer{"ADD rootfs.tar /", []imagetest.Entry{
				dir("usr"), dir("usr/lib"), file("usr/lib/os-release", bookworm), dir("etc"), symlink("etc/os-release", "../usr/lib/os-release"),
				dir("usr/share"), dir("usr/share/dpkgdb"), file("usr/share/dpkgdb/status", dpkgStatus(zlibOld)),
				dir("var"), dir("var/lib"), symlink("var/lib/dpkg", "/usr/share/dpkgdb"),
			}},
			// A later layer writes the status through the symlinked directory.
			historyLayer{"RUN apt-get install libfoo1", []imagetest.Entry{file("var/lib/dpkg/status", dpkgStatus(zlibOld, libfoo))}},
			historyLayer{"COPY app /app", []imagetest.Entry{npm(map[string]string{"lodash": "4.17.15"})}},
		)},
		{"an opaque whiteout of a directory written again", historyArchive(t,
			historyLayer{"ADD rootfs.tar /", base},
			historyLayer{"COPY app /app", []imagetest.Entry{npm(map[string]string{"lodash": "4.17.15"})}},
			historyLayer{"RUN rm -r /app/node_modules && npm ci", []imagetest.Entry{
				dir("app/node_modules"), file("app/node_modules/.wh..wh..opq", ""), npm(map[string]string{"minimist": "1.2.5"}),
			}},
		)},
		{"a base image and own layers", historyArchive(t,
			historyLayer{"/bin/sh -c #(nop) ADD file:1234 in / ", base},
			historyLayer{"/bin/sh -c #(nop)  CMD [\"bash\"]", nil},
			historyLayer{"ENV NODE_ENV=production", nil},
			historyLayer{"WORKDIR /app", []imagetest.Entry{dir("app")}},
			historyLayer{"COPY package-lock.json /app/", []imagetest.Entry{npm(map[string]string{"lodash": "4.17.15"})}},
			historyLayer{"RUN apt-get upgrade", []imagetest.Entry{file("var/lib/dpkg/status", dpkgStatus(zlibNew, libfoo))}},
			historyLayer{"CMD [\"node\", \"server.js\"]", nil},
		)},
		{"links that point outside the image", historyArchive(t,
			historyLayer{"ADD rootfs.tar /", []imagetest.Entry{
				dir("etc"), symlink("etc/os-release", filepath.Join(host, "os-release")),
				dir("var"), dir("var/lib"), dir("var/lib/dpkg"), file("var/lib/dpkg/status", dpkgStatus(zlibOld)),
			}},
			historyLayer{"COPY app /app", []imagetest.Entry{
				// absolute: resolved in the image, where it is nothing
				dir("app"), symlink("app/node_modules", filepath.Join(host, "node_modules")),
				// relative, climbing out: left out of the image
				dir("srv"), dir("srv/node_modules"), symlink("srv/node_modules/.package-lock.json", strings.Repeat("../", 12)+strings.TrimPrefix(hostLock, "/")),
				dir("opt"), symlink("opt/up", "/../../.."+filepath.Dir(host)),
			}},
			// written through the absolute symlink: a directory of the image
			historyLayer{"RUN npm ci", []imagetest.Entry{npm(map[string]string{"qs": "6.5.2"})}},
		)},
	}
}

// hostFiles writes what ruleImages' links point at on the host: a scan
// that reads them finds lodash 4.17.15 and names an Alpine image.
func hostFiles(t *testing.T) string {
	host := t.TempDir()
	if err := writeFile(filepath.Join(host, "node_modules", ".package-lock.json"), lockfile(map[string]string{"lodash": "4.17.15"})); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(filepath.Join(host, "os-release"), []byte("PRETTY_NAME=\"Host OS\"\nID=alpine\nVERSION_ID=3.16.2\n")); err != nil {
		t.Fatal(err)
	}
	return host
}

// engineImage is what an engine says of an image, in a comparable form:
// the OS, every layer, and each package with the layer it came in with.
func engineImage(t *testing.T, e engine, actions scanActions) string {
	t.Helper()
	res, err := e.scanImage(context.Background(), actions)
	var b strings.Builder
	switch {
	case err == nil, errors.Is(err, errNoPackagesFound):
		fmt.Fprintf(&b, "error: %v\n", err)
	default:
		b.WriteString("error: the image does not read (in each engine's words)\n")
	}
	if m := res.ImageMetadata; m != nil {
		fmt.Fprintf(&b, "os: %q\n", m.OS)
		for i, l := range m.LayerMetadata {
			fmt.Fprintf(&b, "layer %d: %s %q empty=%v base=%d\n", i, l.DiffID, l.Command, l.IsEmpty, l.BaseImageIndex)
		}
	}
	var pkgs []string
	for _, src := range res.Results {
		for _, p := range src.Packages {
			origin := "none"
			if p.Package.ImageOrigin != nil {
				origin = fmt.Sprint(p.Package.ImageOrigin.Index)
			}
			pkgs = append(pkgs, fmt.Sprintf("%s %s %s %s@%s %d vulns, layer %s", src.Source.Path, src.Source.Type, p.Package.Ecosystem, p.Package.Name, p.Package.Version, len(p.Vulnerabilities), origin))
		}
	}
	slices.Sort(pkgs)
	b.WriteString(strings.Join(pkgs, "\n"))
	return b.String()
}

// TestImageMetadataAgree compares what the two engines say of each image
// below the scan result: the OS name, every layer (diff id, command,
// empty, base image index: 0 for both, as only osv-scalibr's deps.dev
// enricher sets it and neither runs it), and each package's layer.
func TestImageMetadataAgree(t *testing.T) {
	host := hostFiles(t)
	images := append(ruleImages(t, host),
		ruleImage{"two layers", dockerArchive(t,
			map[string]string{"etc/os-release": bookworm, "var/lib/dpkg/status": debianStatus},
			map[string]string{"app/node_modules/.package-lock.json": string(lockfile(map[string]string{"minimist": "1.2.5"}))})},
	)
	for _, img := range images {
		t.Run(img.name, func(t *testing.T) {
			actions, _, err := newActions(New(Options{OfflineDB: sharedDB}).opts)
			if err != nil {
				t.Fatal(err)
			}
			actions.Image = img.archive
			want := engineImage(t, referenceEngine(t), actions)
			got := engineImage(t, scalibrEngine{}, actions)
			if got != want {
				t.Errorf("the engines disagree:\n%s", lineDiff(want, got))
			}
			if strings.Contains(got, "Host OS") || strings.Contains(got, "lodash@4.17.15") && strings.Contains(img.name, "outside") {
				t.Errorf("a file of the host was read:\n%s", got)
			}
			t.Log(got)
		})
	}
}

// The reference engine's reader, osv-scalibr's layerscanning, does not
// apply opaque whiteouts (its source: "TODO(b/379094217): Handle Opaque
// Whiteouts"): a directory a layer made opaque still shows the files the
// layers below had in it. The image's filesystem does not: a package whose
// files an opaque whiteout removed is not in it, and the reader leaves it
// out where layerscanning reported it.
func TestEnginesDifferOnOpaqueWhiteouts(t *testing.T) {
	archive := historyArchive(t,
		historyLayer{"COPY tools /opt/tools", []imagetest.Entry{
			file("opt/tools/node_modules/.package-lock.json", string(lockfile(map[string]string{"lodash": "4.17.15"}))),
		}},
		historyLayer{"COPY app /app", []imagetest.Entry{
			file("app/node_modules/.package-lock.json", string(lockfile(map[string]string{"minimist": "1.2.5"}))),
		}},
		// rm -r /opt/tools && mkdir /opt/tools, as overlayfs records it
		historyLayer{"RUN rm -r /opt/tools && mkdir /opt/tools", []imagetest.Entry{
			dir("opt/tools"), file("opt/tools/.wh..wh..opq", ""),
		}},
	)
	ref, cur := scanWithBoth(t, Options{Root: t.TempDir(), OfflineDB: sharedDB, Images: []string{"docker-archive:" + archive}})
	if !found(ref, "/opt/tools/node_modules/.package-lock.json", "lodash", "GHSA-p6mc-m468-83gw") {
		t.Errorf("the reference engine no longer reports the removed lodash (the difference is gone: fold this case into TestEnginesAgree): %v", ids(ref))
	}
	if found(cur, "/opt/tools/node_modules/.package-lock.json", "lodash", "GHSA-p6mc-m468-83gw") {
		t.Errorf("a package an opaque whiteout removed is reported: %v", ids(cur))
	}
	if !found(cur, "/app/node_modules/.package-lock.json", "minimist", "GHSA-xvch-5gv4-984h") {
		t.Errorf("the package beside it is lost: %v", ids(cur))
	}
}

// layerscanning read a hard link as a symlink to its name taken relative
// to the link's directory (usr/bin/usr/bin/x), which does not exist: a
// file whose every name but one is a hard link was scanned under that one
// name only. A hard link is the same file: the reader reads it under each
// of its names.
func TestEnginesDifferOnHardlinks(t *testing.T) {
	lock := string(lockfile(map[string]string{"lodash": "4.17.15"}))
	archive := historyArchive(t,
		historyLayer{"COPY app /app", []imagetest.Entry{
			file("app/node_modules/.package-lock.json", lock),
			dir("srv"), dir("srv/node_modules"), hardlink("srv/node_modules/.package-lock.json", "app/node_modules/.package-lock.json"),
		}},
	)
	ref, cur := scanWithBoth(t, Options{Root: t.TempDir(), OfflineDB: sharedDB, Images: []string{"docker-archive:" + archive}})
	for _, p := range []string{"/app/node_modules/.package-lock.json", "/srv/node_modules/.package-lock.json"} {
		if !found(cur, p, "lodash", "GHSA-p6mc-m468-83gw") {
			t.Errorf("lodash not found at %s: %v", p, ids(cur))
		}
	}
	if found(ref, "/srv/node_modules/.package-lock.json", "lodash", "GHSA-p6mc-m468-83gw") {
		t.Errorf("the reference engine reads hard links now (the difference is gone): %v", ids(ref))
	}
}

// layer is a v1.Layer of the entries, for the reader's own tests.
func readerOf(t *testing.T, keep keepFunc, layers ...[]imagetest.Entry) *imageFS {
	t.Helper()
	var ls []v1.Layer
	for _, es := range layers {
		ls = append(ls, imagetest.Layer(t, es...))
	}
	im, err := newImageFS(context.Background(), ls, nil, t.TempDir(), keep, defaultImageLimits)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(im.close)
	return im
}

func keepAll(string, fs.FileInfo) bool  { return true }
func keepNone(string, fs.FileInfo) bool { return false }

func readAll(v view, name string) (string, error) {
	f, err := v.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	return string(b), err
}

// The reader's rules, one by one, on the filesystem after the last layer
// and after each layer.
func TestImageFSRules(t *testing.T) {
	for _, keep := range []struct {
		name string
		f    keepFunc
	}{{"contents kept", keepAll}, {"contents read again", keepNone}} {
		t.Run(keep.name, func(t *testing.T) {
			im := readerOf(t, keep.f,
				[]imagetest.Entry{
					file("a/one", "1"), file("a/two", "2"), file("b/c/deep", "deep"),
					symlink("rel", "a/one"), symlink("abs", "/a/two"), symlink("dirlink", "/b"),
					symlink("loop1", "loop2"), symlink("loop2", "loop1"),
					symlink("escape", "../../../../etc/passwd"), symlink("escape-abs", "/../etc/passwd"),
					file("opq/old", "old"), file("gone/x", "x"), file("f", "file"), file("shadowed/x", "x"),
				},
				[]imagetest.Entry{
					file("a/.wh.one", ""), file(".wh.gone", ""),
					dir("opq"), file("opq/.wh..wh..opq", ""), file("opq/new", "new"),
					file("a/two", "two v2"), hardlink("hard", "a/two"),
					file("f/under-a-file", "now a directory"), file("shadowed", "now a file"),
				},
			)
			last := im.chainView(len(im.chains) - 1)
			for name, want := range map[string]string{
				"a/two": "two v2", "abs": "two v2", "hard": "two v2", "dirlink/c/deep": "deep", "opq/new": "new", "b/c/deep": "deep",
				"f/under-a-file": "now a directory", "shadowed": "now a file",
			} {
				if got, err := readAll(last, name); err != nil || got != want {
					t.Errorf("%s: %q, %v; want %q", name, got, err, want)
				}
			}
			for _, name := range []string{"a/one", "rel", "gone/x", "gone", "opq/old", "escape", "escape-abs", "shadowed/x", "a/two/x", "nothing"} {
				if _, err := last.Open(name); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s: err %v, want not found", name, err)
				}
			}
			if _, err := last.Open("loop1"); !errors.Is(err, errSymlinkDepth) {
				t.Errorf("loop1: err %v, want the depth bound", err)
			}
			// After the first layer, all of it is there.
			first := im.chainView(0)
			for name, want := range map[string]string{"rel": "1", "a/two": "2", "gone/x": "x", "opq/old": "old", "f": "file", "shadowed/x": "x"} {
				if got, err := readAll(first, name); err != nil || got != want {
					t.Errorf("layer 0: %s: %q, %v; want %q", name, got, err, want)
				}
			}
			var names []string
			if err := fs.WalkDir(last, ".", func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				names = append(names, p)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			want := []string{".", "a", "a/two", "abs", "b", "b/c", "b/c/deep", "dirlink", "f", "f/under-a-file", "hard", "loop1", "loop2", "opq", "opq/new", "rel", "shadowed"}
			if !slices.Equal(names, want) {
				t.Errorf("walk: %v\nwant  %v", names, want)
			}
			// One layer alone: the second has its own files only.
			own := im.layerView(1)
			if _, err := own.Stat("b/c/deep"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("layer 1 alone has b/c/deep: %v", err)
			}
			if got, err := readAll(own, "a/two"); err != nil || got != "two v2" {
				t.Errorf("layer 1 alone: a/two %q %v", got, err)
			}
		})
	}
}

// A symlink to a host path that exists resolves in the image, where it
// does not: the host's file is never read.
func TestImageFSNeverReadsTheHost(t *testing.T) {
	host := hostFiles(t)
	im := readerOf(t, keepAll, []imagetest.Entry{
		symlink("etc-os-release", filepath.Join(host, "os-release")),
		symlink("hostdir", host),
		symlink("up", strings.Repeat("../", 20)+strings.TrimPrefix(host, "/")),
	})
	v := im.chainView(0)
	for _, name := range []string{"etc-os-release", "hostdir/os-release", "up/os-release", filepath.Join(host, "os-release")} {
		if b, err := readAll(v, name); err == nil {
			t.Errorf("%s read: %q", name, b)
		}
	}
	if _, err := os.Stat(filepath.Join(host, "os-release")); err != nil {
		t.Fatal(err) // the file is there to be read, had the reader gone to the host
	}
}

// The reader's bounds, made small: a file at the size bound is left out
// (as layerscanning left it out), an image with more entries than the
// bound or more kept content than the bound is refused, naming the bound.
func TestImageFSBounds(t *testing.T) {
	layer := []v1.Layer{imagetest.Layer(t, file("small", "1234"), file("big", "12345678"), file("d/e/f", "x"))}
	im, err := newImageFS(context.Background(), layer, nil, t.TempDir(), keepAll, imageLimits{fileBytes: 8, entries: 100, keptBytes: 100, readBytes: 1 << 20, pathBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer im.close()
	v := im.chainView(0)
	if got, err := readAll(v, "small"); err != nil || got != "1234" {
		t.Errorf("small: %q %v", got, err)
	}
	if _, err := v.Stat("big"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a file at the size bound is there: %v", err)
	}
	// small, big's place not taken, d, d/e, d/e/f: 4 entries.
	if _, err := newImageFS(context.Background(), layer, nil, t.TempDir(), keepAll, imageLimits{fileBytes: 8, entries: 3, keptBytes: 100, readBytes: 1 << 20, pathBytes: 1 << 20}); err == nil || !strings.Contains(err.Error(), "more than 3 files, directories and links") {
		t.Errorf("entries over the bound: err = %v", err)
	}
	if _, err := newImageFS(context.Background(), layer, nil, t.TempDir(), keepAll, imageLimits{fileBytes: 8, entries: 100, keptBytes: 4, readBytes: 1 << 20, pathBytes: 1 << 20}); err == nil || !strings.Contains(err.Error(), "more than 4 bytes together") {
		t.Errorf("kept content over the bound: err = %v", err)
	}
	if _, err := newImageFS(context.Background(), layer, nil, t.TempDir(), keepAll, imageLimits{fileBytes: 8, entries: 100, keptBytes: 5, readBytes: 1 << 20, pathBytes: 1 << 20}); err != nil {
		t.Errorf("within every bound: %v", err)
	}
}
