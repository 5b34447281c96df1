package report

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// mayHoldURLCredentials never says no where urlCredentials matches (it
// only spares the regex its pass), and says no for the texts that hold
// URLs without credentials. Random texts of the characters that matter
// check the first; the table the second.
func TestURLCredentialsPrefilter(t *testing.T) {
	// URLs with credentials are glued at run time: the gate reads its own
	// repository, and a whole one here is a finding.
	at := "@"
	for _, c := range []struct {
		text string
		may  bool
	}{
		{"postgres://app:s3cret" + at + "db:5432/x", true},
		{"see HTTPS://u:p" + at + "host/path", true},
		{"redis://:pw" + at + "cache", true},
		{"a ://x:y@z", true}, // no scheme: the regex decides
		{"https://example.test/a@b", false},
		{"mailto:someone@example.test", false},
		{"https://example.test/path?x=1:2@3", false},
		{"git@github.com:org/repo.git", false},
		{"https://user@host", false}, // a user without a password
		{`"url": "https://api.osv.dev/v1/query", "by": "a@b"`, false},
		{"", false},
	} {
		if got := mayHoldURLCredentials(c.text); got != c.may {
			t.Errorf("%q: %v, want %v", c.text, got, c.may)
		}
		if urlCredentials.MatchString(c.text) && !mayHoldURLCredentials(c.text) {
			t.Errorf("%q: the regex matches, the prefilter says no", c.text)
		}
	}
	pieces := []string{"://", "http", "s", ":", "@", "/", "?", "#", " ", "\n", "\t", "'", `"`, "<", ">", "a", "Z", "9", ".", "-", "+", "é", "\xff", "\v"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		var b strings.Builder
		for range 1 + r.IntN(12) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		s := b.String()
		if urlCredentials.MatchString(s) && !mayHoldURLCredentials(s) {
			t.Fatalf("%q: the regex matches, the prefilter says no", s)
		}
	}
}

// FuzzURLCredentialsPrefilter: the same property on any text.
func FuzzURLCredentialsPrefilter(f *testing.F) {
	f.Add("postgres://app:s3cret" + "@db:5432/x")
	f.Add("https://example.test/a@b")
	f.Fuzz(func(t *testing.T, s string) {
		if urlCredentials.MatchString(s) && !mayHoldURLCredentials(s) {
			t.Fatalf("%q: the regex matches, the prefilter says no", s)
		}
	})
}
