package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/secgate/secgate/policy"
)

var (
	shells = []string{"bin/sh", "bin/bash", "bin/ash", "bin/dash", "bin/zsh", "bin/ksh", "bin/busybox",
		"usr/bin/sh", "usr/bin/bash", "usr/bin/dash", "usr/bin/zsh", "usr/bin/busybox"}
	packageManagers = []string{"usr/bin/apt", "usr/bin/apt-get", "usr/bin/dpkg", "sbin/apk", "usr/bin/yum", "usr/bin/dnf",
		"usr/bin/microdnf", "usr/bin/rpm", "bin/rpm", "usr/bin/zypper", "usr/bin/pacman",
		"usr/bin/pip", "usr/bin/pip3", "usr/local/bin/pip", "usr/local/bin/pip3"}
	cachePrefixes = []string{"var/lib/apt/lists/", "var/cache/apt/archives/", "var/cache/apk/", "root/.cache/pip/",
		"var/cache/yum/", "var/cache/dnf/"}
	tmpDirs = []string{"tmp", "var/tmp", "dev/shm", "run/lock", "var/lock"}
	// System trees are not read for secrets: package files, and the bulk of
	// every image. Application and configuration files are.
	systemPrefixes = []string{"usr/", "lib/", "lib32/", "lib64/", "bin/", "sbin/", "var/lib/", "var/cache/", "var/log/",
		"proc/", "sys/", "dev/", "boot/", "etc/ssl/", "etc/ca-certificates/", "usr/share/"}
)

// secretScanMax is the largest file read for secrets.
const secretScanMax = 256 << 10

// fsFacts is what one pass over the flattened filesystem learns.
type fsFacts struct {
	shells, packageManagers, setuid, worldWritable []string
	cacheBytes                                     int64
	cacheFiles                                     int
	passwd                                         map[string]string // user → uid
	passwdLink                                     bool
	unsafeNames                                    int
	secrets                                        []policy.Finding
	bytesRead                                      int64
}

func (s *Scanner) check(ctx context.Context, t target, cov *policy.Coverage) ([]policy.Finding, []string, error) {
	cov.Images++
	cov.Layers += len(t.layerSizes)
	cf, err := t.img.ConfigFile()
	if err != nil {
		return nil, nil, fmt.Errorf("reading the config: %w", err)
	}
	var fs []policy.Finding
	var notes []string
	add := func(check, title, fix, path string) {
		f := policy.Finding{
			ID: check, Kind: policy.KindImage, Rule: check, Title: title, Fix: fix,
			Severity: s.tier(check), ScoreSource: policy.SourceRuleDefault,
			Location: policy.Location{Image: t.name(), Path: path},
		}
		f.Fingerprint = policy.Fingerprint(policy.KindImage, check, t.identity, path)
		fs = append(fs, f)
	}

	// Cheap checks: manifest and config only.
	var total int64
	for _, n := range t.layerSizes {
		total += n
	}
	if s.opts.MaxSize > 0 && total > s.opts.MaxSize {
		add(CheckSize,
			fmt.Sprintf("the image is %s (%s), over the %s budget", mb(total), t.sizeMeasure, mb(s.opts.MaxSize)),
			"shrink it: a slim or distroless base, a multi-stage build that copies only the artifacts, caches removed in the RUN that made them; largest layers: "+largestLayers(t, cf, 3), "")
	}
	user := strings.TrimSpace(cf.Config.User)
	isRoot, lookup := rootUser(user)
	if isRoot {
		add(CheckRoot, fmt.Sprintf("the image runs as root (USER %q)", user),
			"add `USER 10001:10001` (a numeric non-root user, which Kubernetes runAsNonRoot can verify) after the last RUN that needs root", "")
	}
	if base, ok := unpinnedBase(t.annotations, cf.Config.Labels); ok {
		add(CheckUnpinnedBase, fmt.Sprintf("the base image %s is not pinned by digest", base),
			"pin the base: FROM image:tag@sha256:… (and let a bot such as Renovate or Dependabot update the digest)", "")
	}
	if s.opts.Secrets != nil {
		fs = append(fs, s.configSecrets(ctx, t, cf)...)
	}

	if s.opts.ConfigOnly {
		cov.AddSkip("image", "layers not read (config-only checks)", t.name())
		if lookup != "" {
			notes = append(notes, fmt.Sprintf("%s: USER %q not verified (config-only checks do not read /etc/passwd)", t.name(), user))
		}
		return fs, notes, nil
	}

	// One streamed pass over the flattened filesystem.
	facts, err := s.walk(ctx, t.img)
	if err != nil {
		return fs, notes, err
	}
	cov.Bytes += facts.bytesRead
	if lookup != "" {
		uid, found := facts.passwd[lookup]
		switch {
		case found && uid == "0":
			add(CheckRoot, fmt.Sprintf("the image runs as %q, which /etc/passwd maps to uid 0 (root)", user),
				"give the user a non-zero uid, or use `USER 10001:10001`", "/etc/passwd")
		case !found && facts.passwdLink:
			notes = append(notes, fmt.Sprintf("%s: USER %q not verified: /etc/passwd is a symlink, not followed", t.name(), user))
		case !found:
			notes = append(notes, fmt.Sprintf("%s: USER %q is not in /etc/passwd: the container may not start; prefer a numeric USER", t.name(), user))
		}
	}
	if len(facts.shells) > 0 {
		add(CheckShell, "a shell is in the final image: "+list(facts.shells),
			"build the final stage FROM a distroless or scratch base, so that an attacker who gets code execution has no shell", "/"+facts.shells[0])
	}
	if len(facts.packageManagers) > 0 {
		add(CheckPackageManager, "a package manager is in the final image: "+list(facts.packageManagers),
			"install packages in a build stage and copy the result into a distroless or scratch final stage", "/"+facts.packageManagers[0])
	}
	if len(facts.setuid) > 0 {
		add(CheckSetuid, fmt.Sprintf("%d setuid/setgid file(s): %s", len(facts.setuid), list(facts.setuid)),
			"remove the setuid/setgid bits the application does not need: RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} +", "/"+facts.setuid[0])
	}
	if facts.cacheFiles > 0 {
		add(CheckCache, fmt.Sprintf("package manager caches left in the image: %d files, %s", facts.cacheFiles, mb(facts.cacheBytes)),
			"clean up in the same RUN that installs: apt-get ... && rm -rf /var/lib/apt/lists/*; apk add --no-cache; pip install --no-cache-dir", "")
	}
	if len(facts.worldWritable) > 0 {
		add(CheckWorldWritable, fmt.Sprintf("world-writable director(ies) outside /tmp: %s", list(facts.worldWritable)),
			"chmod o-w the directory, or make it owned by the application user", "/"+facts.worldWritable[0])
	}
	for _, f := range facts.secrets {
		f.Location.Image = t.name()
		fs = append(fs, f)
	}
	if facts.unsafeNames > 0 {
		notes = append(notes, fmt.Sprintf("%s: %d layer entries with unsafe names (../) were ignored", t.name(), facts.unsafeNames))
	}
	notes = append(notes, fmt.Sprintf("%s: %d layers, %s (%s); %s read from the layers", t.name(), len(t.layerSizes), mb(total), t.sizeMeasure, mb(facts.bytesRead)))
	return fs, notes, nil
}

