package report

import (
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/secgate/secgate/policy"
)

// GitLab security report types (artifacts:reports keys).
const (
	GitLabSecrets   = "secret_detection"
	GitLabDeps      = "dependency_scanning"
	GitLabContainer = "container_scanning"
)

// GitLabSchemaVersion is the version of GitLab's security report schemas
// the reports conform to.
const GitLabSchemaVersion = "15.2.4"

// GitLab writes one of GitLab's security reports, the ones its merge
// request widget and vulnerability report read: secrets, dependencies, or
// the container (vulnerabilities in images, and the image checks).
// GitLab drops a report that does not match its schema without a word:
// tests validate each against the schema.
type GitLab struct {
	Type       string    // GitLabSecrets, GitLabDeps or GitLabContainer
	Start, End time.Time // of the scan
	Version    string    // secgate's
	Commit     string    // CI_COMMIT_SHA: the commit of working-tree secrets
}

// GitLabTypes are the reports whose scanners ran: a report is written only
// for what was scanned.
func GitLabTypes(r Report) []string {
	var out []string
	ran := map[string]bool{}
	for _, s := range r.Scanners {
		ran[s.Name] = true
	}
	if ran["secrets"] {
		out = append(out, GitLabSecrets)
	}
	if ran["deps"] {
		out = append(out, GitLabDeps)
	}
	if ran["image"] || len(r.Images) > 0 {
		out = append(out, GitLabContainer)
	}
	return out
}

type glReport struct {
	Version         string            `json:"version"`
	Scan            glScan            `json:"scan"`
	Vulnerabilities []glVulnerability `json:"vulnerabilities"`
}

type glScan struct {
	Analyzer  glTool      `json:"analyzer"`
	Scanner   glTool      `json:"scanner"`
	Type      string      `json:"type"`
	StartTime string      `json:"start_time"`
	EndTime   string      `json:"end_time"`
	Status    string      `json:"status"`
	Messages  []glMessage `json:"messages,omitempty"`
}

type glTool struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	URL     string `json:"url,omitempty"`
	Version string `json:"version"`
	Vendor  struct {
		Name string `json:"name"`
	} `json:"vendor"`
}

type glMessage struct {
	Level string `json:"level"`
	Value string `json:"value"`
}

type glVulnerability struct {
	ID          string         `json:"id"`
	Name        string         `json:"name,omitempty"`
	Description string         `json:"description,omitempty"`
	Severity    string         `json:"severity"`
	Solution    string         `json:"solution,omitempty"`
	Identifiers []glIdentifier `json:"identifiers"`
	Links       []glLink       `json:"links,omitempty"`
	Location    any            `json:"location"`
}

type glIdentifier struct {
	Type  string `json:"type"`
	Name  string `json:"name"`
	Value string `json:"value"`
	URL   string `json:"url,omitempty"`
}

type glLink struct {
	URL string `json:"url"`
}

type glDependency struct {
	Package struct {
		Name string `json:"name"`
	} `json:"package"`
	Version string `json:"version"`
}

// The libraries the scanners are built on, as go.mod requires them
// (TestGitLabScannerVersions checks they still are): the deps scanner runs
// osv-scalibr's extractors and matchers since issue 30, not osv-scanner.
const (
	gitleaksVersion   = "v8.30.1"
	osvScalibrVersion = "v0.4.6-0.20260727075515-eb1ca153f805"
)

// scanners of each report: the underlying tool, for scan.scanner.
var glScanners = map[string]struct{ id, name, url, version string }{
	GitLabSecrets:   {"gitleaks", "gitleaks", "https://github.com/gitleaks/gitleaks", gitleaksVersion},
	GitLabDeps:      {"osv-scalibr", "osv-scalibr", "https://github.com/google/osv-scalibr", osvScalibrVersion},
	GitLabContainer: {"secgate-image", "secgate image checks and osv-scalibr", "https://github.com/google/osv-scalibr", osvScalibrVersion},
}

