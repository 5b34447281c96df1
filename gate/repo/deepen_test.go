package repo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/secgate/secgate/gate/repo/repotest"
)

// prOrigin is a served repository with a pull request: main has five
// commits, the PR branches from the third and adds three, main gets one
// more; clone is a depth-1 checkout of the PR's head whose origin is the
// server, as actions/checkout leaves it.
type prOrigin struct {
	server     *repotest.GitServer
	url        string // the repository's URL
	base, head string // main's tip, the PR's head
	prCommits  []string
	clone      string
}

func newPROrigin(t *testing.T, authorized func(*http.Request) bool) *prOrigin {
	t.Helper()
	work := t.TempDir()
	git := func(args ...string) string { return repotest.Git(t, work, args...) }
	commit := func(msg string, files map[string]string) string {
		repotest.Write(t, work, files)
		git("add", "-A")
		git("commit", "-qm", msg)
		return git("rev-parse", "HEAD")
	}
	git("init", "-q", "-b", "main")
	for _, n := range []string{"1", "2", "3", "4", "5"} {
		commit("main "+n, map[string]string{"main.txt": n + "\n"})
	}
	git("checkout", "-q", "-b", "pr", "HEAD~2")
	o := &prOrigin{}
	for _, n := range []string{"1", "2", "3"} {
		o.prCommits = append(o.prCommits, commit("pr "+n, map[string]string{"pr.txt": n + "\n"}))
	}
	o.head = o.prCommits[2]
	git("checkout", "-q", "main")
	o.base = commit("main 6", map[string]string{"main.txt": "6\n"})

	served := t.TempDir()
	repotest.Git(t, served, "clone", "-q", "--bare", work, "o.git")
	o.server = repotest.ServeGit(t, served, authorized)
	o.url = o.server.URL + "/o.git"
	o.clone = filepath.Join(t.TempDir(), "clone")
	repotest.Git(t, served, "clone", "-q", "--depth", "1", "--branch", "pr", "file://"+filepath.Join(served, "o.git"), o.clone)
	repotest.Git(t, o.clone, "remote", "set-url", "origin", o.url)
	return o
}

// token is a random credential, made at run time.
func token(t *testing.T) string {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "t" + hex.EncodeToString(b)
}

