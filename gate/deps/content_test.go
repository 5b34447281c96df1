package deps

import (
	"strings"
	"testing"
)

// A lockfile parser's error keeps the file, the line and what was
// expected, never the value it quotes: here one no secret detector knows
// (a password), as osv-scanner v2.5.0's extractors print them (issue 25).
func TestLockfileErrorQuotesNoContent(t *testing.T) {
	const v = "Correct-Horse-Battery-9"
	root := "/work/repo"
	for _, c := range []struct{ msg, want string }{
		{"Error during extraction: (extracting as java/pomxml) work/repo/java/pom.xml: could not extract: could not extract pom from work/repo/java/pom.xml: XML syntax error on line 3: invalid character entity &" + v + ";",
			"java/pom.xml:3: cannot parse as java/pomxml: could not extract pom from java/pom.xml: XML syntax error on line 3: invalid character entity"},
		{"Error during extraction: (extracting as go/gomod) work/repo/go.mod: could not extract: work/repo/go.mod:5: unknown directive: " + v,
			"go.mod:5: cannot parse as go/gomod: unknown directive"},
		{"Error during extraction: (extracting as go/gomod) work/repo/tool/go.mod: could not extract: work/repo/tool/go.mod:4: invalid toolchain version '" + v + "': must match format go1.23.0 or default",
			"tool/go.mod:4: cannot parse as go/gomod: invalid toolchain version"},
		{"Error during extraction: (extracting as javascript/pnpmlock) work/repo/pnpm-lock.yaml: could not extract: strconv.ParseFloat: parsing \"" + v + "\": invalid syntax",
			"pnpm-lock.yaml: cannot parse as javascript/pnpmlock: a number was expected"},
	} {
		got := lockfileError(root, c.msg).Error()
		if strings.Contains(got, v[:6]) || strings.Contains(got, v[len(v)-6:]) || !strings.HasPrefix(got, c.want) {
			t.Errorf("%s\n got %q\nwant %q…, without the value", c.msg, got, c.want)
		}
	}
}
