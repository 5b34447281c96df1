package secrets

import (
	"net/url"
	"strings"

	"github.com/zricethezav/gitleaks/v8/report"
)

// publicExamples are credentials published in vendors' documentation and
// specifications as examples. They are in countless READMEs and tests, grant
// nothing, and a finding on them is noise.
var publicExamples = []string{
	"AKIAIOSFODNN7EXAMPLE",                     // AWS docs: access key id
	"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", // AWS docs: secret access key
	"AKIAI44QH8DHBEXAMPLE",                     // AWS docs: second access key id
	"je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY", // AWS docs: second secret key
	// jwt.io's sample token (HS256, {"sub":"1234567890","name":"John Doe","iat":1516239022}), any signature.
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.",
	"sk_test_4eC39HqLyjWDarjtT1zdp7dc",                      // Stripe docs: test secret key
	"pk_test_TYooMQauvdEDq54NiTphI7jx",                      // Stripe docs: test publishable key
	"sk_test_BQokikJOvBiI2HlWgH4olfQ2",                      // Stripe docs (older): test secret key
	"ghp_16C7e42F292c6912E7710c838347Ae178B4a",              // GitHub REST docs: example token
	"xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy", // Slack API docs: example bot token
}

// exampleHosts are reserved for documentation (RFC 2606, RFC 6761).
func isExampleHost(h string) bool {
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	for _, d := range []string{"example.com", "example.org", "example.net"} {
		if h == d || strings.HasSuffix(h, "."+d) {
			return true
		}
	}
	for _, tld := range []string{".example", ".test", ".invalid"} {
		if strings.HasSuffix(h, tld) {
			return true
		}
	}
	return false
}

// isPublicExample reports whether a finding is a well-known example value
// rather than a credential.
func isPublicExample(g report.Finding) bool {
	// The secret only: a real password next to a documentation key id
	// (postgres://AKIAIOSFODNN7EXAMPLE:<a real one>@db) is a real password.
	for _, e := range publicExamples {
		if strings.Contains(g.Secret, e) {
			return true
		}
	}
	if g.RuleID == "connection-url-credentials" {
		return exampleConnectionURL(g.Match)
	}
	return false
}

// exampleConnectionURL: a URL on a documentation domain, or whose password
// repeats the user name (postgres:postgres), is a sample, not a credential.
func exampleConnectionURL(match string) bool {
	u, err := url.Parse(match)
	if err != nil || u.User == nil {
		return false
	}
	pw, _ := u.User.Password()
	return isExampleHost(u.Hostname()) || pw == u.User.Username()
}