func basicHeader(user, pass string) string {
	return "basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// noPieceOf fails the test if text holds any 6-character piece of secret.
func noPieceOf(t *testing.T, text, secret string) {
	t.Helper()
	for i := 0; i+6 <= len(secret); i++ {
		if strings.Contains(text, secret[i:i+6]) {
			t.Fatalf("output holds %q, a piece of the credential:\n%s", secret[i:i+6], text)
		}
	}
}

// A depth-1 checkout is deepened with the header actions/checkout
// persisted — in .git/config (v4, v5) or in a file .git/config includes
// for its gitdir (v6 and later) — until base..head is whole: the base is
// there, the range's commits have their parents, git itself agrees.
func TestDeepenWithCheckoutCredentials(t *testing.T) {
	for _, layout := range []string{"extraheader in .git/config", "includeIf gitdir file", "include.path file"} {
		t.Run(layout, func(t *testing.T) {
			tok := token(t)
			want := basicHeader("x-access-token", tok)
			o := newPROrigin(t, func(r *http.Request) bool { return r.Header.Get("Authorization") == want })
			u, _ := url.Parse(o.url)
			key := "http." + u.Scheme + "://" + u.Host + "/.extraheader"
			value := "AUTHORIZATION: " + want
			gitDir := filepath.Join(o.clone, ".git")
			switch layout {
			case "extraheader in .git/config":
				repotest.Git(t, o.clone, "config", key, value)
			default:
				creds := filepath.Join(t.TempDir(), "git-credentials-1.config")
				repotest.Git(t, o.clone, "config", "--file", creds, key, value)
				inc := "include.path"
				if layout == "includeIf gitdir file" {
					// both of checkout's entries: the container's path first, not this one
					repotest.Git(t, o.clone, "config", "includeIf.gitdir:/github/workspace/.git.path", "/github/runner_temp/none.config")
					inc = "includeIf.gitdir:" + filepath.ToSlash(gitDir) + ".path"
				}
				repotest.Git(t, o.clone, "config", inc, creds)
			}
			r, err := Open(o.clone)
			if err != nil {
				t.Fatal(err)
			}
			if ok, _ := wholeRange(r, o.base, o.head); ok {
				t.Fatal("the depth-1 clone holds the range already: the test shows nothing")
			}
			note, err := Deepen(context.Background(), o.clone, DeepenOptions{Base: o.base, Head: o.head})
			if err != nil {
				t.Fatalf("Deepen: %v (server answered %v)", err, o.server.Statuses())
			}
			if !strings.Contains(note, "deepened") || !strings.Contains(note, "extraheader") {
				t.Errorf("note = %q", note)
			}
			noPieceOf(t, note, tok)
			if slices.Contains(o.server.Statuses(), http.StatusUnauthorized) {
				t.Errorf("the server refused a request: %v", o.server.Statuses())
			}
			r, _ = Open(o.clone)
			if ok, err := wholeRange(r, o.base, o.head); !ok || err != nil {
				t.Errorf("the range is not whole after Deepen (%v)", err)
			}
			got := strings.Fields(repotest.Git(t, o.clone, "rev-list", o.base+".."+o.head))
			if !slices.Equal(got, []string{o.prCommits[2], o.prCommits[1], o.prCommits[0]}) {
				t.Errorf("git rev-list base..head = %v, want the PR's 3 commits", got)
			}
			if refs := repotest.Git(t, o.clone, "for-each-ref", deepenRef); refs != "" {
				t.Errorf("the fetch's references are left: %s", refs)
			}
			// whole already: nothing fetched
			n := len(o.server.Statuses())
			if note, err := Deepen(context.Background(), o.clone, DeepenOptions{Base: o.base, Head: o.head}); note != "" || err != nil || len(o.server.Statuses()) != n {
				t.Errorf("a second Deepen: %q, %v, %d requests", note, err, len(o.server.Statuses())-n)
			}
		})
	}
}

// Refused credentials (401): an error that says so and holds no piece of
// the token — not from the header, not from a URL's userinfo — and the
// clone as it was. GitLab's job token as basic auth, from the options or
// the URL's userinfo, is accepted when right.
func TestDeepenRefusedAndBasicAuth(t *testing.T) {
	job := token(t)
	o := newPROrigin(t, func(r *http.Request) bool {
		u, p, ok := r.BasicAuth()
		return ok && u == "gitlab-ci-token" && p == job
	})
	shallowBefore, _ := os.ReadFile(filepath.Join(o.clone, ".git", "shallow"))
	wrong := token(t)
	u, _ := url.Parse(o.url)
	u.User = url.UserPassword("gitlab-ci-token", wrong)
	repotest.Git(t, o.clone, "remote", "set-url", "origin", u.String()) // an old runner's remote, token inside

	for name, opts := range map[string]DeepenOptions{
		"userinfo of the origin URL": {Base: o.base, Head: o.head},
		"basic auth":                 {Base: o.base, Head: o.head, Username: "gitlab-ci-token", Password: wrong},
	} {
		note, err := Deepen(context.Background(), o.clone, opts)
		if err == nil || note != "" {
			t.Fatalf("%s: wrong token: note %q, err %v", name, note, err)
		}
		if !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), o.server.URL) {
			t.Errorf("%s: err = %v, want the 401 and the server named", name, err)
		}
		noPieceOf(t, err.Error(), wrong)
	}
	if after, _ := os.ReadFile(filepath.Join(o.clone, ".git", "shallow")); string(after) != string(shallowBefore) {
		t.Errorf("a refused fetch changed the shallow file")
	}
	if HasCommit(context.Background(), o.clone, o.base) {
		t.Error("a refused fetch brought the base")
	}

	repotest.Git(t, o.clone, "remote", "set-url", "origin", o.url)
	// the job token belongs to the job's GitLab: an origin elsewhere never gets it
	n := len(o.server.Statuses())
	if _, err := Deepen(context.Background(), o.clone, DeepenOptions{Base: o.base, Head: o.head, URL: "https://gitlab.example.com/o.git", Username: "gitlab-ci-token", Password: job}); err == nil || !strings.Contains(err.Error(), "no credentials") {
		t.Errorf("the job token sent to another host's origin: %v", err)
	}
	if got := o.server.Statuses()[n:]; len(got) == 0 || got[0] != http.StatusUnauthorized {
		t.Errorf("the server answered %v to a request without credentials", got)
	}
	note, err := Deepen(context.Background(), o.clone, DeepenOptions{Base: o.base, Head: o.head, URL: o.url, Username: "gitlab-ci-token", Password: job})
	if err != nil || !strings.Contains(note, "basic auth as gitlab-ci-token") {
		t.Fatalf("the job token: note %q, err %v", note, err)
	}
	noPieceOf(t, note, job)
	r, _ := Open(o.clone)
	if ok, _ := wholeRange(r, o.base, o.head); !ok {
		t.Error("the range is not whole")
	}
}

