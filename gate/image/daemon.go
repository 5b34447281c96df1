package image

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/secgate/secgate/internal/scratch"
)

// fromDaemon exports an image from the Docker engine (GitHub mounts its
// socket into container actions, so an image built earlier in the job is
// checked without a push): GET /images/{name}/get is a `docker save`
// tarball, kept in a temporary file while the image is checked.
func (s *Scanner) fromDaemon(ctx context.Context, image, ref string) ([]target, func(), error) {
	host := cmp.Or(s.opts.DockerHost, "unix:///var/run/docker.sock")
	u, err := url.Parse(host)
	if err != nil {
		return nil, nil, fmt.Errorf("DOCKER_HOST %q: %w", host, err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	base := "http://docker"
	switch u.Scheme {
	case "unix":
		sock := u.Path
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}
	case "tcp", "http":
		base = "http://" + u.Host
	default:
		return nil, nil, fmt.Errorf("DOCKER_HOST %q: only unix:// and tcp:// are supported", host)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/images/"+escapeImage(image)+"/get", nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("docker engine at %s: %w", host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var msg struct{ Message string }
		_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&msg)
		return nil, nil, fmt.Errorf("docker engine at %s: %s: %s", host, resp.Status, msg.Message)
	}
	dir, cleanup, err := scratch.Dir("reading image "+ref+" from the docker engine", "secgate-daemon-", s.opts.ScratchDir)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Create(filepath.Join(dir, "image.tar"))
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	// Bounded like the layers: an engine (or whatever answers on its
	// socket) cannot fill the disk.
	n, err := io.Copy(f, io.LimitReader(resp.Body, s.opts.MaxExtract+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > s.opts.MaxExtract {
		err = fmt.Errorf("the export is over %d bytes: stopped", s.opts.MaxExtract)
	}
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("exporting from the docker engine: %w", err)
	}
	targets, _, err := dockerArchive(f.Name(), ref)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return targets, cleanup, nil
}

// escapeImage escapes a reference for the engine's path, keeping the
// slashes of repository names.
func escapeImage(image string) string {
	parts := strings.Split(image, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}
