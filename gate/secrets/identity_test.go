package secrets

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/secgate/secgate/gate/secrets/secretstest"
)

// Red team A3: a token in a commit's author or committer identity (git
// -c user.name="bot <ghp_…>", GIT_COMMITTER_NAME) passed. The range and
// history scans read both identities with the provider-format rules; the
// finding is at the commit, its title says where. Without the identities
// in names.commit neither is found (2 errors in each of range and
// history).
func TestTokenInCommitIdentity(t *testing.T) {
	authorTok, committerTok := secretstest.GitHubPAT(t), secretstest.GitHubPAT(t)
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	writeFile(t, dir, "README.md", "base\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "base")
	base := git(t, dir, "rev-parse", "HEAD")
	writeFile(t, dir, "a.txt", "one\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "one", "--author", "bot "+authorTok+" <bot@example.com>")
	byAuthor := git(t, dir, "rev-parse", "HEAD")
	writeFile(t, dir, "b.txt", "two\n")
	git(t, dir, "add", ".")
	cmd := exec.Command("git", "-C", dir, "commit", "-qm", "two")
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=ci "+committerTok, "GIT_COMMITTER_EMAIL=ci@example.com")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git commit: %v\n%s", err, out)
	}
	byCommitter := git(t, dir, "rev-parse", "HEAD")

	for _, mode := range []string{"range", "history"} {
		t.Run(mode, func(t *testing.T) {
			opts := Options{Root: dir, Base: base, Head: byCommitter}
			if mode == "history" {
				opts = Options{Root: dir, History: true}
			}
			res, err := New(opts).Scan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range []struct{ commit, title string }{{byAuthor, inAuthor}, {byCommitter, inCommitter}} {
				f := nameFinding(res, "github-pat", "", w.commit)
				if f == nil {
					t.Errorf("the token in the commit's%s is not a finding (%d findings)", w.title, len(res.Findings))
					continue
				}
				if !strings.HasSuffix(f.Title, w.title) {
					t.Errorf("title %q, want it to end with %q", f.Title, w.title)
				}
				for _, tok := range []string{authorTok, committerTok} {
					if strings.Contains(f.Title+f.Preview, tok[4:14]) {
						t.Errorf("the finding carries a piece of the token")
					}
				}
			}
			if len(res.Findings) != 2 {
				t.Errorf("%d findings, want 2", len(res.Findings))
			}
		})
	}
}
