package gate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secgate/secgate/gate/image"
	"github.com/secgate/secgate/gate/image/imagetest"
	"github.com/secgate/secgate/gate/sign/signtest"
)

// The image checks and the manifests agree on one root user: an image
// that runs as root under a manifest that sets a non-root user is fine; a
// manifest that says nothing makes one finding (the image's), not two.
func TestRootUserCrossCheck(t *testing.T) {
	host := signtest.Registry(t)
	img := imagetest.Build(t, imagetest.Spec{Layers: []map[string]string{{"app/server.js": "listen(8080)\n"}}}) // USER unset: root
	imagetest.Push(t, host+"/shop/web:1.0", img)
	pod := func(sc string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n    - name: app\n      image: " + host + "/shop/web:1.0\n" + sc
	}
	for _, tc := range []struct {
		name, manifest   string
		image, manifest2 int // image-runs-as-root findings, manifest-runs-as-root findings
	}{
		{"non-root in the manifest", pod("      securityContext: {runAsNonRoot: true, runAsUser: 10001}\n"), 0, 0},
		{"nothing in the manifest", pod(""), 1, 0},
		{"no manifest", "", 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.manifest != "" {
				if err := os.WriteFile(filepath.Join(dir, "pod.yaml"), []byte(tc.manifest), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := Run(context.Background(), Config{Path: dir, Only: []string{"image", "manifests"}, Images: []string{host + "/shop/web:1.0"}, Now: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			var img, man int
			for _, f := range rep.Findings {
				switch f.Rule {
				case "image-runs-as-root":
					img++
					if tc.manifest != "" && !strings.Contains(f.Title, "pod.yaml Pod/web container app") {
						t.Errorf("the image finding does not name the manifest: %s", f.Title)
					}
				case "manifest-runs-as-root":
					man++
				}
			}
			if img != tc.image || man != tc.manifest2 {
				t.Fatalf("%d image and %d manifest root findings, want %d and %d", img, man, tc.image, tc.manifest2)
			}
			for _, s := range rep.Scanners {
				n := 0
				for _, f := range rep.Findings {
					if f.Scanner == s.Name {
						n++
					}
				}
				if s.Findings != n {
					t.Errorf("scanner %s counts %d findings, the report has %d", s.Name, s.Findings, n)
				}
			}
		})
	}
	if got := image.Repository("nginx:1.27"); got != "index.docker.io/library/nginx" {
		t.Errorf("nginx: %s", got)
	}
	if got := image.Repository("ghcr.io/acme/app@sha256:abc"); got != "ghcr.io/acme/app" {
		t.Errorf("ghcr: %s", got)
	}
	if got := image.Repository("localhost:5000/app:1"); got != "localhost:5000/app" {
		t.Errorf("localhost: %s", got)
	}
}
