package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/secgate/secgate/gate/github/githubtest"
	"github.com/secgate/secgate/gate/image/imagetest"
	"github.com/secgate/secgate/gate/repo/repotest"
	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/gate/secrets/secretstest"
	"github.com/secgate/secgate/policy"
)

type result struct {
	code           int
	stdout, stderr string
}

func secgate(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code := run(context.Background(), args, &out, &errb, lookup)
	return result{code, out.String(), errb.String()}
}

func readReport(t *testing.T, path string) (report.Report, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the report was not written: %v", err)
	}
	var r report.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("report %s: %v", path, err)
	}
	assertCountsListed(t, path, r)
	return r, b
}

// The acceptance test of the foundation: planted secrets fail the gate, each
// is listed with its gitleaks rule id, and no value appears anywhere.
func TestRunPlantedSecretsFailWithoutLeaking(t *testing.T) {
	tr := secretstest.New(t)
	reportPath := filepath.Join(t.TempDir(), "out", "secgate.json")

	res := secgate(t, nil, "run", "--format", "json", "--report", reportPath, tr.Root)
	if res.code != 1 {
		t.Fatalf("exit %d, want 1\nstderr: %s", res.code, res.stderr)
	}
	var stdoutRep report.Report
	if err := json.Unmarshal([]byte(res.stdout), &stdoutRep); err != nil {
		t.Fatalf("stdout is not the JSON report: %v", err)
	}
	fileRep, _ := readReport(t, reportPath)
	for _, rep := range []report.Report{stdoutRep, fileRep} {
		if rep.Verdict != policy.VerdictFail || rep.DeployAllowed || !rep.DryRun || rep.Version != 1 {
			t.Errorf("verdict %v deploy %v dry_run %v", rep.Verdict, rep.DeployAllowed, rep.DryRun)
		}
		rules := map[string]string{}
		for _, f := range rep.Findings {
			rules[f.Location.Path] += f.Rule + " "
		}
		for _, p := range tr.Planted {
			if !strings.Contains(rules[p.Path], p.Rule) {
				t.Errorf("%s: rules %q, want %s", p.Path, rules[p.Path], p.Rule)
			}
		}
		if rep.Counts.Critical != len(tr.Planted) {
			t.Errorf("counts %+v, want %d critical", rep.Counts, len(tr.Planted))
		}
	}

	// The same run with the text report, and verbose logs on stderr.
	text := secgate(t, nil, "run", "--verbose", tr.Root)
	if text.code != 1 || !strings.Contains(text.stdout, "Verdict  FAIL (exit 1") {
		t.Errorf("text run: exit %d\n%s", text.code, text.stdout)
	}
	if !strings.Contains(text.stderr, "scanner finished") {
		t.Errorf("--verbose logs nothing: %q", text.stderr)
	}
	_, fileBytes := readReport(t, reportPath)
	outputs := map[string]string{
		"json stdout": res.stdout, "json stderr": res.stderr, "report file": string(fileBytes),
		"text stdout": text.stdout, "text stderr": text.stderr,
	}
	assertNoPiece(t, tr, outputs)
}

// assertNoPiece greps every output for every 6-character piece of every
// planted secret: not even part of a value may leave the process.
func assertNoPiece(t *testing.T, tr *secretstest.Tree, outputs map[string]string) {
	t.Helper()
	pieces := tr.Pieces(6)
	if len(pieces) < 100 {
		t.Fatalf("only %d pieces: the planted tree is not what this test expects", len(pieces))
	}
	for name, out := range outputs {
		for _, p := range pieces {
			if i := strings.Index(out, p); i >= 0 {
				t.Errorf("%s contains a 6-character piece of a planted secret at byte %d", name, i)
				break
			}
		}
	}
}

