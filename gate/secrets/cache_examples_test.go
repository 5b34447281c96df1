package secrets

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/secgate/secgate/gate/secrets/secretstest"
	"github.com/secgate/secgate/policy"
)

// examplesNote is the note that counts the public examples dropped.
func examplesNote(res policy.ScanResult) string {
	for _, n := range res.Notes {
		if strings.Contains(n, "matches of public example values") {
			return n
		}
	}
	return ""
}

// A file whose every match is a public example (Stripe's documentation key)
// is kept by the cache with how many it dropped: a warm run does not read
// it, and says the same count as the cold run. A file with an example and
// a real key is read every run (its key reported every run); a change to
// the examples file (a real key added) is found.
func TestTreeCacheExampleFiles(t *testing.T) {
	root := t.TempDir()
	// Stripe's documented test key and Oracle's sample account: public
	// values a rule matches and convert drops
	docKey := "sk_" + "test_4eC39HqLyjWDarjtT1zdp7dc"
	demo := "postgres://scott:tiger@db.internal.test:5432/app"
	real := secretstest.AWSKeyID(t)
	files := map[string]string{
		"src/main.go":    "package main\n\nfunc main() {}\n",
		"go.sum":         "example.test/m v1.0.0 h1:abc=\n",
		"docs/guide.md":  "# Guide\n\nRun it.\n",
		"docs/aws.md":    "Set STRIPE_KEY=" + docKey + "\n\nand DATABASE_URL=" + demo + "\n",
		"deploy/keys.sh": "export AWS_ACCESS_KEY_ID=" + docKey + "\nexport PROD_KEY_ID=" + real + "\n",
	}
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for rel, content := range files {
		write(rel, content)
	}
	dir := t.TempDir()
	found := func(res policy.ScanResult, path string) bool {
		return slices.ContainsFunc(res.Findings, func(f policy.Finding) bool { return f.Location.Path == path })
	}

	cold := cached(t, dir, Options{Root: root})
	if examplesNote(cold) == "" || !found(cold, "deploy/keys.sh") || found(cold, "docs/aws.md") {
		t.Fatalf("the fixture does not give what the test needs: examples note %q, findings %v", examplesNote(cold), findingKeys(cold))
	}
	warm := cached(t, dir, Options{Root: root})
	// the three clean files and the examples file: not the one with a key
	if n := cacheNote(warm); !strings.HasPrefix(n, "cache: 4 files") {
		t.Errorf("warm run: %q, want the 3 clean files and docs/aws.md spared", n)
	}
	if examplesNote(warm) != examplesNote(cold) {
		t.Errorf("examples note: cold %q, warm %q", examplesNote(cold), examplesNote(warm))
	}
	if !slices.Equal(findingKeys(cold), findingKeys(warm)) {
		t.Errorf("warm findings differ:\n%v\n%v", findingKeys(cold), findingKeys(warm))
	}
	if !reflect.DeepEqual(cold.Coverage, warm.Coverage) || len(cold.Coverage.Skipped) == 0 {
		t.Errorf("coverage (go.sum read by the provider rules only, listed as such): cold %+v, warm %+v", cold.Coverage, warm.Coverage)
	}

	// A real key added to the examples file: read again, found.
	other := secretstest.AWSKeyID(t)
	write("docs/aws.md", files["docs/aws.md"]+"\nexport STAGING_KEY_ID="+other+"\n")
	if changed := cached(t, dir, Options{Root: root}); !found(changed, "docs/aws.md") {
		t.Error("the key added to a file of examples was not found")
	}
}
