package report

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/secgate/secgate/policy"
)

// openVEXOut is an OpenVEX 0.2.0 document as --vex-out writes it.
type openVEXOut struct {
	Context    string         `json:"@context"`
	ID         string         `json:"@id"`
	Author     string         `json:"author"`
	Timestamp  string         `json:"timestamp"`
	Version    int            `json:"version"`
	Tooling    string         `json:"tooling,omitempty"`
	Statements []vexStatement `json:"statements"`
}

type vexStatement struct {
	Vulnerability   vexVulnerability `json:"vulnerability"`
	Products        []vexOutProduct  `json:"products"`
	Status          string           `json:"status"`
	Justification   string           `json:"justification,omitempty"`
	ImpactStatement string           `json:"impact_statement,omitempty"`
}

type vexVulnerability struct {
	Name    string   `json:"name"`
	Aliases []string `json:"aliases,omitempty"`
}

type vexOutProduct struct {
	ID string `json:"@id"`
}

// OpenVEX writes the policy's reviewed exceptions as an OpenVEX 0.2.0
// document: one not_affected statement per exception and advisory that
// applied in this run, its products the purls of the packages it covered,
// its impact statement the exception's reason (and a justification when
// the reason names one of OpenVEX's). Exceptions that applied to no
// vulnerability of a package (a secret, an image check) have no VEX
// meaning and are left out. Pure: the @id is a digest of the statements.
func (r Report) OpenVEX(w io.Writer, author, version string, now time.Time) error {
	type key struct{ id, reason string }
	at := map[key]int{}
	var sts []vexStatement
	for _, f := range r.Findings {
		ig := f.Ignored
		if f.Kind != policy.KindVulnerability || f.Location.PURL == "" || ig == nil || ig.By != "" || r.Policy == nil || ig.Source != r.Policy.File {
			continue
		}
		k := key{f.ID, ig.Reason}
		i, ok := at[k]
		if !ok {
			i = len(sts)
			at[k] = i
			st := vexStatement{Vulnerability: vexVulnerability{Name: f.ID, Aliases: f.Aliases}, Status: policy.VEXNotAffected, ImpactStatement: ig.Reason}
			for _, j := range policy.VEXJustifications {
				if strings.Contains(ig.Reason, j) {
					st.Justification = j
					break
				}
			}
			sts = append(sts, st)
		}
		if !slices.ContainsFunc(sts[i].Products, func(p vexOutProduct) bool { return p.ID == f.Location.PURL }) {
			sts[i].Products = append(sts[i].Products, vexOutProduct{ID: f.Location.PURL})
		}
	}
	slices.SortFunc(sts, func(a, b vexStatement) int { return cmp.Compare(a.Vulnerability.Name, b.Vulnerability.Name) })
	for i := range sts {
		slices.SortFunc(sts[i].Products, func(a, b vexOutProduct) int { return cmp.Compare(a.ID, b.ID) })
	}
	if sts == nil {
		sts = []vexStatement{}
	}
	body, err := json.Marshal(sts)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(append([]byte(author+"\x00"), body...))
	doc := openVEXOut{
		Context: policy.VEXContext, ID: "urn:uuid:" + uuidOf(hex.EncodeToString(sum[:])),
		Author: cmp.Or(author, "secgate"), Timestamp: now.UTC().Format(time.RFC3339), Version: 1,
		Tooling: "secgate " + cmp.Or(version, "dev"), Statements: sts,
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}

// VEXWriter writes the OpenVEX document as a report Writer, so that the
// CLI writes it with the other files.
type VEXWriter struct {
	Author, Version string
	Time            time.Time
}

// Write implements Writer.
func (v VEXWriter) Write(w io.Writer, r Report) error {
	return r.OpenVEX(w, v.Author, v.Version, v.Time)
}
