package dockerfile

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/secgate/secgate/gate/secrets"
	"github.com/secgate/secgate/gate/secrets/secretstest"
	"github.com/secgate/secgate/policy"
)

// tree copies testdata/tree to a temporary directory with a generated
// GitHub token planted where PLANTED stands (no real-format token is
// committed).
func tree(t *testing.T) (root, token string) {
	t.Helper()
	root, token = t.TempDir(), secretstest.GitHubPAT(t)
	err := filepath.WalkDir(filepath.Join("testdata", "tree"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join("testdata", "tree"), p)
		dst := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, []byte(strings.ReplaceAll(string(data), "PLANTED", token)), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return root, token
}

func scan(t *testing.T, root string, tiers map[string]policy.Severity) policy.ScanResult {
	t.Helper()
	text, err := secrets.NewTextScanner(nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := New(Options{Root: root, Tiers: tiers, Secrets: text}).Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Real-world shapes with known answers: a multi-stage Go service (tags
// without digests only), a single-stage Node service (root, the context
// copied whole, apt lists kept, a compiler shipped, a token in ENV), a
// Python API (pip's cache, curl | bash, a remote ADD, a NOPASSWD rule,
// chmod 777), a hardened distroless build that must give nothing, an
// Alpine tool image (untagged base, apk's cache, a GitHub token in an
// ARG), a file BuildKit does not parse, and notes named Dockerfile.md.
func TestFixtures(t *testing.T) {
	root, token := tree(t)
	res := scan(t, root, nil)
	var got []string
	for _, f := range res.Findings {
		got = append(got, fmt.Sprintf("%s %s %s:%d %s", f.Severity, f.Rule, f.Location.Path, f.Location.Line, f.Location.Object))
	}
	slices.Sort(got)
	want := []string{ // secret findings have no tier yet: the policy gives them the secrets tier
		" dockerfile-secret-env node-service/Dockerfile:6 stage 0",
		" generic-api-key node-service/Dockerfile:6 stage 0",
		" github-pat tools/Containerfile:3 stage 0",
		"high dockerfile-sudo-nopasswd python-api/Dockerfile:7 stage 0",
		"low dockerfile-base-no-digest go-service/Dockerfile:11 stage 1",
		"low dockerfile-base-no-digest go-service/Dockerfile:4 stage build",
		"low dockerfile-base-no-digest node-service/Dockerfile:1 stage 0",
		"low dockerfile-build-tools node-service/Dockerfile:4 stage 0",
		"low dockerfile-chmod-777 python-api/Dockerfile:7 stage 0",
		"low dockerfile-copy-all node-service/Dockerfile:3 stage 0",
		"low dockerfile-package-cache node-service/Dockerfile:4 stage 0",
		"low dockerfile-package-cache python-api/Dockerfile:4 stage 0",
		"low dockerfile-package-cache tools/Containerfile:2 stage 0",
		"medium dockerfile-add-remote python-api/Dockerfile:6 stage 0",
		"medium dockerfile-base-latest tools/Containerfile:1 stage 0",
		"medium dockerfile-curl-pipe-shell python-api/Dockerfile:5 stage 0",
		"medium dockerfile-runs-as-root node-service/Dockerfile:1 stage 0",
		"medium dockerfile-runs-as-root tools/Containerfile:1 stage 0",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for _, f := range res.Findings {
		if strings.Contains(f.Location.Path, "distroless") {
			t.Errorf("the hardened Dockerfile gives %s", f.Rule)
		}
		if !strings.HasPrefix(f.Rule, "dockerfile-") || f.Rule == RuleSecretEnv {
			if f.Kind != policy.KindSecret {
				t.Errorf("%s is kind %s, want a secret (the secrets tier)", f.Rule, f.Kind)
			}
		} else if f.Kind != policy.KindDockerfile || f.Fix == "" || f.Fingerprint == "" {
			t.Errorf("%s: kind %s, fix %q, fingerprint %q", f.Rule, f.Kind, f.Fix, f.Fingerprint)
		}
	}
	if len(res.Warnings) != 1 || !strings.HasPrefix(res.Warnings[0], "broken/Dockerfile: not a Dockerfile BuildKit parses") {
		t.Errorf("warnings %q, want one for broken/Dockerfile", res.Warnings)
	}
	if res.Coverage.Files != 5 {
		t.Errorf("coverage: %d files, want the 5 Dockerfiles that parse", res.Coverage.Files)
	}
	// Secrets never appear, not even in part.
	out, _ := json.Marshal(res)
	for _, v := range []string{token, "4f1c9a6b2e7d8c3a5b0f", "Tr0ub4dor3"} {
		for i := 0; i+6 <= len(v); i++ {
			if strings.Contains(string(out), v[i:i+6]) {
				t.Fatalf("a piece of a planted value (%q) is in the result", v[i:i+6])
			}
		}
	}
}

// The policy's tiers apply, by check id.
func TestTiers(t *testing.T) {
	root, _ := tree(t)
	res := scan(t, root, map[string]policy.Severity{CheckBaseDigest: policy.High, CheckRoot: policy.Low})
	for _, f := range res.Findings {
		switch f.Rule {
		case CheckBaseDigest:
			if f.Severity != policy.High {
				t.Errorf("%s at %s, want high", f.Rule, f.Severity)
			}
		case CheckRoot:
			if f.Severity != policy.Low {
				t.Errorf("%s at %s, want low", f.Rule, f.Severity)
			}
		}
	}
}

func TestIsDockerfile(t *testing.T) {
	for name, want := range map[string]bool{
		"Dockerfile": true, "dockerfile": true, "Containerfile": true, "Dockerfile.prod": true, "Dockerfile.alpine": true,
		"api.Dockerfile": true, "worker.containerfile": true,
		"dockerfile.go": false, "Dockerfile.md": false, "Dockerfile.dockerignore": false, "docker-compose.yml": false, "README.md": false,
	} {
		if IsDockerfile(name) != want {
			t.Errorf("IsDockerfile(%q) = %v, want %v", name, !want, want)
		}
	}
}

// Scans at once (two gate runs in one process, a library user's) find
// what one finds alone; under -race, they share no state (BuildKit's
// variable expander keeps its word in its fields: one a call).
func TestConcurrentScans(t *testing.T) {
	root, _ := tree(t)
	want := fmt.Sprint(scanKeys(scan(t, root, nil)))
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			text, err := secrets.NewTextScanner(nil)
			if err != nil {
				t.Error(err)
				return
			}
			res, err := New(Options{Root: root, Secrets: text}).Scan(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			if got := fmt.Sprint(scanKeys(res)); got != want {
				t.Errorf("concurrent scan: %s\nalone: %s", got, want)
			}
		})
	}
	wg.Wait()
}

func scanKeys(res policy.ScanResult) []string {
	var out []string
	for _, f := range res.Findings {
		out = append(out, f.Rule+" "+f.Location.Path+":"+fmt.Sprint(f.Location.Line)+" "+f.Fingerprint)
	}
	slices.Sort(out)
	return out
}