func TestRunCleanDirectoryPasses(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := secgate(t, nil, "run", "--format", "json", dir)
	if res.code != 0 {
		t.Fatalf("exit %d: %s%s", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stderr, "dry run (CI is not set)") {
		t.Errorf("outside CI the run must say it is a dry run: %q", res.stderr)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil || rep.Verdict != policy.VerdictPass || !rep.DeployAllowed || len(rep.Findings) != 0 {
		t.Errorf("report %+v %v", rep, err)
	}

	ci := secgate(t, map[string]string{"CI": "true"}, "run", "--format", "json", dir)
	if ci.code != 0 || strings.Contains(ci.stderr, "dry run") || !strings.Contains(ci.stdout, `"dry_run": false`) {
		t.Errorf("in CI the run is real: exit %d %q", ci.code, ci.stderr)
	}
}

func TestRunMalformedPolicyExits2WithFileLine(t *testing.T) {
	tr := secretstest.New(t)
	if err := os.WriteFile(filepath.Join(tr.Root, ".secgate.yml"), []byte("version: 1\ntiers:\n  critical: 9.0\n  severe: 8.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	reportPath := filepath.Join(t.TempDir(), "r.json")
	res := secgate(t, nil, "run", "--report", reportPath, tr.Root)
	if res.code != 2 {
		t.Fatalf("exit %d, want 2", res.code)
	}
	want := filepath.Join(tr.Root, ".secgate.yml") + ":4:3:"
	if !strings.Contains(res.stderr, want) {
		t.Errorf("stderr %q does not name %s", res.stderr, want)
	}
	rep, _ := readReport(t, reportPath)
	if rep.Verdict != policy.VerdictError || len(rep.Errors) == 0 || !strings.Contains(rep.Errors[0], want) {
		t.Errorf("report %+v", rep)
	}
}

func TestRunExitCodes(t *testing.T) {
	tr := secretstest.New(t)
	lowered := filepath.Join(t.TempDir(), "policy.yml")
	if err := os.WriteFile(lowered, []byte("secrets: {tier: high}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
	}{
		{"secrets high outside production", nil, []string{"run", "--policy", lowered, "--environment", "staging", tr.Root}, 0},
		{"secrets high in production", nil, []string{"run", "--policy", lowered, "--environment", "production", tr.Root}, 1},
		{"GitLab environment variable", map[string]string{"CI_ENVIRONMENT_NAME": "prod"}, []string{"run", "--policy", lowered, tr.Root}, 1},
		{"GitLab tier", map[string]string{"CI_ENVIRONMENT_NAME": "eu-live", "CI_ENVIRONMENT_TIER": "production"}, []string{"run", "--policy", lowered, tr.Root}, 1},
		{"env twin of --environment", map[string]string{"SECGATE_ENVIRONMENT": "production", "SECGATE_POLICY": lowered}, []string{"run", tr.Root}, 1},
		{"env twin of --skip", map[string]string{"SECGATE_SKIP": "secrets,deps,manifests,dockerfile"}, []string{"run", tr.Root}, 2},
		{"flag wins over env", map[string]string{"SECGATE_ENVIRONMENT": "production"}, []string{"run", "--policy", lowered, "--environment", "dev", tr.Root}, 0},
		{"bad env value", map[string]string{"SECGATE_DRY_RUN": "perhaps"}, []string{"run", tr.Root}, 2},
		{"unknown flag", nil, []string{"run", "--frobnicate", tr.Root}, 2},
		{"unknown format", nil, []string{"run", "--format", "yaml", tr.Root}, 2},
		{"unknown scanner", nil, []string{"run", "--only", "sast", tr.Root}, 2},
		{"missing path", nil, []string{"run", filepath.Join(tr.Root, "nope")}, 2},
		{"missing image archive", nil, []string{"run", "--image", "docker-archive:" + filepath.Join(tr.Root, "x.tar"), tr.Root}, 2},
		{"bad revision", nil, []string{"run", "--base", "no-such-rev", tr.Root}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := secgate(t, tt.env, tt.args...)
			if res.code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", res.code, tt.code, res.stdout, res.stderr)
			}
		})
	}
}

func TestErrorsStillWriteTheReport(t *testing.T) {
	dir := t.TempDir()
	reportPath := filepath.Join(dir, "r.json")
	res := secgate(t, nil, "run", "--format", "sarif-v9", "--report", reportPath, dir)
	if res.code != 2 || !strings.Contains(res.stderr, `unknown report format "sarif-v9"`) {
		t.Fatalf("exit %d stderr %q", res.code, res.stderr)
	}
	rep, _ := readReport(t, reportPath)
	if rep.Verdict != policy.VerdictError {
		t.Errorf("verdict %v", rep.Verdict)
	}
}

func TestPolicyInitAndCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".secgate.yml")
	if res := secgate(t, nil, "policy", "init", path); res.code != 0 {
		t.Fatalf("init: %d %s", res.code, res.stderr)
	}
	b, err := os.ReadFile(path)
	if err != nil || !bytes.Contains(b, []byte("# ")) {
		t.Fatalf("init wrote %q, %v: want a commented file", b, err)
	}
	if res := secgate(t, nil, "policy", "init", path); res.code != 2 || !strings.Contains(res.stderr, "--force") {
		t.Errorf("init over an existing file: %d %q", res.code, res.stderr)
	}
	if res := secgate(t, nil, "policy", "check", path); res.code != 0 || !strings.Contains(res.stdout, "ok") {
		t.Errorf("check of the default: %d %q %q", res.code, res.stdout, res.stderr)
	}
	if err := os.WriteFile(path, []byte("exceptions:\n  - id: X\n    reason: old\n    expires: 2020-01-01\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := secgate(t, nil, "policy", "check", path); res.code != 0 || !strings.Contains(res.stdout, "expired on 2020-01-01") {
		t.Errorf("check must warn about expired exceptions: %d %q", res.code, res.stdout)
	}
	if err := os.WriteFile(path, []byte("actions:\n  high: explode\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := secgate(t, nil, "policy", "check", path); res.code != 2 || !strings.Contains(res.stderr, path+":2:9: unknown action") {
		t.Errorf("check of a bad file: %d %q", res.code, res.stderr)
	}
}

func TestVersion(t *testing.T) {
	res := secgate(t, nil, "version")
	if res.code != 0 || !strings.HasPrefix(res.stdout, "secgate ") {
		t.Errorf("%d %q", res.code, res.stdout)
	}
	// The scanners' libraries: the deps scanner's is osv-scalibr (issue 30).
	for _, lib := range []string{"\n  gitleaks v", "\n  osv-scalibr v"} {
		if !strings.Contains(res.stdout, lib) {
			t.Errorf("version names no %q:\n%s", strings.TrimSpace(lib), res.stdout)
		}
	}
}

func TestExceptionByFingerprintIgnoresASecret(t *testing.T) {
	tr := secretstest.New(t)
	first := secgate(t, nil, "run", "--format", "json", tr.Root)
	var rep report.Report
	if err := json.Unmarshal([]byte(first.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	var pol strings.Builder
	pol.WriteString("exceptions:\n")
	for _, f := range rep.Findings {
		pol.WriteString("  - id: " + f.Fingerprint + "\n    reason: revoked test key\n    expires: 2999-01-01\n    owner: qa\n")
	}
	if err := os.WriteFile(filepath.Join(tr.Root, ".secgate.yml"), []byte(pol.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	res := secgate(t, nil, "run", "--format", "json", tr.Root)
	if res.code != 0 {
		t.Fatalf("with every fingerprint excepted: exit %d\n%s", res.code, res.stderr)
	}
	var again report.Report
	if err := json.Unmarshal([]byte(res.stdout), &again); err != nil {
		t.Fatal(err)
	}
	if again.Counts != (policy.Counts{}) || len(again.Findings) != len(rep.Findings) {
		t.Errorf("counts %+v, %d findings", again.Counts, len(again.Findings))
	}
	for _, f := range again.Findings {
		if f.Action != policy.ActionIgnored || f.Ignored == nil || f.Ignored.Owner != "qa" {
			t.Errorf("finding %s not ignored: %+v", f.Fingerprint, f)
		}
	}
}

// The README's first command: the demo project against the offline copy of
// the real advisories shows every tier of the verdict.
func TestDemoShowsEveryTier(t *testing.T) {
	demo, db := filepath.Join("..", "..", "testdata", "demo"), filepath.Join("..", "..", "testdata", "osvdb")
	res := secgate(t, nil, "run", "--format", "json", "--offline-db", db, demo)
	if res.code != 1 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Counts.Critical == 0 || rep.Counts.High == 0 || rep.Counts.Medium == 0 || rep.Counts.Low == 0 {
		t.Errorf("counts %+v: the demo must show every tier", rep.Counts)
	}
	kinds := map[policy.Kind]int{}
	for _, f := range rep.Findings {
		kinds[f.Kind]++
	}
	if kinds[policy.KindSecret] != 5 || kinds[policy.KindVulnerability] != 7 {
		t.Errorf("findings per kind %v", kinds)
	}
}

func TestDepsFailureExits2WithReport(t *testing.T) {
	dir := t.TempDir()
	lock := `{"name":"x","version":"1.0.0","lockfileVersion":3,"packages":{"":{"name":"x","version":"1.0.0"},"node_modules/lodash":{"version":"4.17.15"}}}`
	if err := os.WriteFile(filepath.Join(dir, "package-lock.json"), []byte(lock), 0o644); err != nil {
		t.Fatal(err)
	}
	emptyDB := t.TempDir()
	reportPath := filepath.Join(t.TempDir(), "r.json")
	res := secgate(t, nil, "run", "--offline-db", emptyDB, "--report", reportPath, dir)
	if res.code != 2 || !strings.Contains(res.stderr, "has no npm data") {
		t.Fatalf("exit %d, stderr %q: want 2 and the missing npm database named", res.code, res.stderr)
	}
	rep, _ := readReport(t, reportPath)
	var deps report.Scanner
	for _, s := range rep.Scanners {
		if s.Name == "deps" {
			deps = s
		}
	}
	if rep.Verdict != policy.VerdictError || deps.Status != report.StatusError || !strings.Contains(deps.Error, emptyDB) {
		t.Errorf("verdict %v, deps %+v", rep.Verdict, deps)
	}
}

func TestImageEndToEnd(t *testing.T) {
	tok := secretstest.GitHubPAT(t)
	img := imagetest.Build(t, imagetest.Spec{
		Layers: []map[string]string{{"app/server.js": "require('http').createServer().listen(8080)\n"}},
		Env:    []string{"GITHUB_TOKEN=" + tok},
	})
	path := imagetest.Archive(t, "registry.example/app:1", img)
	reportPath := filepath.Join(t.TempDir(), "r.json")
	// testdata/osvdb is a frozen copy: its age is not checked.
	frozen := filepath.Join(t.TempDir(), "policy.yml")
	writeFiles(t, filepath.Dir(frozen), map[string]string{"policy.yml": "deps: {max_db_age: 0}\n"})
	res := secgate(t, nil, "run", "--image", "docker-archive:"+path, "--offline-db", filepath.Join("..", "..", "testdata", "osvdb"),
		"--policy", frozen, "--environment", "production", "--report", reportPath, t.TempDir())
	if res.code != 1 {
		t.Fatalf("exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	rep, raw := readReport(t, reportPath)
	rules := map[string]bool{}
	for _, f := range rep.Findings {
		rules[f.Rule] = true
	}
	if !rules["image-runs-as-root"] || !rules["github-pat"] {
		t.Errorf("rules %v: want the root user and the token in ENV", rules)
	}
	if strings.Contains(string(raw)+res.stdout+res.stderr, tok) {
		t.Error("the token in the image's ENV leaks into an output")
	}
	// The checked image, as data: what signing will read.
	digest, _ := img.Digest()
	id, _ := img.ConfigName()
	if len(rep.Images) != 1 || rep.Images[0].Repository != "registry.example/app" || len(rep.Images[0].Images) != 1 ||
		rep.Images[0].Images[0].Digest != digest.String() || rep.Images[0].Images[0].ImageID != id.String() {
		t.Errorf("images %+v, want registry.example/app with digest %s and image id %s", rep.Images, digest, id)
	}
}

// The report is written in every outcome: a bad flag, a bad SECGATE_*
// value, a report file that cannot be written. Each says error with
// deploy_allowed false, so that a deploy step reading it cannot deploy.
func TestReportInEveryOutcome(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{"unknown flag", nil, []string{"run", "--frobnicate", "--report", "REPORT", dir}, "unknown flag: --frobnicate"},
		{"bad flag value", nil, []string{"run", "--dry-run=perhaps", "--report=REPORT", dir}, `invalid argument "perhaps"`},
		{"report path from env, bad flag", map[string]string{"SECGATE_REPORT": "REPORT"}, []string{"run", "--frobnicate", dir}, "unknown flag: --frobnicate"},
		{"bad env value", map[string]string{"SECGATE_DRY_RUN": "perhaps"}, []string{"run", "--report", "REPORT", dir}, `SECGATE_DRY_RUN="perhaps"`},
		{"bad env value, report from env", map[string]string{"SECGATE_DRY_RUN": "perhaps", "SECGATE_REPORT": "REPORT"}, []string{"run", dir}, `SECGATE_DRY_RUN="perhaps"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "r.json")
			env := map[string]string{}
			for k, v := range tt.env {
				env[k] = strings.ReplaceAll(v, "REPORT", path)
			}
			var args []string
			for _, a := range tt.args {
				args = append(args, strings.ReplaceAll(a, "REPORT", path))
			}
			res := secgate(t, env, args...)
			if res.code != 2 {
				t.Fatalf("exit %d, want 2\nstderr: %s", res.code, res.stderr)
			}
			rep, _ := readReport(t, path)
			if rep.Verdict != policy.VerdictError || rep.DeployAllowed || len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0], tt.wantErr) {
				t.Errorf("report: verdict %v deploy_allowed %v errors %q, want error, false, %q", rep.Verdict, rep.DeployAllowed, rep.Errors, tt.wantErr)
			}
		})
	}

	t.Run("bad flag with --format json: the report on stdout too", func(t *testing.T) {
		res := secgate(t, nil, "run", "--format", "json", "--frobnicate", dir)
		var rep report.Report
		if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
			t.Fatalf("stdout is not a JSON report: %v\n%s", err, res.stdout)
		}
		if res.code != 2 || rep.Verdict != policy.VerdictError || rep.DeployAllowed {
			t.Errorf("exit %d verdict %v deploy %v", res.code, rep.Verdict, rep.DeployAllowed)
		}
	})

	t.Run("report file cannot be written", func(t *testing.T) {
		clean := t.TempDir()
		blocker := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(blocker, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		// A clean tree passes; only the report write fails.
		res := secgate(t, nil, "run", "--only", "secrets", "--format", "json", "--report", filepath.Join(blocker, "r.json"), clean)
		var rep report.Report
		if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
			t.Fatalf("stdout is not a JSON report: %v\n%s", err, res.stdout)
		}
		if res.code != 2 || rep.Verdict != policy.VerdictError || rep.DeployAllowed {
			t.Errorf("exit %d verdict %v deploy_allowed %v, want 2, error, false", res.code, rep.Verdict, rep.DeployAllowed)
		}
		if len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0], "writing report "+filepath.Join(blocker, "r.json")) {
			t.Errorf("errors %q must name the report file", rep.Errors)
		}
	})
}

var git = repotest.Git

// baseRepo is a repository on main with one commit, a README: the base
// of the pull requests the tests make.
func baseRepo(t *testing.T, readme string) (dir, base string) {
	t.Helper()
	dir = t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	writeFiles(t, dir, map[string]string{"README.md": readme})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "base")
	return dir, git(t, dir, "rev-parse", "HEAD")
}

var writeFiles = repotest.Write

// commitOnMain commits dir's files as branch main: a GitHub run whose
// event gives no base (workflow_dispatch) judges the whole tree only for
// a commit of the default branch's history.
func commitOnMain(t *testing.T, dir string) {
	t.Helper()
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "main")
}

// A pull request cannot pass by excusing itself: the exception it adds to
// .secgate.yml for its own leaked token, and the entry it adds to
// .gitleaksignore, are not applied (the base revision's files are), and
// each edit is a finding for review.
func TestPullRequestCannotExcuseItsOwnSecret(t *testing.T) {
	dir, base := baseRepo(t, "# app\n")

	writeFiles(t, dir, map[string]string{"deploy.sh": "curl -H 'Authorization: token " + secretstest.GitHubPAT(t) + "' https://api.github.com/user\n"})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "add a deploy script")
	reportPath := filepath.Join(t.TempDir(), "r.json")
	if res := secgate(t, nil, "run", "--only", "secrets", "--report", reportPath, dir); res.code != 1 {
		t.Fatalf("the leaked token must fail the gate: exit %d", res.code)
	}
	leaked, _ := readReport(t, reportPath)
	fp := leaked.Findings[0].Fingerprint

	// The same pull request now excuses itself, twice over.
	writeFiles(t, dir, map[string]string{
		".secgate.yml":    "exceptions:\n  - id: " + fp + "\n    reason: test token\n    expires: 2099-01-01\n",
		".gitleaksignore": "deploy.sh:github-pat:1\n",
	})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "silence the gate")

	// Judged as a plain tree, the repository's own files apply...
	if res := secgate(t, nil, "run", "--only", "secrets", dir); res.code != 0 {
		t.Fatalf("outside a pull request the repository's exception applies: exit %d\n%s", res.code, res.stdout)
	}
	// ...judged as the pull request it is, they do not.
	res := secgate(t, nil, "run", "--skip", "deps", "--base", base, "--pull-request", "--report", reportPath, dir)
	if res.code != 1 {
		t.Fatalf("exit %d, want 1 (the token fails the gate)\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	rep, _ := readReport(t, reportPath)
	var secret int
	changed := map[string]policy.Finding{}
	for _, f := range rep.Findings {
		switch f.Kind {
		case policy.KindSecret:
			secret++
			if f.Action != policy.ActionFail || f.Ignored != nil {
				t.Errorf("the token: action %s ignored %+v, want fail", f.Action, f.Ignored)
			}
		case policy.KindConfig:
			changed[f.Location.Path] = f
		}
	}
	if secret != 1 {
		t.Errorf("%d secret findings, want 1", secret)
	}
	for _, p := range []string{".secgate.yml", ".gitleaksignore"} {
		f, ok := changed[p]
		if !ok || f.Severity != policy.High || f.Action != policy.ActionBlockProduction || f.Rule != "config-file-changed" {
			t.Errorf("%s: finding %+v, want a high config-file-changed finding", p, f)
		}
	}
	if len(changed) != 2 {
		t.Errorf("config findings %v, want the two edited files only", changed)
	}
}

// A configuration file that is a symlink out of the tree is refused.
func TestConfigSymlinkOutOfTreeRefused(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "lenient.yml")
	writeFiles(t, filepath.Dir(outside), map[string]string{"lenient.yml": "secrets: {tier: low}\n"})
	for _, name := range []string{".secgate.yml", ".gitleaks.toml"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Symlink(outside, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
			res := secgate(t, nil, "run", "--only", "secrets", dir)
			if res.code != 2 || !strings.Contains(res.stderr, "is a symlink that leaves the scanned tree: refused") {
				t.Errorf("exit %d stderr %q", res.code, res.stderr)
			}
		})
	}
	// A symlink within the tree is fine.
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"ci/secgate.yml": "secrets: {tier: critical}\n"})
	if err := os.Symlink(filepath.Join("ci", "secgate.yml"), filepath.Join(dir, ".secgate.yml")); err != nil {
		t.Fatal(err)
	}
	if res := secgate(t, nil, "run", "--only", "secrets", dir); res.code != 0 {
		t.Errorf("in-tree symlink: exit %d %s", res.code, res.stderr)
	}
}

// --format sarif and --sarif-file write SARIF 2.1.0, secrets redacted.
func TestSARIFOutputs(t *testing.T) {
	tr := secretstest.New(t)
	sarifPath := filepath.Join(t.TempDir(), "out", "secgate.sarif")
	res := secgate(t, nil, "run", "--only", "secrets", "--format", "sarif", "--sarif-file", sarifPath, tr.Root)
	if res.code != 1 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	file, err := os.ReadFile(sarifPath)
	if err != nil {
		t.Fatal(err)
	}
	if string(file) != res.stdout {
		t.Error("--sarif-file and --format sarif differ")
	}
	var doc struct {
		Version string
		Runs    []struct{ Results []json.RawMessage }
	}
	if err := json.Unmarshal(file, &doc); err != nil || doc.Version != "2.1.0" || len(doc.Runs) != 1 || len(doc.Runs[0].Results) != len(tr.Planted) {
		t.Fatalf("SARIF %v: version %q, %d runs", err, doc.Version, len(doc.Runs))
	}
	assertNoPiece(t, tr, map[string]string{"sarif": string(file)})
}

// The action end to end: inputs from INPUT_*, the context from GITHUB_*
// and a pull_request event, against a fake of the REST API. Ten runs leave
// one issue per finding group and one pull request comment; outputs,
// summary, annotations and SARIF are written; no secret leaves.
func TestGitHubAction(t *testing.T) {
	dir, base := baseRepo(t, "# shop\n")
	tok := secretstest.GitHubPAT(t)
	writeFiles(t, dir, map[string]string{
		"deploy.sh":         "curl -H 'Authorization: token " + tok + "' https://api.github.com/user\n",
		"package-lock.json": `{"name":"shop","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"shop","version":"1.0.0"},"node_modules/minimist":{"version":"1.2.5"},"node_modules/lodash":{"version":"4.17.15"}}}`,
	})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "deploy script")
	head := git(t, dir, "rev-parse", "HEAD")

	work := t.TempDir()
	event := filepath.Join(work, "event.json")
	writeFiles(t, work, map[string]string{
		"event.json": `{"action":"synchronize","number":7,"pull_request":{"number":7,"base":{"ref":"main","sha":"` + base + `"},"head":{"ref":"feature","sha":"` + head + `","repo":{"full_name":"acme/shop"}}},"repository":{"full_name":"acme/shop","default_branch":"main"}}`,
		"policy.yml": "deps: {max_db_age: 0}\n", // testdata/osvdb is a frozen copy
	})
	api := githubtest.New(t)
	db, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "osvdb"))
	env := func(run int) map[string]string {
		return map[string]string{
			"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": event,
			"GITHUB_REPOSITORY": "acme/shop", "GITHUB_API_URL": api.Srv.URL, "GITHUB_SERVER_URL": "https://github.com",
			"GITHUB_SHA": head, "GITHUB_RUN_ID": strconv.Itoa(run),
			"GITHUB_OUTPUT": filepath.Join(work, "output"), "GITHUB_STEP_SUMMARY": filepath.Join(work, "summary.md"),
			"INPUT_TOKEN": api.Token, "INPUT_PATH": dir, "INPUT_OFFLINE-DB": db, "INPUT_POLICY": filepath.Join(work, "policy.yml"),
			"INPUT_FILE-ISSUES": "true", "INPUT_COMMENT": "true", "INPUT_ENVIRONMENT": "staging", "INPUT_DRY-RUN": "false",
			"INPUT_SARIF-FILE": filepath.Join(work, "secgate.sarif"), "INPUT_REPORT-FILE": filepath.Join(work, "report.json"),
			"INPUT_SCANNERS": "", "INPUT_FAIL-ON-ERROR": "false",
		}
	}
	var res result
	for run := 1; run <= 10; run++ {
		for _, f := range []string{"output", "summary.md"} {
			_ = os.Remove(filepath.Join(work, f))
		}
		res = secgate(t, env(run), "run")
		if res.code != 1 {
			t.Fatalf("run %d: exit %d, want 1 (a leaked token fails)\n%s\n%s", run, res.code, res.stdout, res.stderr)
		}
	}
	rep, raw := readReport(t, filepath.Join(work, "report.json"))
	// The range came from the event.
	if !strings.Contains(strings.Join(rep.Reasons, "\n"), "pull request #7") {
		t.Errorf("reasons %q do not name the pull request", rep.Reasons)
	}
	groups := 0
	for _, is := range rep.Issues {
		if is.State != "unchanged" || !strings.HasPrefix(is.URL, "https://github.com/acme/shop/issues/") {
			t.Errorf("tenth run: issue %+v, want unchanged", is)
		}
		groups++
	}
	if groups == 0 || len(api.Issues) != groups {
		t.Errorf("%d issues in the tracker, %d groups in the report: want one issue per group", len(api.Issues), groups)
	}
	prComments := 0
	for _, c := range api.Comments {
		if c["issue_number"] == 7 {
			prComments++
			if !strings.Contains(c["body"].(string), "<!-- secgate:pr-comment -->") {
				t.Error("the comment has no marker")
			}
		}
	}
	if prComments != 1 {
		t.Errorf("%d comments on the pull request after ten runs, want 1", prComments)
	}
	out, _ := os.ReadFile(filepath.Join(work, "output"))
	for _, want := range []string{"verdict<<", "\nfail\n", "deploy-allowed<<", "\nfalse\n", "critical<<", "issues<<", "report-file<<"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("outputs lack %q:\n%s", want, out)
		}
	}
	summary, _ := os.ReadFile(filepath.Join(work, "summary.md"))
	if !strings.Contains(string(summary), "❌ **FAIL**") || !strings.Contains(string(summary), "https://github.com/acme/shop/blob/"+head+"/deploy.sh#L1") {
		t.Errorf("summary:\n%s", summary)
	}
	// Workflow commands go to stderr (the runner reads it for them too),
	// so that stdout stays the report.
	if !strings.Contains(res.stderr, "::error file=deploy.sh,line=1,title=secgate%3A critical github-pat::") || strings.Contains(res.stdout, "::") {
		t.Errorf("no annotation on deploy.sh:1 in stderr, or one in stdout:\n%s\n%s", res.stderr, res.stdout)
	}
	sarif, err := os.ReadFile(filepath.Join(work, "secgate.sarif"))
	if err != nil || !strings.Contains(string(sarif), `"version": "2.1.0"`) {
		t.Errorf("SARIF: %v", err)
	}
	var bodies strings.Builder
	for _, is := range api.Issues {
		bodies.WriteString(is["body"].(string))
	}
	for _, c := range api.Comments {
		bodies.WriteString(c["body"].(string))
	}
	for name, text := range map[string]string{"stdout": res.stdout, "stderr": res.stderr, "outputs": string(out), "summary": string(summary),
		"sarif": string(sarif), "report": string(raw), "issues and comments": bodies.String()} {
		for i := 0; i+6 <= len(tok)-4; i++ {
			if p := tok[4+i : 4+i+6]; strings.Contains(text, p) {
				t.Errorf("%s contains a piece of the token", name)
				break
			}
		}
	}
}

// A tracker that refuses (a 401: retries are gate/github's tests) does not lose the report: the verdict
// stands, the report and summary say what failed, and only fail-on-error
// turns it into exit 2.
func TestGitHubActionTrackerFailure(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"deploy.sh": "curl -H 'Authorization: token " + secretstest.GitHubPAT(t) + "' https://api.github.com/user\n"})
	commitOnMain(t, dir) // a manual run of the default branch: the whole tree
	work := t.TempDir()
	writeFiles(t, work, map[string]string{"event.json": `{"repository":{"full_name":"acme/shop","default_branch":"main"}}`})
	api := githubtest.New(t)
	api.Faults["POST /repos/acme/shop/issues"] = []int{http.StatusUnauthorized}
	for _, failOnError := range []string{"false", "true"} {
		env := map[string]string{
			"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "workflow_dispatch", "GITHUB_EVENT_PATH": filepath.Join(work, "event.json"),
			"GITHUB_REPOSITORY": "acme/shop", "GITHUB_API_URL": api.Srv.URL, "GITHUB_OUTPUT": filepath.Join(work, "output"),
			"GITHUB_STEP_SUMMARY": filepath.Join(work, "summary.md"), "INPUT_TOKEN": api.Token, "INPUT_PATH": dir,
			"INPUT_SCANNERS": "secrets", "INPUT_FILE-ISSUES": "true", "INPUT_FAIL-ON-ERROR": failOnError,
			"INPUT_REPORT-FILE": filepath.Join(work, "report.json"),
		}
		res := secgate(t, env, "run")
		want := 1
		if failOnError == "true" {
			want = 2
		}
		if res.code != want {
			t.Errorf("fail-on-error=%s: exit %d, want %d\n%s", failOnError, res.code, want, res.stderr)
		}
		rep, _ := readReport(t, filepath.Join(work, "report.json"))
		if len(rep.Issues) != 1 || rep.Issues[0].State != "error" || !strings.Contains(strings.Join(rep.Warnings, "\n"), "401") {
			t.Errorf("report issues %+v warnings %q", rep.Issues, rep.Warnings)
		}
		summary, _ := os.ReadFile(filepath.Join(work, "summary.md"))
		if !strings.Contains(string(summary), "error") {
			t.Errorf("the summary does not say the filing failed:\n%s", summary)
		}
		api.Faults["POST /repos/acme/shop/issues"] = []int{http.StatusUnauthorized}
	}
}

// enforce turns a recorded verdict into the exit code, and refuses a
// report it cannot trust.
func TestEnforce(t *testing.T) {
	tr := secretstest.New(t)
	dir := t.TempDir()
	failing, passing := filepath.Join(dir, "fail.json"), filepath.Join(dir, "pass.json")
	if res := secgate(t, nil, "run", "--only", "secrets", "--environment", "production", "--report", failing, tr.Root); res.code != 1 {
		t.Fatalf("scan: exit %d", res.code)
	}
	if res := secgate(t, nil, "run", "--only", "secrets", "--report", passing, t.TempDir()); res.code != 0 {
		t.Fatalf("scan: exit %d", res.code)
	}
	good, _ := os.ReadFile(passing)
	writeFiles(t, dir, map[string]string{
		"garbled.json": string(good[:len(good)/2]),
		"unknown.json": strings.Replace(string(good), `"version": 1,`, `"version": 1, "verdikt": "pass",`, 1),
		"v2.json":      strings.Replace(string(good), `"version": 1,`, `"version": 2,`, 1),
	})
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"enforce", failing}, 1, "FAIL (exit 1"},
		{[]string{"enforce", "--environment", "production", failing}, 1, "FAIL"},
		{[]string{"enforce", passing}, 0, "PASS (exit 0"},
		{[]string{"enforce", "--environment", "production", passing}, 2, `made for environment "", not "production"`},
		{[]string{"enforce", filepath.Join(dir, "missing.json")}, 2, "no such file"},
		{[]string{"enforce", filepath.Join(dir, "garbled.json")}, 2, "is not a secgate report"},
		{[]string{"enforce", filepath.Join(dir, "unknown.json")}, 2, `unknown field "verdikt"`},
		{[]string{"enforce", filepath.Join(dir, "v2.json")}, 2, "contract version 2"},
	} {
		res := secgate(t, nil, tt.args...)
		if res.code != tt.code || !strings.Contains(res.stdout+res.stderr, tt.want) {
			t.Errorf("%v: exit %d, want %d and %q\n%s%s", tt.args, res.code, tt.code, tt.want, res.stdout, res.stderr)
		}
	}
}

