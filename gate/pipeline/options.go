package pipeline

import (
	"fmt"
	"path/filepath"

	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/policy"
)

// Options are the flags of `secgate run` (each with a SECGATE_* twin and,
// in GitHub Actions, most with an action input).
type Options struct {
	Path           string // the PATH argument
	Images         []string
	ImagePlatforms []string // --platform: of a multi-platform image
	Environment    string
	Policy         string
	Format         string
	Report         string
	SARIFFile      string
	GitLabDir      string
	Dotenv         string
	DryRun         bool
	DryRunSet      bool // --dry-run was given (false included)
	Base, Head     string
	History        bool
	Deepen         DeepenMode // "" is DeepenAuto
	Only, Skip     []string
	PullRequest    bool
	Verbose        bool
	Lockfiles      []string
	OfflineDB      string
	DownloadDB     bool
	CacheDir       string
	CacheMax       string
	OSVAPIURL      string
	VerifySecrets  bool // --verify-secrets: in any run, dry runs included (issue 28)
	// acting on the decision
	FileIssues    bool
	IssueLabels   []string
	CloseResolved bool
	Comment       bool
	FailOnError   bool // a tracker or comment failure fails the gate (exit 2)
	Sign          SignOptions
	SBOM          SBOMOptions

	Version      string // secgate's, in the report and the documents
	CacheVersion string // this build's name in the scan cache's digests
}

// SBOMOptions are the supply-chain documents read and written (issue 29).
type SBOMOptions struct {
	File, Format string
	VEX          []string
	VEXOut       string
}

// Validate checks what the flags' parser cannot: the cache bound, the
// stdout format, and that the files asked for are distinct (--report,
// --sarif-file and --dotenv given one path would overwrite each other).
func (o Options) Validate() error {
	if _, err := policy.ParseSize(o.CacheMax); err != nil {
		return fmt.Errorf("--cache-max %q: %w", o.CacheMax, err)
	}
	if _, err := report.ForFormat(o.Format, report.Options{}); err != nil {
		return err
	}
	seen := map[string]string{}
	for _, f := range []struct{ flag, path string }{{"--report", o.Report}, {"--sarif-file", o.SARIFFile}, {"--dotenv", o.Dotenv}, {"--sbom", o.SBOM.File}, {"--vex-out", o.SBOM.VEXOut}} {
		if f.path == "" {
			continue
		}
		p := filepath.Clean(f.path)
		if other, ok := seen[p]; ok {
			return fmt.Errorf("%s and %s both name %s: each file needs its own path", other, f.flag, f.path)
		}
		seen[p] = f.flag
	}
	return nil
}
