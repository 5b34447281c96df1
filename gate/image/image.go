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
	"time"

	"github.com/secgate/secgate/internal/cache"
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
	CheckSudoNopasswd   = "image-sudo-nopasswd"
	CheckSudo           = "image-has-sudo"
	CheckWasted         = "image-wasted-bytes"
	// RuleSecretEnv is the rule of secret findings on a secret-named ENV
	// or ARG key with a literal value (tiered as any secret).
	RuleSecretEnv = "image-secret-env"
)

// Checks is the catalogue of the image checks: ids, titles, why each
// matters, and default tiers. Secrets in an image are secret findings,
// tiered like any other.
var Checks = []policy.Check{
	{ID: CheckSize, Tier: policy.Medium, Title: "Image over the size budget",
		Help: "The compressed size is over image.max_size: slow pulls and deploys, and usually a build toolchain or caches shipped to production."},
	{ID: CheckRoot, Tier: policy.High, Title: "Image runs as root",
		Help: "USER is empty, root, 0, or a name /etc/passwd maps to uid 0: a container escape starts as root."},
	{ID: CheckShell, Tier: policy.Low, Title: "Shell in the final image",
		Help: "A shell is what an attacker with code execution uses first; distroless images have none."},
	{ID: CheckPackageManager, Tier: policy.Low, Title: "Package manager in the final image",
		Help: "apt, apk, yum, dnf, rpm or pip in the final stage lets an intruder install tools."},
	{ID: CheckSetuid, Tier: policy.Medium, Title: "setuid/setgid files",
		Help: "setuid and setgid files are privilege escalation paths."},
	{ID: CheckCache, Tier: policy.Low, Title: "Package manager caches",
		Help: "apt lists, apk and pip caches are dead weight and stale package metadata."},
	{ID: CheckWorldWritable, Tier: policy.Medium, Title: "World-writable directory",
		Help: "A directory anyone can write, outside /tmp, /var/tmp and /dev/shm."},
	{ID: CheckUnpinnedBase, Tier: policy.Low, Title: "Base image not pinned by digest",
		Help: "The OCI base image annotation names a tag: the base can change under the same name."},
	{ID: CheckSudoNopasswd, Tier: policy.High, Title: "Passwordless sudo",
		Help: "/etc/sudoers or /etc/sudoers.d grants NOPASSWD: the non-root USER is root again, without a password."},
	{ID: CheckSudo, Tier: policy.Low, Title: "sudo in the final image",
		Help: "sudo is a way back to root; a container has no use for it."},
	{ID: CheckOSEOL, Tier: policy.High, Title: "End-of-life operating system",
		Help: "The image's OS release (/etc/os-release) is past its end of life: no security update, and no advisory, is published for its packages any more, so a clean package scan means nothing. From an embedded table (Debian, Ubuntu, Alpine, RHEL/UBI, CentOS, Amazon Linux, Fedora, openSUSE), replaced by DIR/eol/<product>.json (endoflife.date) when the offline database has it."},
	{ID: CheckWasted, Tier: policy.Low, Title: "Wasted bytes: files deleted or overwritten by later layers",
		Help: "A file a later layer deletes still ships in the image (and is readable by whoever pulls it). Over image.max_wasted (default 10MB)."},
}

// defaultTier is a check's tier in the catalogue.
func defaultTier(id string) policy.Severity {
	for _, c := range Checks {
		if c.ID == id {
			return c.Tier
		}
	}
	return policy.SeverityUnset
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
	// MaxWasted is the bytes of deleted or overwritten files tolerated
	// before image-wasted-bytes (0: never a finding, the note only).
	MaxWasted int64

	// EOLDir is the offline database directory whose eol/<product>.json
	// (endoflife.date's API format) replaces the embedded end-of-life
	// table ("": the table only). Now is the clock the dates are read by.
	EOLDir string
	Now    time.Time

	// Cache keeps each image's check results between runs, CacheVersion
	// naming this build in their digests (cache.go); nil: none.
	Cache        *cache.Store
	CacheVersion string

	Transport http.RoundTripper // registry transport (tests)
	// Credentials are registry logins besides the docker config's (the CI
	// platform's own: GITHUB_TOKEN for ghcr.io, CI_REGISTRY_* in GitLab),
	// resolved by the caller.
	Credentials []Credential
	// DockerHost is the engine of docker-daemon: references (default
	// unix:///var/run/docker.sock).
	DockerHost string
	// ScratchDir is where a docker-daemon export or an image exported for
	// the package scanner goes when TMPDIR is not writable (a read-only
	// root filesystem): the scanned repository's .git ("": none).
	ScratchDir string
	Logger     *slog.Logger
}

// Credential is a registry login.
type Credential struct {
	Host, Username, Password string
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
	return defaultTier(check)
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
		targets, repo, err := s.resolve(ctx, ref)
		if err != nil {
			return out, fmt.Errorf("image %s: %w", ref, err)
		}
		ci, err := checked(ref, repo, targets)
		if err != nil {
			return out, fmt.Errorf("image %s: %w", ref, err)
		}
		out.Images = append(out.Images, ci)
		for _, t := range targets {
			fs, notes, err := s.checkCached(ctx, t, &out.Coverage)
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
