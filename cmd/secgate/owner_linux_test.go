package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/secgate/secgate/gate/repo/repotest"
	"github.com/secgate/secgate/gate/secrets/secretstest"
)

// The users of the situations the image runs in, without an engine: the
// runner's (1001 on GitHub's hosted runners), the image's own (65532),
// root (a GitLab checkout, the action image's start).
const (
	runnerUID = 1001
	imageUID  = 65532
)

// asUser runs this test binary as the secgate CLI (see TestMain) as uid
// (-1: as the test runs, root), in dir, with env only and no PATH: as in
// the release image, there is no git to run.
func asUser(t *testing.T, bin string, uid int, dir string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = dir, append([]string{"SECGATE_TEST_AS_CLI=1", "PATH=/nonexistent", "NO_COLOR=1"}, env...)
	if uid >= 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), 0
}

// permissionFixture copies this test binary where any user can run it,
// and makes a git repository with a leaked token in its last commit,
// owned by owner, with dirMode/fileMode.
func permissionFixture(t *testing.T, owner int, dirMode, fileMode fs.FileMode) (bin, ws, base string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("running as other users needs root (CI runs as root)")
	}
	top, err := os.MkdirTemp("", "secgate-perm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	if err := os.Chmod(top, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(top, "secgate")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	ws = filepath.Join(top, "ws")
	repotest.Write(t, ws, map[string]string{"README.md": "hello\n"})
	repotest.Git(t, ws, "init", "-q", "-b", "main")
	repotest.Git(t, ws, "add", ".")
	repotest.Git(t, ws, "commit", "-qm", "base")
	base = repotest.Git(t, ws, "rev-parse", "HEAD")
	repotest.Write(t, ws, map[string]string{"deploy.sh": "curl -u bot:" + secretstest.GitHubPAT(t) + " https://api.github.com\n"})
	repotest.Git(t, ws, "add", ".")
	repotest.Git(t, ws, "commit", "-qm", "leak")
	err = filepath.WalkDir(ws, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := fileMode
		if d.IsDir() {
			mode = dirMode
		}
		if err := os.Chmod(p, mode); err != nil {
			return err
		}
		return os.Lchown(p, owner, owner)
	})
	if err != nil {
		t.Fatal(err)
	}
	return bin, ws, base
}

// stepFiles makes the runner's file-command files and event, owned by the
// runner's user, readable by all, writable by it only (as the runner
// creates them).
func stepFiles(t *testing.T, ws, base string) (dir string, env []string) {
	t.Helper()
	dir = filepath.Join(filepath.Dir(ws), "_runner_file_commands")
	event, _ := json.Marshal(map[string]any{"before": base, "after": "HEAD", "repository": map[string]any{"default_branch": "main"}})
	repotest.Write(t, dir, map[string]string{"set_output": "", "step_summary": "", "event.json": string(event)})
	for _, p := range []string{dir, filepath.Join(dir, "set_output"), filepath.Join(dir, "step_summary"), filepath.Join(dir, "event.json")} {
		if err := os.Lchown(p, runnerUID, runnerUID); err != nil {
			t.Fatal(err)
		}
	}
	return dir, []string{"CI=true", "GITHUB_ACTIONS=true", "GITHUB_WORKSPACE=" + ws, "GITHUB_EVENT_NAME=push",
		"GITHUB_EVENT_PATH=" + filepath.Join(dir, "event.json"), "GITHUB_REPOSITORY=acme/app",
		"GITHUB_OUTPUT=" + filepath.Join(dir, "set_output"), "GITHUB_STEP_SUMMARY=" + filepath.Join(dir, "step_summary"),
		"INPUT_FILE-ISSUES=false", "INPUT_COMMENT=false", "INPUT_SARIF-FILE=secgate.sarif", "HOME=" + filepath.Dir(ws)}
}

func owner(t *testing.T, p string) uint32 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Uid
}

