package report

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/secgate/secgate/policy"
)

// SBOM formats (--sbom-format).
const (
	SBOMCycloneDX = "cyclonedx" // CycloneDX 1.6 JSON, the default
	SBOMSPDX      = "spdx"      // SPDX 2.3 JSON
)

// SBOMFormats lists the formats, for validation and messages.
var SBOMFormats = []string{SBOMCycloneDX, SBOMSPDX}

// SBOMSubject is what an SBOM describes: the scanned repository, or one
// image, and the packages in it.
type SBOMSubject struct {
	Name     string // the repository's name, or the image reference
	Image    bool   // a container image (its packages are the image's)
	Packages []policy.Package
}

// SBOMSubjects splits the report's packages into what each SBOM
// describes: the repository (lockfile packages, named repo) and each
// checked image (one SBOM per image, in the order they were scanned).
// The repository has one only when some lockfile gave packages, or when
// no image was checked.
func (r Report) SBOMSubjects(repo string) []SBOMSubject {
	tree := SBOMSubject{Name: repo}
	var images []SBOMSubject
	at := map[string]int{}
	for _, p := range r.Packages {
		if p.Image == "" {
			tree.Packages = append(tree.Packages, p)
			continue
		}
		i, ok := at[p.Image]
		if !ok {
			i = len(images)
			at[p.Image] = i
			images = append(images, SBOMSubject{Name: p.Image, Image: true})
		}
		images[i].Packages = append(images[i].Packages, p)
	}
	if len(tree.Packages) > 0 || len(images) == 0 {
		return append([]SBOMSubject{tree}, images...)
	}
	return images
}

// SBOM writes an SBOM of one subject. It is pure: the same subject,
// version and time give the same bytes (the serial number and the SPDX
// namespace are digests of the content). Like every Writer it leaves
// redaction to its caller: the gate redacts the report's packages with
// everything else (report.Redact walks them), and the CLI's writeFile the
// bytes once more.
func (r Report) SBOM(w io.Writer, format string, s SBOMSubject, version string, now time.Time) error {
	switch format {
	case "", SBOMCycloneDX:
		return cycloneDX(w, s, version, now)
	case SBOMSPDX:
		return spdxDocument(w, s, version, now)
	}
	return fmt.Errorf("unknown SBOM format %q (want %s)", format, strings.Join(SBOMFormats, " or "))
}

// component is one package of the SBOM: packages with the same purl (one
// library in two lockfiles) are one component with every source.
type component struct {
	policy.Package
	sources, layers []string
}

func components(pkgs []policy.Package) []component {
	var out []component
	at := map[string]int{}
	for _, p := range pkgs {
		i, ok := at[p.PURL]
		if !ok {
			i = len(out)
			at[p.PURL] = i
			out = append(out, component{Package: p})
		}
		c := &out[i]
		if p.Source != "" && !slices.Contains(c.sources, p.Source) {
			c.sources = append(c.sources, p.Source)
		}
		if p.Layer != "" && !slices.Contains(c.layers, p.Layer) {
			c.layers = append(c.layers, p.Layer)
		}
	}
	slices.SortFunc(out, func(a, b component) int {
		return cmp.Or(cmp.Compare(a.Ecosystem, b.Ecosystem), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version), cmp.Compare(a.PURL, b.PURL))
	})
	return out
}

// digest names the content for the serial number and the namespace.
func digest(s SBOMSubject, cs []component) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%t\x00", s.Name, s.Image)
	for _, c := range cs {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00", c.PURL, strings.Join(c.sources, "\x01"), strings.Join(c.layers, "\x01"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Property names of secgate's own facts on a CycloneDX component.
const (
	PropertySource    = "secgate:source"    // the lockfile, or the path in the image
	PropertyLayer     = "secgate:layer"     // the image layer that brought it in
	PropertyEcosystem = "secgate:ecosystem" // OSV's ecosystem name
)

func cycloneDX(w io.Writer, s SBOMSubject, version string, now time.Time) error {
	cs := components(s.Packages)
	d := digest(s, cs)
	// Built as 1.6 directly: EncodeVersion would copy the whole BOM
	// through gob to convert it (half the cost of 2,000 packages).
	bom := &cdx.BOM{JSONSchema: "http://cyclonedx.org/schema/bom-1.6.schema.json", BOMFormat: cdx.BOMFormat, SpecVersion: cdx.SpecVersion1_6, Version: 1}
	bom.SerialNumber = "urn:uuid:" + uuidOf(d)
	root := cdx.Component{BOMRef: "secgate:subject", Type: cdx.ComponentTypeApplication, Name: cmp.Or(s.Name, "repository")}
	if s.Image {
		root.Type = cdx.ComponentTypeContainer
	}
	bom.Metadata = &cdx.Metadata{
		Timestamp: now.UTC().Format(time.RFC3339),
		Tools:     &cdx.ToolsChoice{Components: &[]cdx.Component{{Type: cdx.ComponentTypeApplication, Name: "secgate", Version: version}}},
		Component: &root,
	}
	list := make([]cdx.Component, 0, len(cs))
	refs := make([]string, 0, len(cs))
	for _, c := range cs {
		props := []cdx.Property{{Name: PropertyEcosystem, Value: c.Ecosystem}}
		for _, src := range c.sources {
			props = append(props, cdx.Property{Name: PropertySource, Value: src})
		}
		for _, l := range c.layers {
			props = append(props, cdx.Property{Name: PropertyLayer, Value: l})
		}
		list = append(list, cdx.Component{BOMRef: c.PURL, Type: cdx.ComponentTypeLibrary, Name: c.Name, Version: c.Version, PackageURL: c.PURL, Properties: &props})
		refs = append(refs, c.PURL)
	}
	bom.Components = &list
	bom.Dependencies = &[]cdx.Dependency{{Ref: root.BOMRef, Dependencies: &refs}}
	enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON)
	enc.SetPretty(true).SetEscapeHTML(false)
	return enc.Encode(bom)
}

