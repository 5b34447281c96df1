package main

import (
	"cmp"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/secgate/secgate/gate"
	"github.com/secgate/secgate/gate/report"
)

// sbomFlags are the supply-chain documents read and written (issue 29).
type sbomFlags struct {
	file, format string
	vex          []string
	vexOut       string
}

func (s *sbomFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&s.file, "sbom", "", "also write an SBOM of every package the deps scanner read (lockfiles; with --image one per image, the image's name added to the file name)")
	fl.StringSliceVar(&s.vex, "vex", nil, "OpenVEX 0.2.0 document (repeatable; SECGATE_VEX comma-separated): a not_affected or fixed statement on a finding's advisory and package makes it ignored; in the repository, read like the policy (the base revision's on a pull/merge request)")
	fl.StringVar(&s.vexOut, "vex-out", "", "also write the policy's exceptions that applied to a package's advisory as an OpenVEX 0.2.0 document (not_affected, the reason as impact statement)")
	fl.StringVar(&s.format, "sbom-format", report.SBOMCycloneDX, "SBOM format: "+strings.Join(report.SBOMFormats, " (CycloneDX 1.6 JSON) or ")+" (SPDX 2.3 JSON)")
}

// files are the SBOM and VEX files to write with the report's other
// files.
func (s sbomFlags) files(rep report.Report, cfg gate.Config, version string, now time.Time, env lookupEnv) map[string]report.Writer {
	repo, author := documentNames(cfg, env)
	out := map[string]report.Writer{}
	if s.file != "" {
		out = rep.SBOMFiles(s.file, s.format, repo, version, now)
	}
	if s.vexOut != "" {
		out[s.vexOut] = report.VEXWriter{Author: author, Version: version, Time: now}
	}
	return out
}

// documentNames name the documents' subject and author: the repository
// as the platform names it, else by its directory; the VEX author is the
// policy's owner, else the repository.
func documentNames(cfg gate.Config, env lookupEnv) (repo, author string) {
	gh, _ := env("GITHUB_REPOSITORY")
	gl, _ := env("CI_PROJECT_PATH")
	abs, _ := filepath.Abs(cfg.Path)
	repo = cmp.Or(gh, gl, filepath.Base(abs))
	var owner string
	if cfg.Policy != nil {
		owner = cfg.Policy.Response.Owner
	}
	return repo, cmp.Or(owner, repo)
}

// attested are the documents --sign attests beside the verdict (always:
// see gate.SignOptions), in the --sbom-format asked for.
func (s sbomFlags) attested(cfg gate.Config, env lookupEnv) attestedDocs {
	_, author := documentNames(cfg, env)
	return attestedDocs{sbomFormat: s.format, vexAuthor: author}
}

type attestedDocs struct{ sbomFormat, vexAuthor string }
