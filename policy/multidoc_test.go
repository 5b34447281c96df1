package policy

import (
	"strings"
	"testing"
)

// Item 9 of issue 27: a second YAML document is an error naming its line,
// not policy silently ignored; one document with a leading --- and a
// trailing --- is fine.
func TestSecondDocumentRefused(t *testing.T) {
	for _, tt := range []struct {
		yaml, want string
	}{
		{"deps: {max_db_age: 0}\n---\nexceptions: []\n", "p.yml:3: a second YAML document"},
		{"---\ndeps: {max_db_age: 0}\n", ""},
		{"deps: {max_db_age: 0}\n---\n", ""},
	} {
		_, err := Parse("p.yml", []byte(tt.yaml), nil)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q: %v", tt.yaml, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%q: %v, want %q", tt.yaml, err, tt.want)
		}
	}
}
