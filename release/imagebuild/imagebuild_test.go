package main

import (
	"archive/tar"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/secgate/secgate/gate/image"
)

// stage is what a Dockerfile stage says about the final image.
type stage struct {
	runs       []string
	base       string
	copies     []string // "FROM|CHOWN|CHMOD|SOURCES -> DEST"
	env        []string
	workdir    string
	user       string
	entrypoint []string
	labels     map[string]string
}

// dockerfileStages reads the Dockerfile's stages with BuildKit's parser.
func dockerfileStages(t *testing.T) map[string]*stage {
	t.Helper()
	f, err := os.Open("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ast, err := parser.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	stages, _, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*stage{}
	for _, s := range stages {
		st := &stage{base: s.BaseName, labels: map[string]string{}}
		if parent, ok := out[s.BaseName]; ok { // FROM an earlier stage
			*st = *parent
			st.labels = maps.Clone(parent.labels)
			st.copies, st.env, st.runs = slices.Clone(parent.copies), slices.Clone(parent.env), nil
		}
		for _, c := range s.Commands {
			switch c := c.(type) {
			case *instructions.CopyCommand:
				st.copies = append(st.copies, fmt.Sprintf("%s|%s|%s|%s -> %s", c.From, c.Chown, c.Chmod, strings.Join(c.SourcePaths, ","), c.DestPath))
			case *instructions.RunCommand:
				st.runs = append(st.runs, strings.Join(c.CmdLine, " "))
			case *instructions.EnvCommand:
				for _, kv := range c.Env {
					st.env = append(st.env, kv.Key+"="+kv.Value)
				}
			case *instructions.WorkdirCommand:
				st.workdir = c.Path
			case *instructions.UserCommand:
				st.user = c.User
			case *instructions.EntrypointCommand:
				st.entrypoint = c.CmdLine
			case *instructions.LabelCommand:
				for _, kv := range c.Labels {
					st.labels[kv.Key] = strings.Trim(kv.Value, `"`)
				}
			}
		}
		out[s.Name] = st
	}
	return out
}

// The Dockerfile's release and action stages and imagebuild's image are
// the same image: files, user, workdir, entrypoint, environment, labels.
func TestDockerfileAndImagebuildAgree(t *testing.T) {
	t.Chdir(filepath.Join("..", ".."))
	stages := dockerfileStages(t)
	rel, act := stages["release"], stages["action"]
	if rel == nil || act == nil {
		t.Fatalf("the Dockerfile has no release or action stage: %v", slices.Collect(maps.Keys(stages)))
	}
	if rel.base != "scratch" {
		t.Errorf("release stage FROM %s, want scratch (no shell, no package manager)", rel.base)
	}
	wantCopies := []string{
		"build|||/out/secgate -> " + binaryPath,
		"build|||" + caPath + " -> " + caPath,
		"|||" + rootfsDir + "/ -> /",
	}
	for _, d := range dirs {
		switch d.path {
		case workdir: // WORKDIR makes it
		case "/home/nonroot":
			wantCopies = append(wantCopies, fmt.Sprintf("build|%d:%d||/dirs%s -> %s", d.uid, d.uid, d.path, d.path))
		default:
			wantCopies = append(wantCopies, fmt.Sprintf("build||%o|/dirs%s -> %s", d.mode, d.path, d.path))
		}
	}
	if !slices.Equal(rel.copies, wantCopies) {
		t.Errorf("COPY lines:\n  %s\nimagebuild ships:\n  %s", strings.Join(rel.copies, "\n  "), strings.Join(wantCopies, "\n  "))
	}
	for _, c := range []struct{ what, dockerfile, imagebuild string }{
		{"ENV", strings.Join(rel.env, " "), strings.Join(env, " ")},
		{"WORKDIR", rel.workdir, workdir},
		{"USER", rel.user, user},
		{"action USER", act.user, actionUser},
		{"action ENV", strings.Join(act.env, " "), strings.Join(actionEnv, " ")},
		{"ENTRYPOINT", strings.Join(rel.entrypoint, " "), strings.Join(entrypoint, " ")},
	} {
		if c.dockerfile != c.imagebuild {
			t.Errorf("%s: the Dockerfile says %q, imagebuild %q", c.what, c.dockerfile, c.imagebuild)
		}
	}
	for k, v := range staticLabels {
		if rel.labels[k] != v {
			t.Errorf("LABEL %s: the Dockerfile says %q, imagebuild %q", k, rel.labels[k], v)
		}
	}
	for _, k := range []string{"org.opencontainers.image.version", "org.opencontainers.image.revision"} {
		if _, ok := rel.labels[k]; !ok {
			t.Errorf("the Dockerfile sets no %s label", k)
		}
	}
	if len(rel.labels) != len(staticLabels)+2 {
		t.Errorf("the Dockerfile's labels %v, imagebuild's %v + version, revision", rel.labels, staticLabels)
	}

	// The debug variant: the release image, busybox's layer, its PATH.
	dbg, bb := stages["debug"], stages["busybox"]
	if dbg == nil || bb == nil || len(bb.runs) != 1 {
		t.Fatal("the Dockerfile has no debug stage, or no busybox stage with one RUN")
	}
	if got := dbg.copies[len(dbg.copies)-1]; got != "busybox|||"+busyboxDir+"/ -> "+busyboxDir+"/" {
		t.Errorf("the debug stage's COPY: %s", got)
	}
	if env := dbg.env[len(dbg.env)-1]; env != debugEnv[0] {
		t.Errorf("the debug stage's ENV %s, imagebuild's %s", env, debugEnv[0])
	}
	if dbg.user != user {
		t.Errorf("the debug stage runs as %q, want the release's %q", dbg.user, user)
	}
	_, loop, _ := strings.Cut(bb.runs[0], "for a in ")
	loop, _, _ = strings.Cut(loop, ";")
	if !slices.Equal(strings.Fields(loop), busyboxApplets) {
		t.Errorf("the Dockerfile links %v, imagebuild %v", strings.Fields(loop), busyboxApplets)
	}
	// The same busybox as release/busybox.sh: version and sums.
	script, err := os.ReadFile(filepath.Join("release", "busybox.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?m)^version=(\S+)|\[(amd64|arm64)\]=([0-9a-f]{64})`).FindAllStringSubmatch(string(script), -1) {
		want := m[1]
		if want == "" {
			want = m[2] + ") sum=" + m[3]
		}
		if !strings.Contains(bb.runs[0], want) {
			t.Errorf("the Dockerfile's busybox stage lacks %q (release/busybox.sh's)", want)
		}
	}
}

// build writes what it says: both indexes, both platforms, the config
// and the files.
func TestBuildWritesTheImage(t *testing.T) {
	t.Chdir(filepath.Join("..", ".."))
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "secgate")
	if err := os.WriteFile(bin, []byte("#!fake binary\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(tmp, "ca.crt")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "layout")
	bb := filepath.Join(tmp, "busybox")
	if err := os.WriteFile(bb, []byte("#!fake busybox\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := build(out, "v9.9.9", "abc123", ca, []string{"linux/amd64=" + bin, "linux/arm64=" + bin}, "linux/amd64="+bb, "linux/arm64="+bb); err != nil {
		t.Fatal(err)
	}
	p, err := layout.FromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	root, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	rm, err := root.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]string{}
	for _, d := range rm.Manifests {
		idx, err := root.ImageIndex(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		var platforms []string
		for _, m := range im.Manifests {
			platforms = append(platforms, m.Platform.String())
			img, err := idx.Image(m.Digest)
			if err != nil {
				t.Fatal(err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cf.Architecture != m.Platform.Architecture || cf.OS != "linux" {
				t.Errorf("config says %s/%s under %s", cf.OS, cf.Architecture, m.Platform)
			}
			ref := d.Annotations["org.opencontainers.image.ref.name"]
			users[ref] = cf.Config.User
			wantEnv, wantLayers := env, 1
			switch ref {
			case "v9.9.9-debug":
				wantEnv, wantLayers = debugEnv, 2
			case "v9.9.9-action":
				wantEnv = actionEnv
			}
			if !slices.Equal(cf.Config.Entrypoint, entrypoint) || cf.Config.WorkingDir != workdir || !slices.Equal(cf.Config.Env, wantEnv) ||
				cf.Config.Labels["org.opencontainers.image.version"] != "v9.9.9" || cf.Config.Labels["org.opencontainers.image.revision"] != "abc123" {
				t.Errorf("config %+v", cf.Config)
			}
			layers, err := img.Layers()
			if err != nil || len(layers) != wantLayers {
				t.Fatalf("%s: layers %v %v, want %d", ref, len(layers), err, wantLayers)
			}
			files := map[string]string{}
			for _, l := range layers {
				rc, err := l.Uncompressed()
				if err != nil {
					t.Fatal(err)
				}
				tr := tar.NewReader(rc)
				for {
					h, err := tr.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					files["/"+strings.TrimSuffix(h.Name, "/")] = fmt.Sprintf("%o %d%s", h.Mode, h.Uid, h.Linkname)
				}
				rc.Close()
			}
			if wantLayers == 2 && (files["/busybox/busybox"] != "755 0" || files["/busybox/sh"] != "777 0busybox") {
				t.Errorf("%s: busybox %q, sh %q", ref, files["/busybox/busybox"], files["/busybox/sh"])
			}
			for path, want := range map[string]string{binaryPath: "755 0", caPath: "644 0", "/etc/passwd": "644 0", "/etc/group": "644 0", "/home/nonroot": "755 65532", "/tmp": "1777 0", workdir: "755 0"} {
				if files[path] != want {
					t.Errorf("%s: %q, want %q", path, files[path], want)
				}
			}
		}
		if !slices.Equal(platforms, []string{"linux/amd64", "linux/arm64"}) {
			t.Errorf("platforms %v", platforms)
		}
	}
	if users["v9.9.9"] != user || users["v9.9.9-action"] != actionUser || users["v9.9.9-debug"] != user {
		t.Errorf("users by ref name: %v", users)
	}
	passwd, _ := os.ReadFile(filepath.Join(rootfsDir, "etc", "passwd"))
	if !strings.Contains(string(passwd), ":65532:65532:") {
		t.Errorf("%s/etc/passwd does not name uid 65532:\n%s", rootfsDir, passwd)
	}
}

// -push sends the layout's index, both platforms, to a registry, and
// names it by the digest it has there.
func TestPushIndex(t *testing.T) {
	t.Chdir(filepath.Join("..", ".."))
	tmp := t.TempDir()
	bin, ca := filepath.Join(tmp, "secgate"), filepath.Join(tmp, "ca.crt")
	for _, f := range []string{bin, ca} {
		if err := os.WriteFile(f, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(tmp, "layout")
	if err := build(out, "v1", "r", ca, []string{"linux/amd64=" + bin, "linux/arm64=" + bin}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	got, err := pushIndex(host+"/secgate/secgate:v1-action", out, "v1-action")
	if err != nil {
		t.Fatal(err)
	}
	want, err := image.LayoutEntry(out, "v1-action")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := want.Digest()
	if got != host+"/secgate/secgate@"+d.String() {
		t.Errorf("pushed %s, want the action index %s", got, d)
	}
	tag, err := name.ParseReference(host + "/secgate/secgate:v1-action")
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(tag)
	if err != nil || desc.Digest != d {
		t.Errorf("the registry has %v (%v), want %s", desc, err, d)
	}
	if _, err := pushIndex(host+"/x:y", out, "nope"); err == nil || !strings.Contains(err.Error(), `no entry named "nope"`) {
		t.Errorf("an unknown entry: %v", err)
	}
}
