package gate

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secgate/secgate/gate/image/imagetest"
	"github.com/secgate/secgate/gate/secrets/secretstest"
	"github.com/secgate/secgate/gate/sign/signtest"
)

// The scanners that read secrets (the secret scan, the image's and the
// Dockerfile's text scanners, the outgoing redaction) share one rule set
// (secrets.loadConfig), each with its own detectors: two gate runs at once,
// each running them concurrently, find what they find alone and leak
// nothing (go test -race: no data race on the shared rules).
func TestRunScannersShareTheRules(t *testing.T) {
	host := signtest.Registry(t)
	imgTok, dfTok, fileTok := secretstest.GitHubPAT(t), secretstest.GitHubPAT(t), secretstest.GitHubPAT(t)
	img := imagetest.Build(t, imagetest.Spec{Env: []string{"GITHUB_TOKEN=" + imgTok}, User: "10001", Layers: []map[string]string{{"app/server.js": "listen(8080)\n"}}})
	imagetest.Push(t, host+"/shop/web:1.0", img)
	dir := t.TempDir()
	for name, content := range map[string]string{
		"Dockerfile": "FROM scratch\nUSER 10001\nENV GITHUB_TOKEN=" + dfTok + "\n",
		"deploy.sh":  "curl -u bot:" + fileTok + " https://api.github.com\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			rep, err := Run(context.Background(), Config{Path: dir, Only: []string{"secrets", "dockerfile", "image"}, Images: []string{host + "/shop/web:1.0"}, Now: time.Now()})
			if err != nil {
				t.Error(err)
				return
			}
			found := map[string]bool{}
			for _, f := range rep.Findings {
				found[f.Scanner+" "+f.Rule] = true
			}
			for _, want := range []string{"secrets github-pat", "dockerfile github-pat", "image github-pat"} {
				if !found[want] {
					t.Errorf("no %s finding in %v", want, found)
				}
			}
			b, err := json.Marshal(rep)
			if err != nil {
				t.Error(err)
				return
			}
			for _, tok := range []string{imgTok, dfTok, fileTok} {
				if strings.Contains(string(b), tok) {
					t.Error("a token leaks into the report")
				}
			}
		})
	}
	wg.Wait()
}
