package secrets

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/zricethezav/gitleaks/v8/sources"

	"github.com/secgate/secgate/gate/repo/repotest"
	"github.com/secgate/secgate/gate/secrets/secretstest"
	"github.com/secgate/secgate/policy"
)

func scan(t *testing.T, opts Options) policy.ScanResult {
	t.Helper()
	res, err := New(opts).Scan(context.Background())
	if err != nil {
		t.Fatalf("Scan(%+v): %v", opts, err)
	}
	return res
}

var previewShape = regexp.MustCompile(`^… \(\d+ chars\)$`)

func key(path string, line int) string { return fmt.Sprintf("%s:%d", path, line) }

func TestScanTreeFindsEveryPlantedSecretOnce(t *testing.T) {
	tr := secretstest.New(t)
	res := scan(t, Options{Root: tr.Root})

	got := map[string]policy.Finding{}
	for _, f := range res.Findings {
		if _, dup := got[key(f.Location.Path, f.Location.Line)]; dup {
			t.Errorf("two findings at %s", key(f.Location.Path, f.Location.Line))
		}
		got[key(f.Location.Path, f.Location.Line)] = f
	}
	for _, p := range tr.Planted {
		f, ok := got[key(p.Path, p.Line)]
		if !ok {
			t.Errorf("planted %s at %s:%d not found", p.Rule, p.Path, p.Line)
			continue
		}
		if f.Rule != p.Rule {
			t.Errorf("%s:%d: rule %q, want %q", p.Path, p.Line, f.Rule, p.Rule)
		}
		if f.Kind != policy.KindSecret || f.Fingerprint == "" || f.ID != f.Fingerprint || f.Fix == "" {
			t.Errorf("%s:%d: incomplete finding %+v", p.Path, p.Line, f)
		}
		if f.Status != "" {
			t.Errorf("a working-tree finding has no new/existing status, got %q", f.Status)
		}
	}
	if len(res.Findings) != len(tr.Planted) {
		t.Errorf("%d findings, want %d (one per planted secret)", len(res.Findings), len(tr.Planted))
	}
	// Nothing in a finding carries a planted value or a decoy.
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range append(tr.Values(), tr.Decoys...) {
		if strings.Contains(string(b), v) {
			t.Errorf("scan result contains the value %.12s…", v)
		}
	}
	previews := map[string]string{}
	for _, f := range res.Findings {
		previews[f.Location.Path+" "+f.Rule] = f.Preview
	}
	for at, want := range map[string]string{
		"config/prod.env aws-access-token":           "AKIA… (20 chars)",
		"config/prod.env aws-secret-access-key":      "… (40 chars)",
		"deploy/notify.sh github-pat":                "ghp_… (40 chars)",
		"deploy/notify.sh slack-bot-token":           "xoxb-… (56 chars)",
		"src/billing.py stripe-access-token":         "sk_live_… (32 chars)",
		"config/prod.env connection-url-credentials": "… (18 chars)",
		"keys/deploy_key.pem private-key":            "-----BEGIN RSA PRIVATE KEY----- …",
		"ops/deploy.env heroku-api-key":              "… (36 chars)",
		"ops/deploy.env gitlab-pat":                  "glpat-… (26 chars)",
		"ops/deploy.env connection-url-credentials":  "… (16 chars)",
	} {
		if previews[at] != want {
			t.Errorf("%s preview %q, want %q", at, previews[at], want)
		}
	}
	// No preview holds a character of its value beyond a documented prefix.
	for _, f := range res.Findings {
		rest := f.Preview
		for _, p := range publicPrefixes {
			if strings.HasPrefix(f.Preview, p+"…") {
				rest = strings.TrimPrefix(f.Preview, p)
			}
		}
		if !previewShape.MatchString(rest) && !pemHeader.MatchString(f.Preview) {
			t.Errorf("%s: preview %q shows more than a documented prefix", f.Rule, f.Preview)
		}
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "matches of public example values") {
		t.Errorf("notes %q do not count the public examples", res.Notes)
	}

}

