package main

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/secgate/secgate/gate/secrets/secretstest"
)

// pep503Runs are the runs PEP 503 normalisation turns into one '-'.
var pep503Runs = regexp.MustCompile(`[-_.]+`)

// foldedForms are the forms of a text the gate's own writers may put a
// value in: as is, ASCII-folded, PEP 503-normalised, percent-decoded.
func foldedForms(s string) []string {
	low := strings.ToLower(s)
	forms := []string{low, pep503Runs.ReplaceAllString(low, "-")}
	if u, err := url.PathUnescape(low); err == nil && u != low {
		forms = append(forms, u, pep503Runs.ReplaceAllString(u, "-"))
	}
	return forms
}

// noFoldedPieceOf is noPieceOf for every transformed form: each output
// and each 6-character piece of each value (its public prefix left
// aside) compared case-insensitively and after PEP 503 normalisation.
func noFoldedPieceOf(t *testing.T, values []string, outputs map[string]string) {
	t.Helper()
	for name, out := range outputs {
		if out == "" {
			continue
		}
		forms := foldedForms(out)
	values:
		for _, v := range values {
			for i := 4; i+6 <= len(v); i++ {
				piece := strings.ToLower(v[i : i+6])
				for _, p := range []string{piece, pep503Runs.ReplaceAllString(piece, "-")} {
					if strings.Trim(p, "-") != p || strings.Count(p, "-") > 1 {
						continue // a piece whose ends are separators matches any name's punctuation
					}
					for _, f := range forms {
						if j := strings.Index(f, p); j >= 0 {
							t.Errorf("%s carries a transformed piece %q of a planted value: …%s…", name, p, strings.ReplaceAll(f[max(0, j-60):min(len(f), j+6)], "\n", `\n`))
							continue values
						}
					}
				}
			}
		}
	}
}

// slackBot is a Slack bot token of the rule's shape, made at run time.
func slackBot(t *testing.T) string {
	digits := "0123456789"
	return "xoxb-" + secretstest.Random(t, digits, 12) + "-" + secretstest.Random(t, digits, 12) + "-" + secretstest.Random(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 24)
}

// F4 of the red team: tokens in package names and versions of lockfiles
// are found (exit 1), and no output holds them in any form the writers
// make of a name: the SBOMs' lower-cased, PEP 503-normalised names,
// purls, bom-refs and SPDXIDs, the reports, SARIF, GitLab's reports.
// Before the fix the SBOMs held pkg:pypi/x-ghp-<token lower-cased>.
func TestTokenPackageNamesLeakInNoForm(t *testing.T) {
	ghp, akia, xoxb, ghp2, akia2 := secretstest.GitHubPAT(t), secretstest.AWSKeyID(t), slackBot(t), secretstest.GitHubPAT(t), secretstest.AWSKeyID(t)
	toks := []string{ghp, akia, xoxb, ghp2, akia2}
	dir, work := t.TempDir(), t.TempDir()
	writeFiles(t, dir, map[string]string{
		"requirements.txt": "x-" + ghp + "==1.0\nz-" + akia + "==1.0\nrequests==2.31.0\n",
		"package-lock.json": `{"name":"shop","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{` +
			`"":{"name":"shop","version":"1.0.0"},` +
			`"node_modules/x-` + ghp2 + `":{"version":"1.0.0"},` +
			`"node_modules/left-pad":{"version":"1.0.0-` + xoxb + `"},` +
			`"node_modules/@acme/z-` + akia2 + `":{"version":"2.0.0"}}}` + "\n",
	})
	writeFiles(t, work, map[string]string{"policy.yml": "deps: {max_db_age: 0}\n"})
	db, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "osvdb"))
	outputs := map[string]string{}
	out := filepath.Join(work, "out")
	for _, run := range []struct{ sbom, format string }{{"cyclonedx", "json"}, {"spdx", "text"}, {"cyclonedx", "markdown"}} {
		sub := filepath.Join(out, run.sbom+"-"+run.format)
		res := secgate(t, nil, "run", "--offline-db", db, "--policy", filepath.Join(work, "policy.yml"), "--format", run.format,
			"--report", filepath.Join(sub, "report.json"), "--sarif-file", filepath.Join(sub, "secgate.sarif"), "--gitlab-reports", sub,
			"--sbom", filepath.Join(sub, "sbom.json"), "--sbom-format", run.sbom, "--vex-out", filepath.Join(sub, "vex.json"), dir)
		if res.code != 1 {
			t.Fatalf("%s/%s: exit %d, want 1 (the tokens are found)\n%s", run.sbom, run.format, res.code, res.stderr)
		}
		outputs[run.format+" stdout"], outputs[run.format+" stderr"] = res.stdout, res.stderr
	}
	files := readAll(t, out)
	for p, s := range files {
		outputs[p] = s
	}
	// the test must see the packages in the SBOMs: one per lockfile line
	cdx, spdx := files[filepath.Join(out, "cyclonedx-json", "sbom.json")], files[filepath.Join(out, "spdx-text", "sbom.json")]
	var c struct{ Components []struct{ Name, Purl string } }
	if err := json.Unmarshal([]byte(cdx), &c); err != nil || len(c.Components) < 6 {
		t.Errorf("the CycloneDX SBOM must list the 7 packages (%v): %s", err, cdx)
	}
	if !strings.Contains(spdx, "pkg:pypi/requests@2.31.0") || !strings.Contains(cdx, "pkg:npm/left-pad@") {
		t.Errorf("the SBOMs must list the clean packages")
	}
	noPieceOf(t, toks, outputs)
	noFoldedPieceOf(t, toks, outputs)
	if t.Failed() {
		os.WriteFile("/tmp/fixleak-cdx.json", []byte(cdx), 0o600)
	}
}