// A complete clone of one branch lacks the other's commits: they are
// fetched with their whole history, and the clone stays complete (a
// depth would have made it shallow).
func TestDeepenCompleteCloneStaysComplete(t *testing.T) {
	o := newPROrigin(t, nil)
	full := filepath.Join(t.TempDir(), "full")
	repotest.Git(t, t.TempDir(), "clone", "-q", "--single-branch", "--branch", "pr", o.url, full)
	if HasCommit(context.Background(), full, o.base) {
		t.Fatal("the one-branch clone holds main's tip: the test shows nothing")
	}
	note, err := Deepen(context.Background(), full, DeepenOptions{Base: o.base, Head: o.head})
	if err != nil || !strings.Contains(note, "the whole history") {
		t.Fatalf("note %q, err %v", note, err)
	}
	if _, err := os.Stat(filepath.Join(full, ".git", "shallow")); err == nil {
		t.Error("the complete clone became shallow")
	}
	if got := strings.Fields(repotest.Git(t, full, "rev-list", o.base+".."+o.head)); len(got) != 3 {
		t.Errorf("git rev-list base..head = %v, want the PR's 3 commits", got)
	}
}

// No base, or a clone without a usable origin: nothing is fetched, and
// the error says why.
func TestDeepenWithoutSource(t *testing.T) {
	o := newPROrigin(t, nil)
	if note, err := Deepen(context.Background(), o.clone, DeepenOptions{}); note != "" || err != nil || len(o.server.Statuses()) != 0 {
		t.Errorf("no base: %q, %v, %v", note, err, o.server.Statuses())
	}
	repotest.Git(t, o.clone, "remote", "set-url", "origin", "git@example.com:o/r.git")
	if _, err := Deepen(context.Background(), o.clone, DeepenOptions{Base: o.base, Head: o.head}); err == nil || !strings.Contains(err.Error(), "not an http(s) URL") {
		t.Errorf("an ssh remote: %v", err)
	}
	if _, err := Deepen(context.Background(), o.clone, DeepenOptions{Base: "main~3", Head: o.head}); err == nil || !strings.Contains(err.Error(), "full commit id") {
		t.Errorf("a name the clone cannot resolve: %v", err)
	}
}

func TestURLMatch(t *testing.T) {
	target, _ := url.Parse("https://github.com/o/r")
	for _, c := range []struct {
		key  string
		user string
		ok   bool
	}{
		{"https://github.com/", "", true},
		{"https://github.com", "", true},
		{"https://GitHub.com:443/o", "", true},
		{"https://*.com/", "", true},
		{"https://github.com/o/r", "", true},
		{"https://github.com/o/r2", "", false},
		{"https://github.com/o/", "", true},
		{"http://github.com/", "", false},
		{"https://github.com:8443/", "", false},
		{"https://gitlab.com/", "", false},
		{"https://x@github.com/", "", false},
		{"https://x@github.com/", "x", true},
	} {
		if _, ok := urlMatch(c.key, target, c.user); ok != c.ok {
			t.Errorf("urlMatch(%q, user %q) = %v, want %v", c.key, c.user, ok, c.ok)
		}
	}
	short, _ := urlMatch("https://github.com/", target, "")
	long, _ := urlMatch("https://github.com/o/r", target, "")
	if long <= short {
		t.Errorf("a longer path is not the better match: %d <= %d", long, short)
	}
}

func TestGitDirMatches(t *testing.T) {
	for _, c := range []struct {
		cond, gitDir string
		ok           bool
	}{
		{"gitdir:/github/workspace/.git", "/github/workspace/.git", true},
		{"gitdir:/github/workspace/.git", "/home/runner/work/r/r/.git", false},
		{"gitdir:/github/workspace/.git/worktrees/*", "/github/workspace/.git", false},
		{"gitdir:/github/", "/github/workspace/.git", true},
		{"gitdir:workspace/.git", "/github/workspace/.git", true},
		{"gitdir/i:/GitHub/Workspace/.git", "/github/workspace/.git", true},
		{"gitdir:/GitHub/Workspace/.git", "/github/workspace/.git", false},
		{"onbranch:main", "/github/workspace/.git", false},
	} {
		if got := gitDirMatches(c.cond, "/etc/gitconfig", c.gitDir); got != c.ok {
			t.Errorf("gitDirMatches(%q, %q) = %v, want %v", c.cond, c.gitDir, got, c.ok)
		}
	}
}

