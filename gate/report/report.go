// Package report holds the gate's report, a public contract (see the
// README's "JSON report" section), and writes it in each output format.
package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/secgate/secgate/policy"
)

// Version is the version of the JSON report contract.
const Version = 1

// Report is everything the gate decided and why.
type Report struct {
	Version       int                   `json:"version"`
	Verdict       policy.Verdict        `json:"verdict"`
	DeployAllowed bool                  `json:"deploy_allowed"`
	Environment   string                `json:"environment"`
	Production    bool                  `json:"production"`
	DryRun        bool                  `json:"dry_run"`
	Counts        policy.Counts         `json:"counts"`
	Findings      []policy.Finding      `json:"findings"`
	Scanners      []Scanner             `json:"scanners"`
	Issues        []Issue               `json:"issues"`
	Notifications []Notification        `json:"notifications,omitempty"`
	Images        []policy.CheckedImage `json:"images,omitempty"`
	Signature     *Signature            `json:"signature"`
	Policy        *PolicySource         `json:"policy,omitempty"`
	Reasons       []string              `json:"reasons"`
	Warnings      []string              `json:"warnings"`
	Errors        []string              `json:"errors"`

	// Packages are every package the scanners read (lockfiles and
	// images): the SBOMs' input (SBOMSubjects), not part of the contract.
	Packages []policy.Package `json:"-"`

	// redactor goes with the report from the gate to every sink: see
	// SetRedactor. Not part of the contract.
	redactor policy.Redactor
}

// Scanner is one scanner's run.
type Scanner struct {
	Name       string   `json:"name"`
	Status     string   `json:"status"` // ok, skipped, error
	Target     string   `json:"target,omitempty"`
	DurationMS int64    `json:"duration_ms"`
	Findings   int      `json:"findings"`
	Error      string   `json:"error,omitempty"`
	Notes      []string `json:"notes,omitempty"`
	// Coverage is what the scanner read and left out (absent when it
	// failed before reading anything).
	Coverage *policy.Coverage `json:"coverage,omitempty"`
}

// Scanner statuses.
const (
	StatusOK      = "ok"
	StatusSkipped = "skipped"
	StatusError   = "error"
)

// Issue is an issue filed (or, in a dry run, that would be) for findings.
type Issue struct {
	URL         string `json:"url,omitempty"`
	Title       string `json:"title"`
	State       string `json:"state"` // opened, updated, closed, would-open
	Fingerprint string `json:"fingerprint"`
	Tracker     string `json:"tracker,omitempty"` // repository (GitHub, GitLab) or jira
}

// Notification is one message sent (or, in a dry run, that would be)
// about new or reopened finding groups.
type Notification struct {
	Channel string   `json:"channel"` // owner, slack, webhook
	State   string   `json:"state"`   // sent, would-send, error, not-configured
	To      string   `json:"to,omitempty"`
	Groups  []string `json:"groups,omitempty"` // the groups' keys
	Error   string   `json:"error,omitempty"`
}

// Signature is the outcome of signing the images that passed.
type Signature struct {
	Image    string           `json:"image"`  // the first image signed, repository@sha256:…
	Signed   bool             `json:"signed"` // every image was
	Reason   string           `json:"reason,omitempty"`
	Identity string           `json:"identity,omitempty"`
	Images   []ImageSignature `json:"images,omitempty"`
}

// ImageSignature is one image's signing: what was pushed, or why not.
type ImageSignature struct {
	Reference            string `json:"reference"`
	Digest               string `json:"digest,omitempty"`
	Signed               bool   `json:"signed"`
	Signature            string `json:"signature,omitempty"`
	Attestation          string `json:"attestation,omitempty"`
	TlogIndex            *int64 `json:"tlog_index,omitempty"`
	AttestationTlogIndex *int64 `json:"attestation_tlog_index,omitempty"`
	// Attestations are the predicate types attested in the .att tag: the
	// verdict's, the SBOM's, the VEX document's.
	Attestations []string `json:"attestations,omitempty"`
	Reason       string   `json:"reason,omitempty"`
}

// PolicySource is the policy that judged the run.
type PolicySource struct {
	File   string `json:"file,omitempty"`
	Digest string `json:"digest"`
}

// SignedImage is the first image signed (repository@sha256:…), "" when
// none was.
func (r Report) SignedImage() string {
	if r.Signature == nil {
		return ""
	}
	return r.Signature.Image
}

// New returns an empty report that says "error" until the gate decides:
// a report written after a crash never reads as a pass.
func New() Report {
	return Report{
		Version:  Version,
		Verdict:  policy.VerdictError,
		Findings: []policy.Finding{},
		Scanners: []Scanner{},
		Issues:   []Issue{},
		Reasons:  []string{},
		Warnings: []string{},
		Errors:   []string{},
	}
}