// The GitLab files: the security reports of the scanners that ran, and the
// dotenv verdict.
func TestGitLabFiles(t *testing.T) {
	tr := secretstest.New(t)
	out := t.TempDir()
	res := secgate(t, map[string]string{"CI_COMMIT_SHA": "0123abcd"}, "run", "--only", "secrets", "--gitlab-reports", out, "--dotenv", filepath.Join(out, "secgate.env"), tr.Root)
	if res.code != 1 {
		t.Fatalf("exit %d", res.code)
	}
	entries, _ := os.ReadDir(out)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "gl-secret_detection-report.json secgate.env" {
		t.Errorf("files %v: want the secrets report (the only scanner run) and the dotenv", names)
	}
	env, _ := os.ReadFile(filepath.Join(out, "secgate.env"))
	if !strings.Contains(string(env), "SECGATE_VERDICT=fail\n") || !strings.Contains(string(env), "SECGATE_DEPLOY_ALLOWED=false\n") {
		t.Errorf("dotenv:\n%s", env)
	}
	gl, _ := os.ReadFile(filepath.Join(out, "gl-secret_detection-report.json"))
	assertNoPiece(t, tr, map[string]string{"gitlab report": string(gl), "dotenv": string(env)})
}

// Issue 26 end to end: what pip and npm install is what the gate checks.
// Each tree holds a high or critical advisory presented as a package
// manager reads it and osv-scanner did not; in production the gate stops
// (exit 1). A lockfile that declares packages and gives none is exit 2,
// or with deps.unparsable: warn a warning.
func TestDepsReadAsInstalled(t *testing.T) {
	db, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "osvdb"))
	policyFile := func(t *testing.T, body string) string {
		p := filepath.Join(t.TempDir(), "policy.yml")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lock := `{"name":"x","version":"1.0.0","lockfileVersion":3,"packages":{"":{"name":"x","version":"1.0.0"},"node_modules/minimist":{"version":"1.2.5"}}}`
	for _, tt := range []struct {
		name  string
		files map[string]string
		link  [2]string // link, target
		id    string
	}{
		{"a symlinked requirements.txt", map[string]string{"shared/pins.pip": "urllib3==2.0.4\n"}, [2]string{"api/requirements.txt", "../shared/pins.pip"}, "PYSEC-2023-192"},
		{"a BOM", map[string]string{"requirements.txt": "\ufeffurllib3==2.0.4\n"}, [2]string{}, "PYSEC-2023-192"},
		{"a BOM'd package-lock.json", map[string]string{"package-lock.json": "\ufeff" + lock}, [2]string{}, "GHSA-xvch-5gv4-984h"},
		{"a v prefix", map[string]string{"requirements.txt": "urllib3==v2.0.4\n"}, [2]string{}, "PYSEC-2023-192"},
		{"trailing zeros", map[string]string{"requirements.txt": "urllib3==2.0.4.0\n"}, [2]string{}, "PYSEC-2023-192"},
		{"requirements/ with -r", map[string]string{"requirements/production.txt": "-r base.txt\n", "requirements/base.txt": "urllib3==2.0.4\n"}, [2]string{}, "PYSEC-2023-192"},
		{"constraints.txt", map[string]string{"constraints.txt": "urllib3==2.0.4\n"}, [2]string{}, "PYSEC-2023-192"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			if tt.link[0] != "" {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, tt.link[0])), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(tt.link[1], filepath.Join(dir, tt.link[0])); err != nil {
					t.Fatal(err)
				}
			}
			res := secgate(t, nil, "run", "--only", "deps", "--format", "json", "--offline-db", db,
				"--policy", policyFile(t, "deps: {max_db_age: 0}\n"), "--environment", "production", dir)
			if res.code != 1 || !strings.Contains(res.stdout, `"id": "`+tt.id+`"`) && !strings.Contains(res.stdout, `"`+tt.id+`"`) {
				t.Errorf("exit %d, want 1 with %s\nstdout: %.2000s\nstderr: %s", res.code, tt.id, res.stdout, res.stderr)
			}
		})
	}

	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"requirements.txt": "urllib3==${URLLIB3_VERSION}\n", "api/requirements.txt": "requests==2.31.0\n"})
	res := secgate(t, nil, "run", "--only", "deps", "--offline-db", db, "--policy", policyFile(t, "deps: {max_db_age: 0}\n"), dir)
	if res.code != 2 || !strings.Contains(res.stderr, "requirements.txt: read as python/requirements, it declares packages and gave none") {
		t.Errorf("exit %d, want 2 naming requirements.txt\nstderr: %s", res.code, res.stderr)
	}
	reportPath := filepath.Join(t.TempDir(), "r.json")
	res = secgate(t, nil, "run", "--only", "deps", "--offline-db", db, "--report", reportPath,
		"--policy", policyFile(t, "deps: {max_db_age: 0, unparsable: warn}\n"), dir)
	rep, _ := readReport(t, reportPath)
	if res.code != 0 || len(rep.Warnings) == 0 || !strings.HasPrefix(rep.Warnings[0], "deps: requirements.txt: ") {
		t.Errorf("deps.unparsable: warn: exit %d warnings %q\nstderr: %s", res.code, rep.Warnings, res.stderr)
	}
}