// rootUser tells whether a config USER is root, or names a user that only
// /etc/passwd can resolve.
func rootUser(user string) (isRoot bool, lookup string) {
	u, _, _ := strings.Cut(user, ":")
	switch {
	case u == "" || u == "root" || u == "0":
		return true, ""
	case isNumeric(u):
		return false, ""
	}
	return false, u
}

func isNumeric(s string) bool {
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}

// configSecrets scans the environment, labels and build history.
func (s *Scanner) configSecrets(ctx context.Context, t target, cf *v1.ConfigFile) []policy.Finding {
	var labels, history strings.Builder
	for _, k := range sortedKeys(cf.Config.Labels) {
		fmt.Fprintf(&labels, "%s=%s\n", k, cf.Config.Labels[k])
	}
	for _, h := range cf.History {
		history.WriteString(h.CreatedBy + "\n")
	}
	var out []policy.Finding
	for _, part := range []struct{ name, text string }{
		{"ENV", strings.Join(cf.Config.Env, "\n")},
		{"LABEL", labels.String()},
		{"history", history.String()},
	} {
		for _, f := range s.opts.Secrets.Scan(ctx, "config "+part.name, []byte(part.text)) {
			f.Location.Image = t.name()
			out = append(out, f)
		}
	}
	return out
}

