package manifests

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A List in JSON (kubectl get -o json) is read like YAML: its items are
// the workloads.
func TestListInJSON(t *testing.T) {
	dir := t.TempDir()
	js := `{"apiVersion":"v1","kind":"List","items":[
 {"apiVersion":"v1","kind":"Pod","metadata":{"name":"debug","namespace":"ops"},
  "spec":{"hostPID":true,"containers":[{"name":"sh","image":"alpine:3.20","securityContext":{"privileged":true}}]}},
 {"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"data":{"privileged":"dHJ1ZQ=="}}]}`
	if err := os.WriteFile(filepath.Join(dir, "dump.json"), []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := New(Options{Root: dir}).Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var checks []string
	for _, f := range res.Findings {
		if f.Location.Line != 3 && f.Location.Line != 2 {
			t.Errorf("%s at line %d", f.Rule, f.Location.Line)
		}
		checks = append(checks, f.Rule)
	}
	all := strings.Join(checks, " ")
	if !strings.Contains(all, CheckPrivileged) || !strings.Contains(all, CheckHostNamespaces) || !strings.Contains(res.Findings[0].Location.Object, "Pod/ops/debug") {
		t.Errorf("findings %v", checks)
	}
}

// The detector never fails on any YAML: a note or findings, no error, no panic.
func FuzzManifest(f *testing.F) {
	for _, p := range []string{"deploy/web.yaml", "deploy/agent.yaml", "deploy/backup.yml", "compose.yaml", "broken.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", "tree", p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("services: {a: {image: x, volumes: [/:/host, {type: bind, source: /}]}}")
	f.Add("kind: List\napiVersion: v1\nitems: [1, [2], {kind: Pod}]")
	// Aliases, merge keys and duplicates, resolved before the checks.
	f.Add("x: &a {privileged: y, <<: *a}\napiVersion: v1\nkind: Pod\nspec: {<<: [*a, *b, 1, [*a]], containers: [{<<: *a, securityContext: *a}]}")
	f.Add("apiVersion: v1\nkind: List\nitems: &l [*l, {<<: *l}]\nitems: [*l]")
	f.Add("services: &s {a: {<<: *s, image: x, privileged: on, privileged: off}}")
	f.Fuzz(func(t *testing.T, s string) {
		c := &collector{s: New(Options{Root: "."}), seen: map[string]bool{}}
		c.file("compose.yaml", []byte(s))
		c.file("k8s/x.yaml", []byte(s))
		for _, fd := range c.findings {
			if fd.Location.Path == "" || fd.Rule == "" {
				t.Fatalf("incomplete finding %+v", fd)
			}
		}
	})
}