// `policy check` quotes what it refuses (a key, a value, an exception's
// id): a token written there is redacted from everything it prints, in
// every place the parser quotes it.
func TestPolicyCheckRedacts(t *testing.T) {
	path := filepath.Join(t.TempDir(), policy.FileName)
	ghp, slack := secretstest.GitHubPAT(t), "xoxb-"+secretstest.Random(t, "0123456789", 12)+"-"+secretstest.Random(t, "0123456789", 13)+"-"+secretstest.Random(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 24)
	for _, file := range []string{
		"version: 1\n" + ghp + ": 1\n",                                               // an unknown key
		"unscored: \"" + ghp + "\"\n",                                                // an unknown severity
		"actions: {critical: \"" + slack + "\"}\n",                                   // an unknown action
		"checks: {" + ghp + ": high}\n",                                              // an unknown check
		"exceptions:\n  - id: " + ghp + "\n    reason: r\n    expires: 2020-01-01\n", // an expired exception's line
		"exceptions:\n  - id: X\n    reason: r\n    owner: \"" + ghp + "\"\n    expires: 2020-01-01\n",
	} {
		if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
			t.Fatal(err)
		}
		res := secgate(t, nil, "policy", "check", path)
		if res.code == 0 && !strings.Contains(res.stdout, "ok") {
			t.Errorf("%q: exit 0 without ok: %q", file, res.stdout)
		}
		for _, v := range []string{ghp[len("ghp_"):], slack[len("xoxb-"):]} {
			for i := 0; i+6 <= len(v); i++ {
				if p := v[i : i+6]; strings.Contains(res.stdout+res.stderr, p) {
					t.Errorf("%q: the output holds %q of a planted value:\n%s%s", file, p, res.stdout, res.stderr)
					break
				}
			}
		}
	}
}