// The header's value, its base64 token and the password inside are all
// kept out of messages.
func TestHeaderSecrets(t *testing.T) {
	tok := token(t)
	s := source{url: "https://h/r", secrets: headerSecrets("AUTHORIZATION: " + basicHeader("x-access-token", tok))}
	msg := s.redact("sent " + basicHeader("x-access-token", tok) + " for x-access-token:" + tok + " to https://u:" + tok + "@h/r")
	noPieceOf(t, msg, tok)
	noPieceOf(t, msg, base64.StdEncoding.EncodeToString([]byte("x-access-token:"+tok)))
}

// F8: an origin that redirects to another port (or scheme) of its host
// never passes the checkout's credentials on: the extraheader and the
// basic auth reach the origin only, the deepening fails saying why, and
// the second server sees no credential. Two httptest servers, the first
// redirecting every request to the second's same path.
func TestDeepenRefusesRedirectToAnotherPort(t *testing.T) {
	secret := token(t)
	var seen []string // credentials the second server received
	o := newPROrigin(t, nil)
	first := httptestRedirect(t, o.server.URL)
	repotest.Git(t, o.clone, "remote", "set-url", "origin", first.URL+"/o.git")
	o.server.Config.Handler = credentialSpy(o.server.Config.Handler, &seen)

	repotest.Git(t, o.clone, "config", "http."+first.URL+"/.extraheader", "AUTHORIZATION: "+basicHeader("x-access-token", secret))
	for name, opts := range map[string]DeepenOptions{
		"extraheader": {Base: o.base, Head: o.head},
		"basic auth":  {Base: o.base, Head: o.head, Username: "gitlab-ci-token", Password: secret},
	} {
		note, err := Deepen(context.Background(), o.clone, opts)
		if err == nil || !strings.Contains(err.Error(), "redirects") {
			t.Errorf("%s: note %q, err %v, want a refused redirect", name, note, err)
		}
		if err != nil {
			noPieceOf(t, err.Error(), secret)
		}
	}
	if len(seen) > 0 {
		t.Errorf("the other port received credentials: %d requests", len(seen))
	}
}

// httptestRedirect is a server that redirects every request to target
// (scheme://host:port), same path and query.
func httptestRedirect(t *testing.T, target string) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target+r.URL.RequestURI(), http.StatusFound)
	}))
	t.Cleanup(s.Close)
	return s
}

