package deps

import (
	"github.com/google/osv-scalibr/extractor"
	"github.com/ossf/osv-schema/bindings/go/osvschema"
)

// The engine's results: per source file, the packages read from it, each
// with the advisories that affect it in alias groups. They hold what
// osv-scanner v2.5.0's result types (pkg/models) held that the gate reads,
// so that the binary does not need osv-scanner's module at all.

// vulnResults is one library call's answer.
type vulnResults struct {
	Results       []packageSource
	ImageMetadata *imageMetadata // images only
}

// packageSource is one file's packages.
type packageSource struct {
	Source   sourceInfo
	Packages []packageVulns
}

// sourceInfo is a file (absolute, slash-separated; an SBOM's with
// ":location") and what kind of source it is.
type sourceInfo struct {
	Path string
	Type sourceKind
}

// sourceKind is osv-scanner's name for the kind of a source.
type sourceKind string

const (
	sourceUnknown   sourceKind = "unknown"
	sourceOSPackage sourceKind = "os"
	sourceLockfile  sourceKind = "lockfile"
	sourceArtifact  sourceKind = "artifact"
	sourceSBOM      sourceKind = "sbom"
)

// packageVulns is a package with its advisories.
type packageVulns struct {
	Package         packageInfo
	DepGroups       []string
	Vulnerabilities []*osvschema.Vulnerability
	Groups          []groupInfo
}

// groupInfo is advisories that are aliases of each other: their ids, and
// every id and alias they name.
type groupInfo struct {
	IDs     []string
	Aliases []string
}

// packageInfo is a package as the report names it.
type packageInfo struct {
	Name          string
	OSPackageName string
	Version       string
	Ecosystem     string
	Commit        string
	Deprecated    bool
	ImageOrigin   *imageOrigin       // the layer that brought it in (images)
	Inventory     *extractor.Package // as osv-scalibr read it; nil for matched spellings
}

// imageOrigin is the index of a package's layer.
type imageOrigin struct{ Index int }

// imageMetadata is an image's layers.
type imageMetadata struct {
	OS            string
	LayerMetadata []layerMetadata
}

// layerMetadata is one layer.
type layerMetadata struct {
	DiffID         string
	Command        string
	IsEmpty        bool
	BaseImageIndex int
}