// walk streams the flattened filesystem once (mutate.Extract applies the
// whiteouts), reading only the few files that content checks need, each
// bounded, and the whole stream bounded by MaxExtract.
func (s *Scanner) walk(ctx context.Context, img v1.Image) (*fsFacts, error) {
	rc := mutate.Extract(img)
	defer rc.Close()
	counted := &countingReader{r: rc, limit: s.opts.MaxExtract}
	tr := tar.NewReader(counted)
	facts := &fsFacts{passwd: map[string]string{}}
	for {
		if err := ctx.Err(); err != nil {
			return facts, err
		}
		h, err := tr.Next()
		if err == io.EOF {
			// mutate.Extract closes the tar stream before it reports its
			// error (an unsafe entry, a broken layer): a clean end of the
			// tar is not a clean extraction. Fail open there would mean an
			// image with one crafted entry checks as empty.
			if _, err := counted.Read(make([]byte, 1)); err != nil && err != io.EOF {
				return facts, fmt.Errorf("reading the layers: %w", err)
			}
			break
		}
		if err != nil {
			if errors.Is(err, errTooLarge) {
				return facts, fmt.Errorf("layers expand to more than %s: refusing (a decompression bomb?)", mb(s.opts.MaxExtract))
			}
			return facts, fmt.Errorf("reading the layers: %w", err)
		}
		p, ok := cleanName(h.Name)
		if !ok {
			facts.unsafeNames++
			continue
		}
		switch {
		case slices.Contains(shells, p):
			facts.shells = append(facts.shells, p)
		case slices.Contains(packageManagers, p):
			facts.packageManagers = append(facts.packageManagers, p)
		}
		if h.Typeflag == tar.TypeDir && h.Mode&0o002 != 0 && !slices.Contains(tmpDirs, strings.TrimSuffix(p, "/")) {
			facts.worldWritable = append(facts.worldWritable, p)
		}
		if h.Typeflag != tar.TypeReg {
			if p == "etc/passwd" && h.Typeflag == tar.TypeSymlink {
				facts.passwdLink = true
			}
			continue
		}
		if h.Mode&0o6000 != 0 {
			facts.setuid = append(facts.setuid, p)
		}
		if isCache(p) {
			facts.cacheFiles++
			facts.cacheBytes += h.Size
		}
		switch {
		case p == "etc/passwd":
			data, err := io.ReadAll(io.LimitReader(tr, s.opts.MaxFileRead))
			if err != nil {
				return facts, err
			}
			facts.passwd = parsePasswd(data)
		case s.opts.Secrets != nil && h.Size > 0 && h.Size <= secretScanMax && !hasPrefix(p, systemPrefixes):
			data, err := io.ReadAll(io.LimitReader(tr, secretScanMax))
			if err != nil {
				return facts, err
			}
			if !bytes.Contains(data[:min(len(data), 8000)], []byte{0}) { // text only
				facts.secrets = append(facts.secrets, s.opts.Secrets.Scan(ctx, "/"+p, data)...)
			}
		}
	}
	facts.bytesRead = counted.n
	return facts, nil
}

var errTooLarge = errors.New("extract limit reached")

type countingReader struct {
	r     io.Reader
	n     int64
	limit int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n >= c.limit {
		return 0, errTooLarge
	}
	if rest := c.limit - c.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// cleanName normalises a layer entry name; ok is false for names that
// climb out of the root (../): never written anywhere, and not trusted to
// say where a file is either.
func cleanName(n string) (string, bool) {
	n = strings.TrimLeft(strings.TrimPrefix(n, "./"), "/") // absolute names are relative to the image root
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return "", false
		}
	}
	c := path.Clean(n)
	if c == "." {
		return "", true
	}
	return c, true
}

func isCache(p string) bool {
	if !hasPrefix(p, cachePrefixes) {
		return false
	}
	base := path.Base(p)
	return base != "lock" && !strings.Contains(p, "/partial/")
}

func hasPrefix(p string, prefixes []string) bool {
	for _, pre := range prefixes {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

func parsePasswd(data []byte) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) >= 3 && !strings.HasPrefix(f[0], "#") {
			m[f[0]] = f[2]
		}
	}
	return m
}

// unpinnedBase reads the OCI base image annotations (or labels).
func unpinnedBase(annotations, labels map[string]string) (string, bool) {
	get := func(k string) string {
		if v := annotations[k]; v != "" {
			return v
		}
		return labels[k]
	}
	base := get("org.opencontainers.image.base.name")
	if base == "" {
		return "", false
	}
	if strings.Contains(base, "@sha256:") || get("org.opencontainers.image.base.digest") != "" {
		return base, false
	}
	return base, true
}

// largestLayers names the biggest layers and the instructions that made them.
func largestLayers(t target, cf *v1.ConfigFile, n int) string {
	var created []string
	for _, h := range cf.History {
		if !h.EmptyLayer {
			created = append(created, h.CreatedBy)
		}
	}
	idx := make([]int, len(t.layerSizes))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return t.layerSizes[idx[a]] > t.layerSizes[idx[b]] })
	var parts []string
	for _, i := range idx[:min(n, len(idx))] {
		what := "(no history)"
		if i < len(created) {
			what = strings.TrimSpace(strings.TrimPrefix(created[i], "/bin/sh -c #(nop)"))
			if len(what) > 70 {
				what = what[:67] + "..."
			}
		}
		parts = append(parts, fmt.Sprintf("#%d %s %s", i, mb(t.layerSizes[i]), what))
	}
	return strings.Join(parts, "; ")
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

func list(ps []string) string {
	const show = 5
	out := make([]string, 0, show)
	for _, p := range ps[:min(len(ps), show)] {
		out = append(out, "/"+p)
	}
	s := strings.Join(out, ", ")
	if len(ps) > show {
		s += fmt.Sprintf(" and %d more", len(ps)-show)
	}
	return s
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
