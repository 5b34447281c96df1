package secrets

import (
	"context"

	"github.com/rs/zerolog"
	"github.com/zricethezav/gitleaks/v8/logging"
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
}

// NewTextScanner loads the rules once. key keys the fingerprints, as
// Options.FingerprintKey.
func NewTextScanner(key []byte) (*TextScanner, error) {
	silenceGitleaks.Do(func() { logging.Logger = zerolog.Nop() })
	cfg, _, err := loadConfig(context.Background(), "", "")
	if err != nil {
		return nil, err
	}
	return &TextScanner{d: newContentDetector(context.Background(), cfg, maxDecodeDepth, 0), key: key}, nil
}

// Scan returns the secrets in content, located at name (a path or a
// description such as "ENV"), with the same fingerprints, previews and
// public-example filtering as a tree scan. The value never leaves.
func (t *TextScanner) Scan(ctx context.Context, name string, content []byte) []policy.Finding {
	raw := t.d.Detect(ctx, sources.Fragment{Raw: string(content), FilePath: name, StartLine: 1})
	if len(raw) == 0 {
		return nil
	}
	res := convert("", raw, nil, "", t.key)
	for _, g := range raw {
		t.redactor.add(g.Secret)
	}
	return res.Findings
}

// Redact removes from s every secret value the scanner has found so far.
func (t *TextScanner) Redact(s string) string { return t.redactor.Redact(s) }
