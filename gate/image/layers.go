package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/secgate/secgate/policy"
)

// pathEntry is one path of the image as the layers so far leave it.
type pathEntry struct {
	layer    int
	typeflag byte
	mode     int64
	size     int64
}

// wasted is a file a later layer deleted or overwrote: its bytes still
// ship in the image.
type wasted struct {
	path          string
	size          int64
	addedIn, gone int
	how           string // "deleted", "overwritten"
}

// layerSecret is a secret finding and where its file came from.
type layerSecret struct {
	f     policy.Finding
	path  string
	layer int
}

// walk reads every layer in order, once, streamed and bounded: each
// layer's files are scanned for secrets (a file a later layer deletes is
// still in the image, and still readable by whoever pulls it), the
// whiteouts are applied to a table of paths, and the final filesystem's
// facts (shells, setuid files, /etc/passwd, sudoers…) are read from that
// table at the end. What later layers deleted or overwrote is wasted.
func (s *Scanner) walk(ctx context.Context, img v1.Image, cmds []string) (*fsFacts, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading the layers: %w", err)
	}
	facts := &fsFacts{passwd: map[string]string{}, osRelease: map[string][]byte{}}
	state := map[string]pathEntry{}
	// Content the final-state checks need, by layer: the last version wins.
	passwdByLayer := map[int][]byte{}
	osReleaseByLayer := map[string]map[int][]byte{}
	sudoersByLayer := map[string]map[int][]byte{}
	var secrets []layerSecret
	counted := &countingReader{limit: s.opts.MaxExtract}
	// remove applies a whiteout: what lower layers put at p (and under
	// it) is gone from the filesystem, not from the image.
	remove := func(p string, by int) {
		for q, e := range state {
			if e.layer < by && (p == "" || q == p || strings.HasPrefix(q, p+"/")) {
				if e.typeflag == tar.TypeReg && e.size > 0 {
					facts.wasted = append(facts.wasted, wasted{path: q, size: e.size, addedIn: e.layer, gone: by, how: "deleted"})
					facts.wastedBytes += e.size
				}
				delete(state, q)
			}
		}
	}
	for i, l := range layers {
		if err := ctx.Err(); err != nil {
			return facts, err
		}
		rc, err := l.Uncompressed()
		if err != nil {
			return facts, fmt.Errorf("reading layer %d: %w", i, err)
		}
		counted.r = rc
		tr := tar.NewReader(counted)
		var opaque []string
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				rc.Close()
				if errors.Is(err, errTooLarge) {
					return facts, fmt.Errorf("layers expand to more than %s: refusing (a decompression bomb?)", mb(s.opts.MaxExtract))
				}
				return facts, fmt.Errorf("reading layer %d: %w", i, err)
			}
			p, ok := cleanName(h.Name)
			if !ok {
				// A name that climbs out of the root: the engine refuses
				// the layer, and so does the gate (never a silent skip).
				rc.Close()
				return facts, fmt.Errorf("layer %d: unsafe tar path %q", i, h.Name)
			}
			if p == "" {
				continue
			}
			dir, base := path.Split(p)
			dir = strings.TrimSuffix(dir, "/")
			if base == ".wh..wh..opq" {
				opaque = append(opaque, dir) // applied to earlier layers once this one is read
				continue
			}
			if name, ok := strings.CutPrefix(base, ".wh."); ok {
				remove(path.Join(dir, name), i)
				continue
			}
			if old, ok := state[p]; ok && old.layer < i && old.typeflag == tar.TypeReg && old.size > 0 {
				facts.wasted = append(facts.wasted, wasted{path: p, size: old.size, addedIn: old.layer, gone: i, how: "overwritten"})
				facts.wastedBytes += old.size
			}
			state[p] = pathEntry{layer: i, typeflag: h.Typeflag, mode: h.Mode, size: h.Size}
			if h.Typeflag != tar.TypeReg {
				continue
			}
			switch {
			case p == "etc/passwd":
				data, err := io.ReadAll(io.LimitReader(tr, s.opts.MaxFileRead))
				if err != nil {
					rc.Close()
					return facts, err
				}
				passwdByLayer[i] = data
			case p == "etc/os-release" || p == "usr/lib/os-release":
				data, err := io.ReadAll(io.LimitReader(tr, min(s.opts.MaxFileRead, 64<<10)))
				if err != nil {
					rc.Close()
					return facts, err
				}
				if osReleaseByLayer[p] == nil {
					osReleaseByLayer[p] = map[int][]byte{}
				}
				osReleaseByLayer[p][i] = data
			case p == "etc/sudoers" || strings.HasPrefix(p, "etc/sudoers.d/"):
				data, err := io.ReadAll(io.LimitReader(tr, s.opts.MaxFileRead))
				if err != nil {
					rc.Close()
					return facts, err
				}
				if sudoersByLayer[p] == nil {
					sudoersByLayer[p] = map[int][]byte{}
				}
				sudoersByLayer[p][i] = data
			case s.opts.Secrets != nil && h.Size > 0 && h.Size <= secretScanMax && !hasPrefix(p, systemPrefixes):
				data, err := io.ReadAll(io.LimitReader(tr, secretScanMax))
				if err != nil {
					rc.Close()
					return facts, err
				}
				if !slices.Contains(data[:min(len(data), 8000)], 0) { // text only
					for _, f := range s.opts.Secrets.Scan(ctx, "/"+p, data) {
						secrets = append(secrets, layerSecret{f: f, path: p, layer: i})
					}
				}
			}
		}
		rc.Close()
		// An opaque directory hides what lower layers put under it.
		for _, d := range opaque {
			for q, e := range state {
				if e.layer < i && strings.HasPrefix(q, d+"/") {
					remove(q, i)
				}
			}
		}
	}
	facts.bytesRead = counted.n

	// The final filesystem.
	paths := make([]string, 0, len(state))
	for p := range state {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		e := state[p]
		switch {
		case slices.Contains(shells, p):
			facts.shells = append(facts.shells, p)
		case slices.Contains(packageManagers, p):
			facts.packageManagers = append(facts.packageManagers, p)
		case slices.Contains(sudoBinaries, p):
			facts.sudo = append(facts.sudo, p)
		}
		if e.typeflag == tar.TypeDir && e.mode&0o002 != 0 && !slices.Contains(tmpDirs, p) {
			facts.worldWritable = append(facts.worldWritable, p)
		}
		if p == "etc/passwd" && e.typeflag == tar.TypeSymlink {
			facts.passwdLink = true
		}
		if e.typeflag != tar.TypeReg {
			continue
		}
		if e.mode&0o6000 != 0 {
			facts.setuid = append(facts.setuid, p)
		}
		if isCache(p) {
			facts.cacheFiles++
			facts.cacheBytes += e.size
		}
		if p == "etc/passwd" {
			facts.passwd = parsePasswd(passwdByLayer[e.layer])
		}
		if data, ok := osReleaseByLayer[p][e.layer]; ok {
			facts.osRelease[p] = data
		}
		if data, ok := sudoersByLayer[p][e.layer]; ok {
			for _, rule := range nopasswd(data) {
				facts.sudoNopasswd = append(facts.sudoNopasswd, "/"+p+": "+rule)
			}
		}
	}

	// Secrets: one finding per secret (the earliest layer that has it),
	// saying when a later layer deleted or overwrote its file.
	seen := map[string]bool{}
	for _, ls := range secrets {
		f := ls.f
		if seen[f.Fingerprint] {
			continue
		}
		seen[f.Fingerprint] = true
		f.Location.Layer = fmt.Sprintf("%d", ls.layer)
		if e, ok := state[ls.path]; !ok || e.layer != ls.layer {
			for _, w := range facts.wasted {
				if w.path == ls.path && w.addedIn == ls.layer {
					f.Title += fmt.Sprintf(" (%s in layer %d%s, still in the image: layer %d ships it)", w.how, w.gone, by(cmds, w.gone), ls.layer)
					break
				}
			}
		}
		if c := by(cmds, ls.layer); c != "" {
			f.Title += "; added" + c
		}
		facts.secrets = append(facts.secrets, f)
	}
	sort.SliceStable(facts.wasted, func(a, b int) bool { return facts.wasted[a].size > facts.wasted[b].size })
	return facts, nil
}

// by names the instruction that made a layer, from the image's history.
func by(cmds []string, layer int) string {
	if layer >= len(cmds) || cmds[layer] == "" {
		return ""
	}
	c := strings.TrimSpace(strings.TrimPrefix(cmds[layer], "/bin/sh -c #(nop)"))
	c = strings.TrimPrefix(c, "/bin/sh -c ")
	if len(c) > 60 {
		c = c[:57] + "..."
	}
	return " by `" + strings.ReplaceAll(c, "`", "'") + "`"
}

// layerCommands are the history entries that made layers, in layer order.
func layerCommands(cf *v1.ConfigFile) []string {
	var out []string
	for _, h := range cf.History {
		if !h.EmptyLayer {
			out = append(out, h.CreatedBy)
		}
	}
	return out
}

var sudoBinaries = []string{"usr/bin/sudo", "bin/sudo", "usr/local/bin/sudo"}

var nopasswdRule = regexp.MustCompile(`^[^#]*\bNOPASSWD\s*:`)

// nopasswd are the sudoers rules that grant commands without a password.
func nopasswd(data []byte) []string {
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if nopasswdRule.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}
