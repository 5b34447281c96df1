// Package dockerfile checks the Dockerfiles (and Containerfiles) of the
// scanned tree for what makes the images they build bigger and weaker
// than they need to be — the final stage running as root, unpinned bases,
// build tools shipped, package caches kept, remote ADDs, secrets in
// ARG/ENV, `COPY . .` without a .dockerignore, sudo, chmod 777, curl | sh —
// the practices hadolint, trivy's Dockerfile checks and Docker's own build
// checks teach. Files are read with BuildKit's parser, the one `docker
// build` uses, and each finding points at its instruction's line.
package dockerfile

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/secgate/secgate/gate/image"
	"github.com/secgate/secgate/gate/repo"
	"github.com/secgate/secgate/internal/lazyre"
	"github.com/secgate/secgate/policy"
)

// Options say what to scan and how to judge it.
type Options struct {
	Root    string
	Tiers   map[string]policy.Severity // by check id (the policy's, else the catalogue's)
	Exclude []string                   // directory names to skip
	// Secrets finds values that gitleaks' rules recognise in ARG and ENV.
	Secrets image.SecretScanner
	Logger  *slog.Logger
}

// Scanner is the Dockerfile scanner.
type Scanner struct{ opts Options }

// New makes the scanner.
func New(o Options) *Scanner {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Scanner{opts: o}
}

func (s *Scanner) Name() string   { return "dockerfile" }
func (s *Scanner) Target() string { return "Dockerfiles and Containerfiles under " + s.opts.Root }

// maxFile is the largest Dockerfile read.
const maxFile = 1 << 20

// IsDockerfile reports whether a file name is a Dockerfile's: Dockerfile,
// Containerfile, Dockerfile.prod, app.Dockerfile, app.containerfile — not
// dockerfile.go nor Dockerfile.md.
func IsDockerfile(name string) bool {
	n := strings.ToLower(name)
	switch {
	case n == "dockerfile" || n == "containerfile":
		return true
	case strings.HasPrefix(name, "Dockerfile.") || strings.HasPrefix(name, "Containerfile."):
		return !slices.Contains(notDockerfile, strings.ToLower(path.Ext(name)))
	case strings.HasSuffix(n, ".dockerfile") || strings.HasSuffix(n, ".containerfile"):
		return true
	}
	return false
}

// notDockerfile are extensions of files named Dockerfile.* that are not one.
var notDockerfile = []string{".dockerignore", ".md", ".txt", ".go", ".json", ".yml", ".yaml", ".sh", ".py", ".js", ".ts", ".orig", ".bak", ".swp"}

