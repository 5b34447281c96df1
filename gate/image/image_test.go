package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/secgate/secgate/gate/image/imagetest"
	"github.com/secgate/secgate/gate/secrets"
	"github.com/secgate/secgate/gate/secrets/secretstest"
	"github.com/secgate/secgate/policy"
)

type entry struct {
	name     string
	mode     int64
	typ      byte
	content  string
	linkname string
}

func file(name, content string) entry {
	return entry{name: name, mode: 0o644, typ: tar.TypeReg, content: content}
}

func layer(t *testing.T, entries ...entry) v1.Layer {
	t.Helper()
	es := make([]imagetest.Entry, 0, len(entries))
	for _, e := range entries {
		es = append(es, imagetest.Entry{Name: e.name, Mode: e.mode, Type: e.typ, Content: e.content, Linkname: e.linkname})
	}
	return imagetest.Layer(t, es...)
}

// build makes an image of layers with a config.
func build(t *testing.T, edit func(*v1.Config), layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	if edit != nil {
		edit(&cf.Config)
	}
	for range layers {
		cf.History = append(cf.History, v1.History{CreatedBy: "RUN build step"})
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

const passwd = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"

// distroless is a clean image: non-root, no shell, no package manager.
func distroless(t *testing.T) v1.Image {
	return build(t, func(c *v1.Config) {
		c.User = "65532"
		c.Labels = map[string]string{
			"org.opencontainers.image.base.name":   "gcr.io/distroless/static:nonroot",
			"org.opencontainers.image.base.digest": "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		}
	},
		layer(t, entry{name: "etc/", mode: 0o755, typ: tar.TypeDir}, file("etc/passwd", passwd), entry{name: "tmp/", mode: 0o1777, typ: tar.TypeDir}),
		layer(t, file("app/server", "\x7fELF\x00\x00binary"), file("app/config.yaml", "listen: :8080\n")),
	)
}

// hardened returns every check's crafted failure in one image, and the
// planted secrets.
func vulnerable(t *testing.T) (v1.Image, []string) {
	envTok, fileTok := secretstest.GitHubPAT(t), secretstest.GitHubPAT(t)
	img := build(t, func(c *v1.Config) {
		c.Env = []string{"PATH=/usr/bin", "GITHUB_TOKEN=" + envTok}
		c.Labels = map[string]string{"org.opencontainers.image.base.name": "debian:latest"}
	},
		layer(t, file("etc/passwd", passwd), entry{name: "bin/sh", typ: tar.TypeSymlink, linkname: "dash", mode: 0o777},
			file("usr/bin/apt-get", "\x7fELF\x00apt"), entry{name: "usr/bin/su", mode: 0o4755, typ: tar.TypeReg, content: "\x7fELF\x00su"}),
		layer(t, file("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages", strings.Repeat("Package: x\n", 1000)),
			file("var/lib/apt/lists/lock", ""),
			entry{name: "data/", mode: 0o777, typ: tar.TypeDir},
			file("app/.env", "DEPLOY_TOKEN="+fileTok+"\n")),
	)
	return img, []string{envTok, fileTok}
}

func textScanner(t *testing.T) SecretScanner {
	ts, err := secrets.NewTextScanner(nil)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func checks(fs []policy.Finding) map[string]policy.Finding {
	m := map[string]policy.Finding{}
	for _, f := range fs {
		m[f.Rule] = f
	}
	return m
}

func archive(t *testing.T, img v1.Image) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "image.tar")
	ref, _ := name.ParseReference("registry.example/app:1")
	if err := tarball.WriteToFile(p, ref, img); err != nil {
		t.Fatal(err)
	}
	return "docker-archive:" + p
}

func TestEachCheckFiresOnItsCraftedImage(t *testing.T) {
	img, planted := vulnerable(t)
	s := New(Options{Refs: []string{archive(t, img)}, MaxSize: 100, Secrets: textScanner(t)})
	res, err := s.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := checks(res.Findings)
	for check, want := range map[string]string{
		CheckRoot:           `runs as root (USER "")`,
		CheckShell:          "/bin/sh",
		CheckPackageManager: "/usr/bin/apt-get",
		CheckSetuid:         "/usr/bin/su",
		CheckCache:          "1 files",
		CheckWorldWritable:  "/data",
		CheckUnpinnedBase:   "debian:latest",
		CheckSize:           "over the 0.0 MB budget",
	} {
		f, ok := got[check]
		if !ok {
			t.Errorf("%s did not fire", check)
			continue
		}
		if !strings.Contains(f.Title, want) || f.Fix == "" || f.Severity != defaultTier(check) || f.Location.Image == "" {
			t.Errorf("%s: %+v, want a title with %q", check, f, want)
		}
	}
	if !strings.Contains(got[CheckSize].Title, "stored compressed in the docker-archive") {
		t.Errorf("a docker-archive's size must say which measure it used: %q", got[CheckSize].Title)
	}
	var secretsFound []string
	for _, f := range res.Findings {
		if f.Kind == policy.KindSecret {
			secretsFound = append(secretsFound, f.Location.Path)
		}
	}
	if strings.Join(secretsFound, ",") != "config ENV,/app/.env" {
		t.Errorf("secrets found at %v, want the ENV and /app/.env", secretsFound)
	}
	all := fmtFindings(res)
	for _, v := range planted {
		if strings.Contains(all, v) {
			t.Error("a planted secret leaks into the findings")
		}
	}
}

func fmtFindings(res policy.ScanResult) string {
	var b strings.Builder
	for _, f := range res.Findings {
		b.WriteString(f.Title + f.Fix + f.Preview + f.Location.String() + "\n")
	}
	return b.String() + strings.Join(res.Notes, "\n")
}

func TestCleanImageIsQuiet(t *testing.T) {
	s := New(Options{Refs: []string{archive(t, distroless(t))}, MaxSize: 200e6, Secrets: textScanner(t)})
	res, err := s.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 0 {
		t.Errorf("findings on a clean distroless-like image: %+v", res.Findings)
	}
}

func TestNamedUserMappedToRoot(t *testing.T) {
	img := build(t, func(c *v1.Config) { c.User = "app:app" },
		layer(t, file("etc/passwd", "root:x:0:0::/root:/bin/false\napp:x:0:0::/app:/bin/false\n")))
	res, err := New(Options{Refs: []string{archive(t, img)}}).Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := checks(res.Findings)[CheckRoot]; !ok || !strings.Contains(f.Title, "maps to uid 0") {
		t.Errorf("a named user with uid 0: %+v", res.Findings)
	}
	img = build(t, func(c *v1.Config) { c.User = "app" },
		layer(t, file("etc/passwd", "root:x:0:0::/root:/bin/false\napp:x:1000:1000::/app:/bin/false\n")))
	res, _ = New(Options{Refs: []string{archive(t, img)}}).Scan(context.Background())
	if _, ok := checks(res.Findings)[CheckRoot]; ok {
		t.Error("a named user with uid 1000 is not root")
	}
}

func TestHostileLayers(t *testing.T) {
	// An absolute name is a path from the image root, as docker reads it:
	// its setuid bit is seen.
	abs := build(t, func(c *v1.Config) { c.User = "1000" },
		layer(t, entry{name: "/usr/bin/sudo", mode: 0o4755, typ: tar.TypeReg, content: "\x7fELF\x00"}, file("app/ok", "ok")))
	res, err := New(Options{Refs: []string{archive(t, abs)}}).Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := checks(res.Findings)[CheckSetuid]; !ok || !strings.Contains(f.Title, "/usr/bin/sudo") {
		t.Errorf("absolute names: %+v", res.Findings)
	}
	// A name that climbs out of the root: nothing is written anywhere, and
	// the image is not reported clean either (go-containerregistry stops
	// the extraction; a silent stop would check an empty filesystem).
	climb := build(t, func(c *v1.Config) { c.User = "1000" },
		layer(t, file("../../etc/cron.d/evil", "* * * * * root sh"), entry{name: "bin/sh", mode: 0o755, typ: tar.TypeReg, content: "sh"}))
	_, err = New(Options{Refs: []string{archive(t, climb)}}).Scan(context.Background())
	if err == nil || !strings.Contains(err.Error(), "unsafe tar path") {
		t.Errorf("err = %v, want the unsafe entry named", err)
	}
	// A symlink that points out of the root is not followed.
	link := build(t, func(c *v1.Config) { c.User = "app" },
		layer(t, entry{name: "etc/passwd", typ: tar.TypeSymlink, linkname: "/host/etc/passwd", mode: 0o777}))
	res, err = New(Options{Refs: []string{archive(t, link)}}).Scan(context.Background())
	if err != nil || !strings.Contains(strings.Join(res.Notes, "\n"), "/etc/passwd is a symlink, not followed") {
		t.Errorf("err %v notes %v", err, res.Notes)
	}
	// A decompression bomb: 64 MB of zeros, a few KB compressed.
	bomb := build(t, func(c *v1.Config) { c.User = "1000" }, layer(t, file("zeros", strings.Repeat("\x00", 64<<20))))
	_, err = New(Options{Refs: []string{archive(t, bomb)}, MaxExtract: 8 << 20}).Scan(context.Background())
	if err == nil || !strings.Contains(err.Error(), "decompression bomb") {
		t.Errorf("err = %v, want the extract limit to stop it", err)
	}
}

func TestImageSources(t *testing.T) {
	clean := distroless(t)
	bad, _ := vulnerable(t)
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	host := mustHost(t, reg.URL)
	push := func(repo string, img v1.Image) string {
		ref, err := name.ParseReference(host + "/" + repo)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		return ref.String()
	}
	badRef := push("shop/bad:1.0", bad)

	// A multi-platform index of both, in the registry and as an OCI layout.
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: clean, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: bad, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	idxRef, err := name.ParseReference(host + "/shop/multi:1.0")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(idxRef, idx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := layout.Write(dir, idx); err != nil {
		t.Fatal(err)
	}

	d, err := bad.Digest()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		ref       string
		platforms []string
		wantRoot  int    // images flagged as root
		wantImage string // in the location
	}{
		{"registry tag", badRef, nil, 1, host + "/shop/bad@" + d.String()},
		{"docker-archive", archive(t, bad), nil, 1, "image id sha256:"},
		{"registry index, all platforms", idxRef.String(), nil, 1, "(linux/arm64)"},
		{"registry index, one platform", idxRef.String(), []string{"linux/amd64"}, 0, ""},
		{"oci layout", "oci-layout:" + dir, nil, 1, "(linux/arm64)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := New(Options{Refs: []string{tt.ref}, Platforms: tt.platforms}).Scan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			roots := 0
			for _, f := range res.Findings {
				if f.Rule == CheckRoot {
					roots++
					if !strings.Contains(f.Location.Image, tt.wantImage) {
						t.Errorf("location %q, want it to contain %q (the digest, never only the tag)", f.Location.Image, tt.wantImage)
					}
				}
			}
			if roots != tt.wantRoot {
				t.Errorf("%d root findings, want %d", roots, tt.wantRoot)
			}
		})
	}
}

func TestBadSources(t *testing.T) {
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	host := mustHost(t, reg.URL)
	reg.Close()
	for ref, why := range map[string]string{
		host + "/app:1":                   "connection refused", // unreachable registry
		"docker-archive:/nonexistent.tar": "no such file or directory",
		"oci-layout:/nonexistent":         "no such file or directory",
		"docker-daemon:app:1":             "docker engine at unix:///var/run/docker.sock", // no engine on this machine
		"UPPER/Case:bad tag":              "invalid image reference",
	} {
		_, err := New(Options{Refs: []string{ref}}).Scan(context.Background())
		if err == nil || !strings.Contains(err.Error(), ref) || !strings.Contains(err.Error(), why) {
			t.Errorf("%s: err = %v, want an error naming the image and %q", ref, err, why)
		}
	}
}

func mustHost(t *testing.T, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// A `docker save` tarball stores its layers uncompressed: the budget is
// checked on the stored size, and the finding says so.
func TestDockerSaveMeasure(t *testing.T) {
	var layerTar bytes.Buffer
	tw := tar.NewWriter(&layerTar)
	content := strings.Repeat("a", 64<<10)
	if err := tw.WriteHeader(&tar.Header{Name: "app/data", Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	diffID, _, err := v1.SHA256(bytes.NewReader(layerTar.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	cfg := []byte(`{"architecture":"amd64","os":"linux","config":{"User":"1000"},"rootfs":{"type":"layers","diff_ids":["` + diffID.String() + `"]},"history":[{"created_by":"COPY data /app/data"}]}`)
	cfgHash, _, err := v1.SHA256(bytes.NewReader(cfg))
	if err != nil {
		t.Fatal(err)
	}
	manifest := []byte(`[{"Config":"` + cfgHash.Hex + `.json","RepoTags":["app:1"],"Layers":["` + diffID.Hex + `/layer.tar"]}]`)
	var out bytes.Buffer
	ow := tar.NewWriter(&out)
	for _, f := range []struct {
		name string
		data []byte
	}{{cfgHash.Hex + ".json", cfg}, {diffID.Hex + "/layer.tar", layerTar.Bytes()}, {"manifest.json", manifest}} {
		if err := ow.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := ow.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := ow.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "saved.tar")
	if err := os.WriteFile(p, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := New(Options{Refs: []string{"docker-archive:" + p}, MaxSize: 50 << 10}).Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f, ok := checks(res.Findings)[CheckSize]
	if !ok || !strings.Contains(f.Title, "stored uncompressed (docker save)") || !strings.Contains(f.Fix, "COPY data /app/data") {
		t.Errorf("size finding %+v: want the stored uncompressed measure and the layer's instruction", f)
	}
	if len(res.Findings) != 1 {
		t.Errorf("findings %+v: only the size is wrong with this image", res.Findings)
	}
}

// The size and user checks need the manifest and the config only: two
// registry requests (plus the /v2/ ping), whatever the image's size.
func TestConfigOnlyRequests(t *testing.T) {
	var mu sync.Mutex
	var reqs []string
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reqs = append(reqs, r.Method+" "+r.URL.Path)
		mu.Unlock()
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	img, _ := vulnerable(t)
	ref, err := name.ParseReference(mustHost(t, srv.URL) + "/shop/app:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	reqs = nil
	mu.Unlock()
	res, err := New(Options{Refs: []string{ref.String()}, MaxSize: 100, ConfigOnly: true}).Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := checks(res.Findings)
	if _, ok := got[CheckRoot]; !ok {
		t.Error("the root check needs no layer")
	}
	if _, ok := got[CheckSize]; !ok {
		t.Error("the size check needs no layer")
	}
	if _, ok := got[CheckShell]; ok {
		t.Error("config-only must not read layers")
	}
	var fetches []string
	for _, r := range reqs {
		if r != "GET /v2/" {
			fetches = append(fetches, r)
		}
	}
	if len(fetches) != 2 || !strings.Contains(fetches[0], "/manifests/") || !strings.Contains(fetches[1], "/blobs/") {
		t.Errorf("requests %v: want the manifest and the config blob only", reqs)
	}
}

// fakeDocker serves the engine API's image export on a unix socket, as the
// socket GitHub mounts into container actions.
func fakeDocker(t *testing.T, images map[string]string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/images/"), "/get")
		path, found := images[name]
		if r.Method != http.MethodGet || !ok || !found {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"message":"No such image: `+name+`"}`)
			return
		}
		http.ServeFile(w, r, path)
	}))
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return "unix://" + sock
}

func TestDockerDaemon(t *testing.T) {
	bad, _ := vulnerable(t)
	saved := strings.TrimPrefix(archive(t, bad), "docker-archive:")
	host := fakeDocker(t, map[string]string{"registry.example/shop/app:1": saved})
	res, err := New(Options{Refs: []string{"docker-daemon:registry.example/shop/app:1"}, DockerHost: host}).Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := checks(res.Findings)[CheckRoot]; !ok || !strings.HasPrefix(f.Location.Image, "image id sha256:") {
		t.Errorf("findings %+v: want the root user, located by image id", res.Findings)
	}
	_, err = New(Options{Refs: []string{"docker-daemon:nope:1"}, DockerHost: host}).Scan(context.Background())
	if err == nil || !strings.Contains(err.Error(), "No such image: nope:1") {
		t.Errorf("a missing image: %v", err)
	}
}

// An export larger than the bound stops with an error, and leaves no
// temporary file behind.
func TestDockerDaemonExportIsBounded(t *testing.T) {
	bad, _ := vulnerable(t)
	saved := strings.TrimPrefix(archive(t, bad), "docker-archive:")
	fi, err := os.Stat(saved)
	if err != nil {
		t.Fatal(err)
	}
	host := fakeDocker(t, map[string]string{"app:1": saved})
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	_, err = New(Options{Refs: []string{"docker-daemon:app:1"}, DockerHost: host, MaxExtract: fi.Size() / 2}).Scan(context.Background())
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("the export is over %d bytes", fi.Size()/2)) {
		t.Errorf("err = %v, want the bound named", err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// Malformed registry answers: the error names the image.
func TestMalformedManifest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v2/":
			w.WriteHeader(http.StatusOK)
		case strings.Contains(r.URL.Path, "/manifests/"):
			w.Header().Set("Content-Type", "application/vnd.docker.distribution.manifest.v2+json")
			_, _ = io.WriteString(w, `{"schemaVersion": 2, "config": {"digest": "not-a-digest"`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ref := mustHost(t, srv.URL) + "/broken/app:1"
	_, err := New(Options{Refs: []string{ref}}).Scan(context.Background())
	if err == nil || !strings.Contains(err.Error(), ref) {
		t.Errorf("err = %v, want an error naming %s", err, ref)
	}
}

// A 250 MB image breaks the default 200 MB budget, measured from the
// manifest alone. The layer is stored with gzip level 0 so that the test
// needs no slow compression to reach 250 MB compressed.
func TestDefaultBudget250MB(t *testing.T) {
	if raceEnabled {
		t.Skip("250 MB through the race detector takes a minute: .ci/run runs this test without -race")
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	const size = 250 << 20
	if err := tw.WriteHeader(&tar.Header{Name: "opt/model.bin", Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		tarball.WithCompressionLevel(gzip.NoCompression))
	if err != nil {
		t.Fatal(err)
	}
	img := build(t, func(c *v1.Config) { c.User = "65532" }, l)
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	ref, err := name.ParseReference(mustHost(t, reg.URL) + "/big/model:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	res, err := New(Options{Refs: []string{ref.String()}, MaxSize: policy.Default().ImageMaxSize, ConfigOnly: true}).Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f, ok := checks(res.Findings)[CheckSize]
	if !ok || !strings.Contains(f.Title, "262.") || !strings.Contains(f.Title, "over the 200.0 MB budget") || f.Severity != policy.Medium {
		t.Errorf("size finding %+v", f)
	}
}

// An image check's tracking key: check + repository (or digest) + path;
// never the tag, never the path of the file the image was read from.
func TestImageFingerprints(t *testing.T) {
	bad, _ := vulnerable(t)
	rootFP := func(t *testing.T, ref string) string {
		t.Helper()
		res, err := New(Options{Refs: []string{ref}, ConfigOnly: true}).Scan(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range res.Findings {
			if f.Rule == CheckRoot {
				return f.Fingerprint
			}
		}
		t.Fatalf("%s: no %s finding", ref, CheckRoot)
		return ""
	}
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	host := mustHost(t, reg.URL)
	var refs []string
	for _, r := range []string{"shop/bad:1.0", "shop/bad:2.0", "shop/other:1.0"} {
		ref, err := name.ParseReference(host + "/" + r)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, bad); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref.String())
	}
	if a, b := rootFP(t, refs[0]), rootFP(t, refs[1]); a != b {
		t.Errorf("two tags of one repository: %s and %s", a, b)
	}
	if a, c := rootFP(t, refs[0]), rootFP(t, refs[2]); a == c {
		t.Error("two repositories share a fingerprint")
	}
	// The same docker-archive at two temporary paths.
	if a, b := rootFP(t, archive(t, bad)), rootFP(t, archive(t, bad)); a != b {
		t.Errorf("one archive at two paths: %s and %s", a, b)
	}
}

// A fault matrix of the registry: each fault is an error naming the image
// and the cause, never a pass with fewer checks.
func TestRegistryFaults(t *testing.T) {
	bad, _ := vulnerable(t)
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	var fault atomic.Value
	fault.Store("")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := fault.Load().(string)
		blob := strings.Contains(r.URL.Path, "/blobs/")
		switch {
		case f == "401":
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
		case f == "404" && strings.Contains(r.URL.Path, "/manifests/"):
			http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`, http.StatusNotFound)
		case f == "500" && blob:
			http.Error(w, "internal error", http.StatusInternalServerError)
		case (f == "truncated" || f == "mismatch") && blob && r.Method == http.MethodGet:
			rec := httptest.NewRecorder()
			inner.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			if f == "mismatch" {
				body = bytes.Clone(body)
				body[len(body)/2] ^= 0xff // the same length, another digest
				_, _ = w.Write(body)
				return
			}
			_, _ = w.Write(body[:len(body)/2]) // then the connection ends
		default:
			inner.ServeHTTP(w, r)
		}
	}))
	defer srv.Close()
	ref := mustHost(t, srv.URL) + "/shop/app:1"
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, bad); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]string{
		"401":       "UNAUTHORIZED",
		"404":       "MANIFEST_UNKNOWN",
		"500":       "500 Internal Server Error",
		"truncated": "unexpected EOF",
		"mismatch":  "error verifying",
	} {
		t.Run(f, func(t *testing.T) {
			fault.Store(f)
			defer fault.Store("")
			_, err := New(Options{Refs: []string{ref}}).Scan(context.Background())
			if err == nil || !strings.Contains(err.Error(), ref) || !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v, want an error naming %s and %q", err, ref, want)
			}
		})
	}
}

// Every layer is read: a key pair added in one layer and deleted in the
// next is still in the image, and reported where it was added; a file an
// opaque directory hides and a file overwritten are wasted bytes.
func TestLayersDeletedAndOverwritten(t *testing.T) {
	keyID := secretstest.AWSKeyID(t)
	secret := secretstest.Random(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 40)
	big := strings.Repeat("x", 2_000_000)
	img := build(t, func(c *v1.Config) { c.User = "10001" },
		layer(t, file("root/.aws/credentials", "[default]\naws_access_key_id = "+keyID+"\naws_secret_access_key = "+secret+"\n"),
			file("app/data.bin", big), file("app/config/a.txt", "old")),
		layer(t, file("root/.aws/.wh.credentials", ""), file("app/data.bin", "small"),
			file("app/config/.wh..wh..opq", ""), file("app/config/b.txt", "new")))
	res, err := New(Options{Refs: []string{archive(t, img)}, Secrets: textScanner(t), MaxWasted: 1_000_000}).Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var keyFinding *policy.Finding
	for i, f := range res.Findings {
		if f.Kind == policy.KindSecret && f.Rule == "aws-access-token" {
			keyFinding = &res.Findings[i]
		}
	}
	if keyFinding == nil || keyFinding.Location.Layer != "0" || !strings.Contains(keyFinding.Title, "deleted in layer 1") || keyFinding.Location.Path != "/root/.aws/credentials" {
		t.Fatalf("the deleted key pair: %+v", res.Findings)
	}
	w, ok := checks(res.Findings)[CheckWasted]
	if !ok || !strings.Contains(w.Title, "/app/data.bin 2.0 MB") || !strings.Contains(w.Title, "overwritten in layer 1") {
		t.Fatalf("wasted bytes: %+v", res.Findings)
	}
	notes := strings.Join(res.Notes, "\n")
	if !strings.Contains(notes, "/app/config/a.txt") && !strings.Contains(notes, "3 files deleted or overwritten") {
		t.Errorf("notes %q: want the opaque directory's hidden file counted", notes)
	}
	out := fmt.Sprint(res.Findings) + notes
	for _, v := range []string{keyID[4:], secret} { // AKIA is a documented prefix
		for i := 0; i+6 <= len(v); i++ {
			if strings.Contains(out, v[i:i+6]) {
				t.Fatal("a piece of the deleted secret is in the findings or notes")
			}
		}
	}
}

// Passwordless sudo gives root back to a non-root USER.
func TestSudo(t *testing.T) {
	img := build(t, func(c *v1.Config) { c.User = "app" },
		layer(t, file("etc/passwd", "root:x:0:0::/root:/bin/false\napp:x:10001:10001::/app:/bin/false\n"),
			file("etc/sudoers.d/app", "# app may restart the service\napp ALL=(ALL) NOPASSWD:ALL\n"),
			entry{name: "usr/bin/sudo", mode: 0o4755, typ: tar.TypeReg, content: "\x7fELF\x00"}))
	res, err := New(Options{Refs: []string{archive(t, img)}}).Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := checks(res.Findings)
	if f, ok := c[CheckSudoNopasswd]; !ok || !strings.Contains(f.Title, "/etc/sudoers.d/app: app ALL=(ALL) NOPASSWD:ALL") || f.Severity != policy.High {
		t.Errorf("NOPASSWD: %+v", res.Findings)
	}
	if _, ok := c[CheckSudo]; !ok {
		t.Errorf("sudo binary: %+v", res.Findings)
	}
	// A commented rule grants nothing.
	img = build(t, func(c *v1.Config) { c.User = "10001" }, layer(t, file("etc/sudoers", "# app ALL=(ALL) NOPASSWD:ALL\n")))
	res, _ = New(Options{Refs: []string{archive(t, img)}}).Scan(context.Background())
	if _, ok := checks(res.Findings)[CheckSudoNopasswd]; ok {
		t.Error("a commented NOPASSWD rule")
	}
}

// Secret-named keys with literal values, in ENV and in ARG/ENV history;
// references, paths and empty values are not; a value a rule recognises
// is reported once, by that rule.
func TestSecretNamedEnv(t *testing.T) {
	pat := secretstest.GitHubPAT(t)
	img := build(t, func(c *v1.Config) {
		c.User = "10001"
		c.Env = []string{"PATH=/usr/bin", "DB_PASSWORD=hunter2-but-longer", "API_TOKEN=$TOKEN", "DB_PASSWORD_FILE=/run/secrets/db",
			"EMPTY_SECRET=", "GITHUB_TOKEN=" + pat, "PASSWORD_MIN_LENGTH=12"}
	}, layer(t, file("app/ok", "ok")))
	cf, _ := img.ConfigFile()
	cf.History = []v1.History{{CreatedBy: "ARG NPM_TOKEN=npm-build-token-value", EmptyLayer: true}, {CreatedBy: "/bin/sh -c #(nop)  ENV STRIPE_SECRET_KEY sk-test-value-123"},
		{CreatedBy: "|1 SIGNING_KEY=abcdef123456 /bin/sh -c make release"}, {CreatedBy: "RUN export X_PASSWORD=inline && run"}}
	img, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	res, err := New(Options{Refs: []string{archive(t, img)}, Secrets: textScanner(t), ConfigOnly: true}).Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	pats := 0
	for _, f := range res.Findings {
		switch f.Rule {
		case RuleSecretEnv:
			keys = append(keys, strings.Fields(f.Title)[2])
			if strings.Contains(f.Preview, "hunter2") || f.Kind != policy.KindSecret {
				t.Errorf("finding %+v", f)
			}
		case "github-pat":
			pats++
		default:
			if f.Location.Path == "config history" && f.Location.Line == 3 {
				keys = append(keys, "SIGNING_KEY") // a rule (generic-api-key) saw it first: once
			}
		}
	}
	slices.Sort(keys)
	if want := []string{"DB_PASSWORD", "NPM_TOKEN", "SIGNING_KEY", "STRIPE_SECRET_KEY"}; !slices.Equal(keys, want) || pats != 1 {
		t.Errorf("keys %v (want %v), %d github-pat findings (want 1)", keys, want, pats)
	}
}

func TestSecretNames(t *testing.T) {
	for key, want := range map[string]bool{
		"DB_PASSWORD": true, "PASSWORD": true, "MYSQL_ROOT_PASSWORD": true, "API_KEY": true, "STRIPE_API_KEY": true, "AWS_SECRET_ACCESS_KEY": true,
		"GITHUB_TOKEN": true, "JWT_SECRET": true, "PRIVATE_KEY": true, "SSH_PASSPHRASE": true, "GOOGLE_CREDENTIALS": true, "apikey": true,
		"DB_PASSWORD_FILE": false, "SECRET_KEY_PATH": false, "TOKEN_URL": false, "PASSWORD_MIN_LENGTH": false, "PATH": false, "PWD": false,
		"KEYBOARD_LAYOUT": false, "TOKENIZER_MODEL": false, "BYPASS": false,
	} {
		if SecretName(key) != want {
			t.Errorf("SecretName(%s) = %v", key, !want)
		}
	}
	for line, want := range map[string]string{
		"/bin/sh -c #(nop)  ENV DB_PASSWORD=s3cret-value": "DB_PASSWORD",
		"ARG NPM_TOKEN=abc":                      "NPM_TOKEN",
		"|2 A=1 API_KEY=xyz /bin/sh -c build":    "API_KEY",
		"/bin/sh -c export DB_PASSWORD=x && run": "",
		"ENV DB_PASSWORD=${DB_PASSWORD}":         "",
		"ARG GITHUB_TOKEN":                       "",
	} {
		got := ""
		for _, a := range SecretAssignments(line, false) {
			got = a.Key
		}
		if got != want {
			t.Errorf("%q: %q, want %q", line, got, want)
		}
	}
}
