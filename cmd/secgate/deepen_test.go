package main

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secgate/secgate/gate/repo/repotest"
	"github.com/secgate/secgate/gate/secrets/secretstest"
)

// shallowPR serves a repository over smart HTTP (authorized decides who
// may read) whose pull request adds a token in its first commit and takes
// it out in its second, and checks its head out as CI does by default:
// depth 1, the origin the server. base is main's tip, mergeBase where the
// pull request branched.
type shallowPR struct {
	srv                   *repotest.GitServer
	clone                 string
	base, mergeBase, head string
	token                 string // the planted secret
}

func newShallowPR(t *testing.T, authorized func(*http.Request) bool) shallowPR {
	t.Helper()
	p := shallowPR{token: secretstest.GitHubPAT(t)}
	work := t.TempDir()
	commit := func(msg string, files map[string]string) string {
		writeFiles(t, work, files)
		git(t, work, "add", "-A")
		git(t, work, "commit", "-qm", msg)
		return git(t, work, "rev-parse", "HEAD")
	}
	git(t, work, "init", "-q", "-b", "main")
	p.mergeBase = commit("one", map[string]string{"README.md": "one\n"})
	git(t, work, "checkout", "-q", "-b", "pr")
	commit("add the config", map[string]string{"conf/app.env": "GITHUB_TOKEN=" + p.token + "\n"})
	commit("read the token from the environment", map[string]string{"conf/app.env": "GITHUB_TOKEN=${GITHUB_TOKEN}\n"})
	p.head = commit("docs", map[string]string{"README.md": "two\n"})
	git(t, work, "checkout", "-q", "main")
	p.base = commit("main moves on", map[string]string{"main.txt": "x\n"})

	served := t.TempDir()
	git(t, served, "clone", "-q", "--bare", work, "o.git")
	p.clone = filepath.Join(t.TempDir(), "clone")
	git(t, served, "clone", "-q", "--depth", "1", "--branch", "pr", "file://"+filepath.Join(served, "o.git"), p.clone)
	p.srv = repotest.ServeGit(t, served, authorized)
	git(t, p.clone, "remote", "set-url", "origin", p.srv.URL+"/o.git")
	return p
}