// A secret's tracking key: rule + path + keyed hash of the value. It
// survives line moves, changes with the path or the value, and with the key.
func TestSecretFingerprints(t *testing.T) {
	ghp := secretstest.GitHubPAT(t)
	other := secretstest.GitHubPAT(t)
	write := func(t *testing.T, rel, content string) string {
		dir := t.TempDir()
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	fp := func(t *testing.T, opts Options) string {
		t.Helper()
		res := scan(t, opts)
		if len(res.Findings) != 1 {
			t.Fatalf("%d findings, want 1", len(res.Findings))
		}
		return res.Findings[0].Fingerprint
	}
	base := fp(t, Options{Root: write(t, "ci/deploy.sh", "TOKEN="+ghp+"\n")})
	if !regexp.MustCompile(`^secret-[0-9a-f]{20}$`).MatchString(base) {
		t.Errorf("fingerprint %q is not secret- and 20 hex digits", base)
	}
	moved := fp(t, Options{Root: write(t, "ci/deploy.sh", "#!/bin/sh\n\n# a comment\nTOKEN="+ghp+"\n")})
	if moved != base {
		t.Error("moving the secret down three lines changed its fingerprint")
	}
	if renamed := fp(t, Options{Root: write(t, "ci/release.sh", "TOKEN="+ghp+"\n")}); renamed == base {
		t.Error("the same value in another file has the same fingerprint")
	}
	if changed := fp(t, Options{Root: write(t, "ci/deploy.sh", "TOKEN="+other+"\n")}); changed == base {
		t.Error("another value at the same place has the same fingerprint")
	}
	keyA := fp(t, Options{Root: write(t, "ci/deploy.sh", "TOKEN="+ghp+"\n"), FingerprintKey: []byte("repo-key-a")})
	keyA2 := fp(t, Options{Root: write(t, "ci/deploy.sh", "TOKEN="+ghp+"\n"), FingerprintKey: []byte("repo-key-a")})
	keyB := fp(t, Options{Root: write(t, "ci/deploy.sh", "TOKEN="+ghp+"\n"), FingerprintKey: []byte("repo-key-b")})
	if keyA != keyA2 || keyA == keyB || keyA == base {
		t.Errorf("keyed fingerprints: a=%s a again=%s b=%s default=%s; want a stable per key, different across keys", keyA, keyA2, keyB, base)
	}
}

func TestScanFindsBase64EncodedSecret(t *testing.T) {
	dir := t.TempDir()
	tok := secretstest.GitHubPAT(t)
	enc := base64.StdEncoding.EncodeToString([]byte(`{"auth":"` + tok + `"}`))
	writeFile(t, dir, "values.yaml", "config: "+enc+"\n")
	res := scan(t, Options{Root: dir})
	if len(res.Findings) != 1 || res.Findings[0].Rule != "github-pat" || !strings.Contains(res.Findings[0].Title, "base64") {
		t.Fatalf("findings %+v, want one base64-decoded github-pat", res.Findings)
	}
}

func TestConnectionURLRule(t *testing.T) {
	dir := t.TempDir()
	pw := secretstest.Random(t, "abcdefghijkmnopqrstuvwxyz23456789", 14)
	writeFile(t, dir, "app.conf", strings.Join([]string{
		"primary = mysql://svc_app:" + pw + "@mysql.prod.internal:3306/app",
		"replica = postgresql://reader:%s@replica/app",
		"cache = redis://:${REDIS_PASSWORD}@cache:6379/0",
		"queue = amqp://guest:guest@rabbit:5672/",
		"docs = https://user:password@example.com/",
		"mirror = https://{{ .User }}:{{ .Token }}@git.internal/repo.git",
		`api_key_advisory = "GHSA-j8r2-6x86-q33q"`,
		`token_cve = "CVE-2021-44228"`,
	}, "\n")+"\n")
	res := scan(t, Options{Root: dir})
	if len(res.Findings) != 1 || res.Findings[0].Location.Line != 1 || res.Findings[0].Rule != "connection-url-credentials" {
		t.Fatalf("findings %+v, want only the real password on line 1 (no placeholders, no advisory ids)", res.Findings)
	}
}

func TestRepositoryConfigAndIgnoreFile(t *testing.T) {
	tr := secretstest.New(t)
	writeFile(t, tr.Root, RepoConfigFile, `
[extend]
useDefault = true
disabledRules = ["slack-bot-token"]

[[rules]]
id = "acme-internal-token"
description = "ACME internal service token"
regex = '''acme_[a-z0-9]{24}'''
keywords = ["acme_"]

[[allowlists]]
description = "documentation"
paths = ['''(^|/)src/''']
`)
	acme := "acme_" + secretstest.Random(t, "abcdefghijklmnopqrstuvwxyz0123456789", 24)
	writeFile(t, tr.Root, "tools/acme.txt", "token="+acme+"\n")
	writeFile(t, tr.Root, IgnoreFile, "# reviewed\nconfig/prod.env:aws-access-token:2\n")

	res := scan(t, Options{Root: tr.Root})
	rules := map[string]policy.Finding{}
	for _, f := range res.Findings {
		rules[f.Rule+" "+f.Location.Path] = f
	}
	if _, ok := rules["acme-internal-token tools/acme.txt"]; !ok {
		t.Error("the repository's own rule did not fire")
	}
	if _, ok := rules["slack-bot-token deploy/notify.sh"]; ok {
		t.Error("a rule disabled by the repository still fired")
	}
	if _, ok := rules["stripe-access-token src/billing.py"]; ok {
		t.Error("the repository's path allowlist was not honoured")
	}
	aws, ok := rules["aws-access-token config/prod.env"]
	if !ok || aws.Ignored == nil || !strings.Contains(aws.Ignored.Reason, ".gitleaksignore line 2") {
		t.Errorf(".gitleaksignore entry must show as an ignored finding, got %+v", aws)
	}
	if _, ok := rules["github-pat deploy/notify.sh"]; !ok {
		t.Error("default rules must stay on with a repository config")
	}
	notes := strings.Join(res.Notes, "\n")
	if !strings.Contains(notes, "disables rules: slack-bot-token") {
		t.Errorf("notes %q do not say which rules the repository disabled", notes)
	}
}

func TestRepositoryConfigErrors(t *testing.T) {
	for name, cfg := range map[string]string{
		"bad regex": "[[rules]]\nid = \"x\"\nregex = '''(unclosed'''\n",
		"bad toml":  "[[rules]\nid=",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, RepoConfigFile, cfg)
			_, err := New(Options{Root: dir}).Scan(context.Background())
			if err == nil || !strings.Contains(err.Error(), RepoConfigFile) {
				t.Errorf("error %v, want one naming %s", err, RepoConfigFile)
			}
		})
	}
}

