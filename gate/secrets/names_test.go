package secrets

import (
	"context"
	"strings"
	"testing"

	"github.com/secgate/secgate/gate/secrets/secretstest"
	"github.com/secgate/secgate/policy"
)

// nameFinding returns the finding of rule at path (line 0) and commit
// (any when ""), or nil.
func nameFinding(res policy.ScanResult, rule, path, commit string) *policy.Finding {
	for i, f := range res.Findings {
		if f.Rule == rule && f.Location.Path == path && f.Location.Line == 0 && (commit == "" || f.Location.Commit == commit) {
			return &res.Findings[i]
		}
	}
	return nil
}

// namesRepo is a repository whose base is clean and whose second commit
// adds a file named after a GitHub token, a file under a directory
// named after an AWS key id (glued to the word before it), and says a
// Slack token in its message; the contents are clean.
func namesRepo(t *testing.T) (dir, ghp, akia, xoxb, base, head string) {
	ghp, akia, xoxb = secretstest.GitHubPAT(t), secretstest.AWSKeyID(t), contentSlackBot(t)
	dir = t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	writeFile(t, dir, "README.md", "base\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "base")
	base = strings.TrimSpace(git(t, dir, "rev-parse", "HEAD"))
	writeFile(t, dir, "creds-"+ghp, "x\n")
	writeFile(t, dir, "keys/aws"+akia+"/notes.txt", "nothing here\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "add the files\n\nthe bot token is "+xoxb)
	head = strings.TrimSpace(git(t, dir, "rev-parse", "HEAD"))
	return
}

// F5 of the red team: a token in a file's name (or a directory's) is a
// finding in every mode, at the path with line 0, and one in a commit
// message is a finding at the commit in the history modes. Without
// names.go none of them is found (the contents are clean).
func TestTokenInNamesAndMessages(t *testing.T) {
	dir, ghp, akia, xoxb, base, head := namesRepo(t)
	describe := func(res policy.ScanResult) string {
		var b strings.Builder
		for _, f := range res.Findings {
			b.WriteString("\n  " + f.Rule + " " + f.Location.Path + " @" + f.Location.Commit)
		}
		return b.String()
	}
	awsDir := "keys/aws" + akia
	for _, mode := range []string{"tree", "range", "history"} {
		t.Run(mode, func(t *testing.T) {
			opts := Options{Root: dir}
			switch mode {
			case "range":
				opts.Base, opts.Head = base, head
			case "history":
				opts.History = true
			}
			res, err := New(opts).Scan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			commit := ""
			if mode != "tree" {
				commit = head
			}
			if f := nameFinding(res, "github-pat", "creds-"+ghp, commit); f == nil {
				t.Errorf("the token-named file is not a finding:%s", describe(res))
			} else if !strings.HasSuffix(f.Title, "(in a file name)") {
				t.Errorf("the title does not say the token is in a name: %q", f.Title)
			}
			// at the directory, once, not at the file under it
			awsPath := awsDir
			if nameFinding(res, "aws-access-token", awsPath, commit) == nil {
				t.Errorf("the AWS key id glued in a directory's name is not a finding at %s:%s", awsPath, describe(res))
			}
			msg := nameFinding(res, "slack-bot-token", "", head)
			if msg != nil && !strings.HasSuffix(msg.Title, "(in a commit message)") {
				t.Errorf("the title does not say the token is in a message: %q", msg.Title)
			}
			if mode == "tree" && msg != nil || mode != "tree" && msg == nil {
				t.Errorf("the commit message's token: found %v in %s mode:%s", msg != nil, mode, describe(res))
			}
			// located, redacted: the report shows no piece of a value
			for _, f := range res.Findings {
				f.Location.Path = res.Redactor.Redact(f.Location.Path)
				for _, tok := range []string{ghp, akia, xoxb} {
					for i := 4; i+6 <= len(tok); i++ {
						if strings.Contains(f.Location.Path+f.Preview+f.Title, tok[i:i+6]) {
							t.Errorf("finding %s %s carries a piece of a value", f.Rule, f.Location.Path)
						}
					}
				}
			}
			if len(res.Findings) != 3-btoi(mode == "tree") {
				t.Errorf("%d findings, want %d:%s", len(res.Findings), 3-btoi(mode == "tree"), describe(res))
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Names are read in batches: a token among a thousand names is located
// at its own name, in whichever batch it falls, and a batch's clean
// names are not findings.
func TestNamesBatchLocatesTheToken(t *testing.T) {
	cfg, _, err := loadConfig(context.Background(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	d := newContentDetector(context.Background(), cfg, maxDecodeDepth, 0)
	for _, at := range []int{0, nameBatch - 1, nameBatch, 999} {
		ghp := secretstest.GitHubPAT(t)
		n := &names{}
		for i := range 1000 {
			name := "file" + strings.Repeat("x", i%7) + ".txt"
			if i == at {
				name = "creds-" + ghp
			}
			n.add(name, "dir"+string(rune('a'+i%26))+"/"+name, "", inName)
		}
		found := n.detect(context.Background(), d)
		if len(found) != 1 || found[0].Secret != ghp || !strings.HasSuffix(found[0].File, "/creds-"+ghp) || found[0].StartLine != 0 {
			t.Errorf("token at name %d: %d findings, want one at its path", at, len(found))
		}
	}
}

// A commit whose message or added names hold a token is not remembered
// clean: the second cached run of a range finds what the first did.
func TestNamesNotCachedClean(t *testing.T) {
	dir, _, _, _, base, head := namesRepo(t)
	cacheDir := t.TempDir()
	for run := range 2 {
		res := cached(t, cacheDir, Options{Root: dir, Base: base, Head: head})
		if len(res.Findings) != 3 {
			t.Errorf("cached run %d: %d findings, want the 3 of the names and the message (%s)", run+1, len(res.Findings), cacheNote(res))
		}
	}
}