// Scan reads every Dockerfile under the root and checks it.
func (s *Scanner) Scan(ctx context.Context) (policy.ScanResult, error) {
	root := s.opts.Root
	var res policy.ScanResult
	c := &checker{s: s, ctx: ctx, seen: map[string]bool{}}
	files := 0
	err := repo.WalkFiles(ctx, root, s.opts.Exclude, maxFile, &res.Coverage, func(p, rel string) error {
		if !IsDockerfile(path.Base(rel)) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		if c.file(rel, data, dockerignored(p)) {
			files++
			res.Coverage.Files++
			res.Coverage.Bytes += int64(len(data))
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	res.Findings = c.findings
	res.Warnings = c.warnings
	res.Notes = append(res.Notes, fmt.Sprintf("%d Dockerfile(s) checked", files))
	return res, nil
}

// dockerignored reports whether a .dockerignore applies to the Dockerfile
// at p: BuildKit's <Dockerfile>.dockerignore beside it, or a .dockerignore
// in its directory (the usual build context).
func dockerignored(p string) bool {
	for _, f := range []string{p + ".dockerignore", filepath.Join(filepath.Dir(p), ".dockerignore")} {
		if _, err := os.Stat(f); err == nil {
			return true
		}
	}
	return false
}

// checker gathers the findings of the files.
type checker struct {
	s        *Scanner
	ctx      context.Context
	findings []policy.Finding
	warnings []string
	seen     map[string]bool // fingerprints added
}

// file checks one Dockerfile; false when it does not parse (a warning).
func (c *checker) file(rel string, data []byte, hasIgnore bool) bool {
	ast, err := parser.Parse(bytes.NewReader(data))
	if err == nil {
		var stages []instructions.Stage
		var meta []instructions.ArgCommand
		stages, meta, err = instructions.Parse(ast.AST, nil)
		if err == nil {
			c.stages(rel, stages, meta, hasIgnore)
			return true
		}
	}
	// The parser's message names the line; the source is not quoted (a
	// Dockerfile may hold a secret).
	msg, _, _ := strings.Cut(err.Error(), "\n")
	c.warnings = append(c.warnings, fmt.Sprintf("%s: not a Dockerfile BuildKit parses, not checked: %s", rel, msg))
	return false
}

// stage is what the checks know of one build stage.
type stageInfo struct {
	name, base string // base expanded with the global ARGs' defaults
	line       int
	user       string // the last USER, its variables expanded, inherited from a parent stage
	userLine   int
	fromStage  bool // FROM an earlier stage
	// env are the stage's ENV (a child stage inherits them), vars its
	// ENV and ARGs, with their defaults: what BuildKit expands USER with.
	env, vars buildVars
}

// buildVars are a stage's variables, for BuildKit's own expander.
type buildVars map[string]string

func (v buildVars) Get(k string) (string, bool) { s, ok := v[k]; return s, ok }
func (v buildVars) Keys() []string              { return slices.Collect(maps.Keys(v)) }

// expandVars is a word with the stage's variables expanded as `docker
// build` does ($U, ${U}, ${U:-root}, ${U:+x}); the word as written when
// BuildKit's expander refuses it. A Lex a call: it keeps the word being
// read in its fields (buildkit v0.32.2, shell/lex.go initWord), so one
// shared by concurrent scans raced (TestConcurrentScans, -race).
func expandVars(word string, v buildVars) string {
	out, _, err := shell.NewLex('\\').ProcessWord(word, v)
	if err != nil {
		return word
	}
	return out
}

func (c *checker) stages(rel string, stages []instructions.Stage, meta []instructions.ArgCommand, hasIgnore bool) {
	args := map[string]string{}
	for _, a := range meta {
		for _, kv := range a.Args {
			args[kv.Key] = kv.ValueString()
		}
	}
	byName := map[string]*stageInfo{}
	var infos []*stageInfo
	for i, st := range stages {
		si := &stageInfo{name: st.Name, base: expand(st.BaseName, args), line: line(st.Location), env: buildVars{}, vars: buildVars{}}
		if parent, ok := byName[strings.ToLower(si.base)]; ok {
			si.fromStage, si.user, si.userLine = true, parent.user, parent.userLine
			maps.Copy(si.env, parent.env)
			maps.Copy(si.vars, parent.env)
		}
		object := stageObject(st, i)
		if !si.fromStage {
			c.base(rel, si, object)
		}
		for _, cmd := range st.Commands {
			c.command(rel, object, cmd, si, args, hasIgnore)
		}
		if st.Name != "" {
			byName[strings.ToLower(st.Name)] = si
		}
		infos = append(infos, si)
	}
	if len(infos) == 0 {
		return
	}
	final := infos[len(infos)-1]
	object := stageObject(stages[len(stages)-1], len(stages)-1)
	switch {
	case final.user == "" && !nonRootBase(final.base):
		c.add(CheckRoot, rel, final.line, object, "the final stage sets no USER: it runs as its base image's user, root for most", "add `USER 10001:10001` (a numeric non-root user) to the final stage, after the last RUN that needs root")
	case final.user != "" && isRoot(final.user):
		c.add(CheckRoot, rel, final.userLine, object, "the final stage sets USER "+final.user, "end the final stage with a non-root USER (numeric, e.g. 10001:10001)")
	}
	if len(stages) == 1 && !final.fromStage {
		c.buildTools(rel, stages[0], final, object)
	}
}

// stageObject names a stage in findings: "stage build" or "stage 2".
func stageObject(st instructions.Stage, i int) string {
	if st.Name != "" {
		return "stage " + st.Name
	}
	return fmt.Sprintf("stage %d", i)
}

func line(r []parser.Range) int {
	if len(r) == 0 {
		return 0
	}
	return r[0].Start.Line
}

var argRef = lazyre.New(`\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}?`)

// expand replaces $VAR, ${VAR} and ${VAR:-default} with the global ARGs'
// defaults; what cannot be known stays a reference.
func expand(s string, args map[string]string) string {
	return argRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := argRef.FindStringSubmatch(m)
		if v, ok := args[sub[1]]; ok && v != "" {
			return v
		}
		if sub[2] != "" {
			return sub[2]
		}
		return m
	})
}

// nonRootBase reports whether a base image runs as non-root by its tag
// (distroless' and chainguard's :nonroot, Docker's rootless images).
func nonRootBase(base string) bool {
	b := strings.ToLower(base)
	return strings.Contains(b, ":nonroot") || strings.Contains(b, "-nonroot") || strings.Contains(b, "rootless")
}

func isRoot(user string) bool {
	u, _, _ := strings.Cut(strings.TrimSpace(user), ":")
	// A uid is read as a number: 00 is root too.
	return u == "root" || u != "" && strings.Trim(u, "0") == ""
}

// base checks a FROM of an image (not of a stage).
func (c *checker) base(rel string, si *stageInfo, object string) {
	b := si.base
	if strings.EqualFold(b, "scratch") || strings.Contains(b, "$") {
		return // nothing to pull, or unknowable here
	}
	if strings.Contains(b, "@sha256:") {
		return
	}
	ref := b[strings.LastIndex(b, "/")+1:]
	_, tag, tagged := strings.Cut(ref, ":")
	switch {
	case !tagged || tag == "latest":
		c.add(CheckBaseLatest, rel, si.line, object, "FROM "+b, "pin the base image to a version tag and its digest (FROM image:1.2.3@sha256:…), and let Dependabot or Renovate move it")
	default:
		c.add(CheckBaseDigest, rel, si.line, object, "FROM "+b+" without a digest", "add the digest (FROM "+b+"@sha256:…): a tag can be moved to another image")
	}
}

// Build tools: compilers and toolchains that a single-stage build ships.
var (
	toolBases   = lazyre.New(`(?i)^(docker\.io/)?(library/)?(golang|rust|maven|gradle|gcc|openjdk|eclipse-temurin:[^@]*jdk|node:[^@]*-(bookworm|bullseye|buster)$)`)
	toolInstall = lazyre.New(`(?i)\b(apt-get|apt|apk|yum|dnf|microdnf)\b[^;&|]*\b(install|add)\b[^;&|]*\b(gcc|g\+\+|make|build-essential|build-base|clang|cmake|golang|musl-dev|libc6-dev|rustc|cargo)\b`)
)

func (c *checker) buildTools(rel string, st instructions.Stage, si *stageInfo, object string) {
	if toolBases.MatchString(si.base) {
		c.add(CheckBuildTools, rel, si.line, object, "a single-stage build FROM "+si.base+": the image ships the toolchain", "build in one stage and copy the result into a small final stage (FROM gcr.io/distroless/static or scratch)")
		return
	}
	for _, cmd := range st.Commands {
		if run, ok := cmd.(*instructions.RunCommand); ok {
			if m := toolInstall.FindStringSubmatch(runText(run)); m != nil {
				c.add(CheckBuildTools, rel, line(run.Location()), object, "a single-stage build installs "+m[3], "build in one stage and copy the result into a small final stage")
				return
			}
		}
	}
}

func runText(r *instructions.RunCommand) string {
	s := strings.Join(r.CmdLine, " ")
	for _, f := range r.Files {
		s += "\n" + f.Data
	}
	return s
}

var (
	aptInstall = lazyre.New(`\bapt(-get)?\s+([^;&|]*\s)?install\b`)
	aptClean   = lazyre.New(`rm\s+-[a-zA-Z]*r[a-zA-Z]*f?\s+[^;&|]*/var/lib/apt/lists|rm\s+-[a-zA-Z]*f[a-zA-Z]*r\s+[^;&|]*/var/lib/apt/lists`)
	apkAdd     = lazyre.New(`\bapk\s+([^;&|]*\s)?add\b`)
	pipInstall = lazyre.New(`\bpip[0-9.]*\s+([^;&|]*\s)?install\b`)
	yumInstall = lazyre.New(`\b(yum|dnf|microdnf)\s+([^;&|]*\s)?install\b`)
	yumClean   = lazyre.New(`\b(yum|dnf|microdnf)\s+clean\s+all\b|rm\s+-[a-zA-Z]*\s+[^;&|]*/var/cache/(yum|dnf)`)
	cacheMount = lazyre.New(`--mount=[^ ]*type=cache`)
	// A download run by a shell or an interpreter: piped into it (curl … |
	// sudo -E /bin/bash -), its output run by sh -c "$(curl …)" or eval, or
	// read through a process substitution (bash <(curl …), source <(…)).
	curlPipe = lazyre.New(`\b(curl|wget|fetch)\b` + words + `\|\s*(sudo\s+(-\S+\s+)*|env\s+(\S+=\S*\s+)*)?(\S*/)?` + interp +
		`|\b` + interp + `\s+(-\S+\s+)*-c\s+["']?(\$\(|` + "`" + `)\s*(curl|wget)\b` +
		`|\beval\s+["']?(\$\(|` + "`" + `)\s*(curl|wget)\b` +
		`|(\b` + interp + `|\bsource|(^|[\s;&|])\.)\s+(-\S+\s+)*<\(\s*(curl|wget)\b`)
	chmod777    = lazyre.New(`\bchmod\s+(-[a-zA-Z]+\s+)*(0?777|[augo]*\+rwx)\b`)
	sudoInstall = lazyre.New(`(?i)\b(apt-get|apt|apk|yum|dnf|microdnf)\b[^;&|]*\b(install|add)\b[^;&|]*\bsudo\b`)
	noPasswd    = lazyre.New(`NOPASSWD`)
)

// words are a command's arguments up to the next operator: a quoted URL
// may hold & or | (https://example.test/i.sh?a=1&b=2).
const words = `([^;&|'"\n]|'[^'\n]*'|"[^"\n]*")*`

// interp are the shells and interpreters a downloaded script is fed to.
const interp = `((ba|z|da|k|a|fi)?sh|python[0-9.]*|perl|ruby|node|php)\b`

// command checks one instruction of a stage and tracks the stage's
// variables and USER; globals are the ARGs before the first FROM, with
// their defaults.
func (c *checker) command(rel, object string, cmd instructions.Command, si *stageInfo, globals map[string]string, hasIgnore bool) {
	ln := 0
	if l, ok := cmd.(interface{ Location() []parser.Range }); ok {
		ln = line(l.Location())
	}
	switch cmd := cmd.(type) {
	case *instructions.UserCommand:
		si.user, si.userLine = strings.TrimSpace(expandVars(cmd.User, si.vars)), ln
	case *instructions.RunCommand:
		text := runText(cmd)
		flags := strings.Join(cmd.FlagsUsed, " ") + " " + text
		cached := cacheMount.MatchString(flags)
		switch {
		case cached:
		case aptInstall.MatchString(text) && !aptClean.MatchString(text):
			c.add(CheckPackageCache, rel, ln, object, "apt-get install keeps /var/lib/apt/lists", "end the same RUN with `&& rm -rf /var/lib/apt/lists/*` (or use a BuildKit cache mount)")
		case apkAdd.MatchString(text) && !strings.Contains(text, "--no-cache"):
			c.add(CheckPackageCache, rel, ln, object, "apk add keeps its index cache", "use `apk add --no-cache`")
		case pipInstall.MatchString(text) && !strings.Contains(text, "--no-cache-dir") && !strings.Contains(text, "PIP_NO_CACHE_DIR"):
			c.add(CheckPackageCache, rel, ln, object, "pip install keeps its download cache", "use `pip install --no-cache-dir` (or ENV PIP_NO_CACHE_DIR=1)")
		case yumInstall.MatchString(text) && !yumClean.MatchString(text):
			c.add(CheckPackageCache, rel, ln, object, "yum/dnf install keeps its cache", "end the same RUN with `&& yum clean all` (dnf clean all)")
		}
		if curlPipe.MatchString(text) {
			c.add(CheckCurlPipe, rel, ln, object, "a script downloaded and piped into a shell", "download the script, check its checksum or signature, then run it (or install a package)")
		}
		if chmod777.MatchString(text) {
			c.add(CheckChmod777, rel, ln, object, "chmod 777 (world-writable)", "give the owner what it needs (chown the path to the runtime user, chmod 750 or 640)")
		}
		switch {
		case noPasswd.MatchString(text):
			c.add(CheckSudo, rel, ln, object, noPasswdDetail, noPasswdFix)
		case sudoInstall.MatchString(text):
			c.add(CheckSudoInstalled, rel, ln, object, "sudo is installed", "remove sudo: a container has no use for it, and it is a way back to root")
		}
	case *instructions.AddCommand:
		for _, src := range cmd.SourcePaths {
			if (strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://")) && cmd.Checksum == "" {
				c.add(CheckAddRemote, rel, ln, object, "ADD "+redactURL(src), "download with a checksum (ADD --checksum=sha256:… URL) or in a RUN that verifies it")
			}
		}
		c.copyAll(rel, object, ln, cmd.SourcePaths, "", hasIgnore)
		c.heredocs(rel, object, ln, cmd.SourceContents)
	case *instructions.CopyCommand:
		c.copyAll(rel, object, ln, cmd.SourcePaths, cmd.From, hasIgnore)
		c.heredocs(rel, object, ln, cmd.SourceContents)
	case *instructions.ArgCommand:
		for _, kv := range cmd.Args {
			if kv.Value != nil {
				c.secret(rel, object, ln, "ARG", kv.Key, *kv.Value)
			}
			// An ENV of the same name wins over an ARG; an ARG without a
			// default takes the global one.
			if _, isEnv := si.env[kv.Key]; isEnv {
				continue
			}
			switch g, global := globals[kv.Key]; {
			case kv.Value != nil:
				si.vars[kv.Key] = expandVars(*kv.Value, si.vars)
			case global:
				si.vars[kv.Key] = g
			}
		}
	case *instructions.EnvCommand:
		for _, kv := range cmd.Env {
			c.secret(rel, object, ln, "ENV", kv.Key, kv.Value)
			v := expandVars(kv.Value, si.vars)
			si.env[kv.Key], si.vars[kv.Key] = v, v
		}
	}
}

const (
	noPasswdDetail = "a NOPASSWD sudo rule is written: the non-root user gets root back without a password"
	noPasswdFix    = "remove the sudoers rule and sudo; do at build time, as root, what needs root"
)

// heredocs checks the files a COPY or ADD writes from a heredoc (COPY
// <<EOF /etc/sudoers.d/app): the same rule a RUN <<EOF writing it meets.
func (c *checker) heredocs(rel, object string, ln int, files []instructions.SourceContent) {
	for _, f := range files {
		if noPasswd.MatchString(f.Data) {
			c.add(CheckSudo, rel, ln, object, noPasswdDetail, noPasswdFix)
		}
	}
}

// copyAll flags COPY . (the whole context) with no .dockerignore.
func (c *checker) copyAll(rel, object string, ln int, srcs []string, from string, hasIgnore bool) {
	if from != "" || hasIgnore {
		return
	}
	for _, s := range srcs {
		if s == "." || s == "./" || s == "*" || s == "./*" {
			c.add(CheckCopyAll, rel, ln, object, "COPY "+s+" with no .dockerignore: .git, .env files and local secrets go into the image", "add a .dockerignore (.git, .env*, *.pem, node_modules…) beside the Dockerfile, or copy only what the image needs")
			return
		}
	}
}

// secret flags an ARG or ENV that sets a secret-named key to a literal
// (the image checks' list of names), or to a value gitleaks' rules
// recognise. Both are secret findings, at the secrets tier; the value is
// never shown, its length only.
func (c *checker) secret(rel, object string, ln int, kind, key, value string) {
	v := strings.Trim(value, `"'`)
	if v == "" || strings.HasPrefix(v, "$") || strings.HasPrefix(v, "/") {
		return
	}
	if c.s.opts.Secrets != nil {
		if found := c.s.opts.Secrets.Scan(c.ctx, rel, []byte(key+"="+v+"\n")); len(found) > 0 {
			for _, f := range found {
				f.Location = policy.Location{Path: rel, Line: ln, Object: object}
				c.findings = append(c.findings, f)
			}
			return
		}
	}
	if image.SecretName(key) {
		c.findings = append(c.findings, policy.Finding{
			ID: RuleSecretEnv, Kind: policy.KindSecret, Rule: RuleSecretEnv,
			Title:       fmt.Sprintf("secret-named key %s has a literal value in %s", key, kind),
			Preview:     fmt.Sprintf("%s=… (%d chars)", key, len(v)),
			Location:    policy.Location{Path: rel, Line: ln, Object: object},
			Fix:         "remove it: " + kind + " values stay in the image's config and history; pass secrets with RUN --mount=type=secret at build time and from the platform's secret store at run time",
			Fingerprint: policy.Fingerprint(policy.KindSecret, RuleSecretEnv, rel, key),
		})
	}
}

// redactURL keeps a URL's scheme, host and path: its query may carry a token.
func redactURL(u string) string {
	u, _, _ = strings.Cut(u, "?")
	if at := strings.Index(u, "@"); at > 0 && strings.Index(u, "://") < at {
		u = u[:strings.Index(u, "://")+3] + "…" + u[at:]
	}
	return u
}

// add records a finding once per check, file and object.
func (c *checker) add(check, rel string, ln int, object, detail, fix string) {
	f := policy.FileFinding(policy.KindDockerfile, Checks, c.s.opts.Tiers, check, rel, ln, object, detail, fix)
	if !c.seen[f.Fingerprint] {
		c.seen[f.Fingerprint] = true
		c.findings = append(c.findings, f)
	}
}
