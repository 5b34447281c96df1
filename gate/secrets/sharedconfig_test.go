package secrets

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/zricethezav/gitleaks/v8/config"

	"github.com/secgate/secgate/gate/secrets/secretstest"
)

const acmeConfig = `
[extend]
disabledRules = ["slack-bot-token"]

[[rules]]
id = "acme-internal-token"
regex = '''acme_[a-z0-9]{24}'''
keywords = ["acme_"]
`

// sameRules reports whether two configs are one shared value (their rule
// maps are one map), not two equal ones.
func sameRules(a, b config.Config) bool {
	return reflect.ValueOf(a.Rules).UnsafePointer() == reflect.ValueOf(b.Rules).UnsafePointer()
}

// The rule set is built once per input and shared: by the built-in
// users (text scanners, redaction) and a tree without a .gitleaks.toml,
// and by trees whose .gitleaks.toml has the same content; never across
// different .gitleaks.toml contents.
func TestSharedConfigKeyedByItsInput(t *testing.T) {
	ctx := context.Background()
	load := func(root string) (config.Config, []string) {
		t.Helper()
		cfg, notes, err := loadConfig(ctx, root, "")
		if err != nil {
			t.Fatal(err)
		}
		return cfg, notes
	}
	builtin, _ := load("")
	plain, _ := load(t.TempDir())
	if !sameRules(builtin, plain) {
		t.Error("a tree without .gitleaks.toml got its own copy of the built-in rules")
	}
	a, b, other := t.TempDir(), t.TempDir(), t.TempDir()
	writeFile(t, a, RepoConfigFile, acmeConfig)
	writeFile(t, b, RepoConfigFile, acmeConfig)
	writeFile(t, other, RepoConfigFile, strings.ReplaceAll(acmeConfig, "acme", "initech"))
	ca, notesA := load(a)
	cb, notesB := load(b)
	co, _ := load(other)
	if !sameRules(ca, cb) {
		t.Error("two trees with the same .gitleaks.toml got two rule sets")
	}
	if !slices.Equal(notesA, notesB) || !strings.Contains(strings.Join(notesB, "\n"), "disables rules: slack-bot-token") {
		t.Errorf("notes of a shared rule set: %q and %q", notesA, notesB)
	}
	notesB[0] = "changed by a caller"
	if _, again := load(a); again[0] == notesB[0] {
		t.Error("a caller's change to its notes reached the shared ones")
	}
	if sameRules(ca, co) || sameRules(ca, builtin) || sameRules(co, builtin) {
		t.Error("different .gitleaks.toml contents share a rule set")
	}
	for _, c := range []struct {
		name        string
		cfg         config.Config
		acme, slack bool
		initech     bool
	}{
		{"built-in", builtin, false, true, false},
		{"acme", ca, true, false, false},
		{"initech", co, false, false, true},
	} {
		_, acme := c.cfg.Rules["acme-internal-token"]
		_, slack := c.cfg.Rules["slack-bot-token"]
		_, initech := c.cfg.Rules["initech-internal-token"]
		if acme != c.acme || slack != c.slack || initech != c.initech {
			t.Errorf("%s rules: acme %v slack-bot-token %v initech %v, want %v %v %v", c.name, acme, slack, initech, c.acme, c.slack, c.initech)
		}
	}
}

// A bad .gitleaks.toml's error names the file of each caller that meets
// it, not the first one's.
func TestSharedConfigErrorNamesEachFile(t *testing.T) {
	bad := "[[rules]]\nid = \"x\"\nregex = '''(unclosed'''\n"
	for range 2 {
		dir := t.TempDir()
		writeFile(t, dir, RepoConfigFile, bad)
		_, _, err := loadConfig(context.Background(), dir, "")
		if err == nil || !strings.Contains(err.Error(), dir) {
			t.Errorf("error %v, want one naming %s", err, dir)
		}
	}
}