// Item 13 of issue 27: the default shallow checkout just works. A pull
// request (GitHub, with the header actions/checkout persisted) or merge
// request (GitLab, with the job token in CI_REPOSITORY_URL) checked out at
// depth 1 is deepened, and the token its first commit added and its second
// removed fails the gate; so does a push of those commits (deepened to its
// previous head first, else the whole tree, which no longer holds the
// token, would be judged). Refused credentials (401) fail closed as a
// shallow clone always did — the base is missing: exit 2 — with the
// reason in the report; --deepen=false (SECGATE_DEEPEN) does the same
// without asking. No output holds a piece of the credential.
func TestShallowCheckoutDeepened(t *testing.T) {
	cred := secretstest.Random(t, "abcdefghijklmnopqrstuvwxyz0123456789", 40)
	header := "basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+cred))
	authorized := func(r *http.Request) bool {
		if u, p, ok := r.BasicAuth(); ok && u == "gitlab-ci-token" && p == cred {
			return true
		}
		return r.Header.Get("Authorization") == header
	}
	for _, c := range []struct {
		name     string
		platform string
		wrong    bool   // the credential is refused
		deepen   string // SECGATE_DEEPEN
		code     int
		reason   string
	}{
		{"github pull request", "github", false, "", 1, "deepened"},
		{"gitlab merge request", "gitlab", false, "", 1, "deepened"},
		{"github push", "github push", false, "", 1, "deepened"},
		{"gitlab push", "gitlab push", false, "", 1, "deepened"},
		{"github 401", "github", true, "", 2, "answered 401"},
		{"gitlab 401", "gitlab", true, "", 2, "answered 401"},
		{"github --deepen=false", "github", false, "false", 2, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newShallowPR(t, authorized)
			used := cred
			if c.wrong {
				used = secretstest.Random(t, "abcdefghijklmnopqrstuvwxyz0123456789", 40)
			}
			work := t.TempDir()
			reportPath := filepath.Join(work, "report.json")
			var env map[string]string
			switch c.platform {
			case "github", "github push":
				u, _ := url.Parse(p.srv.URL)
				git(t, p.clone, "config", "http."+u.Scheme+"://"+u.Host+"/.extraheader",
					"AUTHORIZATION: basic "+base64.StdEncoding.EncodeToString([]byte("x-access-token:"+used)))
				event, name := `{"number":7,"pull_request":{"number":7,"base":{"ref":"main","sha":"`+p.base+`"},"head":{"sha":"`+p.head+`","repo":{"full_name":"acme/shop"}}},"repository":{"full_name":"acme/shop","default_branch":"main"}}`, "pull_request"
				if c.platform == "github push" {
					// the branch pushed from where it left main to its head
					event, name = `{"before":"`+p.mergeBase+`","after":"`+p.head+`","repository":{"full_name":"acme/shop","default_branch":"main"}}`, "push"
				}
				writeFiles(t, work, map[string]string{"event.json": event})
				env = map[string]string{"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": name, "GITHUB_EVENT_PATH": filepath.Join(work, "event.json"),
					"GITHUB_REPOSITORY": "acme/shop", "GITHUB_SHA": p.head, "GITHUB_OUTPUT": filepath.Join(work, "output"), "GITHUB_STEP_SUMMARY": filepath.Join(work, "summary"),
					"INPUT_PATH": p.clone, "INPUT_SCANNERS": "secrets", "INPUT_REPORT-FILE": reportPath}
			case "gitlab", "gitlab push":
				u, _ := url.Parse(p.srv.URL + "/o.git")
				u.User = url.UserPassword("gitlab-ci-token", used)
				env = map[string]string{"CI": "true", "GITLAB_CI": "true", "CI_MERGE_REQUEST_IID": "5", "CI_MERGE_REQUEST_DIFF_BASE_SHA": p.mergeBase,
					"CI_COMMIT_SHA": p.head, "CI_REPOSITORY_URL": u.String(), "SECGATE_ONLY": "secrets", "SECGATE_REPORT": reportPath,
					"SECGATE_DOTENV": filepath.Join(work, "gate.env")}
				if c.platform == "gitlab push" {
					delete(env, "CI_MERGE_REQUEST_IID")
					delete(env, "CI_MERGE_REQUEST_DIFF_BASE_SHA")
					env["CI_COMMIT_BEFORE_SHA"] = p.mergeBase
				}
			}
			if c.deepen != "" {
				env["SECGATE_DEEPEN"] = c.deepen
			}
			var res result
			if strings.HasPrefix(c.platform, "github") {
				res = secgate(t, env, "run")
			} else {
				res = secgate(t, env, "run", p.clone)
			}
			if res.code != c.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", res.code, c.code, res.stdout, res.stderr)
			}
			rep, raw := readReport(t, reportPath)
			reasons := strings.Join(rep.Reasons, "\n")
			if strings.HasSuffix(c.platform, "push") && !strings.Contains(reasons, "push "+p.mergeBase[:12]+".."+p.head[:12]) {
				t.Errorf("the push is not judged on its range:\n%s", reasons)
			}
			if c.reason != "" && !strings.Contains(reasons, c.reason) {
				t.Errorf("the report's reasons do not say %q:\n%s", c.reason, reasons)
			}
			if c.reason == "" && strings.Contains(reasons, "deepen") {
				t.Errorf("--deepen=false deepened:\n%s", reasons)
			}
			if c.code == 1 && (len(rep.Findings) != 1 || rep.Findings[0].Rule != "github-pat" || rep.Findings[0].Location.Path != "conf/app.env") {
				t.Errorf("want the token of the pull request's first commit, found %+v", rep.Findings)
			}
			if c.code == 2 && !strings.Contains(strings.Join(rep.Errors, "\n"), "shallow") {
				t.Errorf("the error does not name the shallow clone: %v", rep.Errors)
			}
			outputs := readAll(t, work)
			outputs["stdout"], outputs["stderr"], outputs["report"] = res.stdout, res.stderr, string(raw)
			noPieceOf(t, []string{"    " + used, "    " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+used)), p.token}, outputs)
			if refs := git(t, p.clone, "for-each-ref", "refs/secgate"); refs != "" {
				t.Errorf("the deepening's references are left in the clone: %s", refs)
			}
		})
	}
}

