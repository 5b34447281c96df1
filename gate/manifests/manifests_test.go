package manifests

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/secgate/secgate/policy"
)

type want struct {
	path   string
	line   int
	object string
	check  string
}

// The fixtures (testdata/tree) and every finding they must give, with its
// line: a Deployment with a loose main container and a hardened sidecar, a
// DaemonSet agent with host mounts and namespaces, a CronJob with an init
// container and an Unconfined seccomp profile, rendered multi-document
// output (Service, ConfigMap and a hardened Deployment), a Compose file
// with a hardened service, a host-networked monitor with the docker socket
// and the host's root, and a database as root. A Helm template is skipped
// with a note, a broken manifest is a warning at its line, mkdocs.yml is
// not a manifest.
func TestFixtures(t *testing.T) {
	res, err := New(Options{Root: "testdata/tree"}).Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wants := []want{
		{"compose.yaml", 11, "service monitor", CheckRoot},
		{"compose.yaml", 11, "service monitor", CheckEscalation},
		{"compose.yaml", 11, "service monitor", CheckReadOnlyRoot},
		{"compose.yaml", 11, "service monitor", CheckCapsNotDropped},
		{"compose.yaml", 13, "service monitor network_mode", CheckHostNamespaces},
		{"compose.yaml", 14, "service monitor pid", CheckHostNamespaces},
		{"compose.yaml", 16, "service monitor volume /var/run/docker.sock", CheckDockerSocket},
		{"compose.yaml", 18, "service monitor volume /", CheckHostPathRoot},
		{"compose.yaml", 11, "service monitor", CheckLimits},
		{"compose.yaml", 12, "service monitor", CheckImageLatest},
		{"compose.yaml", 23, "service db", CheckRoot},
		{"compose.yaml", 21, "service db", CheckEscalation},
		{"compose.yaml", 21, "service db", CheckReadOnlyRoot},
		{"compose.yaml", 21, "service db", CheckCapsNotDropped},
		{"compose.yaml", 24, "service db SYS_PTRACE", CheckCapabilities},
		{"compose.yaml", 21, "service db", CheckLimits},
		{"compose.yaml", 22, "service db", CheckImageDigest},
		{"deploy/agent.yaml", 15, "DaemonSet/kube-system/log-agent hostNetwork", CheckHostNamespaces},
		{"deploy/agent.yaml", 16, "DaemonSet/kube-system/log-agent hostPID", CheckHostNamespaces},
		{"deploy/agent.yaml", 2, "DaemonSet/kube-system/log-agent", CheckServiceAccount},
		{"deploy/agent.yaml", 29, "DaemonSet/kube-system/log-agent volume docker", CheckDockerSocket},
		{"deploy/agent.yaml", 31, "DaemonSet/kube-system/log-agent volume proc", CheckHostPathRoot},
		{"deploy/agent.yaml", 33, "DaemonSet/kube-system/log-agent volume logs", CheckHostPath},
		{"deploy/agent.yaml", 21, "DaemonSet/kube-system/log-agent container agent", CheckPrivileged},
		{"deploy/agent.yaml", 18, "DaemonSet/kube-system/log-agent container agent", CheckRoot},
		{"deploy/agent.yaml", 18, "DaemonSet/kube-system/log-agent container agent", CheckReadOnlyRoot},
		{"deploy/agent.yaml", 18, "DaemonSet/kube-system/log-agent container agent", CheckCapsNotDropped},
		{"deploy/agent.yaml", 18, "DaemonSet/kube-system/log-agent container agent", CheckSeccomp},
		{"deploy/agent.yaml", 13, "DaemonSet/kube-system/log-agent container agent", CheckAppArmor},
		{"deploy/agent.yaml", 18, "DaemonSet/kube-system/log-agent container agent", CheckLimits},
		{"deploy/agent.yaml", 19, "DaemonSet/kube-system/log-agent container agent", CheckImageDigest},
		{"deploy/backup.yml", 19, "CronJob/backup container wait-db", CheckEscalation},
		{"deploy/backup.yml", 19, "CronJob/backup container wait-db", CheckReadOnlyRoot},
		{"deploy/backup.yml", 19, "CronJob/backup container wait-db", CheckCapsNotDropped},
		{"deploy/backup.yml", 17, "CronJob/backup container wait-db", CheckSeccomp},
		{"deploy/backup.yml", 19, "CronJob/backup container wait-db", CheckLimits},
		{"deploy/backup.yml", 20, "CronJob/backup container wait-db", CheckImageLatest},
		{"deploy/backup.yml", 17, "CronJob/backup container backup", CheckSeccomp},
		{"deploy/web.yaml", 23, "Deployment/shop/web container app", CheckRoot},
		{"deploy/web.yaml", 24, "Deployment/shop/web container app", CheckEscalation},
		{"deploy/web.yaml", 19, "Deployment/shop/web container app", CheckReadOnlyRoot},
		{"deploy/web.yaml", 25, "Deployment/shop/web container app", CheckCapsNotDropped},
		{"deploy/web.yaml", 26, "Deployment/shop/web container app NET_RAW", CheckCapabilities},
		{"deploy/web.yaml", 26, "Deployment/shop/web container app", CheckCapSysAdmin},
		{"deploy/web.yaml", 19, "Deployment/shop/web container app", CheckLimits},
		{"deploy/web.yaml", 20, "Deployment/shop/web container app", CheckImageLatest},
	}
	var got []want
	for _, f := range res.Findings {
		got = append(got, want{f.Location.Path, f.Location.Line, f.Location.Object, f.Rule})
		if f.Kind != policy.KindManifest || f.Fix == "" || f.Fingerprint == "" || f.Severity == policy.SeverityUnset {
			t.Errorf("finding %+v is not complete", f)
		}
		// Hardened: the proxy sidecar, the rendered API, the Compose web service.
		for _, clean := range []string{"container proxy", "Deployment/api", "service web", "container backup"} {
			if strings.Contains(f.Location.Object, clean) && f.Severity >= policy.Medium {
				t.Errorf("a hardened workload has a %s finding: %+v", f.Severity, f)
			}
		}
	}
	key := func(w want) string { return fmt.Sprintf("%s:%d %s %s", w.path, w.line, w.object, w.check) }
	var gotKeys, wantKeys []string
	for _, w := range got {
		gotKeys = append(gotKeys, key(w))
	}
	for _, w := range wants {
		wantKeys = append(wantKeys, key(w))
	}
	slices.Sort(gotKeys)
	slices.Sort(wantKeys)
	if !slices.Equal(gotKeys, wantKeys) {
		for _, k := range gotKeys {
			if !slices.Contains(wantKeys, k) {
				t.Errorf("unexpected: %s", k)
			}
		}
		for _, k := range wantKeys {
			if !slices.Contains(gotKeys, k) {
				t.Errorf("missing: %s", k)
			}
		}
	}
	notes := strings.Join(res.Notes, "\n")
	if !strings.Contains(notes, "charts/shop/templates/deployment.yaml") || !strings.Contains(notes, "helm template") {
		t.Errorf("notes %q: want the Helm template named, with how to scan it", notes)
	}
	if len(res.Warnings) != 1 || !strings.HasPrefix(res.Warnings[0], "broken.yaml:8: ") || strings.Contains(res.Warnings[0], "unclosed") {
		t.Errorf("warnings %q: want broken.yaml at its line, without its source", res.Warnings)
	}
	if res.Coverage.Files != 5 {
		t.Errorf("coverage %+v: want the 5 manifests", res.Coverage)
	}
}

// The policy's tiers replace the defaults, by check id.
func TestTiers(t *testing.T) {
	res, err := New(Options{Root: "testdata/tree", Tiers: map[string]policy.Severity{CheckImageDigest: policy.High}}).Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Findings {
		if f.Rule == CheckImageDigest && f.Severity != policy.High || f.Rule == CheckPrivileged && f.Severity != policy.High || f.Rule == CheckLimits && f.Severity != policy.Low {
			t.Errorf("%s at %s", f.Rule, f.Severity)
		}
	}
}
