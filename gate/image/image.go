// Package image checks container images with go-containerregistry: the
// size budget and the user from the manifest and config alone (two
// requests, no layer download), then hardening from one streamed pass over
// the flattened filesystem, in memory, bounded.
package image

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/secgate/secgate/policy"
)

// Check ids, the rule of each finding (and what exceptions name).
const (
	CheckSize           = "image-size-budget"
	CheckRoot           = "image-runs-as-root"
	CheckShell          = "image-has-shell"
	CheckPackageManager = "image-has-package-manager"
	CheckSetuid         = "image-setuid-binary"
	CheckCache          = "image-package-cache"
	CheckWorldWritable  = "image-world-writable-dir"
	CheckUnpinnedBase   = "image-unpinned-base"
)

// DefaultTiers are the tiers of the checks the policy does not set. Secrets
// in an image are secret findings, tiered like any other.
var DefaultTiers = map[string]policy.Severity{
	CheckSize:           policy.Medium,
	CheckRoot:           policy.High,
	CheckShell:          policy.Low,
	CheckPackageManager: policy.Low,
	CheckSetuid:         policy.Medium,
	CheckCache:          policy.Low,
	CheckWorldWritable:  policy.Medium,
	CheckUnpinnedBase:   policy.Low,
}

// SecretScanner finds secrets in a named piece of text (gate/secrets'
// TextScanner; passed in so that this package stays free of gitleaks).
type SecretScanner interface {
	Scan(ctx context.Context, name string, content []byte) []policy.Finding
	// Redact removes every value found so far from a text.
	Redact(s string) string
}

// Options says what to check and how.
type Options struct {
	Refs      []string // registry references, docker-archive:FILE, oci-layout:DIR, docker-daemon:REF
	Platforms []string // of a multi-platform index, the ones to check (default all)
	MaxSize   int64    // the size budget, bytes
	// ConfigOnly runs only the checks that need no layer (size, user, base
	// pin): the manifest and the config, two registry requests.
	ConfigOnly bool
	Tiers      map[string]policy.Severity
	Secrets    SecretScanner

	// MaxExtract bounds the bytes read from one image's layers
	// (decompression bombs); MaxFileRead the bytes of one file read for
	// content checks (/etc/passwd, secrets).
	MaxExtract  int64
	MaxFileRead int64

	Transport http.RoundTripper   // registry transport (tests)
	Env       func(string) string // GITHUB_TOKEN, CI_REGISTRY_*, DOCKER_HOST
	Logger    *slog.Logger
}

// Scanner is the image checker.
type Scanner struct {
	opts     Options
	cleanups []func() // temporary files of the scan (daemon exports)
}

// New returns an image checker.
func New(opts Options) *Scanner {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxExtract == 0 {
		opts.MaxExtract = 16 << 30
	}
	if opts.MaxFileRead == 0 {
		opts.MaxFileRead = 1 << 20
	}
	return &Scanner{opts: opts}
}

// Name implements gate.Scanner.
func (s *Scanner) Name() string { return "image" }

// Target says what is checked, for the report.
func (s *Scanner) Target() string {
	return fmt.Sprintf("%d image(s): %v", len(s.opts.Refs), s.opts.Refs)
}

func (s *Scanner) tier(check string) policy.Severity {
	if t, ok := s.opts.Tiers[check]; ok && t != policy.SeverityUnset {
		return t
	}
	return DefaultTiers[check]
}

// Scan checks every image.
func (s *Scanner) Scan(ctx context.Context) (policy.ScanResult, error) {
	defer func() {
		for _, c := range s.cleanups {
			c()
		}
		s.cleanups = nil
	}()
	var out policy.ScanResult
	if s.opts.Secrets != nil {
		out.Redactor = s.opts.Secrets
	}
	for _, ref := range s.opts.Refs {
		targets, err := s.resolve(ctx, ref)
		if err != nil {
			return out, fmt.Errorf("image %s: %w", ref, err)
		}
		for _, t := range targets {
			fs, notes, err := s.check(ctx, t)
			out.Findings = append(out.Findings, fs...)
			out.Notes = append(out.Notes, notes...)
			if err != nil {
				return out, fmt.Errorf("image %s: %w", t.name(), err)
			}
		}
	}
	return out, nil
}

func (t target) name() string {
	if t.platform != "" {
		return t.digest + " (" + t.platform + ")"
	}
	return t.digest
}
