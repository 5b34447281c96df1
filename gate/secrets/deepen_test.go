package secrets

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/secgate/secgate/gate/repo"
	"github.com/secgate/secgate/gate/repo/repotest"
	"github.com/secgate/secgate/gate/secrets/secretstest"
)

// A pull request whose first commit adds a token and whose second takes it
// out again, checked out as CI does by default (the head only, depth 1;
// the base fetched alone): the range scan reads the head against the base
// and cannot see the token. Deepened over smart HTTP with the header the
// checkout persisted, the same scan reads each commit and finds it.
func TestRangeAfterDeepenFindsWhatTheShallowCloneHid(t *testing.T) {
	tok := secretstest.GitHubPAT(t)
	work := t.TempDir()
	git := func(args ...string) string { return repotest.Git(t, work, args...) }
	commit := func(msg string, files map[string]string) string {
		repotest.Write(t, work, files)
		git("add", "-A")
		git("commit", "-qm", msg)
		return git("rev-parse", "HEAD")
	}
	git("init", "-q", "-b", "main")
	commit("one", map[string]string{"README.md": "one\n"})
	commit("two", map[string]string{"README.md": "two\n"})
	git("checkout", "-q", "-b", "pr")
	intro := commit("add the config", map[string]string{"conf/app.env": "GITHUB_TOKEN=" + tok + "\n"})
	commit("read the token from the environment", map[string]string{"conf/app.env": "GITHUB_TOKEN=${GITHUB_TOKEN}\n"})
	head := commit("docs", map[string]string{"README.md": "three\n"})
	git("checkout", "-q", "main")
	base := commit("main moves on", map[string]string{"main.txt": "x\n"})

	served := t.TempDir()
	repotest.Git(t, served, "clone", "-q", "--bare", work, "o.git")
	bare := "file://" + filepath.Join(served, "o.git")
	clone := filepath.Join(t.TempDir(), "clone")
	repotest.Git(t, served, "clone", "-q", "--depth", "1", "--branch", "pr", bare, clone)
	repotest.Git(t, clone, "fetch", "-q", "--depth", "1", "origin", "main")

	cred := "basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+secretstest.Random(t, "abcdef0123456789", 40)))
	srv := repotest.ServeGit(t, served, func(r *http.Request) bool { return r.Header.Get("Authorization") == cred })
	u, _ := url.Parse(srv.URL)
	repotest.Git(t, clone, "remote", "set-url", "origin", srv.URL+"/o.git")
	repotest.Git(t, clone, "config", "http."+u.Scheme+"://"+u.Host+"/.extraheader", "AUTHORIZATION: "+cred)

	shallow := rangeScan(t, clone, base, head)
	if rangeHas(shallow, "github-pat", "conf/app.env", tok) {
		t.Fatalf("the shallow clone's scan found the token: the test shows nothing:%s", rangeDescribe(shallow))
	}
	if rangeSkipped(shallow.Coverage, "shallow clone") == nil {
		t.Errorf("the shallow scan's coverage names no shallow edge:%s", rangeDescribe(shallow))
	}

	if _, err := repo.Deepen(context.Background(), clone, repo.DeepenOptions{Base: base, Head: head}); err != nil {
		t.Fatalf("Deepen: %v", err)
	}
	deep := rangeScan(t, clone, base, head)
	if !rangeHas(deep, "github-pat", "conf/app.env", tok) {
		t.Errorf("the deepened clone's scan misses the token added in %s:%s", intro[:12], rangeDescribe(deep))
	}
	if deep.Coverage.Commits != 3 || rangeSkipped(deep.Coverage, "shallow clone") != nil {
		t.Errorf("the deepened range is not read whole (want the PR's 3 commits, no edge):%s", rangeDescribe(deep))
	}
}
