package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
)

// OpenVEX is read with typed structs: the 0.2.0 specification is small,
// and github.com/openvex/go-vex v0.2.9 (which resolves here) would bring
// a second go-sarif, carabiner-dev's attestation module and a newer
// packageurl-go into a package that is pure vocabulary.

// VEXContext is the OpenVEX 0.2.0 @context; a document naming another is refused.
const VEXContext = "https://openvex.dev/ns/v0.2.0"

// VEX statuses (OpenVEX 0.2.0).
const (
	VEXNotAffected        = "not_affected"
	VEXAffected           = "affected"
	VEXFixed              = "fixed"
	VEXUnderInvestigation = "under_investigation"
)

// VEXJustifications are OpenVEX's justification values of not_affected.
var VEXJustifications = []string{
	"component_not_present", "vulnerable_code_not_present", "vulnerable_code_not_in_execute_path",
	"vulnerable_code_cannot_be_controlled_by_adversary", "inline_mitigations_already_exist",
}

// IgnoredByVEX is Ignored.By for a finding a VEX statement silenced.
const IgnoredByVEX = "vex"

// VEX is one parsed OpenVEX document.
type VEX struct {
	Path       string // as given (for base-revision reads, with the revision)
	Statements []VEXStatement
}

// VEXStatement is one statement: an advisory, the products (purls) it is
// about, and what it says of them.
type VEXStatement struct {
	Index           int      // in the document's statements, for messages
	Vulnerability   string   // the advisory id (vulnerability.name)
	Aliases         []string // vulnerability.aliases
	Products        []string // purls: products and their subcomponents
	Status          string
	Justification   string
	ImpactStatement string
}

type vexDoc struct {
	Context    *string `json:"@context"`
	Statements []struct {
		Vulnerability struct {
			ID      string   `json:"@id"`
			Name    string   `json:"name"`
			Aliases []string `json:"aliases"`
		} `json:"vulnerability"`
		Products        []vexProduct `json:"products"`
		Status          string       `json:"status"`
		Justification   string       `json:"justification"`
		ImpactStatement string       `json:"impact_statement"`
	} `json:"statements"`
}

type vexProduct struct {
	ID          string `json:"@id"`
	Identifiers struct {
		PURL string `json:"purl"`
	} `json:"identifiers"`
	Subcomponents []vexProduct `json:"subcomponents"`
}

