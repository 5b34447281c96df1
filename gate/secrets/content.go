package secrets

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/detect/codec"
	"github.com/zricethezav/gitleaks/v8/report"
	"github.com/zricethezav/gitleaks/v8/sources"
)

// What the detector does beyond gitleaks' findings (issue 24): the
// provider-format rules on the paths gitleaks' default config allowlists
// (class 3), padded URL-safe base64 decoded (class 4), and a whole-file
// private key told apart from a key quoted in a document (class 8).

// --- Class 3: gitleaks' default path allowlist ---
//
// gitleaks' default config allowlists paths for every rule (lockfiles,
// go.sum, images, fonts, vendored Go and JS trees, virtualenvs...), so a
// token in a private registry's URL in a lockfile, or in a file named like
// a vendored library, is never read. A provider-format rule (one whose
// secret starts with a fixed literal: ghp_, glpat-, xoxb-, AKIA, sk_live_,
// npm_, pypi-...) is specific enough to run there: those rules still read
// the allowlisted paths' text. The repository's own path allowlists
// (.gitleaks.toml) are a decision of its owners and are kept whole.

// defaultAllowPaths is the set of path patterns of gitleaks' default
// global allowlist.
var defaultAllowPaths = sync.OnceValue(func() map[string]bool {
	vc, err := readViperConfig("gitleaks default config", config.DefaultConfig)
	set := map[string]bool{}
	if err != nil {
		return set // then no allowlist is the default one: all kept whole
	}
	for _, a := range vc.Allowlists {
		for _, p := range a.Paths {
			set[p] = true
		}
	}
	return set
})

var defaultAllowlists sync.Map // *config.Allowlist → bool

// isDefaultPathAllowlist reports whether a global allowlist is gitleaks'
// default one (its path patterns are all the default's), with paths.
func isDefaultPathAllowlist(a *config.Allowlist) bool {
	if v, ok := defaultAllowlists.Load(a); ok {
		return v.(bool)
	}
	def := defaultAllowPaths()
	is := len(a.Paths) > 0
	for _, p := range a.Paths {
		is = is && def[p.String()]
	}
	defaultAllowlists.Store(a, is)
	return is
}

// providerOnlyPath reports whether path is read by the provider-format
// rules only: gitleaks' default allowlist has it, the repository's does not.
func providerOnlyPath(cfg *config.Config, path string) bool {
	def := false
	for _, a := range cfg.Allowlists {
		if len(a.Paths) == 0 || !a.PathAllowed(path) {
			continue
		}
		if !isDefaultPathAllowlist(a) {
			return false
		}
		def = true
	}
	return def
}

// isProviderRule reports whether a rule finds a provider's own token
// format: its secret starts with a fixed literal of at least
// minProviderPrefix characters (every alternative of it), which a generic
// rule's secret does not. Decided from the rule's regex.
func isProviderRule(r config.Rule) bool {
	if r.Regex == nil || isGenericRule(r.RuleID) {
		return false
	}
	re, err := syntax.Parse(r.Regex.String(), syntax.Perl)
	if err != nil {
		return false
	}
	secret := re
	if g := captureGroup(re, max(r.SecretGroup, 1)); g != nil {
		secret = g
	}
	prefixes, _ := literalPrefixes(secret)
	if len(prefixes) == 0 {
		return false
	}
	for _, p := range prefixes {
		if utf8.RuneCountInString(p) < minProviderPrefix {
			return false
		}
	}
	return true
}

const (
	minProviderPrefix = 3
	maxPrefixes       = 64
)

// captureGroup returns the capture group numbered n, or nil.
func captureGroup(re *syntax.Regexp, n int) *syntax.Regexp {
	if re.Op == syntax.OpCapture && re.Cap == n {
		return re
	}
	for _, s := range re.Sub {
		if g := captureGroup(s, n); g != nil {
			return g
		}
	}
	return nil
}

