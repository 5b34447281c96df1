package secrets

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"

	"regexp/syntax"

	"github.com/rs/zerolog"
	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/logging"
	"github.com/zricethezav/gitleaks/v8/report"
	"github.com/zricethezav/gitleaks/v8/sources"

	"github.com/secgate/secgate/policy"
)

// TextScanner finds secrets in named pieces of text that are not files of
// a tree: an image's environment, labels and history, files read from its
// layers. The rules are gitleaks' defaults and secgate's (no repository
// config applies). Safe for concurrent use.
type TextScanner struct {
	d        *contentDetector // Detect keeps no state between calls but its path cache
	key      []byte           // the fingerprint key
	redactor Redactor         // every value found by any call
	prefixes func() [][]byte  // of the provider-format rules (Learn)
}

// NewTextScanner loads the rules once. key keys the fingerprints, as
// Options.FingerprintKey.
func NewTextScanner(key []byte) (*TextScanner, error) {
	silenceGitleaks.Do(func() { logging.Logger = zerolog.Nop() })
	cfg, _, err := loadConfig(context.Background(), "", "")
	if err != nil {
		return nil, err
	}
	ts := &TextScanner{d: newContentDetector(context.Background(), cfg, maxDecodeDepth, 0), key: key}
	ts.prefixes = sync.OnceValue(func() [][]byte { return providerPrefixes(cfg) })
	return ts, nil
}

// Scan returns the secrets in content, located at name (a path or a
// description such as "ENV"), with the same fingerprints, previews and
// public-example filtering as a tree scan. The value never leaves.
func (t *TextScanner) Scan(ctx context.Context, name string, content []byte) []policy.Finding {
	raw := t.d.Detect(ctx, sources.Fragment{Raw: string(content), FilePath: name, StartLine: 1})
	if len(raw) == 0 {
		return nil
	}
	res, _ := convert("", raw, nil, "", t.key, 0)
	for _, g := range raw {
		if redactable(g) {
			t.redactor.add(g.Secret)
		}
	}
	return res.Findings
}

// redactable: a value found in outgoing text is a value to redact, but
// for an armoured private key only when it is one key. The private-key
// rule matches lazily from any "-----BEGIN … PRIVATE KEY-----" to the
// next "KEY-----": in a rendered report that is from one finding's
// preview to the next one's, and redacting that span cut the findings
// between them out of the JSON, SARIF, GitLab and text outputs (two keys
// became one listed finding while the counts said two: red team F6).
func redactable(g report.Finding) bool {
	if g.RuleID != "private-key" {
		return true
	}
	begin := strings.Index(g.Secret, "-----BEGIN")
	return keyBody(g.Secret) && (begin < 0 || !strings.Contains(g.Secret[begin+1:], "-----BEGIN"))
}

// Redact removes from s every secret value the scanner has found so far.
func (t *TextScanner) Redact(s string) string { return t.redactor.Redact(s) }

// Learn is Scan for a redaction only (what leaves the process: reports,
// messages): it also finds a provider-format token glued to the text
// before it ("cAKIA...", "x=1ghp_..."), which the rules' word boundary
// misses, by reading the text again with a space before each such prefix.
// The values found are redacted from then on; matched says whether any
// rule matched at all (a value redacted or not): a text that matched
// nothing holds nothing to learn, and is so again under the same rules.
func (t *TextScanner) Learn(ctx context.Context, name string, content []byte) (matched bool) {
	if raw := t.d.Detect(ctx, sources.Fragment{Raw: string(content), FilePath: name, StartLine: 1}); len(raw) > 0 {
		matched = true
		for _, g := range raw {
			if redactable(g) {
				t.redactor.add(g.Secret)
			}
		}
	}
	for _, spaced := range unglued(content, t.prefixes()) {
		// the provider-format rules only: the spaces split words, which
		// the generic rules would read anew
		for _, g := range t.d.provider().DetectContext(ctx, sources.Fragment{Raw: string(spaced), FilePath: name, StartLine: 1}) {
			matched = true
			t.redactor.add(g.Secret)
		}
	}
	return matched
}

// providerPrefixes returns the fixed literals, lower-cased, that the
// provider-format rules' secrets start with.
func providerPrefixes(cfg config.Config) [][]byte {
	var out [][]byte
	for _, r := range cfg.Rules {
		if !isProviderRule(r) {
			continue
		}
		re, err := syntax.Parse(r.Regex.String(), syntax.Perl)
		if err != nil {
			continue
		}
		if g := captureGroup(re, max(r.SecretGroup, 1)); g != nil {
			re = g
		}
		ps, _ := literalPrefixes(re)
		for _, p := range ps {
			p = strings.ToLower(p) // the text is folded too
			if p != "" && !slices.ContainsFunc(out, func(b []byte) bool { return string(b) == p }) {
				out = append(out, []byte(p))
			}
		}
	}
	return out
}

// unglued returns, for each occurrence of a prefix (ASCII case folded)
// that follows a letter, digit or underscore, the line it stands on with a
// space put before it. One text an occurrence: a prefix found inside
// another token's body (AKIA inside a key id's random letters, a short
// literal in any body) would split that token if every space went into
// one text.
func unglued(content []byte, prefixes [][]byte) [][]byte {
	lower := make([]byte, len(content)) // ASCII folded: offsets kept
	for i, c := range content {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	var out [][]byte
	for _, p := range prefixes {
		for i := 0; i < len(lower); {
			j := bytes.Index(lower[i:], p)
			if j < 0 {
				break
			}
			k := i + j
			i = k + 1
			if k == 0 || !isWordByte(content[k-1]) {
				continue
			}
			from := bytes.LastIndexByte(content[:k], '\n') + 1
			to := len(content)
			if e := bytes.IndexByte(content[k:], '\n'); e >= 0 {
				to = k + e
			}
			line := make([]byte, 0, to-from+1)
			line = append(append(append(line, content[from:k]...), ' '), content[k:to]...)
			if !slices.ContainsFunc(out, func(b []byte) bool { return bytes.Equal(b, line) }) {
				out = append(out, line)
			}
		}
	}
	return out
}

func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