// A pull request can commit links where the gate writes its files: the
// files replace the links, never write through them, and enforce refuses a
// report that is a link (to a passing report committed beside it).
func TestOutputLinksNotFollowed(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app.txt"), []byte("nothing here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	report, sarif := filepath.Join(dir, "secgate-report.json"), filepath.Join(dir, "out.sarif")
	for _, l := range []string{report, sarif} {
		if err := os.Symlink(victim, l); err != nil {
			t.Fatal(err)
		}
	}
	res := secgate(t, nil, "run", "--only", "secrets", "--report", report, "--sarif-file", sarif, dir)
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep\n" {
		t.Errorf("the link's target was written: %.80q", b)
	}
	for _, p := range []string{report, sarif} {
		if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s: %v %v, want a regular file in place of the link", p, fi, err)
		}
	}
	// enforce: a link to a passing report is not read
	link := filepath.Join(dir, "linked.json")
	if err := os.Symlink(report, link); err != nil {
		t.Fatal(err)
	}
	if res := secgate(t, nil, "enforce", link); res.code != 2 || !strings.Contains(res.stderr, "symbolic link") {
		t.Errorf("enforce on a link: exit %d %q, want 2", res.code, res.stderr)
	}
	if res := secgate(t, nil, "enforce", report); res.code != 0 {
		t.Errorf("enforce on the file itself: exit %d %q", res.code, res.stderr)
	}
}

