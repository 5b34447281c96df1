package secrets

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/secgate/secgate/gate/secrets/secretstest"
)

// Red team attack7 F5: a token in an annotated tag's message, tagger
// identity or name passed every mode. The range scan reads the tags on the
// range's commits, the history scan every annotated tag; each finding is
// at the tagged commit, its title says where. A tag of the base is not
// the range's. Without gitHistory.tags none is found.
func TestTokenInAnnotatedTag(t *testing.T) {
	msgTok, taggerTok, oldTok, nameTok := secretstest.GitHubPAT(t), secretstest.GitHubPAT(t), secretstest.GitHubPAT(t), secretstest.GitHubPAT(t)
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	writeFile(t, dir, "README.md", "base\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "base")
	base := git(t, dir, "rev-parse", "HEAD")
	git(t, dir, "tag", "-a", "v0", "-m", "old notes "+oldTok)
	writeFile(t, dir, "a.txt", "one\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "one")
	head := git(t, dir, "rev-parse", "HEAD")
	git(t, dir, "tag", "-a", "v1", "-m", "release notes\n\ntoken "+msgTok)
	cmd := exec.Command("git", "-C", dir, "tag", "-a", "v1-signed", "-m", "release")
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_COMMITTER_NAME=ci "+taggerTok, "GIT_COMMITTER_EMAIL=ci@example.com")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git tag: %v\n%s", err, out)
	}
	git(t, dir, "tag", "-a", "rel-"+nameTok, "-m", "named")
	// a tag of a tag: its message is read too, at the commit
	git(t, dir, "tag", "-a", "v1-again", "v1", "-m", "again")

	type want struct{ commit, title string }
	for _, mode := range []string{"range", "history"} {
		t.Run(mode, func(t *testing.T) {
			opts := Options{Root: dir, Base: base, Head: head}
			wants := []want{{head, inTagMsg}, {head, inTagger}, {head, inTagName}}
			if mode == "history" {
				opts = Options{Root: dir, History: true}
				wants = append(wants, want{base, inTagMsg})
			}
			res, err := New(opts).Scan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			got := map[want]int{}
			for _, f := range res.Findings {
				if f.Rule != "github-pat" {
					continue
				}
				for _, in := range []string{inTagMsg, inTagger, inTagName} {
					if strings.HasSuffix(f.Title, in) {
						got[want{f.Location.Commit, in}]++
					}
				}
				for _, tok := range []string{msgTok, taggerTok, oldTok, nameTok} {
					if strings.Contains(f.Title+f.Preview, tok[4:14]) {
						t.Errorf("the finding carries a piece of the token")
					}
				}
			}
			for _, w := range wants {
				if got[w] != 1 {
					t.Errorf("the token in the tag's%s at %.12s: %d findings, want 1 (findings: %v)", w.title, w.commit, got[w], got)
				}
			}
			if len(res.Findings) != len(wants) {
				t.Errorf("%d findings, want %d", len(res.Findings), len(wants))
			}
		})
	}
}

// A lightweight tag has no object, only its name, and the name is pushed
// and listed like a branch's: a token in it is a finding of the range and
// the history, at the tagged commit (a walk past the annotated-tag fix:
// without tagName, exit 0 in both modes).
func TestTokenInLightweightTagName(t *testing.T) {
	tok := secretstest.GitHubPAT(t)
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	writeFile(t, dir, "README.md", "base\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "base")
	base := git(t, dir, "rev-parse", "HEAD")
	writeFile(t, dir, "a.txt", "one\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "one")
	head := git(t, dir, "rev-parse", "HEAD")
	git(t, dir, "tag", "rel-"+tok)
	for _, opts := range []Options{{Root: dir, Base: base, Head: head}, {Root: dir, History: true}} {
		res, err := New(opts).Scan(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, f := range res.Findings {
			if f.Rule == "github-pat" && strings.HasSuffix(f.Title, inTagName) && f.Location.Commit == head {
				n++
			}
			if strings.Contains(f.Title+f.Preview, tok[4:14]) {
				t.Errorf("the finding carries a piece of the token")
			}
		}
		if n != 1 {
			t.Errorf("history %v: %d findings of the tag's name at %.12s, want 1: %+v", opts.History, n, head, res.Findings)
		}
	}
}