// literalPrefixes returns the literals of which every match of re starts
// with one (lower-cased when re folds case), and whether re matches
// exactly those (so that what follows it extends them). An element ""
// means a match may start with no literal.
func literalPrefixes(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		s := string(re.Rune)
		if re.Flags&syntax.FoldCase != 0 {
			s = strings.ToLower(s)
		}
		return []string{s}, true
	case syntax.OpCapture:
		return literalPrefixes(re.Sub[0])
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return []string{""}, true
	case syntax.OpConcat:
		out := []string{""}
		for _, s := range re.Sub {
			ps, whole := literalPrefixes(s)
			var next []string
			for _, a := range out {
				for _, b := range ps {
					next = append(next, a+b)
				}
			}
			if len(next) > maxPrefixes {
				return out, false
			}
			out = next
			if !whole {
				return out, false
			}
		}
		return out, true
	case syntax.OpAlternate:
		var out []string
		whole := true
		for _, s := range re.Sub {
			ps, w := literalPrefixes(s)
			out = append(out, ps...)
			whole = whole && w
		}
		return out, whole
	case syntax.OpCharClass:
		// a small class ([pe], [0-9] no) extends a prefix by one letter
		var out []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for c := re.Rune[i]; c <= re.Rune[i+1]; c++ {
				if len(out) == 4 {
					return []string{""}, false
				}
				out = append(out, strings.ToLower(string(c)))
			}
		}
		return slices.Compact(slices.Sorted(slices.Values(out))), true
	}
	return []string{""}, false
}

// providerConfig is cfg with its provider-format rules only, and gitleaks'
// default allowlist without its paths (its regexes and stop words kept).
func providerConfig(cfg config.Config) config.Config {
	c := rulesWhere(cfg, func(_ string, r config.Rule) bool { return isProviderRule(r) })
	c.Allowlists = nil
	for _, a := range cfg.Allowlists {
		if isDefaultPathAllowlist(a) && a.MatchCondition != config.AllowlistMatchAnd {
			if len(a.Regexes) == 0 && len(a.StopWords) == 0 && len(a.Commits) == 0 {
				continue
			}
			// a new one: a copy would keep the compiled path pattern
			b := &config.Allowlist{Description: a.Description, MatchCondition: a.MatchCondition, Commits: a.Commits,
				RegexTarget: a.RegexTarget, Regexes: a.Regexes, StopWords: a.StopWords}
			if b.Validate() != nil {
				continue
			}
			a = b
		}
		c.Allowlists = append(c.Allowlists, a)
	}
	return c
}

// route says, with a cache, which fragments' paths the provider-format
// rules only read, and keeps those paths for the coverage.
type route struct {
	cfg *config.Config
	mu  sync.Mutex
	by  map[string]bool
	// the paths read by provider rules only, in order, each once
	providerOnly []string
	listed       map[string]bool
}

func (r *route) providerRulesOnly(path string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := r.by[path]; ok {
		return v
	}
	v := providerOnlyPath(r.cfg, path)
	if r.by == nil || len(r.by) >= maxSkips {
		r.by = map[string]bool{}
	}
	r.by[path] = v
	if v && !r.listed[path] {
		if r.listed == nil {
			r.listed = map[string]bool{}
		}
		r.listed[path] = true
		r.providerOnly = append(r.providerOnly, path)
	}
	return v
}

// ProviderOnlyWhy is the coverage reason of a path read by the
// provider-format rules only.
const ProviderOnlyWhy = "a path gitleaks' default rules allowlist (lockfiles, go.sum, vendored code...): read by the provider-format rules only (fixed prefix or checksum), not the generic ones"

// contentDetector is the detector of a scan: gitleaks' findings (the
// windowed detector) and what this file adds.
type contentDetector struct {
	*detector
	provider func() *detector
	route    *route
}

func newContentDetector(ctx context.Context, cfg config.Config, maxDecode, maxArchive int) *contentDetector {
	c := &contentDetector{detector: newDetector(ctx, cfg, maxDecode, maxArchive)}
	c.route = &route{cfg: &c.detector.cfg}
	c.provider = sync.OnceValue(func() *detector { return newDetector(ctx, providerConfig(cfg), maxDecode, maxArchive) })
	return c
}

// Detect finds the secrets of a fragment.
func (c *contentDetector) Detect(ctx context.Context, f sources.Fragment) []report.Finding {
	d := c.detector
	if f.FilePath != "" && c.route.providerRulesOnly(f.FilePath) {
		d = c.provider()
	}
	encoded := encodedLines(f.Raw)
	found := d.detectEncoded(ctx, f, encoded)
	found = append(found, d.paddedURLBase64(ctx, f, encoded, 1)...)
	found = append(found, hiddenKeys(ctx, d, f, found)...)
	return found
}

