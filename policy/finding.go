// Package policy is secgate's vocabulary and judge: findings, severities,
// CVSS scoring, the .secgate.yml policy file and Decide, which turns
// findings into a verdict. It does no I/O beyond parsing what it is given.
package policy

import (
	"fmt"
	"strings"
)

// Severity is the tier a finding falls into. The zero value is "unset".
type Severity int

// The tiers, in increasing order of gravity.
const (
	SeverityUnset Severity = iota
	Low
	Medium
	High
	Critical
)

// Severities lists the tiers from the most to the least severe.
var Severities = []Severity{Critical, High, Medium, Low}

func (s Severity) String() string {
	switch s {
	case Low:
		return "low"
	case Medium:
		return "medium"
	case High:
		return "high"
	case Critical:
		return "critical"
	}
	return ""
}

// ParseSeverity reads a tier name (case-insensitive). "none" is low.
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "low", "none":
		return Low, nil
	case "medium", "moderate":
		return Medium, nil
	case "high":
		return High, nil
	case "critical":
		return Critical, nil
	}
	return SeverityUnset, fmt.Errorf("unknown severity %q (want critical, high, medium or low)", s)
}

// MarshalText implements encoding.TextMarshaler.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Severity) UnmarshalText(b []byte) error {
	if len(b) == 0 { // SeverityUnset, as MarshalText writes it: a kept scan result reads back
		*s = SeverityUnset
		return nil
	}
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Kind is what sort of problem a finding is.
type Kind string

// The kinds of finding, one per scanner family.
const (
	KindSecret        Kind = "secret"
	KindVulnerability Kind = "vulnerability"
	KindImage         Kind = "image"
	KindConfig        Kind = "config"     // a change to the gate's own configuration
	KindManifest      Kind = "manifest"   // how a Kubernetes or Compose file runs a container
	KindDockerfile    Kind = "dockerfile" // how a Dockerfile builds an image
)

// Action is what the gate does about a finding.
type Action string

// The actions, from the most to the least drastic.
const (
	ActionFail            Action = "fail"
	ActionBlockProduction Action = "block-production"
	ActionFileIssue       Action = "file-issue"
	ActionReport          Action = "report"
	ActionIgnored         Action = "ignored"
)

func parseAction(s string) (Action, error) {
	switch a := Action(strings.ToLower(strings.TrimSpace(s))); a {
	case ActionFail, ActionBlockProduction, ActionFileIssue, ActionReport:
		return a, nil
	}
	return "", fmt.Errorf("unknown action %q (want fail, block-production, file-issue or report)", s)
}

// Score sources, reported with each finding so users see what decided its tier.
const (
	SourceCVSSv4        = "CVSS_V4 vector"
	SourceCVSSv3        = "CVSS_V3 vector"
	SourceCVSSv2        = "CVSS_V2 vector"
	SourceAliasPrefix   = "alias " // followed by a vector source, e.g. "alias CVSS_V3 vector"
	SourceDatabase      = "database severity"
	SourcePolicyDefault = "policy default"
	SourceRuleDefault   = "rule default"
	SourceSecretContext = "policy secrets.context." // followed by the context, e.g. "policy secrets.context.test"
	SourceSecretInvalid = "policy secrets.invalid (the provider rejected the credential)"
)

// Status says whether a finding is introduced by the change under review.
type Status string

// Finding statuses on a pull/merge request; empty when no base is known.
const (
	StatusNew      Status = "new"
	StatusExisting Status = "existing"
)

// Location says where a finding is. Fields that do not apply are empty.
type Location struct {
	Path      string `json:"path,omitempty"`
	Line      int    `json:"line,omitempty"`
	Commit    string `json:"commit,omitempty"`
	Package   string `json:"package,omitempty"`
	Version   string `json:"version,omitempty"`
	Ecosystem string `json:"ecosystem,omitempty"`
	// PURL is the package's purl (what VEX statements name).
	PURL  string `json:"purl,omitempty"`
	Image string `json:"image,omitempty"`
	Layer string `json:"layer,omitempty"`
	// Object is the deployment object and container a manifest finding is
	// about: "Deployment/shop/web container app", "service web" (Compose).
	Object string `json:"object,omitempty"`
}

