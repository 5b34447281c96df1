package deps

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/secgate/secgate/gate/repo"
	"github.com/secgate/secgate/policy"
)

// imageInfo locates findings in a container image.
type imageInfo struct {
	ref  string
	id   string // the image's identity for tracking keys: repository, else image id
	meta *imageMetadata
}

// locate sets the image and the layer that brought the package in.
func (i *imageInfo) locate(f *policy.Finding, pkg packageInfo) {
	f.Location.Image = i.ref
	f.Location.Path = "/" + strings.TrimPrefix(f.Location.Path, "/") // a path in the image
	f.Location.Layer = i.layer(pkg)
	f.Fingerprint = fingerprint(*f, i.id)
}

// layer names the layer that brought pkg in: its index, diff id and the
// command that made it; "" when osv-scanner does not know.
func (i *imageInfo) layer(pkg packageInfo) string {
	if pkg.ImageOrigin == nil || i.meta == nil {
		return ""
	}
	n := pkg.ImageOrigin.Index
	if n < 0 || n >= len(i.meta.LayerMetadata) {
		return ""
	}
	l := i.meta.LayerMetadata[n]
	s := fmt.Sprintf("%d %s", n, l.DiffID)
	if cmd := strings.TrimSpace(l.Command); cmd != "" {
		if len(cmd) > 80 {
			cmd = cmd[:77] + "..."
		}
		s += " (" + cmd + ")"
	}
	return s
}

// scanImage scans the OS packages (dpkg, apk, rpm) and language packages
// of a container image with osv-scanner's image scanning.
func (s *Scanner) scanImage(ctx context.Context, opts Options, ref string) (policy.ScanResult, error) {
	path, ok := strings.CutPrefix(ref, "docker-archive:")
	if !ok {
		if opts.ExportImage == nil {
			// Said in the report, so that nobody takes the image for scanned.
			res := policy.ScanResult{Notes: []string{ref + ": packages NOT scanned: only docker-archive:FILE images are without the image reader (docker save the image)"}}
			res.Coverage.AddSkip("image", "packages not scanned: only docker-archive images are without the image reader", ref)
			return res, nil
		}
		// Registry, OCI layout, daemon: written as an archive for
		// osv-scanner, bounded, removed on every path.
		exported, cleanup, err := opts.ExportImage(ctx, ref)
		if err != nil {
			return policy.ScanResult{}, err
		}
		defer cleanup()
		path = exported
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return policy.ScanResult{}, err
	}
	if _, err := os.Stat(abs); err != nil {
		return policy.ScanResult{}, err
	}
	actions, tr, err := newActions(opts)
	if err != nil {
		return policy.ScanResult{}, err
	}
	actions.Image, actions.ScratchIn = abs, repo.GitDir(opts.Root)
	res, logs, err := runLibrary(ctx, opts.Logger, func(e engine) (vulnResults, error) { return e.scanImage(ctx, actions) })
	switch {
	case errors.Is(err, errNoPackagesFound):
		return policy.ScanResult{Notes: []string{ref + ": no packages found in the image"}}, nil
	case err != nil:
		return policy.ScanResult{}, fmt.Errorf("osv-scalibr (%s): %w", opts.Source(), err)
	}
	if err := tr.failure(); err != nil {
		return policy.ScanResult{}, err
	}
	if err := checkLogs("/", logs, opts, nil); err != nil {
		return policy.ScanResult{}, err
	}
	// osv-scanner does not even log a missing ecosystem database for images.
	if opts.OfflineDB != "" {
		if _, err := checkOfflineCoverage(actions.LocalDBPath, "/", res, opts); err != nil {
			return policy.ScanResult{}, err
		}
	}
	id, err := archiveIdentity(abs)
	if err != nil {
		return policy.ScanResult{}, err
	}
	out, err := s.convert(ctx, opts, "/", res, &imageInfo{ref: ref, id: id, meta: res.ImageMetadata})
	out.Coverage.Images, out.Coverage.Lockfiles = 1, 0
	for i, n := range out.Notes {
		out.Notes[i] = ref + ": " + n
	}
	return out, err
}

// archiveIdentity names a docker-archive's image for tracking keys, so that
// they do not change with the (often temporary) path of the file: the
// repository of its first tag, else its image id (the config's digest).
func archiveIdentity(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return "", fmt.Errorf("%s: no manifest.json: not a docker-archive", file)
		}
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", file, err)
		}
		if path.Clean(h.Name) != "manifest.json" {
			continue
		}
		var m []struct {
			Config   string
			RepoTags []string
		}
		if err := json.NewDecoder(io.LimitReader(tr, 16<<20)).Decode(&m); err != nil || len(m) == 0 {
			return "", fmt.Errorf("%s: manifest.json: no image (%v)", file, err)
		}
		for _, t := range m[0].RepoTags {
			if repo := repository(t); repo != "" {
				return repo, nil
			}
		}
		cfg := path.Base(m[0].Config)
		return "sha256:" + strings.TrimSuffix(cfg, ".json"), nil
	}
}

// repository strips the tag or digest from an image reference.
func repository(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}
