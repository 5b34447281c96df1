package deps

import (
	"archive/tar"
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/secgate/secgate/gate/image/imagetest"
)

// benchImage is a docker-archive like a small application image: a Debian
// base (200 packages, 2,000 documentation files, 100 executables), the
// application's node_modules (a hidden lockfile of 50 packages and 500
// sources), and an upgrade that rewrites the dpkg status and 200 files;
// 14 MB of files, of which the extractors read the status, the lockfile
// and the executables.
func benchImage(b *testing.B) string {
	b.Helper()
	var status strings.Builder
	for i := range 200 {
		fmt.Fprintf(&status, "Package: pkg%d\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.%d-1\nDescription: p\n\n", i, i)
	}
	doc := strings.Repeat("license text ", 160)    // ~2 KB
	exe := strings.Repeat("\x7fELF not Go ", 1700) // ~20 KB
	src := strings.Repeat("module.exports = 1;\n", 500)
	base := []imagetest.Entry{
		{Name: "etc/os-release", Mode: 0o644, Type: tar.TypeReg, Content: "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n"},
		{Name: "var/lib/dpkg/status", Mode: 0o644, Type: tar.TypeReg, Content: status.String()},
	}
	for i := range 2000 {
		base = append(base, imagetest.Entry{Name: fmt.Sprintf("usr/share/doc/pkg%d/copyright", i), Mode: 0o644, Type: tar.TypeReg, Content: doc})
	}
	for i := range 100 {
		base = append(base, imagetest.Entry{Name: fmt.Sprintf("usr/bin/tool%d", i), Mode: 0o755, Type: tar.TypeReg, Content: exe})
	}
	deps := map[string]string{}
	for i := range 50 {
		deps[fmt.Sprintf("dep%d", i)] = "1.0.0"
	}
	deps["lodash"] = "4.17.15"
	app := []imagetest.Entry{{Name: "app/node_modules/.package-lock.json", Mode: 0o644, Type: tar.TypeReg, Content: string(lockfile(deps))}}
	for i := range 500 {
		app = append(app, imagetest.Entry{Name: fmt.Sprintf("app/node_modules/dep%d/index%d.js", i%50, i), Mode: 0o644, Type: tar.TypeReg, Content: src})
	}
	upgrade := []imagetest.Entry{{Name: "var/lib/dpkg/status", Mode: 0o644, Type: tar.TypeReg, Content: strings.Replace(status.String(), "Version: 1.7-1", "Version: 1.7-2", 1)}}
	for i := range 200 {
		upgrade = append(upgrade, imagetest.Entry{Name: fmt.Sprintf("usr/share/doc/pkg%d/copyright", i), Mode: 0o644, Type: tar.TypeReg, Content: doc + "v2"})
	}
	img := imagetest.Build(b, imagetest.Spec{})
	return imagetest.Archive(b, "registry.example/bench:1.0", appendLayers(b, img, base, app, upgrade))
}

// BenchmarkImageScan reads an image's packages and the layer of each
// with the engine (offline, the shared database: no Debian or Alpine data,
// so the reading is measured, not matching): benchImage, and the largest
// of osv-scalibr's test images (Alpine 3 with packages added, 38 MB).
func BenchmarkImageScan(b *testing.B) {
	var alpine string
	for _, f := range scalibrImages(b) {
		if filepath.Base(f) == "alpine-with-packages.tar" {
			alpine = f
		}
	}
	scalibrEngine{}.setLogger(slog.DiscardHandler)
	b.Cleanup(func() { scalibrEngine{}.setLogger(slog.Default().Handler()) })
	for _, c := range []struct {
		name     string
		archive  string
		packages int
	}{{"app", benchImage(b), 251}, {"alpine-with-packages", alpine, 31}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				actions, _, err := newActions(New(Options{OfflineDB: sharedDB}).opts)
				if err != nil {
					b.Fatal(err)
				}
				actions.Image = c.archive
				res, err := scalibrEngine{}.scanImage(context.Background(), actions)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for _, src := range res.Results {
					n += len(src.Packages)
				}
				if n != c.packages {
					b.Fatalf("%d packages, want %d", n, c.packages)
				}
			}
		})
	}
}

// appendLayers adds layers of the entries to img.
func appendLayers(b *testing.B, img v1.Image, layers ...[]imagetest.Entry) v1.Image {
	b.Helper()
	for _, es := range layers {
		var err error
		if img, err = mutate.AppendLayers(img, imagetest.Layer(b, es...)); err != nil {
			b.Fatal(err)
		}
	}
	return img
}

// scalibrImages are the docker-built images osv-scalibr's module carries
// as its layerscanning tests' data (Alpine with and without packages,
// deleted and recreated files, symlink attacks, cycles and depth), read
// from the module cache.
func scalibrImages(t testing.TB) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/google/osv-scalibr").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	files, err := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "artifact", "image", "layerscanning", "image", "testdata", "*.tar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("osv-scalibr's test images: %v %v", files, err)
	}
	return files
}