func (l Location) String() string {
	var b strings.Builder
	switch {
	case l.Image != "":
		b.WriteString(l.Image)
		if l.Layer != "" {
			b.WriteString(" layer " + l.Layer)
		}
		if l.Path != "" {
			b.WriteString(" " + l.Path)
		}
	case l.Path != "":
		b.WriteString(l.Path)
		if l.Line > 0 {
			fmt.Fprintf(&b, ":%d", l.Line)
		}
		if l.Object != "" {
			b.WriteString(" " + l.Object)
		}
	}
	if l.Package != "" {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString(l.Package)
		if l.Version != "" {
			b.WriteString("@" + l.Version)
		}
	}
	if l.Commit != "" {
		c := l.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		b.WriteString(" (commit " + c + ")")
	}
	return b.String()
}

// Ignored records the exception that suppressed a finding.
type Ignored struct {
	Reason  string `json:"reason"`
	Expires string `json:"expires,omitempty"`
	Owner   string `json:"owner,omitempty"`
	Source  string `json:"source,omitempty"`
	// By is "vex" when a VEX statement silenced the finding (Source is
	// then the document): its status and justification.
	By            string `json:"by,omitempty"`
	Status        string `json:"status,omitempty"`
	Justification string `json:"justification,omitempty"`
	Document      string `json:"document,omitempty"`
}

// Finding is one problem found by a scanner. A finding never carries a
// secret value: secrets are identified by Fingerprint and shown as Preview.
type Finding struct {
	ID          string   `json:"id"`
	Aliases     []string `json:"aliases,omitempty"`
	Kind        Kind     `json:"kind"`
	Scanner     string   `json:"scanner,omitempty"` // the scanner that found it (set by the gate)
	Rule        string   `json:"rule"`
	Title       string   `json:"title"`
	Severity    Severity `json:"severity"`
	Score       *float64 `json:"score,omitempty"`
	ScoreSource string   `json:"score_source,omitempty"`
	Location    Location `json:"location"`
	// KEV and EPSS are the advisory's exploitation data (CISA's catalog,
	// FIRST's scores), when its CVE has some: the floors deps.kev and
	// deps.epss raise its tier by them.
	KEV     *KEV   `json:"kev,omitempty"`
	EPSS    *EPSS  `json:"epss,omitempty"`
	Preview string `json:"preview,omitempty"`
	// Context is why a secret finding is less likely a live credential
	// (a test path, a local host, a token whose checksum fails): the
	// policy's secrets.context gives its tier. Empty: none.
	Context string `json:"context,omitempty"`
	// Validity is what the provider said of a secret when secrets.verify
	// (or --verify-secrets) asked it: valid (live), invalid (revoked: the
	// tier secrets.invalid) or unknown (no clear answer). Empty: not asked.
	Validity    Validity `json:"validity,omitempty"`
	Fix         string   `json:"fix,omitempty"`
	Fingerprint string   `json:"fingerprint"`
	Status      Status   `json:"status,omitempty"`
	Action      Action   `json:"action"`
	Ignored     *Ignored `json:"ignored,omitempty"`
}

// Keys returns the identifiers an exception may name to match this finding.
func (f Finding) Keys() []string {
	keys := make([]string, 0, 2+len(f.Aliases))
	keys = append(keys, f.ID)
	keys = append(keys, f.Aliases...)
	if f.Fingerprint != "" && f.Fingerprint != f.ID {
		keys = append(keys, f.Fingerprint)
	}
	return keys
}