// repo makes a git repository: commit 1 adds a token, commit 2 deletes
// it, commit 3 adds another.
func gitRepo(t *testing.T) (dir, oldTok, newTok string) {
	t.Helper()
	dir = t.TempDir()
	oldTok, newTok = secretstest.GitHubPAT(t), secretstest.GitHubPAT(t)
	git(t, dir, "init", "-q", "-b", "main")
	writeFile(t, dir, "README.md", "hello\n")
	writeFile(t, dir, "ci.sh", "export GITHUB_TOKEN="+oldTok+"\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "one")
	writeFile(t, dir, "ci.sh", "export GITHUB_TOKEN=$CI_TOKEN\n")
	git(t, dir, "commit", "-qam", "two: remove the token")
	writeFile(t, dir, "deploy.sh", "echo deploying\ncurl -u bot:"+newTok+" https://api.github.com\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "three")
	return dir, oldTok, newTok
}

var git = repotest.Git

func TestScanGitModes(t *testing.T) {
	dir, _, _ := gitRepo(t)
	first := git(t, dir, "rev-list", "--max-parents=0", "HEAD")
	head := git(t, dir, "rev-parse", "HEAD")

	hist := scan(t, Options{Root: dir, History: true})
	byPath := map[string]policy.Finding{}
	for _, f := range hist.Findings {
		byPath[f.Location.Path] = f
	}
	if f, ok := byPath["ci.sh"]; !ok || f.Location.Commit != first || f.Location.Line != 1 {
		t.Errorf("history: the token removed in commit two must be found in commit one, got %+v", f)
	}
	if f, ok := byPath["deploy.sh"]; !ok || f.Location.Commit != head || f.Location.Line != 2 {
		t.Errorf("history: deploy.sh finding %+v", f)
	}
	if len(hist.Findings) != 2 {
		t.Errorf("history: %d findings, want 2", len(hist.Findings))
	}

	rng := scan(t, Options{Root: dir, Base: "HEAD~1", Head: "HEAD"})
	if len(rng.Findings) != 1 || rng.Findings[0].Location.Path != "deploy.sh" || rng.Findings[0].Status != policy.StatusNew {
		t.Errorf("range HEAD~1..HEAD: %+v, want only deploy.sh, status new", rng.Findings)
	}
	if rng.Findings[0].Fingerprint != byPath["deploy.sh"].Fingerprint {
		t.Error("the same secret must have the same fingerprint in history and range scans")
	}

	tree := scan(t, Options{Root: dir})
	if len(tree.Findings) != 1 || tree.Findings[0].Location.Path != "deploy.sh" || tree.Findings[0].Location.Commit != "" {
		t.Errorf("working tree: %+v, want only deploy.sh", tree.Findings)
	}
	if tree.Findings[0].Fingerprint != byPath["deploy.sh"].Fingerprint {
		t.Error("the same secret must have the same fingerprint in tree and history scans")
	}

	if none := scan(t, Options{Root: dir, Base: "HEAD~1", Head: "HEAD~1"}); len(none.Findings) != 0 {
		t.Errorf("empty range: %+v", none.Findings)
	}
}

func TestScanBadRevisionFails(t *testing.T) {
	dir, _, _ := gitRepo(t)
	for _, o := range []Options{
		{Root: dir, Base: "no-such-rev"},
		{Root: dir, Base: "HEAD~1", Head: "deadbeef"},
		{Root: dir, Base: "--all"},
		{Root: t.TempDir(), History: true}, // not a repository
	} {
		_, err := New(o).Scan(context.Background())
		if err == nil || !strings.Contains(err.Error(), "revision") {
			t.Errorf("Scan(%+v) error %v, want a revision error", o, err)
		}
	}
}

func TestScanCancelled(t *testing.T) {
	tr := secretstest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New(Options{Root: tr.Root}).Scan(ctx); err == nil {
		t.Error("a cancelled scan must not report a clean result")
	}
}

// gitleaks keeps global state: concurrent scans in one process must not
// race (run with -race) nor lose rules.
func TestConcurrentScans(t *testing.T) {
	tr := secretstest.New(t)
	var wg sync.WaitGroup
	counts := make([]int, 4)
	for i := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := New(Options{Root: tr.Root}).Scan(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			counts[i] = len(res.Findings)
		}()
	}
	wg.Wait()
	for i, n := range counts {
		if n != len(tr.Planted) {
			t.Errorf("scan %d: %d findings, want %d", i, n, len(tr.Planted))
		}
	}
}

func writeFile(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTextScanner(t *testing.T) {
	ts, err := NewTextScanner(nil)
	if err != nil {
		t.Fatal(err)
	}
	tok := secretstest.GitHubPAT(t)
	env := "PATH=/usr/bin\nGITHUB_TOKEN=" + tok + "\nEXAMPLE=AKIAIOSFODNN7EXAMPLE\n"
	fs := ts.Scan(context.Background(), "ENV", []byte(env))
	if len(fs) != 1 || fs[0].Rule != "github-pat" || fs[0].Location.Path != "ENV" || fs[0].Location.Line != 2 {
		t.Fatalf("findings %+v, want the GitHub token on line 2 of ENV", fs)
	}
	b, _ := json.Marshal(fs)
	if strings.Contains(string(b), tok) {
		t.Error("the token leaks into the finding")
	}
	if fs := ts.Scan(context.Background(), "labels", []byte("org.opencontainers.image.source=https://example.com/app\n")); len(fs) != 0 {
		t.Errorf("clean text: %+v", fs)
	}
}

// Archives are told by their content, never by a substring of the name: a
// .browserslistrc is not brotli, Directory.Build.targets is not a tar, a
// zip is a zip under any name, and a file that looks like an archive but
// does not open as one is scanned as text with a note, never an error.
func TestArchivesByContent(t *testing.T) {
	dir := t.TempDir()
	tokens := map[string]string{}
	write := func(rel string, content []byte) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, rel := range []string{".browserslistrc", "api/login.bru", "Directory.Build.targets", "web/x.zipcode.js", "notes.tar.txt", "fake.zip", "data.gz"} {
		tok := secretstest.GitHubPAT(t)
		tokens[rel] = tok
		body := "# settings\ntoken = \"" + tok + "\"\n"
		if rel == "data.gz" {
			// gzip's magic bytes, then text: not a gzip stream.
			write(rel, append([]byte{0x1f, 0x8b, 0x08, 0x00}, []byte("\n"+body)...))
			continue
		}
		write(rel, []byte(body))
	}
	// A real zip under a name that says nothing.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("conf/app.env")
	if err != nil {
		t.Fatal(err)
	}
	zipped := secretstest.GitHubPAT(t)
	if _, err := w.Write([]byte("GITHUB_TOKEN=" + zipped + "\n")); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	write("release/bundle.dat", buf.Bytes())
	tokens["release/bundle.dat!conf/app.env"] = zipped

	res := scan(t, Options{Root: dir})
	found := map[string]bool{}
	for _, f := range res.Findings {
		found[f.Location.Path] = true
	}
	for rel := range tokens {
		if !found[rel] {
			t.Errorf("%s: its token was not found (findings at %v)", rel, slices.Sorted(maps.Keys(found)))
		}
	}
	if n := strings.Join(res.Notes, "\n"); !strings.Contains(n, "data.gz: its content looks like an archive but it does not open as one") {
		t.Errorf("notes %q: want the broken gzip named", n)
	}

	// Brotli has no magic number: this text passes mholt/archives' trial
	// decode. It is read as text, with no note (the dogfood run on real
	// trees had dozens of them).
	var js strings.Builder
	js.WriteString("/**\n * settings of the demo shop, do not edit by hand\n */\n")
	for j := range 3 {
		fmt.Fprintf(&js, "export const option%d = \"value 0 of the demo\";\n", j)
	}
	dir2 := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir2, "settings.js"), []byte(js.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	res = scan(t, Options{Root: dir2})
	if n := strings.Join(res.Notes, "\n"); strings.Contains(n, "settings.js") || res.Coverage.Files != 1 {
		t.Errorf("a text file guessed as brotli: notes %q, %d files read", n, res.Coverage.Files)
	}
}

// The scan says what it covered and what it left out.
func TestCoverage(t *testing.T) {
	dir := t.TempDir()
	for rel, content := range map[string][]byte{
		"src/app.go":  []byte("package app\n"),
		"src/util.go": []byte("package app\n\nfunc f() {}\n"),
		"logo.png":    append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...),   // allowlisted by its name
		"tool.blob":   append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 64)...), // binary by its content
		"empty.txt":   nil,
	} {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("src/app.go", filepath.Join(dir, "link.go")); err != nil {
		t.Fatal(err)
	}
	res := scan(t, Options{Root: dir})
	c := res.Coverage
	if c.Files != 2 || c.Bytes != int64(len("package app\n")+len("package app\n\nfunc f() {}\n")) {
		t.Errorf("coverage %+v, want the 2 Go files read", c)
	}
	skipped := map[string]int{}
	for _, s := range c.Skipped {
		skipped[s.What+": "+s.Why] = s.Count
	}
	if skipped["file: binary (application/x-executable), not read"] != 1 || skipped["file: a symlink, not followed"] != 1 || skipped["file: a path gitleaks' default rules allowlist, and not text: not read"] != 1 {
		t.Errorf("skipped %v", skipped)
	}

	if _, err := New(Options{Root: t.TempDir(), RequireFiles: true}).Scan(context.Background()); err == nil || !strings.Contains(err.Error(), "nothing was read, and secrets.require_files is true") {
		t.Errorf("an empty tree with require_files: %v", err)
	}
}

