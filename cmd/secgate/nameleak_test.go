package main

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/secgate/secgate/gate/github/githubtest"
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

// F5 of the red team, end to end: a pull request whose only change is a
// file named after a token (its content "x"), and a second commit whose
// message holds another, fails the gate (exit 1) in a range run and on
// GitHub's pull_request event; no output (stdout, stderr, the JSON
// report, SARIF, GitLab's reports, dotenv, the step summary, the PR
// comment) holds a piece of either, in any form. Before names.go the
// run passed (exit 0).
func TestTokenNamedFileFailsThePullRequest(t *testing.T) {
	ghp, xoxb := secretstest.GitHubPAT(t), slackBot(t)
	dir, base := baseRepo(t, "# shop\n")
	git(t, dir, "checkout", "-qb", "pr")
	writeFiles(t, dir, map[string]string{"config/creds-" + ghp: "x\n"})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "add the credentials file")
	writeFiles(t, dir, map[string]string{"README.md": "# shop\n\nsee config\n"})
	git(t, dir, "commit", "-qam", "readme\n\nthe bot: "+xoxb)
	head := git(t, dir, "rev-parse", "HEAD")
	work := t.TempDir()
	out := filepath.Join(work, "out")
	outputs := map[string]string{}
	res := secgate(t, nil, "run", "--only", "secrets", "--base", base, "--head", head, "--format", "text",
		"--report", filepath.Join(out, "report.json"), "--sarif-file", filepath.Join(out, "secgate.sarif"),
		"--gitlab-reports", out, "--dotenv", filepath.Join(out, "secgate.env"), dir)
	if res.code != 1 {
		t.Fatalf("range run: exit %d, want 1 (the token-named file)\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	outputs["range stdout"], outputs["range stderr"] = res.stdout, res.stderr
	files := readAll(t, out)
	var rep struct {
		Findings []struct {
			Rule     string
			Location struct {
				Path   string
				Line   int
				Commit string
			}
		}
	}
	if err := json.Unmarshal([]byte(files[filepath.Join(out, "report.json")]), &rep); err != nil {
		t.Fatal(err)
	}
	var named, message bool
	for _, f := range rep.Findings {
		named = named || f.Rule == "github-pat" && strings.HasPrefix(f.Location.Path, "config/creds-") && f.Location.Line == 0
		message = message || f.Rule == "slack-bot-token" && f.Location.Path == "" && f.Location.Commit == head
	}
	if !named || !message {
		t.Errorf("the report must list the file name's token at its path (%v) and the message's at the commit (%v): %+v", named, message, rep.Findings)
	}
	for p, s := range files {
		outputs[p] = s
	}

	// GitHub Actions, a pull_request event, the comment on
	writeFiles(t, work, map[string]string{
		"event.json": `{"number":7,"pull_request":{"number":7,"base":{"ref":"main","sha":"` + base + `"},"head":{"ref":"pr","sha":"` + head + `","repo":{"full_name":"acme/shop"}}},"repository":{"full_name":"acme/shop","default_branch":"main"}}`,
		"gh/output":  "", "gh/summary.md": "",
	})
	api := githubtest.New(t)
	gh := map[string]string{
		"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": filepath.Join(work, "event.json"),
		"GITHUB_REPOSITORY": "acme/shop", "GITHUB_API_URL": api.Srv.URL, "GITHUB_SHA": head, "GITHUB_RUN_ID": "1",
		"GITHUB_OUTPUT": filepath.Join(work, "gh", "output"), "GITHUB_STEP_SUMMARY": filepath.Join(work, "gh", "summary.md"),
		"INPUT_TOKEN": api.Token, "INPUT_PATH": dir, "INPUT_ONLY": "secrets", "INPUT_COMMENT": "true", "INPUT_DRY-RUN": "false",
		"INPUT_SARIF-FILE": filepath.Join(work, "gh", "secgate.sarif"), "SECGATE_FORMAT": "markdown",
	}
	res = secgate(t, gh, "run")
	if res.code != 1 {
		t.Errorf("GitHub pull_request: exit %d, want 1\n%s", res.code, res.stderr)
	}
	outputs["GitHub stdout"], outputs["GitHub stderr"] = res.stdout, res.stderr
	for p, s := range readAll(t, filepath.Join(work, "gh")) {
		outputs["GitHub "+filepath.Base(p)] = s
	}
	for _, c := range api.Comments {
		outputs["GitHub comment"] += c["body"].(string)
	}
	if outputs["GitHub comment"] == "" {
		t.Error("no pull request comment: the test must see its body")
	}
	noPieceOf(t, []string{ghp, xoxb}, outputs)
	noFoldedPieceOf(t, []string{ghp, xoxb}, outputs)
}