// Nor by loosening the secret rules themselves: a .gitleaks.toml the pull
// request adds (every path allowlisted, the token's rule disabled) is not
// applied to it, in a commit range and in the PR's own tree alike, and is
// a finding for review.
func TestPullRequestCannotLoosenTheRules(t *testing.T) {
	dir, base := baseRepo(t, "# app\n")
	writeFiles(t, dir, map[string]string{
		"app.env": "GITHUB_TOKEN=" + secretstest.GitHubPAT(t) + "\n",
		".gitleaks.toml": "[extend]\nuseDefault = true\ndisabledRules = [\"github-pat\"]\n\n" +
			"[[allowlists]]\ndescription = \"everything\"\npaths = ['''.*''']\nregexes = ['''.*''']\n",
	})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "configure secrets")
	if res := secgate(t, nil, "run", "--only", "secrets", dir); res.code != 0 {
		t.Fatalf("the repository's own rules apply outside a pull request: exit %d\n%s", res.code, res.stdout)
	}
	reportPath := filepath.Join(t.TempDir(), "r.json")
	res := secgate(t, nil, "run", "--only", "secrets,config", "--base", base, "--pull-request", "--report", reportPath, dir)
	if res.code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	rep, _ := readReport(t, reportPath)
	var token, changed bool
	for _, f := range rep.Findings {
		token = token || f.Rule == "github-pat" && f.Location.Path == "app.env" && f.Action == policy.ActionFail
		changed = changed || f.Kind == policy.KindConfig && f.Location.Path == ".gitleaks.toml"
	}
	if !token || !changed {
		t.Errorf("token failing: %v, .gitleaks.toml a finding: %v\n%s", token, changed, res.stdout)
	}
}