// The same content scanned as a working tree, as the history of a
// one-commit repository and as the range of that commit gives the same
// secret findings, archives' included: the history is read with go-git,
// and an added archive is told by its content in every mode (gitleaks' git
// source drops a binary by its name, so a jar's secrets were found in the
// working tree only).
func TestModesAgree(t *testing.T) {
	tr := secretstest.New(t)
	git(t, tr.Root, "init", "-q", "-b", "main")
	git(t, tr.Root, "commit", "-q", "--allow-empty", "-m", "empty base")
	git(t, tr.Root, "add", ".")
	git(t, tr.Root, "commit", "-qm", "the content")

	set := func(res policy.ScanResult) map[string]bool {
		m := map[string]bool{}
		for _, f := range res.Findings {
			m[f.Rule+" "+f.Location.Path+" "+f.Fingerprint] = true
		}
		return m
	}
	tree := set(scan(t, Options{Root: tr.Root}))
	for name, other := range map[string]map[string]bool{
		"history": set(scan(t, Options{Root: tr.Root, History: true})),
		"range":   set(scan(t, Options{Root: tr.Root, Base: "HEAD~1", Head: "HEAD"})),
	} {
		archives := 0
		for k := range tree {
			if strings.Contains(k, sources.InnerPathSeparator) {
				archives++
			}
			if !other[k] {
				t.Errorf("%s: %s found in the working tree only", name, k)
			}
		}
		if archives == 0 {
			t.Error("the fixture has no secret in an archive: the test proves less than it says")
		}
		for k := range other {
			if !tree[k] {
				t.Errorf("%s: %s found in git mode only", name, k)
			}
		}
	}
}

// Git faults fail the scan, naming the cause: a shallow clone that lacks
// the base revision, a repository with a missing object.
func TestGitFaults(t *testing.T) {
	dir, _, _ := gitRepo(t)
	shallow := filepath.Join(t.TempDir(), "shallow")
	git(t, t.TempDir(), "clone", "-q", "--depth", "1", "file://"+dir, shallow)
	_, err := New(Options{Root: shallow, Base: "HEAD~1"}).Scan(context.Background())
	if err == nil || !strings.Contains(err.Error(), "the clone is shallow") {
		t.Errorf("shallow clone: err = %v", err)
	}

	// Remove the object of a file of the first commit.
	blob := git(t, dir, "rev-parse", "HEAD~2:ci.sh")
	if err := os.Remove(filepath.Join(dir, ".git", "objects", blob[:2], blob[2:])); err != nil {
		t.Fatal(err)
	}
	_, err = New(Options{Root: dir, History: true}).Scan(context.Background())
	if err == nil || !strings.Contains(err.Error(), "full git history") || !strings.Contains(err.Error(), blob) {
		t.Errorf("missing object: err = %v, want the history scan to fail", err)
	}
}
