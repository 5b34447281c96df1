package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/secgate/secgate/gate/github/githubtest"
)

// payload is a line of hostile text for every sink at once.
const payload = `\n::pwned-cmd::x\r\u001b[0Ksection_start:1:pwned[collapsed=true]\r\u001b[0K ##[pwned-old] [x](https://evil.example/a) ![](https://evil.example/p.png) https://evil.example/b www.evil.example @acme/team <!channel> *b* _i_ ~s~ ` + "`c`" + ` \u202etxt.exe`

var (
	// injected finds what the payload would make of a line, in any stream.
	injected = regexp.MustCompile(`(?m)^[ \t]*::pwned|##\[pwned|\x1b\[0Ksection_start:1:pwned|\r`)
	// ourSections are the only ESC sequences: GitLab's markers of our sections.
	ourSections = regexp.MustCompile(`\x1b\[0Ksection_(start|end):\d+:secgate_[a-z]+(\[collapsed=true\])?\r\x1b\[0K`)
	evilLink    = regexp.MustCompile(`\]\(https?://evil|(^|[^\\])!\[|(?i)https?://evil|www\.evil|<!channel>|@acme/team`)
)

// The injection classes of issue 25 end to end: a Kubernetes manifest
// whose names and image hold a newline and a workflow command, ESC and
// CR, links, mentions and mrkdwn; a file whose name is a workflow
// command; another whose name holds a newline. In GitHub Actions (JSON
// on stdout) and GitLab CI (text, sections on stderr), no line of any
// stream starts a command or a section but ours, no CR or ESC is raw,
// stdout stays JSON, and the summary, the comment and SARIF's markdown
// hold no link or mention we did not make.
func TestHostileNamesAreInert(t *testing.T) {
	dir, base := baseRepo(t, "# shop\n")
	manifest := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: \"web" + payload + "\"\nspec:\n  template:\n    spec:\n      containers:\n        - name: \"app" + payload + "\"\n          image: \"nginx" + payload + "\"\n"
	writeFiles(t, dir, map[string]string{
		"k8s/deploy.yaml":       manifest,
		"::pwned-file::x.yaml":  manifest, // a name that is a command, at the start of a note's line
		"a\n::pwned-nl::x.yaml": manifest,
	})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "manifests")
	head := git(t, dir, "rev-parse", "HEAD")
	work := t.TempDir()
	writeFiles(t, work, map[string]string{
		"event.json": `{"number":7,"pull_request":{"number":7,"base":{"ref":"main","sha":"` + base + `"},"head":{"ref":"f","sha":"` + head + `","repo":{"full_name":"acme/shop"}}},"repository":{"full_name":"acme/shop","default_branch":"main"}}`,
		"gh/output":  "", "gh/summary.md": "",
	})
	api := githubtest.New(t)
	gh := map[string]string{
		"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": filepath.Join(work, "event.json"),
		"GITHUB_REPOSITORY": "acme/shop", "GITHUB_API_URL": api.Srv.URL, "GITHUB_SHA": head, "GITHUB_RUN_ID": "1", "GITHUB_WORKSPACE": dir,
		"GITHUB_OUTPUT": filepath.Join(work, "gh", "output"), "GITHUB_STEP_SUMMARY": filepath.Join(work, "gh", "summary.md"),
		"INPUT_TOKEN": api.Token, "INPUT_PATH": dir, "INPUT_SCANNERS": "manifests,secrets", "INPUT_COMMENT": "true", "INPUT_DRY-RUN": "false",
		"INPUT_SARIF-FILE": filepath.Join(work, "gh", "secgate.sarif"), "INPUT_REPORT-FILE": filepath.Join(work, "gh", "report.json"),
		"SECGATE_FORMAT": "json",
	}
	res := secgate(t, gh, "run")
	if res.code == 2 {
		t.Fatalf("GitHub: exit 2\n%s", res.stderr)
	}
	if !strings.Contains(res.stdout, "pwned-cmd") || !strings.HasPrefix(res.stdout, "{") {
		t.Fatalf("the findings must carry the payload, in JSON on stdout:\n%s", res.stdout)
	}
	outs := map[string]string{"GitHub stdout": res.stdout, "GitHub stderr": res.stderr}
	for name, out := range outs {
		if strings.Contains(out, dir) {
			t.Errorf("%s names the runner's path %s, not the repository's:\n%s", name, dir, out)
		}
	}
	gl := map[string]string{"CI": "true", "GITLAB_CI": "true", "CI_COMMIT_SHA": head, "CI_COMMIT_BEFORE_SHA": base, "CI_PIPELINE_SOURCE": "push"}
	res = secgate(t, gl, "run", "--only", "manifests,secrets", "--gitlab-reports", filepath.Join(work, "gl"), dir)
	outs["GitLab stdout"], outs["GitLab stderr"] = res.stdout, res.stderr
	if !strings.Contains(res.stderr, "section_start") {
		t.Errorf("no log section on GitLab's stderr:\n%s", res.stderr)
	}
	for name, out := range outs {
		if m := injected.FindString(ourSections.ReplaceAllString(out, "")); m != "" {
			t.Errorf("%s: %q is live:\n%s", name, m, out)
		}
		if strings.Contains(ourSections.ReplaceAllString(out, ""), "\x1b") {
			t.Errorf("%s holds a raw ESC besides our sections' markers", name)
		}
	}
	summary, _ := os.ReadFile(filepath.Join(work, "gh", "summary.md"))
	sarif, _ := os.ReadFile(filepath.Join(work, "gh", "secgate.sarif"))
	var comment string
	for _, c := range api.Comments {
		comment += c["body"].(string)
	}
	markdownish := map[string]string{"summary": string(summary), "comment": comment}
	for _, m := range regexp.MustCompile(`"markdown": "((?:[^"\\]|\\.)*)"`).FindAllStringSubmatch(string(sarif), -1) {
		markdownish["SARIF help.markdown"] += m[1] + "\n"
	}
	for _, m := range regexp.MustCompile(`"text": "((?:[^"\\]|\\.)*)"`).FindAllStringSubmatch(string(sarif), -1) {
		markdownish["SARIF text"] += m[1] + "\n"
	}
	for name, out := range markdownish {
		if !strings.Contains(out, "pwned") {
			t.Errorf("%s does not show the payload: the test does not see it\n%s", name, out)
		}
		out = outsideCode(out)
		if i := evilLink.FindStringIndex(out); i != nil {
			ls, le := strings.LastIndex(out[:i[0]], "\n")+1, strings.Index(out[i[0]:], "\n")
			m := out[ls : i[0]+max(le, 0)]
			t.Errorf("%s: %q is a link or a mention we did not make:\n%s", name, m, out)
		}
	}
}

// outsideCode is markdown without its code spans, where nothing is a link.
func outsideCode(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '`')
		if i < 0 {
			return b.String() + s
		}
		n := len(s[i:]) - len(strings.TrimLeft(s[i:], "`"))
		fence := s[i : i+n]
		b.WriteString(s[:i])
		rest := s[i+n:]
		end := -1
		for j := 0; j < len(rest); {
			k := strings.Index(rest[j:], fence)
			if k < 0 {
				break
			}
			k += j
			m := len(rest[k:]) - len(strings.TrimLeft(rest[k:], "`"))
			if m == n {
				end = k
				break
			}
			j = k + m
		}
		if end < 0 { // no closing fence: the backticks are text
			b.WriteString(fence)
			s = rest
			continue
		}
		b.WriteString("<code>")
		s = rest[end+n:]
	}
}
