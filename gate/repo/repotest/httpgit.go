package repotest

import (
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// GitServer serves the bare repositories under a directory over git's
// smart HTTP protocol: git http-backend as a CGI program, as a forge runs
// it, so that a client's fetch meets a real upload-pack.
type GitServer struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
}

// Statuses are the status codes the server answered, in order.
func (s *GitServer) Statuses() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.statuses...)
}

// ServeGit serves the bare repositories under root (a URL's path is a
// repository's path under root) to the requests authorized accepts; the
// others get 401 with a challenge, as a forge answers. Commits are served
// by id (uploadpack.allowReachableSHA1InWant, as GitHub and GitLab do).
// The server is closed with the test.
func ServeGit(t testing.TB, root string, authorized func(*http.Request) bool) *GitServer {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git to serve the repositories:", err)
	}
	cfg := filepath.Join(t.TempDir(), "gitconfig")
	if err := os.WriteFile(cfg, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	backend := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + cfg,
			"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=uploadpack.allowReachableSHA1InWant", "GIT_CONFIG_VALUE_0=true"},
	}
	s := &GitServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		if authorized != nil && !authorized(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			rec.WriteHeader(http.StatusUnauthorized)
		} else {
			backend.ServeHTTP(rec, r)
		}
		s.mu.Lock()
		s.statuses = append(s.statuses, rec.status)
		s.mu.Unlock()
	}))
	t.Cleanup(s.Close)
	return s
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
