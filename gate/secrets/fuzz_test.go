package secrets

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRepoConfig merges arbitrary .gitleaks.toml files: an error or a
// ruleset, never a panic, and never fewer rules than the defaults less
// those the file disables.
func FuzzRepoConfig(f *testing.F) {
	def, _, err := loadConfig(context.Background(), "", "")
	if err != nil {
		f.Fatal(err)
	}
	f.Add("[extend]\nuseDefault = true\n\n[[rules]]\nid = \"x\"\nregex = '''x[0-9]{8}'''\n")
	f.Add("[extend]\ndisabledRules = [\"generic-api-key\"]\n[[allowlists]]\npaths = ['''^docs/''']\n")
	f.Add("[[rules]]\nid = \"bad\"\nregex = '''(unclosed'''\n")
	f.Add("title = 3\n[[rules]]\nid = \"github-pat\"\n[[rules.allowlists]]\nregexes = ['''ghp_test''']\n")
	f.Fuzz(func(t *testing.T, toml string) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, RepoConfigFile), []byte(toml), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, notes, err := loadConfig(context.Background(), dir, "")
		if err != nil {
			return
		}
		disabled := 0
		for _, n := range notes {
			if _, list, ok := strings.Cut(n, "disables rules: "); ok {
				disabled += len(strings.Split(list, ", "))
			}
		}
		if len(cfg.Rules) < len(def.Rules)-disabled {
			t.Fatalf("%d rules, fewer than the %d defaults less %d disabled", len(cfg.Rules), len(def.Rules), disabled)
		}
	})
}

// FuzzConnectionURL scans arbitrary connection strings: a finding's
// preview never shows a character of the value beyond a documented prefix.
func FuzzConnectionURL(f *testing.F) {
	ts, err := NewTextScanner(nil)
	if err != nil {
		f.Fatal(err)
	}
	// Assembled at run time, so that this file holds no credential-shaped URL.
	at := "@"
	for _, s := range []string{
		"postgres://app:S3cretPassw0rd" + at + "db.internal:5432/app",
		"mongodb://root:${MONGO_PASSWORD}" + at + "mongo:27017",
		"redis://:p%40ss%3Aword" + at + "cache.example.com:6379",
		"amqp://user:pa:ss" + at + "[::1]:5672",
		"https://AKIAIOSFODNN7EXAMPLE:realpassword" + at + "s3.internal",
		"ftp://u:%zz%zz%zz" + at + "host",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, fd := range ts.Scan(context.Background(), "config.env", []byte("DATABASE_URL="+s+"\n")) {
			rest := fd.Preview
			for _, p := range publicPrefixes {
				if strings.HasPrefix(rest, p+"…") {
					rest = strings.TrimPrefix(rest, p)
				}
			}
			if !previewShape.MatchString(rest) && !pemHeader.MatchString(fd.Preview) {
				t.Fatalf("preview %q of %q shows more than a documented prefix", fd.Preview, s)
			}
		}
	})
}