// ParseVEX reads an OpenVEX 0.2.0 document. file names it in errors,
// statements are named by their index and advisory.
func ParseVEX(file string, data []byte) (*VEX, error) {
	var doc vexDoc
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("VEX document %s: not OpenVEX JSON: %w", file, err)
	}
	switch {
	case doc.Context == nil:
		return nil, fmt.Errorf("VEX document %s: no @context (want %s)", file, VEXContext)
	case *doc.Context != VEXContext:
		return nil, fmt.Errorf("VEX document %s: @context %q is not OpenVEX 0.2.0 (want %s)", file, *doc.Context, VEXContext)
	}
	v := &VEX{Path: file}
	var errs []error
	for i, s := range doc.Statements {
		st := VEXStatement{Index: i, Vulnerability: strings.TrimSpace(cmpOr(s.Vulnerability.Name, s.Vulnerability.ID)), Aliases: s.Vulnerability.Aliases,
			Status: s.Status, Justification: s.Justification, ImpactStatement: strings.TrimSpace(s.ImpactStatement)}
		at := fmt.Sprintf("VEX document %s: statements[%d] (%s)", file, i, cmpOr(st.Vulnerability, "no vulnerability"))
		if st.Vulnerability == "" {
			errs = append(errs, fmt.Errorf("%s: no vulnerability name", at))
		}
		var walk func([]vexProduct)
		walk = func(ps []vexProduct) {
			for _, p := range ps {
				for _, id := range []string{p.ID, p.Identifiers.PURL} {
					if strings.HasPrefix(id, "pkg:") && !slices.Contains(st.Products, id) {
						st.Products = append(st.Products, id)
					}
				}
				walk(p.Subcomponents)
			}
		}
		walk(s.Products)
		if len(s.Products) == 0 {
			errs = append(errs, fmt.Errorf("%s: no product", at))
		} else if len(st.Products) == 0 {
			errs = append(errs, fmt.Errorf("%s: no product is a purl (pkg:…), and only packages are matched", at))
		}
		switch st.Status {
		case VEXNotAffected:
			if st.Justification == "" && st.ImpactStatement == "" {
				errs = append(errs, fmt.Errorf("%s: not_affected needs a justification or an impact_statement", at))
			}
			if st.Justification != "" && !slices.Contains(VEXJustifications, st.Justification) {
				errs = append(errs, fmt.Errorf("%s: unknown justification %q (want %s)", at, st.Justification, strings.Join(VEXJustifications, ", ")))
			}
		case VEXAffected, VEXFixed, VEXUnderInvestigation:
		default:
			errs = append(errs, fmt.Errorf("%s: unknown status %q (want not_affected, affected, fixed or under_investigation)", at, st.Status))
		}
		v.Statements = append(v.Statements, st)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return v, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Silences says whether the statement makes a finding ignored: it says
// not_affected or fixed, names the finding's advisory (id or any alias,
// either side), and one of its products is the finding's package.
func (s VEXStatement) Silences(f Finding) bool {
	if s.Status != VEXNotAffected && s.Status != VEXFixed {
		return false
	}
	return s.names(f) && s.coversPURL(f.Location.PURL)
}

// versionless are the statement's products without a version.
func (s VEXStatement) versionless() []string {
	var out []string
	for _, prod := range s.Products {
		if _, v := splitPURL(prod); v == "" {
			out = append(out, prod)
		}
	}
	return out
}

// names: the statement's advisory is the finding's, by id or alias.
func (s VEXStatement) names(f Finding) bool {
	ids := append([]string{f.ID}, f.Aliases...)
	for _, a := range append([]string{s.Vulnerability}, s.Aliases...) {
		if slices.ContainsFunc(ids, func(id string) bool { return strings.EqualFold(id, a) }) {
			return true
		}
	}
	return false
}

// coversPURL: a product purl names the package (type, namespace, name);
// with a version, that version only; without, every version for
// not_affected, and none for fixed. "Fixed" is a property of versions:
// the versions from the fix on, never those before it. Read for every
// version, a fixed statement about a package silences the downgrade to a
// vulnerable version that it was never about (minimist 1.2.6 said fixed,
// a change back to 0.0.8 passes). not_affected of a package without a
// version is a claim about every version (the code is not reachable from
// the product), and is kept so. Qualifiers and subpaths are not compared.
func (s VEXStatement) coversPURL(p string) bool {
	if p == "" {
		return false
	}
	name, version := splitPURL(p)
	for _, prod := range s.Products {
		pn, pv := splitPURL(prod)
		if pn == name && (pv == version || pv == "" && s.Status != VEXFixed) {
			return true
		}
	}
	return false
}

// splitPURL returns a purl's type/namespace/name (unescaped, the type
// lower case) and its version. The version separator is the last @ after
// the last /: a scoped npm name keeps its @ whether escaped or not.
func splitPURL(p string) (name, version string) {
	p, _, _ = strings.Cut(p, "#")
	p, _, _ = strings.Cut(p, "?")
	if i := strings.LastIndex(p, "@"); i > strings.LastIndex(p, "/") {
		p, version = p[:i], p[i+1:]
	}
	if u, err := url.PathUnescape(p); err == nil {
		p = u
	}
	if v, err := url.PathUnescape(version); err == nil {
		version = v
	}
	typ, rest, _ := strings.Cut(strings.TrimPrefix(p, "pkg:"), "/")
	return strings.ToLower(typ) + "/" + path.Clean(rest), version
}

// VEXFor returns the first statement of the documents that silences f.
func VEXFor(docs []*VEX, f Finding) (*VEX, VEXStatement, bool) {
	for _, d := range docs {
		for _, s := range d.Statements {
			if s.Silences(f) {
				return d, s, true
			}
		}
	}
	return nil, VEXStatement{}, false
}

// UnmatchedVEX are notes on statements whose advisory no finding has.
func UnmatchedVEX(docs []*VEX, findings []Finding) []string {
	var notes []string
	for _, d := range docs {
		for _, s := range d.Statements {
			if !slices.ContainsFunc(findings, s.names) {
				notes = append(notes, fmt.Sprintf("VEX %s statements[%d]: no finding has %s", d.Path, s.Index, s.Vulnerability))
			}
			if v := s.versionless(); s.Status == VEXFixed && len(v) > 0 {
				notes = append(notes, fmt.Sprintf("VEX %s statements[%d] (%s): fixed names %s without a version, which matches no version: name the fixed version(s) (pkg:…@1.2.6)", d.Path, s.Index, s.Vulnerability, strings.Join(v, ", ")))
			}
		}
	}
	return notes
}