// spdxID keeps what SPDX allows in an identifier (letters, digits, . and -).
var spdxID = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

func spdxDocument(w io.Writer, s SBOMSubject, version string, now time.Time) error {
	cs := components(s.Packages)
	d := digest(s, cs)
	name := cmp.Or(s.Name, "repository")
	doc := &spdx.Document{
		SPDXVersion: spdx.Version, DataLicense: spdx.DataLicense, SPDXIdentifier: "DOCUMENT",
		DocumentName:      name,
		DocumentNamespace: "https://spdx.org/spdxdocs/secgate/" + spdxID.ReplaceAllString(name, "-") + "-" + d[:32],
		CreationInfo: &spdx.CreationInfo{
			Creators: []common.Creator{{CreatorType: "Tool", Creator: "secgate-" + cmp.Or(version, "dev")}},
			Created:  now.UTC().Format(time.RFC3339),
		},
	}
	rootID := common.ElementID("Subject")
	root := &spdx.Package{PackageName: name, PackageSPDXIdentifier: rootID, PackageDownloadLocation: "NOASSERTION", PrimaryPackagePurpose: "APPLICATION"}
	if s.Image {
		root.PrimaryPackagePurpose = "CONTAINER"
	}
	doc.Packages = append(doc.Packages, root)
	doc.Relationships = append(doc.Relationships, &spdx.Relationship{RefA: common.MakeDocElementID("", "DOCUMENT"), RefB: common.MakeDocElementID("", string(rootID)), Relationship: common.TypeRelationshipDescribe})
	for i, c := range cs {
		id := common.ElementID(fmt.Sprintf("Package-%d-%s", i+1, spdxID.ReplaceAllString(c.Name, "-")))
		p := &spdx.Package{
			PackageName: c.Name, PackageSPDXIdentifier: id, PackageVersion: c.Version,
			PackageDownloadLocation: "NOASSERTION", PrimaryPackagePurpose: "LIBRARY",
			PackageExternalReferences: []*spdx.PackageExternalReference{{Category: common.CategoryPackageManager, RefType: common.TypePackageManagerPURL, Locator: c.PURL}},
		}
		var info []string
		for _, src := range c.sources {
			info = append(info, "source: "+src)
		}
		for _, l := range c.layers {
			info = append(info, "layer: "+l)
		}
		p.PackageSourceInfo = strings.Join(info, "\n")
		doc.Packages = append(doc.Packages, p)
		doc.Relationships = append(doc.Relationships, &spdx.Relationship{RefA: common.MakeDocElementID("", string(rootID)), RefB: common.MakeDocElementID("", string(id)), Relationship: common.TypeRelationshipContains})
	}
	return spdxjson.Write(doc, w, spdxjson.Indent("  "), spdxjson.EscapeHTML(false))
}

// uuidOf formats the first 128 bits of a hex digest as a version 4
// variant UUID (CycloneDX's serialNumber pattern wants one).
func uuidOf(hexDigest string) string {
	b, _ := hex.DecodeString(hexDigest[:32])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// SBOMWriter writes one subject's SBOM as a report Writer, so that the
// CLI writes it with the other files (redacted once more, in every
// outcome).
type SBOMWriter struct {
	Format  string
	Subject SBOMSubject
	Version string
	Time    time.Time
}

// Write implements Writer.
func (s SBOMWriter) Write(w io.Writer, r Report) error {
	// An SBOM of a scan that did not finish would claim an empty or
	// partial inventory: none is written, and the run says why.
	i := slices.IndexFunc(r.Scanners, func(sc Scanner) bool { return sc.Name == "deps" })
	if i < 0 {
		return errors.New("no SBOM: the deps scanner did not run (it reads the packages)")
	}
	if st := r.Scanners[i].Status; st != StatusOK {
		return fmt.Errorf("no SBOM: the deps scanner's status is %s, its package list is incomplete", st)
	}
	return r.SBOM(w, s.Format, s.Subject, s.Version, s.Time)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// SBOMFiles maps file paths to the SBOMs of the report's subjects: the
// first at path, each other one (an image's) at path with its name
// inserted before the extension (sbom.cdx.json: sbom-ghcr.io_acme_app_1.cdx.json).
func (r Report) SBOMFiles(path, format, repo, version string, now time.Time) map[string]Writer {
	out := map[string]Writer{}
	for i, s := range r.SBOMSubjects(repo) {
		p := path
		if i > 0 {
			dir, base := filepath.Split(path)
			stem, ext, _ := strings.Cut(base, ".")
			if ext != "" {
				ext = "." + ext
			}
			p = filepath.Join(dir, stem+"-"+unsafeName.ReplaceAllString(s.Name, "_")+ext)
		}
		out[p] = SBOMWriter{Format: format, Subject: s, Version: version, Time: now}
	}
	return out
}
