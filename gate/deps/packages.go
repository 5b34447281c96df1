package deps

import (
	"fmt"
	"strings"

	"github.com/google/osv-scalibr/purl"

	"github.com/secgate/secgate/policy"
)

// packagesOf lists every package of osv-scanner's results (ShowAllPackages:
// vulnerable or not) as plain data, for the SBOM. img, when set, names the
// image and the layer each came from.
func packagesOf(root string, res vulnResults, img *imageInfo) []policy.Package {
	var out []policy.Package
	for _, src := range res.Results {
		source := relPath(root, src.Source.Path)
		if img != nil {
			source = "/" + strings.TrimPrefix(source, "/")
		}
		for _, pv := range src.Packages {
			p := pv.Package
			pkg := policy.Package{Name: p.Name, Version: p.Version, Ecosystem: p.Ecosystem, PURL: purlFor(p), Source: source}
			if img != nil {
				pkg.Image, pkg.Layer = img.ref, img.layer(p)
			}
			out = append(out, pkg)
		}
	}
	return out
}

// purlFor is the package's purl: its extractor's, else one built from
// the ecosystem.
func purlFor(p packageInfo) string {
	if p.Inventory != nil {
		if u := p.Inventory.PURL(); u != nil {
			return u.String()
		}
	}
	return purlOf(p.Ecosystem, p.Name, p.Version)
}

// purlTypes maps OSV ecosystems to purl types, for the packages whose
// extractor gave no purl (every component of an SBOM has one).
var purlTypes = map[string]string{
	"npm": purl.TypeNPM, "PyPI": purl.TypePyPi, "Go": purl.TypeGolang, "Maven": purl.TypeMaven,
	"crates.io": purl.TypeCargo, "RubyGems": purl.TypeGem, "Packagist": purl.TypeComposer,
	"NuGet": purl.TypeNuget, "Pub": purl.TypePub, "Hex": purl.TypeHex, "Debian": purl.TypeDebian,
	"Ubuntu": purl.TypeDebian, "Alpine": purl.TypeApk, "CRAN": purl.TypeCran, "SwiftURL": purl.TypeSwift,
}

// purlOf builds a purl from OSV's ecosystem and name: the type by
// ecosystem (generic when unknown), a Maven group or a scoped npm name as
// the namespace, the distribution as a qualifier for OS packages.
func purlOf(ecosystem, name, version string) string {
	eco, release, _ := strings.Cut(ecosystem, ":")
	u := purl.PackageURL{Type: purlTypes[eco], Name: name, Version: version}
	switch {
	case u.Type == "":
		u.Type = purl.TypeGeneric
	case u.Type == purl.TypeMaven:
		if g, a, ok := strings.Cut(name, ":"); ok {
			u.Namespace, u.Name = g, a
		}
	case u.Type == purl.TypeNPM || u.Type == purl.TypeGolang || u.Type == purl.TypeComposer:
		if i := strings.LastIndex(name, "/"); i > 0 {
			u.Namespace, u.Name = name[:i], name[i+1:]
		}
	}
	if u.Type == purl.TypeDebian || u.Type == purl.TypeApk {
		u.Namespace = strings.ToLower(eco)
		if release != "" {
			u.Qualifiers = purl.QualifiersFromMap(map[string]string{"distro": fmt.Sprintf("%s-%s", strings.ToLower(eco), release)})
		}
	}
	return u.String()
}
