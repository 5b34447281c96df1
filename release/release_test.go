// Package release holds the release's checks: .goreleaser.yaml (GoReleaser
// is not built in CI: too heavy for its budget), and that every build of
// the binary — GoReleaser's, the Dockerfile's, release/build-image.sh's —
// uses the same flags.
package release

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

type goreleaser struct {
	Version int
	Builds  []struct {
		Main, Binary string
		Env, Flags   []string
		Tags         []string
		Ldflags      []string
		Goos, Goarch []string
	}
	Archives []struct {
		Formats         []string
		FormatOverrides []struct {
			Goos    string
			Formats []string
		} `yaml:"format_overrides"`
	}
	Checksum struct{ Algorithm string }
	Sboms    []struct{ Artifacts string }
}

const ldflags = "-s -w -X main.version="

// buildTag is the release's build tag: gRPC leaves out its debug pages
// (golang.org/x/net/trace), whose html/template calls methods by name; with
// one such call reachable the linker keeps every unused method.
const buildTag = "grpcnotrace"

func TestGoreleaserConfig(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", ".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var g goreleaser
	if err := yaml.Unmarshal(data, &g); err != nil {
		t.Fatalf(".goreleaser.yaml: %v", err)
	}
	if g.Version != 2 || len(g.Builds) != 1 {
		t.Fatalf("want version 2 and one build: %+v", g)
	}
	b := g.Builds[0]
	if b.Main != "./cmd/secgate" || b.Binary != "secgate" {
		t.Errorf("build main %q binary %q", b.Main, b.Binary)
	}
	if !slices.Contains(b.Env, "CGO_ENABLED=0") || !slices.Contains(b.Flags, "-trimpath") {
		t.Errorf("a static, reproducible build needs CGO_ENABLED=0 and -trimpath: %v %v", b.Env, b.Flags)
	}
	if len(b.Ldflags) != 1 || !strings.HasPrefix(b.Ldflags[0], ldflags) {
		t.Errorf("ldflags %v, want %s…", b.Ldflags, ldflags)
	}
	if !slices.Equal(b.Tags, []string{buildTag}) {
		t.Errorf("tags %v, want [%s]: without it the binary is 48 MB, not 33", b.Tags, buildTag)
	}
	for _, want := range []string{"linux", "darwin", "windows"} {
		if !slices.Contains(b.Goos, want) {
			t.Errorf("goos %v lacks %s", b.Goos, want)
		}
	}
	for _, want := range []string{"amd64", "arm64"} {
		if !slices.Contains(b.Goarch, want) {
			t.Errorf("goarch %v lacks %s", b.Goarch, want)
		}
	}
	if len(g.Archives) != 1 || len(g.Archives[0].FormatOverrides) != 1 || g.Archives[0].FormatOverrides[0].Goos != "windows" || !slices.Equal(g.Archives[0].FormatOverrides[0].Formats, []string{"zip"}) {
		t.Errorf("archives %+v: tar.gz, zip for windows", g.Archives)
	}
	if g.Checksum.Algorithm != "sha256" || len(g.Sboms) == 0 {
		t.Errorf("checksum %q, sboms %v: want sha256 and an SBOM", g.Checksum.Algorithm, g.Sboms)
	}
}

// The version variable the builds stamp exists, and every build stamps it
// with the same flags.
func TestEveryBuildStampsTheVersion(t *testing.T) {
	cli, err := os.ReadFile(filepath.Join("..", "cmd", "secgate", "cli.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cli), "\nvar version = ") {
		t.Error("cmd/secgate has no package-level version variable for -X main.version")
	}
	for _, f := range []string{filepath.Join("..", "Dockerfile"), "build-image.sh"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(data)
		if !strings.Contains(s, "CGO_ENABLED=0") || !strings.Contains(buildLine(s), ` -tags `+buildTag+` -trimpath -ldflags "`+ldflags) {
			t.Errorf("%s does not build with CGO_ENABLED=0 go build -tags %s -trimpath -ldflags \"%s…\"", f, buildTag, ldflags)
		}
	}
}

// buildLine is the line of s that runs go build on cmd/secgate.
func buildLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "go build ") && strings.Contains(l, "./cmd/secgate") {
			return l
		}
	}
	return ""
}
