package main

import (
	"strings"

	"github.com/spf13/pflag"

	"github.com/secgate/secgate/gate/pipeline"
	"github.com/secgate/secgate/gate/report"
)

// registerSBOMFlags binds the supply-chain documents read and written
// (issue 29).
func registerSBOMFlags(fl *pflag.FlagSet, s *pipeline.SBOMOptions) {
	fl.StringVar(&s.File, "sbom", "", "also write an SBOM of every package the deps scanner read (lockfiles; with --image one per image, the image's name added to the file name)")
	fl.StringSliceVar(&s.VEX, "vex", nil, "OpenVEX 0.2.0 document (repeatable; SECGATE_VEX comma-separated): a not_affected or fixed statement on a finding's advisory and package makes it ignored; in the repository, read like the policy (the base revision's on a pull/merge request)")
	fl.StringVar(&s.VEXOut, "vex-out", "", "also write the policy's exceptions that applied to a package's advisory as an OpenVEX 0.2.0 document (not_affected, the reason as impact statement)")
	fl.StringVar(&s.Format, "sbom-format", report.SBOMCycloneDX, "SBOM format: "+strings.Join(report.SBOMFormats, " (CycloneDX 1.6 JSON) or ")+" (SPDX 2.3 JSON)")
}