// Write implements Writer.
func (g GitLab) Write(w io.Writer, r Report) error {
	sc, ok := glScanners[g.Type]
	if !ok {
		return fmt.Errorf("unknown GitLab report type %q", g.Type)
	}
	out := glReport{Version: GitLabSchemaVersion, Vulnerabilities: []glVulnerability{}}
	out.Scan = glScan{Type: g.Type, StartTime: glTime(g.Start), EndTime: glTime(cmp.Or(g.End, g.Start)), Status: "success"}
	out.Scan.Analyzer = glTool{ID: "secgate", Name: "secgate", URL: "https://github.com/secgate/secgate", Version: cmp.Or(g.Version, "dev")}
	out.Scan.Analyzer.Vendor.Name = "secgate"
	out.Scan.Scanner = glTool{ID: sc.id, Name: sc.name, URL: sc.url, Version: sc.version}
	out.Scan.Scanner.Vendor.Name = "secgate"
	if r.Verdict == policy.VerdictError {
		// Exit 2: the report says the scan failed, never that it was clean.
		out.Scan.Status = "failure"
		for _, e := range r.Errors {
			out.Scan.Messages = append(out.Scan.Messages, glMessage{Level: "fatal", Value: cmp.Or(oneLine(e), "error")})
		}
	}
	for _, s := range r.Warnings {
		out.Scan.Messages = append(out.Scan.Messages, glMessage{Level: "warn", Value: cmp.Or(oneLine(s), "warning")})
	}
	for _, f := range r.Findings {
		if f.Action == policy.ActionIgnored || glTypeOf(f) != g.Type {
			continue
		}
		out.Vulnerabilities = append(out.Vulnerabilities, g.vulnerability(f))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// glTypeOf says which report a finding belongs to.
func glTypeOf(f policy.Finding) string {
	switch {
	case f.Kind == policy.KindSecret:
		return GitLabSecrets
	case f.Kind == policy.KindVulnerability && f.Location.Image == "":
		return GitLabDeps
	case f.Kind == policy.KindVulnerability || f.Kind == policy.KindImage:
		return GitLabContainer
	}
	return ""
}

func (g GitLab) vulnerability(f policy.Finding) glVulnerability {
	v := glVulnerability{
		ID: stableUUID(f.Fingerprint + "\x00" + f.Location.Path + "\x00" + f.Location.Version + "\x00" + f.Location.Image),
		// GitLab renders a vulnerability's description and solution as
		// markdown: their untrusted text goes through its renderer.
		Name: oneLine(cmp.Or(f.Title, f.Rule)), Severity: glSeverity(f.Severity), Solution: MarkdownText(f.Fix),
	}
	desc := MarkdownText(cmp.Or(f.Title, f.Rule))
	if f.Preview != "" {
		desc += " (" + MarkdownText(f.Preview) + ")"
	}
	if f.Score != nil {
		desc += fmt.Sprintf("; CVSS %.1f (%s)", *f.Score, f.ScoreSource)
	}
	if n := f.ExploitNote(); n != "" {
		desc += "; " + MarkdownText(n)
	}
	if n := f.ValidityNote(); n != "" {
		desc += "; " + MarkdownText(n)
	}
	v.Description = desc
	switch f.Kind {
	case policy.KindVulnerability:
		v.Identifiers = append(v.Identifiers, advisoryIdentifier(f.ID))
		for _, a := range f.Aliases {
			v.Identifiers = append(v.Identifiers, advisoryIdentifier(a))
		}
		if strings.HasPrefix(f.ID, "GHSA-") {
			v.Links = []glLink{{URL: "https://github.com/advisories/" + f.ID}}
		}
	default:
		v.Identifiers = []glIdentifier{{Type: "secgate_rule", Name: "secgate " + oneLine(f.Rule), Value: oneLine(f.Rule)}}
	}
	dep := glDependency{Version: oneLine(f.Location.Version)}
	dep.Package.Name = oneLine(cmp.Or(f.Location.Package, f.Rule))
	switch g.Type {
	case GitLabSecrets:
		loc := map[string]any{"commit": map[string]string{"sha": cmp.Or(f.Location.Commit, g.Commit, "0000000")}}
		// Locations are shown in GitLab's vulnerability report: rendered
		// as log text (escapes for controls and bidi characters).
		file := oneLine(f.Location.Path)
		if f.Location.Image != "" {
			file = oneLine(f.Location.Image) + ":" + file
		}
		if file != "" {
			loc["file"] = file
		}
		if f.Location.Line > 0 {
			loc["start_line"], loc["end_line"] = f.Location.Line, f.Location.Line
		}
		v.Location = loc
	case GitLabDeps:
		v.Location = map[string]any{"file": cmp.Or(oneLine(f.Location.Path), "."), "dependency": dep}
	case GitLabContainer:
		os := "unknown"
		if eco, ver, ok := strings.Cut(f.Location.Ecosystem, ":"); ok {
			os = eco + " " + ver
		} else if f.Location.Ecosystem != "" {
			os = f.Location.Ecosystem
		}
		v.Location = map[string]any{"image": cmp.Or(oneLine(f.Location.Image), "unknown"), "operating_system": oneLine(os), "dependency": dep}
	}
	return v
}

func advisoryIdentifier(id string) glIdentifier {
	switch {
	case strings.HasPrefix(id, "CVE-"):
		return glIdentifier{Type: "cve", Name: id, Value: id, URL: "https://nvd.nist.gov/vuln/detail/" + id}
	case strings.HasPrefix(id, "GHSA-"):
		return glIdentifier{Type: "ghsa", Name: id, Value: id, URL: "https://github.com/advisories/" + id}
	}
	return glIdentifier{Type: "osv", Name: id, Value: id, URL: "https://osv.dev/vulnerability/" + id}
}

func glSeverity(s policy.Severity) string {
	switch s {
	case policy.Critical:
		return "Critical"
	case policy.High:
		return "High"
	case policy.Medium:
		return "Medium"
	case policy.Low:
		return "Low"
	}
	return "Unknown"
}

// glTime is GitLab's time format: UTC, no zone suffix.
func glTime(t time.Time) string {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	return t.UTC().Format("2006-01-02T15:04:05")
}

// stableUUID derives a UUID (version 8, name-based) from a tracking key, so
// that GitLab keeps a vulnerability's identity across pipelines.
func stableUUID(key string) string {
	h := sha256.Sum256([]byte("secgate/gitlab\x00" + key))
	h[6] = h[6]&0x0f | 0x80
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// Dotenv writes the verdict as an artifacts:reports:dotenv file, its
// variables namespaced (SECGATE_*): later jobs of the pipeline read them.
type Dotenv struct{}

// Write implements Writer.
func (Dotenv) Write(w io.Writer, r Report) error {
	digest := r.ImageDigest()
	sig := r.SignedImage()
	_, err := fmt.Fprintf(w, "SECGATE_VERDICT=%s\nSECGATE_DEPLOY_ALLOWED=%t\nSECGATE_CRITICAL=%d\nSECGATE_HIGH=%d\nSECGATE_MEDIUM=%d\nSECGATE_LOW=%d\nSECGATE_IMAGE_DIGEST=%s\nSECGATE_SIGNATURE=%s\n",
		r.Verdict, r.DeployAllowed, r.Counts.Critical, r.Counts.High, r.Counts.Medium, r.Counts.Low, oneLine(digest), oneLine(sig))
	return err
}
