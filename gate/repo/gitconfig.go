package repo

import (
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	format "github.com/go-git/go-git/v5/plumbing/format/config"
)

// extraHeaders are the values of http.extraheader and http.<url>.extraheader
// that git would send to remote (a URL without userinfo; user its user
// name, "" for none), read from the repository's own config and the files
// it includes (include.path, includeIf "gitdir:…".path). actions/checkout
// v4/v5 writes `http.https://github.com/.extraheader` into .git/config;
// v6 and later into a file under RUNNER_TEMP that .git/config includes
// with includeIf "gitdir:" (for the runner's path and the container's,
// /github/workspace/.git). go-git reads neither includes nor these keys.
//
// As git does, a value is used when its URL matches remote at least as
// well as the best match so far (a longer path is a better match), and an
// empty value clears the list. The global and system configs are not
// read: a CI checkout's credentials are the repository's.
func extraHeaders(gitDir, remote, user string) []string {
	if gitDir == "" {
		return nil
	}
	target, err := url.Parse(remote)
	if err != nil {
		return nil
	}
	x := &headerCollector{gitDir: gitDir, target: target, user: user, best: -1}
	x.read(filepath.Join(gitDir, "config"), 0)
	return x.values
}

type headerCollector struct {
	gitDir string
	target *url.URL
	user   string
	best   int
	values []string
}

// maxIncludeDepth is git's own bound on nested includes.
const maxIncludeDepth = 10

func (x *headerCollector) read(file string, depth int) {
	if depth > maxIncludeDepth {
		return
	}
	f, err := os.Open(file)
	if err != nil {
		return // a missing include is no error for git either
	}
	defer f.Close()
	cfg := format.New()
	if err := format.NewDecoder(f).Decode(cfg); err != nil {
		return
	}
	for _, s := range cfg.Sections {
		switch {
		case s.IsName("http"):
			x.apply(0, s.Options.GetAll("extraheader"))
			for _, sub := range s.Subsections {
				if spec, ok := urlMatch(sub.Name, x.target, x.user); ok {
					x.apply(spec, sub.Options.GetAll("extraheader"))
				}
			}
		case s.IsName("include"):
			for _, p := range s.Options.GetAll("path") {
				x.read(includePath(file, p), depth+1)
			}
		case s.IsName("includeif"):
			for _, sub := range s.Subsections {
				if gitDirMatches(sub.Name, file, x.gitDir) {
					for _, p := range sub.Options.GetAll("path") {
						x.read(includePath(file, p), depth+1)
					}
				}
			}
		}
	}
}

func (x *headerCollector) apply(spec int, values []string) {
	if len(values) == 0 || spec < x.best {
		return
	}
	x.best = spec
	for _, v := range values {
		if v == "" {
			x.values = nil
			continue
		}
		x.values = append(x.values, v)
	}
}

// includePath is an include's path: "~/" is the home directory, a
// relative path is relative to the including file's directory.
func includePath(from, p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	if !filepath.IsAbs(p) {
		return filepath.Join(filepath.Dir(from), p)
	}
	return p
}

// gitDirMatches reports whether an includeIf condition ("gitdir:PATTERN",
// "gitdir/i:PATTERN") holds for gitDir, with git's rules: "~/" is home,
// "./" the including file's directory, a relative pattern matches at any
// depth ("**/" before it), a trailing "/" matches everything below ("**"
// after it). The path is compared as given and with symlinks resolved.
func gitDirMatches(cond, from, gitDir string) bool {
	fold := false
	pattern, ok := strings.CutPrefix(cond, "gitdir:")
	if !ok {
		if pattern, ok = strings.CutPrefix(cond, "gitdir/i:"); !ok {
			return false // onbranch:, hasconfig:remote.*.url: not a checkout's
		}
		fold = true
	}
	switch {
	case strings.HasPrefix(pattern, "~/"):
		home, err := os.UserHomeDir()
		if err != nil {
			return false
		}
		pattern = filepath.ToSlash(home) + pattern[1:]
	case strings.HasPrefix(pattern, "./"):
		pattern = filepath.ToSlash(filepath.Dir(from)) + pattern[1:]
	case !strings.HasPrefix(pattern, "/") && !filepath.IsAbs(pattern):
		pattern = "**/" + pattern
	}
	if strings.HasSuffix(pattern, "/") {
		pattern += "**"
	}
	re, err := regexp.Compile(wildmatch(pattern, fold))
	if err != nil {
		return false
	}
	candidates := []string{gitDir}
	if real, err := filepath.EvalSymlinks(gitDir); err == nil {
		candidates = append(candidates, real)
	}
	for _, c := range candidates {
		if re.MatchString(filepath.ToSlash(c)) {
			return true
		}
	}
	return false
}

// wildmatch turns a gitdir pattern into a regular expression: "**"
// crosses directories, "*" and "?" do not.
func wildmatch(pattern string, fold bool) string {
	var b strings.Builder
	if fold {
		b.WriteString("(?i)")
	}
	b.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; {
		case strings.HasPrefix(pattern[i:], "**/"):
			b.WriteString("(?:.*/)?")
			i += 2
		case strings.HasPrefix(pattern[i:], "**"):
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return b.String()
}

// urlMatch reports whether the config URL key (http.<key>.*) applies to
// target, as git's urlmatch decides, and how specific it is: the scheme
// and host (a "*" label matches one label) and port must be equal, the
// key's path a prefix of target's at a "/" boundary, and a user in the key
// target's user. A longer path, then a user, is a better match.
func urlMatch(key string, target *url.URL, user string) (int, bool) {
	k, err := url.Parse(key)
	if err != nil || k.Host == "" || !strings.EqualFold(k.Scheme, target.Scheme) {
		return 0, false
	}
	if !hostMatch(k.Hostname(), target.Hostname()) || port(k) != port(target) {
		return 0, false
	}
	spec := 1
	if k.User != nil {
		if k.User.Username() != user {
			return 0, false
		}
		spec++
	}
	kp := strings.TrimSuffix(k.EscapedPath(), "/")
	tp := target.EscapedPath()
	if kp != "" && tp != kp && !strings.HasPrefix(tp, kp+"/") {
		return 0, false
	}
	return spec + 2*len(kp), true
}

func hostMatch(pattern, host string) bool {
	p, h := strings.Split(strings.ToLower(pattern), "."), strings.Split(strings.ToLower(host), ".")
	if len(p) != len(h) {
		return false
	}
	for i := range p {
		if p[i] != "*" && p[i] != h[i] {
			return false
		}
	}
	return true
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}
