package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"syscall"
)

// becomeWorkspaceOwner is the first thing the GitHub Action's image does.
// GitHub runs a Docker action as its image's user, on a workspace and
// step files (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY) that belong to the
// runner's user (uid 1001 on hosted runners), and documents that only
// root can write them: the action image starts as root. Before anything
// else — no flag parsed, no file read — secgate becomes the owner of the
// workspace (its group, and the docker socket's group so that
// docker-daemon: images still read), so that it holds no more rights than
// the runner's own steps, and the files it writes are the runner's, not
// root-owned leftovers that break the next checkout on a self-hosted
// runner. A workspace owned by root (a runner running as root) keeps root:
// that is the runner's own user. Only the action image asks for it
// (SECGATE_AS_WORKSPACE_OWNER=1 in its config), and only in GitHub Actions,
// as root: the CLI run as root by a workflow step (sudo) stays root.
func becomeWorkspaceOwner(getenv func(string) string, stderr io.Writer) error {
	if os.Geteuid() != 0 || getenv("GITHUB_ACTIONS") != "true" || getenv("SECGATE_AS_WORKSPACE_OWNER") != "1" {
		return nil
	}
	dir := getenv("GITHUB_WORKSPACE")
	if dir == "" {
		var err error
		if dir, err = os.Getwd(); err != nil {
			return nil
		}
	}
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil || st.Uid == 0 {
		return nil
	}
	groups := []int{int(st.Gid)}
	var sock syscall.Stat_t
	if syscall.Stat("/var/run/docker.sock", &sock) == nil && !slices.Contains(groups, int(sock.Gid)) && sock.Gid != 0 {
		groups = append(groups, int(sock.Gid))
	}
	// Groups first, the user last: after Setuid nothing else may change.
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("becoming the workspace's owner (uid %d): setgroups: %w", st.Uid, err)
	}
	if err := syscall.Setgid(int(st.Gid)); err != nil {
		return fmt.Errorf("becoming the workspace's owner (uid %d): setgid: %w", st.Uid, err)
	}
	if err := syscall.Setuid(int(st.Uid)); err != nil {
		return fmt.Errorf("becoming the workspace's owner (uid %d): setuid: %w", st.Uid, err)
	}
	if os.Geteuid() == 0 {
		return fmt.Errorf("becoming the workspace's owner (uid %d): still root", st.Uid)
	}
	fmt.Fprintf(stderr, "secgate: running as uid %d gid %d, the owner of %s (started as root by the Docker action)\n", st.Uid, st.Gid, dir)
	return nil
}
