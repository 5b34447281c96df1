package gate

import (
	"regexp"
	"strings"
	"testing"

	"github.com/secgate/secgate/gate/secrets/secretstest"
)

// The outgoing redaction learns a value from one string (a package's
// name) and removes it from another in the forms the SBOM writers make
// of it (red team F4): lower-cased and PEP 503-normalised in a purl,
// upper-cased. Without gate/secrets/forms.go each form stays.
func TestOutgoingRedactsTransformedForms(t *testing.T) {
	ghp, akia := secretstest.GitHubPAT(t), secretstest.AWSKeyID(t)
	o := NewRedactor()
	o.Learn("x-" + ghp + "==1.0\nz-" + akia + "==1.0\n")
	pep := regexp.MustCompile(`[-_.]+`)
	for _, v := range []string{ghp, akia} {
		low := strings.ToLower(v)
		for _, form := range []string{low, pep.ReplaceAllString(low, "-"), strings.ToUpper(v)} {
			out := o.Redact(`{"bom-ref": "pkg:pypi/x-` + form + `@1.0"}`)
			if strings.Contains(strings.ToLower(out), strings.ToLower(v[len(v)-8:])) {
				t.Errorf("a form of a learned value stays: %s", out)
			}
		}
	}
}
