package manifests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unicode/utf16"

	"github.com/secgate/secgate/policy"
)

// The cluster decodes with YAML 1.1 (booleans y/yes/on, merge keys,
// aliases) and lenient clients take the last of duplicate keys: each row
// is a red-team bypass, read the way the cluster reads it. Each row wants
// findings "check@line".
func TestReadAsTheClusterReads(t *testing.T) {
	pod := func(sc string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: alpine:3.20\n    securityContext: " + sc + "\n"
	}
	tests := []struct {
		name, file, yaml string
		want             []string
	}{
		{"privileged y", "pod.yaml", pod("{privileged: y}"), []string{CheckPrivileged + "@8"}},
		{"privileged Y", "pod.yaml", pod("{privileged: Y}"), []string{CheckPrivileged + "@8"}},
		{"privileged ON", "pod.yaml", pod("{privileged: ON}"), []string{CheckPrivileged + "@8"}},
		{"runAsUser 0x0", "pod.yaml", pod("{runAsUser: 0x0}"), []string{CheckRoot + "@8"}},
		{"merge key in flow", "pod.yaml", pod("{<<: {privileged: true}}"), []string{CheckPrivileged + "@8"}},
		{"alias", "pod.yaml", "x-sc: &sc\n  privileged: true\n" + pod("*sc"), []string{CheckPrivileged + "@2"}},
		{"merge list of aliases, first wins", "pod.yaml",
			"x-a: &a {privileged: true}\nx-b: &b {privileged: false, capabilities: {add: [SYS_ADMIN]}}\n" + pod("{<<: [*a, *b]}"),
			[]string{CheckPrivileged + "@1", CheckCapSysAdmin + "@2"}},
		{"explicit key wins over merged", "pod.yaml", pod("{<<: {privileged: true}, privileged: false}"), nil},
		{"red team's Deployment", "deploy.yaml", `apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      <<: {hostPID: true, hostNetwork: true}
      containers:
      - name: c
        image: alpine:3.20
        securityContext:
          <<: {capabilities: {add: [SYS_ADMIN]}}
      volumes:
      - {name: s, <<: {hostPath: {path: /var/run/docker.sock}}}
`, []string{CheckHostNamespaces + "@7", CheckCapSysAdmin + "@12", CheckDockerSocket + "@14"}},
		{"anchor redefined: the nearest before the alias", "pod.yaml",
			"x-a: &x {privileged: false}\nx-b: &x {privileged: true}\n" + pod("*x"), []string{CheckPrivileged + "@2"}},
		{"duplicate key, last true", "pod.yaml", pod("{privileged: false, privileged: true}"), []string{CheckPrivileged + "@8", CheckDuplicateKey + "@8"}},
		{"duplicate key, first true", "pod.yaml", pod("{privileged: true, privileged: false}"), []string{CheckDuplicateKey + "@8"}},
		{"alias to itself is no loop", "pod.yaml", "apiVersion: v1\nkind: List\nitems: &l [*l, &p {kind: Pod, apiVersion: v1, spec: {containers: [{name: c, securityContext: {privileged: yes}}]}}, *p]\n", []string{CheckPrivileged + "@3"}},
		{"compose privileged y", "compose.yaml", "services:\n  a:\n    image: alpine:3.20\n    privileged: y\n", []string{CheckPrivileged + "@4"}},
		{"compose x- extension merged", "compose.yaml", "x-base: &base\n  privileged: true\n  pid: host\nservices:\n  a:\n    <<: *base\n    image: alpine:3.20\n",
			[]string{CheckPrivileged + "@2", CheckHostNamespaces + "@3"}},
		{"compose user from a variable's default", "compose.yaml", "services:\n  a:\n    image: alpine:3.20\n    user: ${APP_USER:-root}\n    privileged: ${PRIV:-true}\n    pid: \"${PID_MODE-host}\"\n",
			[]string{CheckRoot + "@4", CheckPrivileged + "@5", CheckHostNamespaces + "@6"}},
		// a byte-order mark: YAML allows one, kubectl reads through it
		{"UTF-8 BOM", "pod.yaml", "\ufeff" + pod("{privileged: true}"), []string{CheckPrivileged + "@8"}},
		{"compose, UTF-8 BOM", "compose.yaml", "\ufeffservices:\n  a:\n    image: alpine:3.20\n    privileged: true\n", []string{CheckPrivileged + "@4"}},
		{"UTF-16LE with BOM", "pod.yaml", utf16LE("\ufeff" + pod("{privileged: true}")), []string{CheckPrivileged + "@8"}},
	}
	watched := []string{CheckPrivileged, CheckCapSysAdmin, CheckDockerSocket, CheckHostNamespaces, CheckDuplicateKey}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tt.file), []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := New(Options{Root: dir}).Scan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range res.Findings {
				if slices.Contains(watched, f.Rule) || slices.Contains(tt.want, f.Rule+fmt.Sprintf("@%d", f.Location.Line)) {
					got = append(got, fmt.Sprintf("%s@%d", f.Rule, f.Location.Line))
				}
			}
			slices.Sort(got)
			got = slices.Compact(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("findings %v, want %v (warnings %v)", got, want, res.Warnings)
			}
		})
	}
}

// Aliases of Lists of aliases double the objects at each level (a
// billion laughs): each node is checked once, so 40 levels end at once.
func TestAliasLaughs(t *testing.T) {
	y := "apiVersion: v1\nkind: List\nx0: &l0 {apiVersion: v1, kind: Pod, spec: {containers: [{name: c, securityContext: {privileged: on}}]}}\n"
	for i := 1; i <= 40; i++ {
		y += fmt.Sprintf("x%d: &l%d {apiVersion: v1, kind: List, items: [*l%d, *l%d]}\n", i, i, i-1, i-1)
	}
	y += "items: [*l40]\n"
	c := &collector{s: New(Options{Root: "."}), seen: map[string]bool{}}
	c.file("laughs.yaml", []byte(y))
	if c.workloads != 1 || !slices.ContainsFunc(c.findings, func(f policy.Finding) bool { return f.Rule == CheckPrivileged }) {
		t.Errorf("%d workload(s), findings %v: want the one Pod, privileged", c.workloads, c.findings)
	}
}

// utf16LE writes s as UTF-16, little-endian.
func utf16LE(s string) string {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return string(b)
}