// ScanResult is what a scanner found, with notes for the report (rules a
// repository disabled, values recognised as public examples, ...).
type ScanResult struct {
	Findings []Finding
	Notes    []string
	// Warnings are what the user should act on although the scan ran
	// (stale offline data, ...): the report's warnings.
	Warnings []string
	// Coverage is what the scan read and what it left out, and why.
	Coverage Coverage
	// Images are the container images the scanner checked, as data: what
	// signing and the platform outputs read (never parsed from notes).
	Images []CheckedImage
	// Deployments are the containers a manifest runs, by image, and
	// whether it runs them as non-root (the gate weighs them against the
	// image checks' image-runs-as-root).
	Deployments []Deployment
	// Packages are every package the scan read (the deps scanner's
	// lockfiles and images), vulnerable or not: what the SBOM lists.
	Packages []Package
	// Redactor, when set, removes the values the scanner found (secrets)
	// from any text: the gate passes everything it publishes through it.
	Redactor Redactor
}

// Deployment is one container of a manifest.
type Deployment struct {
	Image   string // as the manifest names it
	Object  string // the finding object: "Deployment/shop/web container app"
	Path    string
	NonRoot bool // runAsNonRoot: true, a non-zero runAsUser, a non-root Compose user
}

// CheckedImage is one image reference as checked: the repository, the
// digest of a multi-platform index, and each single-platform image.
type CheckedImage struct {
	Reference   string          `json:"reference"`            // as given
	Repository  string          `json:"repository,omitempty"` // registry repository, when the source has one
	IndexDigest string          `json:"index_digest,omitempty"`
	Images      []PlatformImage `json:"images"`
}

// PlatformImage is one single-platform image of a reference.
type PlatformImage struct {
	Platform string `json:"platform,omitempty"` // "linux/amd64"; empty for a single-platform reference
	Digest   string `json:"digest"`             // manifest digest, sha256:…
	ImageID  string `json:"image_id"`           // config digest, sha256:… (docker's image id)
}

// Redactor removes sensitive values from text.
type Redactor interface {
	Redact(s string) string
}

// Coverage says what a scanner covered, so that a scan of nothing never
// reads as clean. Counts that do not apply to a scanner stay zero.
type Coverage struct {
	Files     int    `json:"files,omitempty"`     // files read (archive entries included)
	Bytes     int64  `json:"bytes,omitempty"`     // bytes of those files
	Commits   int    `json:"commits,omitempty"`   // commits whose changes were read
	Range     string `json:"range,omitempty"`     // the commit range, when one
	Lockfiles int    `json:"lockfiles,omitempty"` // lockfiles and manifests read
	Packages  int    `json:"packages,omitempty"`  // packages checked against the advisories
	Images    int    `json:"images,omitempty"`    // single-platform images checked
	Layers    int    `json:"layers,omitempty"`    // their layers
	Skipped   []Skip `json:"skipped,omitempty"`   // what was left out, and why
}

// Skip is a part of the input left out of a scan.
type Skip struct {
	What  string   `json:"what"`            // "directory", "file", "archive", ...
	Why   string   `json:"why"`             // "ignored by .gitignore", "deps.exclude", ...
	Count int      `json:"count"`           // how many
	Paths []string `json:"paths,omitempty"` // the first few
}

// Empty reports whether the scan read nothing at all.
func (c Coverage) Empty() bool {
	return c.Files == 0 && c.Commits == 0 && c.Lockfiles == 0 && c.Images == 0
}

// AddSkip records left-out paths under one reason, keeping the first 5.
func (c *Coverage) AddSkip(what, why string, paths ...string) {
	for i := range c.Skipped {
		if s := &c.Skipped[i]; s.What == what && s.Why == why {
			s.Count += max(len(paths), 1)
			for _, p := range paths {
				if len(s.Paths) < 5 {
					s.Paths = append(s.Paths, p)
				}
			}
			return
		}
	}
	c.Skipped = append(c.Skipped, Skip{What: what, Why: why, Count: max(len(paths), 1), Paths: paths[:min(len(paths), 5)]})
}
