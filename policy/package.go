package policy

// Package is one package a scanner saw (a lockfile's or an image's), as
// plain data: what the SBOM lists. Scanners other than deps leave none.
type Package struct {
	Name      string
	Version   string
	Ecosystem string // OSV's name: npm, PyPI, Go, Debian:12, ...
	PURL      string // always set: the extractor's, else one built from the ecosystem
	// Source is the lockfile it came from (relative to the scanned tree),
	// or for an image the path in the image that declared it.
	Source string
	// Image is the image reference it was found in ("" for the tree), and
	// Layer the layer that brought it in ("3 sha256:…"), when known.
	Image string
	Layer string
}
