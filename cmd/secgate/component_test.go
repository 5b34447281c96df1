package main

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/secgate/secgate/gate/gitlab/gitlabtest"
	"github.com/secgate/secgate/gate/image/imagetest"
	"github.com/secgate/secgate/gate/secrets/secretstest"
)

// TestMain lets the test binary stand in for the secgate binary (main's
// start, the change of user included): the component's job scripts call
// `secgate`, a wrapper that runs this binary with SECGATE_TEST_AS_CLI=1,
// and the permission tests run it as other users.
func TestMain(m *testing.M) {
	if os.Getenv("SECGATE_TEST_AS_CLI") == "1" {
		os.Exit(start(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// component is templates/secgate.yml: its spec and its jobs.
type component struct {
	inputs map[string]struct {
		Default any
		Type    string
	}
	jobs string // the second document, inputs not yet interpolated
}

func readComponent(t *testing.T) component {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "templates", "secgate.yml"))
	if err != nil {
		t.Fatal(err)
	}
	spec, jobs, ok := strings.Cut(string(data), "\n---\n")
	if !ok {
		t.Fatal("templates/secgate.yml has no spec header")
	}
	var head struct {
		Spec struct {
			Inputs map[string]struct {
				Default any
				Type    string
			}
		}
	}
	if err := yaml.Unmarshal([]byte(spec), &head); err != nil {
		t.Fatal(err)
	}
	return component{inputs: head.Spec.Inputs, jobs: jobs}
}

var inputRef = regexp.MustCompile(`\$\[\[\s*inputs\.([a-z-]+)\s*\]\]`)

// interpolate does what GitLab does with $[[ inputs.NAME ]].
func (c component) interpolate(t *testing.T, values map[string]string) map[string]job {
	t.Helper()
	for name := range values {
		if _, ok := c.inputs[name]; !ok {
			t.Fatalf("input %s is not in the spec", name)
		}
	}
	text := inputRef.ReplaceAllStringFunc(c.jobs, func(ref string) string {
		name := inputRef.FindStringSubmatch(ref)[1]
		in, ok := c.inputs[name]
		if !ok {
			t.Errorf("the jobs use an undeclared input %s", name)
		}
		if v, ok := values[name]; ok {
			return v
		}
		return strings.TrimSpace(strings.Trim(strings.TrimSpace(yamlScalar(in.Default)), `"`))
	})
	for name := range c.inputs {
		if !strings.Contains(c.jobs, "inputs."+name+" ") {
			t.Errorf("input %s is declared but never used by the jobs", name)
		}
	}
	var jobs map[string]job
	if err := yaml.Unmarshal([]byte(text), &jobs); err != nil {
		t.Fatalf("the interpolated jobs do not parse: %v\n%s", err, text)
	}
	return jobs
}

func yamlScalar(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

type job struct {
	Extends   string
	Needs     []string
	Variables map[string]string
	Script    []string
	Artifacts struct {
		Paths   []string
		Reports map[string]string
	}
}

// runJob runs a job's script as a runner's shell executor would: one bash,
// errexit, the job's variables and the CI ones in the environment.
func runJob(t *testing.T, jobs map[string]job, name, dir string, ci map[string]string) (int, string) {
	t.Helper()
	j := jobs[name]
	vars := map[string]string{}
	if j.Extends != "" {
		maps.Copy(vars, jobs[j.Extends].Variables)
	}
	maps.Copy(vars, j.Variables)
	bin := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	wrapper := "#!/bin/sh\nSECGATE_TEST_AS_CLI=1 exec '" + self + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "secgate"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c", strings.Join(j.Script, "\n"))
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir(),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1"}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	for k, v := range ci {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String()
}

// The component's own jobs, inputs interpolated, against a fake GitLab:
// the scan job passes with a critical finding and writes three
// schema-valid reports and the dotenv; the enforce job fails; ten
// pipelines leave one issue per finding group.
func TestGitLabComponent(t *testing.T) {
	c := readComponent(t)
	tr := secretstest.New(t)
	writeFiles(t, tr.Root, map[string]string{"package-lock.json": `{"name":"shop","lockfileVersion":3,"packages":{"":{},"node_modules/minimist":{"version":"1.2.5"}}}`})
	img := imagetest.Archive(t, "registry.example/shop:1", imagetest.Build(t, imagetest.Spec{
		Layers: []map[string]string{{"app/node_modules/.package-lock.json": `{"name":"app","lockfileVersion":3,"packages":{"":{},"node_modules/lodash":{"version":"4.17.15"}}}`}},
	}))
	work := t.TempDir()
	writeFiles(t, work, map[string]string{"policy.yml": "deps: {max_db_age: 0}\n"}) // testdata/osvdb is frozen
	db, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "osvdb"))
	jobs := c.interpolate(t, map[string]string{
		"path": tr.Root, "offline-db": db, "policy": filepath.Join(work, "policy.yml"), "container-image": "docker-archive:" + img,
		"issue-labels": "team-payments", "sbom": "secgate-sbom.cdx.json", "sbom-format": "spdx", "vex-out": "secgate.vex.json",
	})
	for _, name := range []string{"secgate-scan", "secgate-enforce"} {
		if len(jobs[name].Script) == 0 {
			t.Fatalf("job %s has no script", name)
		}
	}
	if !slices.Contains(jobs["secgate-enforce"].Needs, "secgate-scan") {
		t.Error("secgate-enforce does not need secgate-scan")
	}
	api := gitlabtest.New(t)
	ci := map[string]string{"CI": "true", "GITLAB_CI": "true", "CI_API_V4_URL": api.URL(), "CI_PROJECT_ID": "42",
		"CI_COMMIT_SHA": "0123abcd", "CI_PIPELINE_SOURCE": "push", "SECGATE_GITLAB_TOKEN": api.Token}
	for run := 1; run <= 10; run++ {
		code, out := runJob(t, jobs, "secgate-scan", work, ci)
		if code != 0 {
			t.Fatalf("pipeline %d: secgate-scan exit %d (want 0: the verdict is enforce's)\n%s", run, code, out)
		}
		if code, out := runJob(t, jobs, "secgate-enforce", work, ci); code != 1 {
			t.Fatalf("pipeline %d: secgate-enforce exit %d, want 1\n%s", run, code, out)
		}
	}
	for typ, path := range jobs["secgate-scan"].Artifacts.Reports {
		data, err := os.ReadFile(filepath.Join(work, path))
		if err != nil {
			t.Errorf("report %s: %v", typ, err)
			continue
		}
		if typ == "dotenv" {
			if !strings.Contains(string(data), "SECGATE_VERDICT=fail\n") {
				t.Errorf("dotenv:\n%s", data)
			}
			continue
		}
		schema := map[string]string{"secret_detection": "secret-detection", "dependency_scanning": "dependency-scanning", "container_scanning": "container-scanning"}[typ]
		sch, err := jsonschema.NewCompiler().Compile(filepath.Join("..", "..", "testdata", "schemas", "gitlab", schema+"-report-format.json"))
		if err != nil {
			t.Fatal(err)
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(v); err != nil {
			t.Errorf("%s is not valid against GitLab's schema: %v", path, err)
		}
		var doc struct{ Vulnerabilities []json.RawMessage }
		if json.Unmarshal(data, &doc) != nil || len(doc.Vulnerabilities) == 0 {
			t.Errorf("%s has no vulnerability", path)
		}
		assertNoPiece(t, tr, map[string]string{path: string(data)})
	}
	// The SBOMs (the repository's, the image's) and the VEX document are
	// written in the format asked for, and kept as artifacts.
	var kept []string
	for _, pattern := range jobs["secgate-scan"].Artifacts.Paths {
		m, _ := filepath.Glob(filepath.Join(work, pattern))
		for _, f := range m {
			kept = append(kept, filepath.Base(f))
		}
	}
	for _, want := range []string{"secgate-sbom.cdx.json", "secgate-sbom-docker-archive_", "secgate.vex.json"} {
		i := slices.IndexFunc(kept, func(f string) bool { return strings.HasPrefix(f, want) })
		if i < 0 {
			t.Errorf("%s… is not kept as an artifact (kept: %v)", want, kept)
			continue
		}
		if b, _ := os.ReadFile(filepath.Join(work, kept[i])); strings.HasPrefix(want, "secgate-sbom") && !strings.Contains(string(b), `"spdxVersion": "SPDX-2.3"`) {
			t.Errorf("%s is not the SPDX SBOM asked for", kept[i])
		}
	}
	rep, _ := readReport(t, filepath.Join(work, "secgate-report.json"))
	groups := map[string]bool{}
	for _, is := range rep.Issues {
		groups[is.Fingerprint] = true
		if is.State != "unchanged" {
			t.Errorf("tenth pipeline: issue %+v", is)
		}
	}
	if len(groups) == 0 || len(api.Issues) != len(groups) {
		t.Errorf("%d issues for %d groups after ten pipelines", len(api.Issues), len(groups))
	}
	for _, is := range api.Issues {
		if labels := is["labels"].([]any); !slices.Contains(labels, any("team-payments")) {
			t.Errorf("labels %v", labels)
		}
	}

	// The lockfile's advisory is fixed: with close-resolved, its issue closes.
	if err := os.Remove(filepath.Join(tr.Root, "package-lock.json")); err != nil {
		t.Fatal(err)
	}
	closing := c.interpolate(t, map[string]string{
		"path": tr.Root, "offline-db": db, "policy": filepath.Join(work, "policy.yml"), "container-image": "docker-archive:" + img,
		"issue-labels": "team-payments", "close-resolved": "true",
	})
	if code, out := runJob(t, closing, "secgate-scan", work, ci); code != 0 {
		t.Fatalf("secgate-scan exit %d\n%s", code, out)
	}
	rep, _ = readReport(t, filepath.Join(work, "secgate-report.json"))
	closed := 0
	for _, is := range rep.Issues {
		if is.State == "closed" {
			closed++
			if !strings.Contains(is.Title, "minimist") {
				t.Errorf("closed %q, which is still found", is.Title)
			}
		}
	}
	if closed != 1 || len(api.Notes) != 1 {
		t.Errorf("closed %d issues with %d notes, want the minimist one", closed, len(api.Notes))
	}
}

// The README's include snippets use the component's real inputs.
func TestReadmeIncludesMatchTheComponent(t *testing.T) {
	c := readComponent(t)
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)```yaml\n(# include: [^\n]*\n.*?)```").FindAllSubmatch(readme, -1)
	if len(block) < 2 {
		t.Fatalf("%d include snippets in the README, want the component and the project include", len(block))
	}
	for _, b := range block {
		var doc struct {
			Include []struct {
				Component, Project, File string
				Inputs                   map[string]any
			}
		}
		if err := yaml.Unmarshal(b[1], &doc); err != nil || len(doc.Include) == 0 {
			t.Fatalf("snippet does not parse: %v\n%s", err, b[1])
		}
		for _, inc := range doc.Include {
			if inc.Project != "" && inc.File != "/templates/secgate.yml" {
				t.Errorf("the project include names %s, not /templates/secgate.yml", inc.File)
			}
			if inc.Component != "" && !strings.HasSuffix(strings.Split(inc.Component, "@")[0], "/secgate") {
				t.Errorf("component %s", inc.Component)
			}
			for name := range inc.Inputs {
				if _, ok := c.inputs[name]; !ok {
					t.Errorf("the README sets input %s, which the component does not have", name)
				}
			}
		}
	}
}