// ProviderOnlyPaths returns the paths read by the provider rules only.
func (c *contentDetector) ProviderOnlyPaths() []string {
	c.route.mu.Lock()
	defer c.route.mu.Unlock()
	return slices.Clone(c.route.providerOnly)
}

// --- Class 4: padded URL-safe base64 ---
//
// gitleaks' decoder reads standard base64 (padded or not) and unpadded
// URL-safe base64, but not URL-safe base64 with its = padding, which most
// encoders write (Python's urlsafe_b64encode, Go's URLEncoding, JWT
// libraries' payloads are unpadded). Those segments are decoded here and
// the text scanned again, to the same depth as gitleaks decodes.

// minEncoded is the shortest base64 run decoded, as gitleaks' (16).
const minEncoded = 16

// paddedURLBase64 returns what the rules find in f once its padded
// URL-safe base64 segments are decoded, that is not in f as it is: the
// segments in f itself, and those under gitleaks' own encodings (base64,
// hex, percent...; line by line, as its decoder finds them, encoded.go).
// depth is this decoding's level; none goes deeper than gitleaks' depth.
func (d *detector) paddedURLBase64(ctx context.Context, f sources.Fragment, encoded []int, depth int) []report.Finding {
	if depth > d.maxDecode {
		return nil
	}
	raw := f.Raw
	type decodedText struct {
		text  string
		line  int // of f's first line
		depth int
	}
	var texts []decodedText
	if u, ok := decodePaddedURLBase64(raw); ok {
		texts = append(texts, decodedText{u, f.StartLine, depth})
	}
	if depth < d.maxDecode {
		dec := codec.NewDecoder()
		for _, at := range encoded {
			text, segments := lineFrom(raw, at), []*codec.EncodedSegment(nil)
			for level := depth; level < d.maxDecode; level++ {
				if text, segments = dec.Decode(text, segments); len(segments) == 0 {
					break
				}
				if u, ok := decodePaddedURLBase64(text); ok {
					texts = append(texts, decodedText{u, f.StartLine + strings.Count(raw[:at], "\n"), level + 1})
				}
			}
		}
	}
	var out []report.Finding
	for _, dt := range texts {
		g := f
		g.Raw, g.Bytes, g.StartLine = dt.text, nil, dt.line
		enc := encodedLines(g.Raw)
		found := d.detectEncoded(ctx, g, enc)
		found = append(found, d.paddedURLBase64(ctx, g, enc, dt.depth+1)...)
		for _, x := range found {
			if x.Secret == "" || strings.Contains(raw, x.Secret) {
				continue // found as it is (gitleaks' part)
			}
			if !isDecoded(x) {
				x.Tags = append(slices.Clip(x.Tags), "decoded:base64", fmt.Sprintf("decode-depth:%d", dt.depth))
			}
			out = append(out, x)
		}
	}
	return out
}

// decodePaddedURLBase64 replaces each padded URL-safe base64 segment of
// raw (a run of [A-Za-z0-9_-] with a - or _ in it, then = or ==, a
// multiple of 4 in all) that decodes to text with its text.
func decodePaddedURLBase64(raw string) (string, bool) {
	var b strings.Builder
	last, changed := 0, false
	for i := 0; i < len(raw); i++ {
		if k := strings.IndexByte(raw[i:], '='); k < 0 {
			break
		} else {
			i += k
		}
		if i > 0 && raw[i-1] == '=' {
			continue
		}
		j := i
		urlSafe := false
		for j > 0 && urlAlphabet[raw[j-1]] >= 0 {
			j--
			urlSafe = urlSafe || raw[j] == '-' || raw[j] == '_'
		}
		pad := 1
		if i+1 < len(raw) && raw[i+1] == '=' {
			pad = 2
		}
		run := raw[j:i]
		if !urlSafe || len(run) < minEncoded || (len(run)+pad)%4 != 0 || j < last {
			continue
		}
		text, err := base64.URLEncoding.DecodeString(raw[j : i+pad])
		if err != nil || !utf8.Valid(text) || !isMostlyText(text) {
			continue
		}
		b.WriteString(raw[last:j])
		b.Write(text)
		last, changed = i+pad, true
		i += pad - 1
	}
	if !changed {
		return "", false
	}
	b.WriteString(raw[last:])
	return b.String(), true
}
