package main

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/gate/secrets/secretstest"
	"github.com/secgate/secgate/policy"
)

// assertCountsListed is the report's invariant: its counts are the tally
// of the findings it lists (ignored ones aside), in the file as written.
func assertCountsListed(t *testing.T, name string, r report.Report) {
	t.Helper()
	if got := policy.Tally(r.Findings); got != r.Counts {
		t.Errorf("%s: counts %+v, but the listed findings tally %+v", name, r.Counts, got)
	}
}

// Red team F6: distinct private keys in files of the same name (and
// three RSA keys, one of them a truncated fixture) are each their own finding, with its own path, fingerprint,
// context and tier, in the tree, history and range modes, and every
// output lists each (JSON, SARIF, GitLab, text). Before the fix the
// outgoing redaction read the private-key rule's match from one
// finding's preview to the next and cut it out of the rendered outputs:
// one listed finding mixing two keys, the GitLab report without the
// critical key, while the counts said two.
func TestDistinctKeysListedApart(t *testing.T) {
	dir, base := baseRepo(t, "# shop\n")
	keys := map[string]string{
		"src/k.pem":           secretstest.Ed25519KeyPEM(t),
		"tests/k.pem":         fixtureKey(secretstest.RSAKeyPEM(t)),
		"deploy/id_rsa":       secretstest.RSAKeyPEM(t),
		"tests/fixtures/rsa1": secretstest.RSAKeyPEM(t),
	}
	writeFiles(t, dir, keys)
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "keys")
	// a key that parses is critical wherever it is (F7); the truncated
	// fixture keeps the test context's tier
	want := map[string]string{"src/k.pem": "critical", "deploy/id_rsa": "critical", "tests/k.pem": "low", "tests/fixtures/rsa1": "critical"}

	for name, mode := range map[string][]string{"tree": nil, "history": {"--history"}, "range": {"--base", base, "--head", "HEAD"}} {
		t.Run(name, func(t *testing.T) {
			out := t.TempDir()
			args := append([]string{"run", "--only", "secrets", "--format", "json", "--report", filepath.Join(out, "r.json"),
				"--sarif-file", filepath.Join(out, "r.sarif"), "--gitlab-reports", out}, mode...)
			res := secgate(t, nil, append(args, dir)...)
			if res.code != 1 {
				t.Fatalf("exit %d: %s", res.code, res.stderr)
			}
			rep, _ := readReport(t, filepath.Join(out, "r.json"))
			var stdoutRep report.Report
			if err := json.Unmarshal([]byte(res.stdout), &stdoutRep); err != nil {
				t.Fatalf("stdout: %v", err)
			}
			for which, r := range map[string]report.Report{"report file": rep, "stdout": stdoutRep} {
				assertCountsListed(t, which, r)
				got, fps := map[string]string{}, map[string]bool{}
				for _, f := range r.Findings {
					got[f.Location.Path] = f.Severity.String()
					fps[f.Fingerprint] = true
				}
				if len(r.Findings) != len(want) || len(fps) != len(want) || !maps.Equal(got, want) {
					t.Errorf("%s: findings %v (%d fingerprints), want %v", which, got, len(fps), want)
				}
			}

			var sarif struct {
				Runs []struct {
					Results []struct {
						Level     string
						Locations []struct {
							PhysicalLocation struct{ ArtifactLocation struct{ URI string } }
						}
					}
				}
			}
			readJSON(t, filepath.Join(out, "r.sarif"), &sarif)
			var sarifPaths []string
			for _, r := range sarif.Runs[0].Results {
				sarifPaths = append(sarifPaths, r.Locations[0].PhysicalLocation.ArtifactLocation.URI)
			}
			var gl struct {
				Vulnerabilities []struct {
					Severity string
					Location struct{ File string }
				}
			}
			readJSON(t, filepath.Join(out, "gl-secret_detection-report.json"), &gl)
			glSev := map[string]string{}
			for _, v := range gl.Vulnerabilities {
				glSev[v.Location.File] = strings.ToLower(v.Severity)
			}
			slices.Sort(sarifPaths)
			for p, sev := range want {
				if !slices.Contains(sarifPaths, p) {
					t.Errorf("SARIF lists %v: %s missing", sarifPaths, p)
				}
				if glSev[p] != sev {
					t.Errorf("GitLab report: %s is %q, want %q (all: %v)", p, glSev[p], sev, glSev)
				}
			}
			if len(sarifPaths) != len(want) || len(gl.Vulnerabilities) != len(want) {
				t.Errorf("SARIF %d results, GitLab %d vulnerabilities, want %d each", len(sarifPaths), len(gl.Vulnerabilities), len(want))
			}
			text := secgate(t, nil, append([]string{"run", "--only", "secrets"}, append(mode, dir)...)...)
			for p := range want {
				if strings.Count(text.stdout, " "+p+":") != 1 {
					t.Errorf("text output lists %s %d times:\n%s", p, strings.Count(text.stdout, " "+p+":"), text.stdout)
				}
			}
			for _, out := range []string{res.stdout, text.stdout} {
				for _, k := range keys {
					if strings.Contains(out, strings.Split(k, "\n")[1]) {
						t.Error("an output carries a key's body")
					}
				}
			}
		})
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// fixtureKey keeps a key's armour and its first body lines: a test
// fixture's shape (it does not parse), which the test context lowers.
func fixtureKey(key string) string {
	lines := strings.Split(strings.TrimSpace(key), "\n")
	return strings.Join(append(lines[:4:4], lines[len(lines)-1]), "\n") + "\n"
}