// describe prints everything of a config a detector reads.
func describe(cfg config.Config) string {
	var b strings.Builder
	al := func(a *config.Allowlist) {
		var paths, res []string
		for _, p := range a.Paths {
			paths = append(paths, p.String())
		}
		for _, r := range a.Regexes {
			res = append(res, r.String())
		}
		fmt.Fprintf(&b, "  allowlist %q %v %q %q %q %q %q\n", a.Description, a.MatchCondition, a.RegexTarget,
			slices.Sorted(slices.Values(a.Commits)), paths, res, slices.Sorted(slices.Values(a.StopWords)))
	}
	for _, id := range slices.Sorted(maps.Keys(cfg.Rules)) {
		r := cfg.Rules[id]
		re, path := "", ""
		if r.Regex != nil {
			re = r.Regex.String()
		}
		if r.Path != nil {
			path = r.Path.String()
		}
		fmt.Fprintf(&b, "rule %s %q %q %d %v %q %q %v %v\n", id, re, path, r.SecretGroup, r.Entropy, r.Keywords, r.Tags, r.RequiredRules, r.SkipReport)
		for _, a := range r.Allowlists {
			al(a)
		}
	}
	for _, a := range cfg.Allowlists {
		al(a)
	}
	fmt.Fprintf(&b, "keywords %q\n", slices.Sorted(maps.Keys(cfg.Keywords)))
	return b.String()
}

// The shared rule set is read-only: tree scans (provider-only paths
// included), text scans and the redaction's glued-token pass run
// concurrently on it (go test -race), and it describes the same after.
func TestSharedConfigUnchanged(t *testing.T) {
	shared, _, err := loadConfig(context.Background(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	before := describe(shared)
	tr := secretstest.New(t)
	writeFile(t, tr.Root, "go.sum", "example.com/x v1.0.0 h1:"+secretstest.GitHubPAT(t)+"\n")
	glued := "x=1" + secretstest.GitHubPAT(t)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			res, err := New(Options{Root: tr.Root}).Scan(context.Background())
			if err != nil {
				t.Error(err)
			} else if len(res.Findings) < len(tr.Planted) {
				t.Errorf("tree scan: %d findings, want at least %d", len(res.Findings), len(tr.Planted))
			}
		})
		wg.Go(func() {
			ts, err := NewTextScanner(nil)
			if err != nil {
				t.Error(err)
				return
			}
			if fs := ts.Scan(context.Background(), "ENV", []byte("T="+secretstest.GitHubPAT(t)+"\n")); len(fs) != 1 {
				t.Errorf("text scan: %+v, want 1 finding", fs)
			}
			ts.Learn(context.Background(), "secgate output", []byte(glued))
			if got := ts.Redact(glued); strings.Contains(got, glued[3:]) {
				t.Error("the glued token was not learnt")
			}
		})
	}
	wg.Wait()
	again, _, err := loadConfig(context.Background(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if !sameRules(shared, again) {
		t.Fatal("the built-in rule set was built again")
	}
	if after := describe(again); after != before {
		t.Errorf("the shared rule set changed under the scans:\n%s", firstDiff(before, after))
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return "before: " + al[i] + "\nafter:  " + bl[i]
		}
	}
	return fmt.Sprintf("%d lines before, %d after", len(al), len(bl))
}

// A rule's windowing is worked out once and shared by every detector of
// it; it is windowable's, and depends on everything windowable reads.
func TestWindowableShared(t *testing.T) {
	cfg, _, err := loadConfig(context.Background(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	shared := 0
	for _, id := range slices.Sorted(maps.Keys(cfg.Rules)) {
		r := cfg.Rules[id]
		first, ok1 := windowableOf(r, false)
		again, ok2 := windowableOf(r, false)
		fresh, ok3 := windowable(r, false)
		if ok1 != ok3 || ok2 != ok3 || fmt.Sprint(describeForms(first)) != fmt.Sprint(describeForms(fresh)) {
			t.Errorf("%s: windowableOf %v %v, windowable %v %v", id, describeForms(first), ok1, describeForms(fresh), ok3)
		}
		if len(first) > 0 {
			if &first[0] != &again[0] {
				t.Errorf("%s: worked out twice", id)
			}
			shared++
		}
		if _, ok := windowableOf(r, true); ok {
			t.Errorf("%s: a rule others require is windowed (the key lost 'required')", id)
		}
	}
	if shared < 100 {
		t.Errorf("%d rules windowed, want most of %d", shared, len(cfg.Rules))
	}
	// the same regex, other keywords: the anchors must pass the new
	// keyword prefilter, which "zzz" does not
	r := cfg.Rules["github-pat"]
	if _, ok := windowableOf(r, false); !ok {
		t.Fatal("github-pat is not windowed: the test proves nothing")
	}
	r.Keywords = []string{"zzz"}
	if _, ok := windowableOf(r, false); ok {
		t.Error("the keywords are not part of the key")
	}
}

func describeForms(fs []form) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%q %v %v %s", f.anchors, f.before, f.after, f.tail))
	}
	return out
}
