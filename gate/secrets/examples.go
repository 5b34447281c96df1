package secrets

import (
	"net/url"
	"regexp"
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
	"dGhlIHNhbXBsZSBub25jZQ==",                              // RFC 6455 section 1.3: the sample Sec-WebSocket-Key
	"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",                          // RFC 6455 section 1.3: its Sec-WebSocket-Accept
	"2YotnFZFEjr1zCsicMWpAA",                                // RFC 6749 section 1.5 ff.: example access token
	"tGzv3JOkF0XG5Qx2TlKWIA",                                // RFC 6749: example refresh token
	"SplxlOBeZQQYbYS6WxSbIA",                                // RFC 6749 section 4.1: example authorization code
	// RFC 5849 (OAuth 1.0) sections 1.2, 3.1, 3.4 and 3.5: example client
	// credentials, tokens, nonces and signatures, copied into every OAuth
	// library's docstrings.
	"dpf43f3p2l4k3l03", "kd94hf93k423kf44", "hh5s93j4hdidpola", "hdhd0244k9j7ao03",
	"hfdp7dh39dks9884", "nnch734d00sl2jdk", "pfkkdhi9sl3r4s00", "kllo9940pd9333jh",
	"tR3%2BTy81lMeYAr%2FFid0kMTYa%2FWM%3D", "dh893hdasih9",
	"9djdj82h48djs9d2", "kkk9d7dh3k39sjv7", "bYT5CMsGcbgUdFHObYMEfcx6bsw%3D", "djosJKDKJSD8743243%2Fjdk33klY%3D",
	"0685bd9184jfhq22", "ad180jjd733klru7", "wOJIO9A2W5mFwDgiDvZbTSMK%2FPY%3D", "4572616e48616d6d65724c61686176",
	// The Azure Storage emulator's (Azurite's) published account key, the same on every machine.
	"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
}

// demoAccounts are database accounts that decades of documentation and
// sample schemas use, user → password prefix (suffixed variants, tiger1,
// are the same sample).
var demoAccounts = map[string]string{
	"scott":  "tiger",      // Oracle's sample schema
	"sysdba": "masterkey",  // Firebird's and InterBase's default administrator
	"sa":     "yourStrong", // Microsoft's SQL Server container docs: yourStrong(!)Password
}

func demoAccount(user, pass string) bool {
	p, ok := demoAccounts[strings.ToLower(user)]
	return ok && strings.HasPrefix(strings.ToLower(pass), strings.ToLower(p))
}

// placeholderWord: the password is a word that stands for one (password,
// pass word, #password, your_password, changeme, xxx, ***), after
// percent-decoding, in any case, with punctuation removed.
func placeholderWord(pass string) bool {
	var b strings.Builder
	for _, r := range strings.ToLower(pass) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	w := b.String()
	if w == "" {
		return pass != "" // only punctuation: ***, ..., ---
	}
	return placeholder.MatchString(w)
}

var placeholder = regexp.MustCompile(`^(?:(?:my|your|the|db|database|user|some|example|sample|test|dummy|fake|secret|strong|super|admin|default|app|root)?(?:password|passwd|passw0rd|pass|pwd|secret|pw)(?:here|goes|123|1234|12345|1|2)?|changeme|changeit|example|placeholder|redacted|masked|hidden|notreal|x{3,}|replaceme)$`)

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
		// gitleaks also matches the percent-decoded text.
		if d, err := url.QueryUnescape(e); err == nil && d != e && strings.Contains(g.Secret, d) {
			return true
		}
	}
	return false
}
