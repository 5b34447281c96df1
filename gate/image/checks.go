package image

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

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
	wasted                                         []wasted
	wastedBytes                                    int64
	sudo, sudoNopasswd                             []string
	osRelease                                      map[string][]byte // etc/os-release, usr/lib/os-release: final content
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
	cmds := layerCommands(cf)
	facts, err := s.walk(ctx, t.img, cmds)
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
	if err := s.checkOSEOL(t, facts, add, &notes); err != nil {
		return fs, notes, err
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
	if len(facts.sudoNopasswd) > 0 {
		add(CheckSudoNopasswd, "sudo without a password gives root back: "+strings.Join(facts.sudoNopasswd[:min(3, len(facts.sudoNopasswd))], "; "),
			"remove the NOPASSWD rule (and sudo) from the final image: a non-root USER with passwordless sudo is root", strings.TrimPrefix(strings.SplitN(facts.sudoNopasswd[0], ":", 2)[0], "/"))
	}
	if len(facts.sudo) > 0 {
		add(CheckSudo, "sudo is in the final image: "+list(facts.sudo), "do not install sudo in the final stage", "/"+facts.sudo[0])
	}
	if facts.wastedBytes > 0 {
		var top []string
		for _, w := range facts.wasted[:min(3, len(facts.wasted))] {
			top = append(top, fmt.Sprintf("/%s %s (added in layer %d%s, %s in layer %d)", w.path, mb(w.size), w.addedIn, by(cmds, w.addedIn), w.how, w.gone))
		}
		notes = append(notes, fmt.Sprintf("%s: %s in %d files deleted or overwritten by later layers, still shipped: %s", t.name(), mb(facts.wastedBytes), len(facts.wasted), strings.Join(top, "; ")))
		if s.opts.MaxWasted > 0 && facts.wastedBytes > s.opts.MaxWasted {
			add(CheckWasted, fmt.Sprintf("%s of files deleted or overwritten by later layers still ship in the image (over %s): %s", mb(facts.wastedBytes), mb(s.opts.MaxWasted), strings.Join(top, "; ")),
				"delete files in the same RUN that creates them, or copy only the artifacts into the final stage of a multi-stage build", "/"+facts.wasted[0].path)
		}
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
	// Secret-named keys with a literal value, which no rule recognises
	// (most real passwords): by name, as Docker's build checks and dockle
	// do. A line a rule already reported is not reported twice.
	reported := map[string]bool{}
	for _, f := range out {
		reported[fmt.Sprintf("%s:%d", f.Location.Path, f.Location.Line)] = true
	}
	seen := map[string]bool{}
	for _, part := range []struct {
		name  string
		lines []string
	}{{"ENV", cf.Config.Env}, {"history", strings.Split(history.String(), "\n")}} {
		for i, l := range part.lines {
			if reported[fmt.Sprintf("config %s:%d", part.name, i+1)] {
				continue
			}
			for _, kv := range SecretAssignments(l, part.name == "ENV") {
				if seen[kv.Key] {
					continue
				}
				seen[kv.Key] = true
				where := "ENV"
				if part.name == "history" {
					where = "a build instruction (ENV or ARG)"
				}
				out = append(out, policy.Finding{
					ID: RuleSecretEnv, Kind: policy.KindSecret, Rule: RuleSecretEnv,
					Title:       fmt.Sprintf("secret-named key %s has a literal value in %s", kv.Key, where),
					Preview:     fmt.Sprintf("%s=… (%d chars)", kv.Key, kv.Len),
					Location:    policy.Location{Image: t.name(), Path: "config " + part.name, Line: i + 1},
					Fix:         "pass it at run time (a secret store, --secret mounts at build time, the orchestrator's secrets), not in ENV or ARG: both ship in the image's config",
					Fingerprint: policy.Fingerprint(policy.KindSecret, RuleSecretEnv, t.identity, kv.Key),
				})
			}
		}
	}
	return out
}

// Assignment is a secret-named key with a literal value (its length only:
// the value is never kept).
type Assignment struct {
	Key string
	Len int
}

var (
	assignRE = regexp.MustCompile(`(?:^|[\s|])([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|'[^']*'|\S*)`)
	// history: `ENV KEY value` (the old form) and `ARG KEY=value`.
	envSpaceRE = regexp.MustCompile(`(?:#\(nop\)\s+|^)ENV\s+([A-Za-z_][A-Za-z0-9_]*)\s+([^=\s]\S*)\s*$`)
)

// secretWords name a secret in an upper-cased key's words.
var secretWords = []string{"PASSWORD", "PASSWD", "SECRET", "TOKEN", "CREDENTIALS", "CREDENTIAL", "APIKEY", "PASSPHRASE"}

// secretPairs name a secret as two words.
var secretPairs = []string{"API_KEY", "PRIVATE_KEY", "ACCESS_KEY", "SECRET_KEY", "AUTH_KEY", "CLIENT_SECRET", "SIGNING_KEY", "ENCRYPTION_KEY"}

// SecretName says whether an environment key names a secret, and not a
// reference to one (…_FILE, …_PATH, …_URL, …_DIR).
func SecretName(key string) bool {
	k := strings.ToUpper(key)
	for _, suffix := range []string{"_FILE", "_PATH", "_DIR", "_URL", "_URI", "_HOST", "_ENDPOINT", "_TYPE", "_NAME", "_ID", "_LENGTH", "_MIN_LENGTH", "_POLICY", "_EXPIRY", "_TTL"} {
		if strings.HasSuffix(k, suffix) {
			return false
		}
	}
	for _, p := range secretPairs {
		if k == p || strings.HasSuffix(k, "_"+p) || strings.HasPrefix(k, p+"_") || strings.Contains(k, "_"+p+"_") {
			return true
		}
	}
	for _, w := range strings.Split(k, "_") {
		if slices.Contains(secretWords, w) {
			return true
		}
	}
	return false
}

// literal says whether a value is a literal secret: not empty, not a
// reference ($VAR, ${VAR}), not a file path (/run/secrets/db).
func literal(v string) bool {
	v = strings.Trim(v, `"'`)
	return v != "" && !strings.HasPrefix(v, "$") && !strings.HasPrefix(v, "/") && !strings.HasPrefix(v, "~/")
}

// SecretAssignments finds secret-named keys with literal values in one
// line: KEY=value (ENV entries, `ENV`/`ARG` history, buildkit's `|2 K=v`
// build-arg prefix of RUN lines) and the old `ENV KEY value`. whole is
// true when the line is one KEY=value entry (the config's Env).
func SecretAssignments(line string, whole bool) []Assignment {
	var out []Assignment
	add := func(k, v string) {
		if SecretName(k) && literal(v) {
			out = append(out, Assignment{Key: k, Len: len(strings.Trim(v, `"'`))})
		}
	}
	if whole {
		if k, v, ok := strings.Cut(line, "="); ok {
			add(k, v)
		}
		return out
	}
	if m := envSpaceRE.FindStringSubmatch(line); m != nil {
		add(m[1], m[2])
		return out
	}
	// Only where a key is set: ENV/ARG instructions and the build args of
	// RUN lines, not any "x=y" inside a shell command.
	trimmed := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "/bin/sh -c #(nop)"))
	switch {
	case strings.HasPrefix(trimmed, "ENV "), strings.HasPrefix(trimmed, "ARG "):
		trimmed = trimmed[4:]
	case strings.HasPrefix(trimmed, "|"):
		if i := strings.Index(trimmed, " /bin/sh -c"); i > 0 {
			trimmed = trimmed[:i]
		}
	default:
		return out
	}
	for _, m := range assignRE.FindAllStringSubmatch(trimmed, -1) {
		add(m[1], m[2])
	}
	return out
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