// The action image on a hosted runner: started as root on a workspace and
// step files of uid 1001, secgate becomes 1001 before it reads anything,
// judges the push, writes its outputs, and leaves files the runner owns.
func TestActionImageBecomesTheWorkspaceOwner(t *testing.T) {
	bin, ws, base := permissionFixture(t, runnerUID, 0o755, 0o644)
	dir, env := stepFiles(t, ws, base)
	// The action image's config sets SECGATE_AS_WORKSPACE_OWNER=1.
	_, stderr, code := asUser(t, bin, -1, ws, append(env, "SECGATE_AS_WORKSPACE_OWNER=1"), "run", "--only", "secrets", "--report", "secgate-report.json", ".")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (the leaked token fails the gate)\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "running as uid 1001") {
		t.Errorf("stderr does not say it changed user:\n%s", stderr)
	}
	out, _ := os.ReadFile(filepath.Join(dir, "set_output"))
	if !strings.Contains(string(out), "verdict<<") || !strings.Contains(string(out), "fail") {
		t.Errorf("outputs not written:\n%s", out)
	}
	if u := owner(t, filepath.Join(ws, "secgate-report.json")); u != runnerUID {
		t.Errorf("the report belongs to uid %d, want the runner's %d", u, runnerUID)
	}
	if u := owner(t, filepath.Join(ws, "secgate.sarif")); u != runnerUID {
		t.Errorf("the SARIF file belongs to uid %d, want the runner's %d", u, runnerUID)
	}

	// Without the image's word (the CLI run as root by a step, sudo), root stays root.
	_, stderr, _ = asUser(t, bin, -1, ws, env, "run", "--only", "secrets", "--report", "root-report.json", ".")
	if strings.Contains(stderr, "running as uid") {
		t.Errorf("the CLI changed user without SECGATE_AS_WORKSPACE_OWNER:\n%s", stderr)
	}
	if u := owner(t, filepath.Join(ws, "root-report.json")); u != 0 {
		t.Errorf("the report belongs to uid %d, want root's", u)
	}
}

// The release image (USER 65532) used as a Docker action by mistake: it
// cannot write the step's outputs, and says so and fails (exit 2) rather
// than leave a later step reading an empty verdict.
func TestReleaseImageInADockerActionFailsClosed(t *testing.T) {
	bin, ws, base := permissionFixture(t, runnerUID, 0o755, 0o644)
	_, env := stepFiles(t, ws, base)
	_, stderr, code := asUser(t, bin, imageUID, ws, env, "run", "--only", "secrets", ".")
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, stderr)
	}
	for _, want := range []string{"cannot write the step's GITHUB_OUTPUT", "permission denied", "-action", "--user"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// docker run -v "$PWD:/src" <image> run /src: the image's user reads a
// workspace of another user (read-only to it, a git repository it does
// not own: no "dubious ownership" with go-git) with a read-only root
// filesystem (TMPDIR not writable), and gives the verdict, writing nothing.
func TestDryRunAsTheImageUserOnAReadOnlyWorkspace(t *testing.T) {
	bin, ws, base := permissionFixture(t, runnerUID, 0o555, 0o444)
	roTmp := filepath.Join(filepath.Dir(ws), "tmp")
	if err := os.Mkdir(roTmp, 0o555); err != nil {
		t.Fatal(err)
	}
	db, err := filepath.Abs(filepath.Join("..", "..", "testdata", "osvdb"))
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"TMPDIR=" + roTmp, "HOME=" + roTmp}
	for _, args := range [][]string{
		{"run", "--dry-run", "--offline-db", db, ws},
		{"run", "--dry-run", "--offline-db", db, "--base", base, ws},
		{"run", "--dry-run", "--offline-db", db, "--history", ws},
	} {
		stdout, stderr, code := asUser(t, bin, imageUID, ws, env, args...)
		if code != 1 || !strings.Contains(stdout, "FAIL") || !strings.Contains(stdout, "deploy.sh") {
			t.Errorf("%v: exit %d, want 1 with the leaked token\n%s\n%s", args, code, stdout, stderr)
		}
	}
	if left, _ := os.ReadDir(roTmp); len(left) != 0 {
		t.Errorf("TMPDIR has %v", left)
	}
}

// GitLab's Docker executor: the job runs as the image's user on a checkout
// that root owns, world-writable (the runner's umask 0000): the merge
// request's range is read with go-git and the report is written.
func TestImageUserOnARootOwnedGitLabCheckout(t *testing.T) {
	bin, ws, base := permissionFixture(t, 0, 0o777, 0o666)
	env := []string{"CI=true", "GITLAB_CI=true", "CI_PROJECT_DIR=" + ws, "HOME=" + filepath.Dir(ws)}
	_, stderr, code := asUser(t, bin, imageUID, ws, env, "run", "--only", "secrets", "--base", base, "--report", "secgate-report.json", ".")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	data, err := os.ReadFile(filepath.Join(ws, "secgate-report.json"))
	if err != nil || !strings.Contains(string(data), `"deploy.sh"`) {
		t.Errorf("report: %v\n%s", err, data)
	}
}
