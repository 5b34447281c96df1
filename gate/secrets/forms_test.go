package secrets

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/secgate/secgate/gate/secrets/secretstest"
)

// The redactor removes a value in the forms our writers make of a
// package name: lower- and upper-case, PEP 503-normalised, percent-
// encoded; a short value only as it is. Without forms.go every form but
// the first stays.
func TestRedactorTransformedForms(t *testing.T) {
	ghp := secretstest.GitHubPAT(t)
	slack := "xoxb-" + secretstest.Random(t, "0123456789", 12) + "-" + secretstest.Random(t, "0123456789", 12) + "-" + secretstest.Random(t, "abcdefABCDEF0123456789", 24)
	odd := "p+w/" + secretstest.Random(t, "abcdefABCDEF", 12) + "=" // a base64-ish value: purls encode + / =
	r := &Redactor{}
	r.add(ghp, slack, odd, "Secret")
	pep := regexp.MustCompile(`[-_.]+`)
	for _, v := range []string{ghp, slack, odd} {
		low := strings.ToLower(v)
		for _, form := range []string{v, low, strings.ToUpper(v), pep.ReplaceAllString(low, "-"), url.PathEscape(v), url.QueryEscape(low), strings.ToLower(url.PathEscape(v))} {
			in := `{"purl": "pkg:pypi/x-` + form + `@1.0", "name": "z_` + form + `"}`
			got := r.Redact(in)
			if strings.Count(got, Redacted) != 2 {
				t.Errorf("form %q of a value: %s", form, got)
			}
		}
	}
	if got := r.Redact("secrets: the Secret"); got != "secrets: the "+Redacted {
		t.Errorf("a short value is redacted as it is only: %q", got)
	}
}
