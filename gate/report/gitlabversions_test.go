package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The GitLab reports name the library each scanner runs and its version
// (scan.scanner): those written in gitlab.go must be the versions go.mod
// requires, or an upgrade (or a change of engine, as osv-scanner ->
// osv-scalibr in issue 30) leaves the reports naming another build.
func TestGitLabScannerVersions(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	required := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require ")); len(f) >= 2 {
			required[f[0]] = f[1]
		}
	}
	for typ, module := range map[string]string{
		GitLabSecrets:   "github.com/zricethezav/gitleaks/v8",
		GitLabDeps:      "github.com/google/osv-scalibr",
		GitLabContainer: "github.com/google/osv-scalibr",
	} {
		sc := glScanners[typ]
		if want := required[module]; want == "" || sc.version != want {
			t.Errorf("%s report: scanner %s %s, go.mod requires %s %q", typ, sc.name, sc.version, module, want)
		}
		name := strings.TrimSuffix(module, "/v8")
		if name = name[strings.LastIndex(name, "/")+1:]; !strings.Contains(sc.name, name) || !strings.Contains(sc.url, name) {
			t.Errorf("%s report: scanner %q (%s) does not name %s", typ, sc.name, sc.url, module)
		}
	}
}