// A local run never deepens unless asked: --base on a shallow clone is the
// shallow clone's error (exit 2) by default, and with --deepen=true the
// clone is deepened with the checkout's header and the token is found.
func TestLocalRunDeepensOnlyWhenAsked(t *testing.T) {
	cred := secretstest.Random(t, "abcdefghijklmnopqrstuvwxyz0123456789", 40)
	header := "basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+cred))
	p := newShallowPR(t, func(r *http.Request) bool { return r.Header.Get("Authorization") == header })
	u, _ := url.Parse(p.srv.URL)
	git(t, p.clone, "config", "http."+u.Scheme+"://"+u.Host+"/.extraheader", "AUTHORIZATION: "+header)
	args := []string{"run", "--only", "secrets", "--base", p.base, "--head", p.head, p.clone}
	if res := secgate(t, nil, args...); res.code != 2 || !strings.Contains(res.stderr, "shallow") || len(p.srv.Statuses()) != 0 {
		t.Errorf("default: exit %d, %d requests, want 2 naming the shallow clone and no network\n%s", res.code, len(p.srv.Statuses()), res.stderr)
	}
	res := secgate(t, map[string]string{"SECGATE_DEEPEN": "true"}, args...)
	if res.code != 1 || !strings.Contains(res.stdout, "github-pat") {
		t.Errorf("--deepen=true: exit %d, want 1 with the token found\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	noPieceOf(t, []string{"    " + cred, "    " + header}, map[string]string{"stdout": res.stdout, "stderr": res.stderr})
	if res := secgate(t, map[string]string{"SECGATE_DEEPEN": "sometimes"}, args...); res.code != 2 || !strings.Contains(res.stderr, "SECGATE_DEEPEN") {
		t.Errorf("a bad SECGATE_DEEPEN: exit %d\n%s", res.code, res.stderr)
	}
}

// The red team's F2 walk, end to end: branch feat, off main, adds a token
// and, in the repository's own .secgate.yml, an exception for its
// fingerprint; main moves on. Pushed as a new branch (before all zeros)
// or forced over a head that is gone, checked out at depth 1 with the
// checkout's credentials (GitHub's persisted header, GitLab's job token):
// the default branch is fetched, the push judged from the merge base with
// it, the exception is a change of the policy file and the token fails
// the gate (exit 1; it was exit 0, the whole tree judged by the branch's
// policy). A branch with no history shared with main is exit 2 saying
// so, and so is a default branch the credentials cannot fetch (401). No
// output holds a piece of the credential or the token.
func TestBranchPushJudgedFromTheDefaultBranch(t *testing.T) {
	for _, c := range []struct {
		name, platform, kind string
		code                 int
		says                 string // a word of the reasons (exit 1) or stderr (exit 2)
	}{
		{"github new branch", "github", "new", 1, "merge base with main"},
		{"github forced push", "github", "forced", 1, "merge base with main"},
		{"github unrelated history", "github", "unrelated", 2, "shares no history"},
		{"gitlab new branch", "gitlab", "new", 1, "merge base with main"},
		{"gitlab unrelated history", "gitlab", "unrelated", 2, "shares no history"},
		{"github credentials refused", "github", "refused", 2, "401"},
		{"gitlab credentials refused", "gitlab", "refused", 2, "401"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cred := secretstest.Random(t, "abcdefghijklmnopqrstuvwxyz0123456789", 40)
			header := "basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+cred))
			pat := secretstest.GitHubPAT(t)
			work := t.TempDir()
			commit := func(msg string, files map[string]string) string {
				writeFiles(t, work, files)
				git(t, work, "add", "-A")
				git(t, work, "commit", "-qm", msg)
				return git(t, work, "rev-parse", "HEAD")
			}
			git(t, work, "init", "-q", "-b", "main")
			commit("one", map[string]string{"README.md": "# app\n"})
			if c.kind == "unrelated" {
				git(t, work, "checkout", "-q", "--orphan", "feat")
			} else {
				git(t, work, "checkout", "-q", "-b", "feat")
			}
			commit("deploy", map[string]string{"deploy.sh": "curl -H 'Authorization: token " + pat + "' https://api.github.com/user\n"})
			probe := filepath.Join(t.TempDir(), "r.json")
			if res := secgate(t, nil, "run", "--only", "secrets", "--report", probe, work); res.code != 1 {
				t.Fatalf("the token must fail the gate: exit %d", res.code)
			}
			rep, _ := readReport(t, probe)
			head := commit("excuse it", map[string]string{".secgate.yml": "version: 1\nexceptions:\n  - id: " + rep.Findings[0].Fingerprint + "\n    reason: test fixture\n    expires: 2099-01-01\n"})
			if res := secgate(t, nil, "run", "--only", "secrets", work); res.code != 0 {
				t.Fatalf("as a plain tree the branch's own exception applies: exit %d", res.code)
			}
			git(t, work, "checkout", "-q", "main")
			commit("two", map[string]string{"README.md": "# app, two\n"})

			served := t.TempDir()
			git(t, served, "clone", "-q", "--bare", work, "o.git")
			clone := filepath.Join(t.TempDir(), "clone")
			git(t, served, "clone", "-q", "--depth", "1", "--branch", "feat", "file://"+filepath.Join(served, "o.git"), clone)
			srvCred, srvHeader := cred, header
			srv := repotest.ServeGit(t, served, func(r *http.Request) bool {
				u, p, ok := r.BasicAuth()
				return ok && u == "gitlab-ci-token" && p == srvCred || r.Header.Get("Authorization") == srvHeader
			})
			git(t, clone, "remote", "set-url", "origin", srv.URL+"/o.git")
			if c.kind == "refused" { // the checkout's credentials are not the server's
				cred = secretstest.Random(t, "abcdefghijklmnopqrstuvwxyz0123456789", 40)
				header = "basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+cred))
			}
			before := strings.Repeat("0", 40)
			if c.kind == "forced" {
				before = secretstest.Random(t, "0123456789abcdef", 40)
			}
			out := t.TempDir()
			reportPath := filepath.Join(out, "report.json")
			var res result
			if c.platform == "github" {
				git(t, clone, "config", "http."+srv.URL+"/.extraheader", "AUTHORIZATION: "+header)
				writeFiles(t, out, map[string]string{"event.json": `{"ref":"refs/heads/feat","before":"` + before + `","after":"` + head + `","created":` + map[bool]string{true: "true", false: "false"}[c.kind != "forced"] + `,"repository":{"full_name":"acme/app","default_branch":"main"}}`})
				res = secgate(t, map[string]string{"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": filepath.Join(out, "event.json"),
					"GITHUB_REPOSITORY": "acme/app", "GITHUB_SHA": head, "GITHUB_REF": "refs/heads/feat", "GITHUB_OUTPUT": filepath.Join(out, "output"),
					"INPUT_PATH": clone, "INPUT_SCANNERS": "secrets", "INPUT_REPORT-FILE": reportPath}, "run")
			} else {
				u, _ := url.Parse(srv.URL + "/o.git")
				u.User = url.UserPassword("gitlab-ci-token", cred)
				res = secgate(t, map[string]string{"CI": "true", "GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BEFORE_SHA": before, "CI_COMMIT_SHA": head,
					"CI_COMMIT_BRANCH": "feat", "CI_DEFAULT_BRANCH": "main", "CI_REPOSITORY_URL": u.String(), "SECGATE_ONLY": "secrets", "SECGATE_REPORT": reportPath}, "run", clone)
			}
			if res.code != c.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", res.code, c.code, res.stdout, res.stderr)
			}
			rep, raw := readReport(t, reportPath)
			if c.code == 1 {
				if reasons := strings.Join(rep.Reasons, "\n"); !strings.Contains(reasons, c.says) || !strings.Contains(reasons, "default branch main was fetched") {
					t.Errorf("the reasons do not say the default branch was fetched and %q:\n%s", c.says, reasons)
				}
			} else if !strings.Contains(res.stderr, c.says) {
				t.Errorf("stderr does not say %q:\n%s", c.says, res.stderr)
			}
			outputs := readAll(t, out)
			outputs["stdout"], outputs["stderr"], outputs["report"] = res.stdout, res.stderr, string(raw)
			noPieceOf(t, []string{"    " + cred, pat}, outputs)
		})
	}
}