// credentialSpy records any request that carries credentials.
func credentialSpy(next http.Handler, seen *[]string) http.Handler {
	var mu sync.Mutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); a != "" {
			mu.Lock()
			*seen = append(*seen, r.URL.Path)
			mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

// F2: a depth-1 checkout of a new branch holds no merge base with the
// default branch; DeepenToBranch fetches the default branch (into
// origin/main) and the head deeper, with the checkout's extraheader,
// until they share one: MergeBase then finds the branch point, walking
// the still shallow clone. A name that is not a branch is refused.
func TestDeepenToBranch(t *testing.T) {
	secret := token(t)
	header := basicHeader("x-access-token", secret)
	o := newPROrigin(t, func(r *http.Request) bool { return r.Header.Get("Authorization") == header })
	repotest.Git(t, o.clone, "config", "http."+o.server.URL+"/.extraheader", "AUTHORIZATION: "+header)
	if mb := MergeBase(context.Background(), o.clone, "origin/main", o.head); mb != "" {
		t.Fatalf("the depth-1 clone already has a merge base %s", mb)
	}
	note, err := DeepenToBranch(context.Background(), o.clone, "main", DeepenOptions{Head: o.head})
	if err != nil || !strings.Contains(note, "default branch main") || !strings.Contains(note, "extraheader") {
		t.Fatalf("note %q, err %v", note, err)
	}
	noPieceOf(t, note, secret)
	r, _ := Open(o.clone)
	first, err := r.CommitObject(plumbingHash(o.prCommits[0]))
	if err != nil {
		t.Fatal(err)
	}
	want := first.ParentHashes[0].String() // main's third commit, where pr branched
	if mb := MergeBase(context.Background(), o.clone, "origin/main", o.head); mb != want {
		t.Errorf("merge base %q, want the branch point %s", mb, want)
	}
	// again: nothing to do, no request
	n := len(o.server.Statuses())
	if note, err := DeepenToBranch(context.Background(), o.clone, "main", DeepenOptions{Head: o.head}); note != "" || err != nil || len(o.server.Statuses()) != n {
		t.Errorf("a second call: note %q, err %v, %d requests", note, err, len(o.server.Statuses())-n)
	}
	for _, bad := range []string{"", "-main", "a:b", "a..b"} {
		if _, err := DeepenToBranch(context.Background(), o.clone, bad, DeepenOptions{Head: o.head}); err == nil || !strings.Contains(err.Error(), "not a branch name") {
			t.Errorf("branch %q: %v", bad, err)
		}
	}
}

func plumbingHash(s string) plumbing.Hash { return plumbing.NewHash(s) }

// MergeBase in a shallow clone whose edge is the branch point itself:
// go-git's own merge base fails on the edge's missing parent; the walk
// to the edges finds it.
func TestMergeBaseShallow(t *testing.T) {
	o := newPROrigin(t, nil)
	clone := filepath.Join(t.TempDir(), "c")
	repotest.Git(t, t.TempDir(), "clone", "-q", "--depth", "4", "--no-single-branch", o.url, clone)
	r, _ := Open(clone)
	first, err := r.CommitObject(plumbingHash(o.prCommits[0]))
	if err != nil {
		t.Fatal(err)
	}
	want := first.ParentHashes[0]
	if shallow, _ := ShallowCommits(r); !shallow[want] {
		t.Fatalf("the branch point %s is not the clone's edge: %v", want, shallow)
	}
	if mb := MergeBase(context.Background(), clone, "origin/main", "origin/pr"); mb != want.String() {
		t.Errorf("merge base %q, want %s", mb, want)
	}
	a, _ := r.CommitObject(plumbingHash(o.base))
	b, _ := r.CommitObject(plumbingHash(o.head))
	if bases, err := a.MergeBase(b); err == nil && len(bases) == 1 && bases[0].Hash == want {
		t.Log("go-git's own merge base handles the shallow edge too")
	}
}

// The redirect policy compares scheme, host and port, the default ports
// explicit: a redirect within the origin is followed, any other refused.
func TestSameOrigin(t *testing.T) {
	req := func(raw string) *http.Request {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		return &http.Request{URL: u}
	}
	from := []*http.Request{req("https://git.example.com/o.git/info/refs")}
	for target, ok := range map[string]bool{
		"https://git.example.com/other.git/info/refs":     true,
		"https://GIT.example.com:443/o.git/info/refs":     true,
		"https://git.example.com:8443/o.git/info/refs":    false,
		"http://git.example.com/o.git/info/refs":          false,
		"https://evil.example.com/o.git/info/refs":        false,
		"https://user:pw@git.example.com:444/o.git/info/": false,
	} {
		err := sameOrigin(req(target), from)
		if (err == nil) != ok {
			t.Errorf("%s: %v, want followed %v", target, err, ok)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("the error shows a URL's userinfo: %v", err)
		}
	}
}

// The merge base is the best common ancestor: a branch that reaches an
// older commit of main by a second path (a merge of a branch from it)
// still has main's newer commit as its merge base, not the older one the
// walk also meets.
func TestMergeBaseBestCommonAncestor(t *testing.T) {
	dir := t.TempDir()
	git := func(args ...string) string { return repotest.Git(t, dir, args...) }
	commit := func(msg string) string {
		repotest.Write(t, dir, map[string]string{msg + ".txt": msg + "\n"})
		git("add", "-A")
		git("commit", "-qm", msg)
		return git("rev-parse", "HEAD")
	}
	git("init", "-q", "-b", "main")
	// c1 dated after c2: the newest of the commits the walk meets is c1,
	// only the reachability filter picks c2
	t.Setenv("GIT_COMMITTER_DATE", "2026-01-02T00:00:00Z")
	c1 := commit("c1")
	t.Setenv("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
	c2 := commit("c2")
	t.Setenv("GIT_COMMITTER_DATE", "2026-01-03T00:00:00Z")
	git("checkout", "-q", "-b", "old", c1)
	commit("e")
	git("checkout", "-q", "-b", "feat", c2)
	commit("d")
	git("merge", "-q", "--no-edit", "old")
	git("checkout", "-q", "main")
	commit("c3")
	if mb := MergeBase(context.Background(), dir, "main", "feat"); mb != c2 {
		t.Errorf("merge base %s, want c2 %s (c1 is %s)", mb, c2, c1)
	}
}