// Fail records an error that keeps the gate from vouching for the run:
// the verdict becomes error and deployment is not allowed. Every step
// whose failure fails the gate comes through here: the rule is written
// once.
func (r *Report) Fail(err error) {
	r.Verdict, r.DeployAllowed = policy.VerdictError, false
	r.Errors = append(r.Errors, err.Error())
}

// ExitCode is the process exit code for the report: 0 pass (block-production
// outside production too), 1 the policy failed the gate, 2 the gate could
// not run.
func (r Report) ExitCode() int {
	switch r.Verdict {
	case policy.VerdictPass, policy.VerdictBlockProduction, policy.VerdictFail:
		if r.Verdict.FailsJob(r.Production) {
			return 1
		}
		return 0
	}
	return 2 // error, or a verdict this version does not know
}

// Ignored counts the findings suppressed by an exception or ignore file.
func (r Report) Ignored() int {
	n := 0
	for _, f := range r.Findings {
		if f.Action == policy.ActionIgnored {
			n++
		}
	}
	return n
}

// Writer writes a report in one format.
type Writer interface {
	Write(w io.Writer, r Report) error
}

// Formats are the names accepted by --format.
var Formats = []string{"text", "json", "sarif", "markdown", "gitlab-secrets", "gitlab-deps", "gitlab-container", "dotenv"}

// Options are what some formats need besides the report.
type Options struct {
	Color      bool      // text: ANSI colours
	PathPrefix string    // sarif: the scanned directory's path in the repository
	Version    string    // sarif, gitlab: secgate's version
	Start, End time.Time // gitlab: the scan's start and end
	Commit     string    // gitlab: the commit scanned
}

// ForFormat returns the writer of a format.
func ForFormat(name string, o Options) (Writer, error) {
	switch name {
	case "text", "":
		return Text{Color: o.Color}, nil
	case "json":
		return JSON{}, nil
	case "sarif":
		return SARIF{PathPrefix: o.PathPrefix, Version: o.Version}, nil
	case "markdown":
		return Markdown{}, nil
	case "gitlab-secrets", "gitlab-deps", "gitlab-container":
		typ := map[string]string{"gitlab-secrets": GitLabSecrets, "gitlab-deps": GitLabDeps, "gitlab-container": GitLabContainer}[name]
		return GitLab{Type: typ, Start: o.Start, End: o.End, Version: o.Version, Commit: o.Commit}, nil
	case "dotenv":
		return Dotenv{}, nil
	}
	return nil, fmt.Errorf("unknown report format %q (want one of %v)", name, Formats)
}

// JSON writes the report as indented JSON (the versioned contract).
type JSON struct{}

// Write implements Writer.
func (JSON) Write(w io.Writer, r Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// Read reads a JSON report as `secgate run` wrote it, strictly: a missing
// or garbled file, an unknown field, another contract version or an
// unknown verdict is an error naming the file.
func Read(path string) (Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Report{}, fmt.Errorf("reading the report: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Report
	if err := dec.Decode(&r); err != nil {
		return Report{}, fmt.Errorf("%s is not a secgate report: %w", path, err)
	}
	// Exactly one value: a second report (or anything) after the first
	// could be the one a reader trusts, and a concatenation of a pass and
	// a fail must not enforce to the pass.
	var more json.RawMessage
	if err := dec.Decode(&more); err != io.EOF {
		return Report{}, fmt.Errorf("%s is not one secgate report: data after the report's JSON value (offset %d)", path, dec.InputOffset())
	}
	switch {
	case r.Version != Version:
		return Report{}, fmt.Errorf("%s: report contract version %d, this secgate reads version %d", path, r.Version, Version)
	case !slices.Contains([]policy.Verdict{policy.VerdictPass, policy.VerdictBlockProduction, policy.VerdictFail, policy.VerdictError}, r.Verdict):
		return Report{}, fmt.Errorf("%s: unknown verdict %q", path, r.Verdict)
	case r.Verdict == policy.VerdictPass && !r.DeployAllowed:
		return Report{}, fmt.Errorf("%s: verdict pass with deploy_allowed false: the report is inconsistent", path)
	case r.Verdict != policy.VerdictError && len(r.Errors) > 0:
		return Report{}, fmt.Errorf("%s: verdict %s with errors (%d): the report is inconsistent, an error makes the verdict error", path, r.Verdict, len(r.Errors))
	}
	return r, nil
}

// ImageDigest is the first checked image by digest (repository@sha256:…,
// the index's digest for a multi-platform image), "" when none was checked.
func (r Report) ImageDigest() string {
	if len(r.Images) == 0 || len(r.Images[0].Images) == 0 {
		return ""
	}
	im := r.Images[0]
	d := im.IndexDigest
	if d == "" {
		d = im.Images[0].Digest
	}
	if im.Repository != "" {
		d = im.Repository + "@" + d
	}
	return d
}
