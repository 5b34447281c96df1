package secrets

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"hash/crc32"
	"net"
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/secgate/secgate/policy"
	"github.com/zricethezav/gitleaks/v8/report"
	"golang.org/x/crypto/ssh"
)

// judge decides what a gitleaks finding is before it is reported: a
// sample to drop (a placeholder or template password, a documentation
// account, an identifier assigned to itself, a URL-parser test input), or
// a finding with a context that lowers its tier (policy secrets.context:
// a test or docs path for generic rules, a local host, a token whose
// checksum fails), or a finding at the secrets tier (context "").
func judge(g report.Finding, relPath string) (context string, drop bool) {
	switch {
	case g.RuleID == "connection-url-credentials":
		c, ok := parseConnURL(g.Match)
		if !ok {
			break
		}
		if sampleConnURL(c) {
			return "", true
		}
		if localHost(c.host) {
			return policy.SecretContextLocalHost, false
		}
	case g.RuleID == "generic-api-key" && selfNamed(g):
		return "", true
	case strings.HasPrefix(g.RuleID, "curl-") && placeholderPair(g.Secret):
		return "", true
	case g.RuleID == "private-key":
		switch judgeKey(g.Secret) {
		case keyLive:
			// Key material that parses is a key wherever it stands (a key
			// file named .md, a key in a code fence under docs/, a fixture
			// under tests/): like a provider-format token, no path lowers
			// it (red team F7).
			return "", false
		case keyPlaceholder:
			return "", true
		}
		// A long body that does not parse (truncated, a line dropped, an
		// unknown layout) may still be a key: reported, with its path's
		// context (red team A1, A2).
		return pathClass(relPath), false
	}
	if checksummed(g.Secret) && !checksumOK(g.Secret) {
		return policy.SecretContextChecksum, false
	}
	if isGenericRule(g.RuleID) || g.RuleID == "private-key" {
		return pathClass(relPath), false
	}
	return "", false
}

// keyVerdict is what judgeKey makes of a private-key match.
type keyVerdict int

const (
	keyMaterial    keyVerdict = iota // a long body that does not parse: reported with its path's context
	keyLive                          // a block parses as a private key: the secrets tier anywhere
	keyPlaceholder                   // every block is a placeholder: dropped
)

// judgeKey reads a private-key match block by block: the rule matches
// lazily from a "-----BEGIN" to a "KEY-----" that may be another key's,
// so a one-line example key before a real one made one match whose first
// body was empty (red team A1). A match is dropped only when every block
// in it is a placeholder, never merely because it does not parse.
func judgeKey(secret string) keyVerdict {
	blocks := keyBlocks(secret)
	if len(blocks) == 0 {
		return keyMaterial // not armoured: leave it to the rule
	}
	v := keyPlaceholder
	for _, b := range blocks {
		if liveKey(b) {
			return keyLive
		}
		if !placeholderKey(b) {
			v = keyMaterial
		}
	}
	return v
}

// keyBlocks splits s at every "-----BEGIN": each piece is one block,
// judged on its own.
func keyBlocks(s string) []string {
	var out []string
	for {
		i := strings.Index(s, "-----BEGIN")
		if i < 0 {
			return out
		}
		s = s[i:]
		j := strings.Index(s[1:], "-----BEGIN")
		if j < 0 {
			return append(out, s)
		}
		out = append(out, s[:j+1])
		s = s[j+1:]
	}
}

// placeholderKey: a block holds no key material. Its body, with the
// text's layout taken off, has fewer than 64 base64 characters that look
// like key material (an Ed25519 PKCS#8 key, the shortest, has 64; docs
// write "<Private key data here.>", "MIIEv...", "..."), or it is marked as
// elided ("...", "…", "xxxx", "example", "REDACTED") with fewer than 200.
// It is called only for a block that parses in none of liveKey's
// readings, so an elision marker added to a real key does not drop it
// (red team F2).
func placeholderKey(block string) bool {
	_, body, ok := keyArmour(block)
	if !ok {
		return true // a header alone: the match's next block is judged
	}
	n := keyChars(body)
	if n < 64 {
		return true
	}
	l := strings.ToLower(body)
	return elisionMarked(l) && n < 200
}

// elisionMarked: a (lower-cased) text says it leaves something out.
func elisionMarked(l string) bool {
	return strings.Contains(l, "...") || strings.Contains(l, "…") || strings.Contains(l, "xxxx") ||
		strings.Contains(l, "example") || strings.Contains(l, "redacted")
}

// keyChars counts a body's base64 characters that look like key
// material: its pieces between non-base64 characters, each counted when
// it is 16 characters or longer, or 4 or longer with a digit, "+", "/"
// or a capital after a small letter (what a random chunk nearly always
// has and a prose word seldom). Counting whole runs of 16 or more only,
// as before, let a key written with a space or "-" after every 15
// characters count as nothing (red team F1); counting every letter would
// make a long prose placeholder key material.
//
// Only lines that are mostly such pieces count (three quarters of their
// non-space characters): the private-key rule's lazy match can run from a
// header in a string literal through source code to the next
// "KEY-----" (a function that builds a PEM block), and identifiers like
// MarshalPKCS8PrivateKey look random. A key line, however it is
// separated or prefixed, is nearly all pieces.
func keyChars(body string) int {
	n := 0
	for line := range strings.Lines(body) {
		c := 0
		for _, tok := range nonBase64.Split(line, -1) {
			if len(tok) >= 16 || len(tok) >= 4 && randomChunk(tok) {
				c += len(tok)
			}
		}
		if visible := len(strings.Join(strings.Fields(line), "")); c > 0 && 4*c >= 3*visible {
			n += c
		}
	}
	return n
}

var nonBase64 = regexp.MustCompile(`[^A-Za-z0-9+/]+`)

// randomChunk: tok has a digit, "+", "/", or a capital after a small
// letter.
func randomChunk(tok string) bool {
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c >= '0' && c <= '9' || c == '+' || c == '/' {
			return true
		}
		if i > 0 && c >= 'A' && c <= 'Z' && tok[i-1] >= 'a' && tok[i-1] <= 'z' {
			return true
		}
	}
	return false
}

// keyArmour splits a block into its type ("RSA PRIVATE KEY", "PGP
// PRIVATE KEY BLOCK") and the text between its header and "-----END"
// (or the block's end).
func keyArmour(block string) (typ, body string, ok bool) {
	rest, found := strings.CutPrefix(block, "-----BEGIN")
	if !found {
		return "", "", false
	}
	typ, body, ok = strings.Cut(rest, "-----")
	if !ok {
		return "", "", false
	}
	body, _, _ = strings.Cut(body, "-----END")
	return strings.TrimSpace(typ), body, true
}

// bodyLines returns a key body's lines (escaped newlines are newlines: a
// key in a JSON, YAML or code string), without the rest of the header
// line, and with the longest prefix all of them share taken off, whatever
// it is ("> ", "% ", "| ", "REM ", "!": a quoted mail, a TeX or batch
// comment; red team A2). The text before "-----END" on its line is one
// of them, so a body of one line keeps its characters.
func bodyLines(body string) []string {
	body = strings.NewReplacer(`\r\n`, "\n", `\n`, "\n", `\r`, "\n", "\r\n", "\n", "\r", "\n").Replace(body)
	lines := strings.Split(body, "\n")
	if len(lines) < 2 {
		return lines
	}
	lines = lines[1:] // the rest of the header line
	prefix, first := "", true
	for i, l := range lines {
		if strings.TrimSpace(l) == "" && i < len(lines)-1 {
			continue // a blank line (after PEM headers)
		}
		if first {
			prefix, first = l, false
			continue
		}
		n := 0
		for n < len(prefix) && n < len(l) && prefix[n] == l[n] {
			n++
		}
		prefix = prefix[:n]
	}
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		out = append(out, strings.TrimPrefix(l, prefix))
	}
	return out
}

// liveKey: a private-key block (the match's first, up to "-----END") is
// key material that parses (PKCS#1, PKCS#8, SEC 1, OpenSSH, OpenPGP; an
// encrypted one too: its passphrase is all that stands between it and its
// use), once the layout of the text around it is taken off each line (a
// prefix shared by all lines, comment markers, string quotes and
// concatenation, escaped newlines, indentation).
func liveKey(secret string) bool {
	begin := strings.Index(secret, "-----BEGIN ")
	if begin < 0 {
		return false
	}
	typ, rest, ok := keyArmour(secret[begin:])
	if !ok || !strings.HasSuffix(typ, "PRIVATE KEY") && typ != "PGP PRIVATE KEY BLOCK" {
		return false
	}
	if !strings.Contains(secret[begin:], "-----END") {
		return false // the match ran to another key's header: not one key
	}
	if strings.Contains(rest, "-----BEGIN") {
		return false // two headers: the body after the second is its own block
	}
	// with the shared prefix taken off, and without (a prefix made of
	// base64's own characters, "//" or "++", is also body)
	for _, lines := range [][]string{bodyLines(rest), strings.Split(strings.NewReplacer(`\r\n`, "\n", `\n`, "\n", `\r`, "\n", "\r", "\n").Replace(rest), "\n")} {
		if parsesAsKey(typ, lines) {
			return true
		}
		if typ == "PGP PRIVATE KEY BLOCK" {
			continue // its armour's lines are its own: not cleaned
		}
		for _, v := range cleanedBodies(lines) {
			if parsesAsKey(typ, v) {
				return true
			}
		}
	}
	return false
}

// maxDropLines bounds the bodies cleanedBodies makes by leaving out one
// line each (an RSA-4096 PEM body has 50 lines).
const maxDropLines = 128

// cleanedBodies returns a key body's lines read the ways a key is hidden
// in plain sight and still usable after a `tr -d`: each line with every
// character that is not base64 taken out (a space or "-" after every 15
// characters, red team F1; "..." appended, F2); then without the lines
// that mark an elision ("...", "xxxx", "# example"); then without each
// one line in turn that is not a line of body (any one short word or
// comment added to a key). A body that parses in one of them is a key:
// the parse is the evidence, not the layout.
func cleanedBodies(lines []string) [][]string {
	clean := make([]string, 0, len(lines))
	kept := make([]string, 0, len(lines))
	for _, l := range lines {
		l = keyLine(l)
		if strings.Contains(l, ":") {
			clean, kept = append(clean, l), append(kept, l) // a PEM header
			continue
		}
		c := notBase64.ReplaceAllString(l, "")
		clean = append(clean, c)
		if !elisionMarked(strings.ToLower(l)) || len(c) > 16 && !strings.Contains(strings.ToLower(c), "example") {
			kept = append(kept, c)
		}
	}
	out := [][]string{clean, kept}
	if len(clean) <= maxDropLines {
		for i, l := range lines {
			// a line of body is all base64 and 16 characters or more:
			// leaving it out cannot make a key parse (a body of 50 lines
			// that does not parse took 4.7 ms with every line tried)
			if c := clean[i]; c == "" || len(c) >= 16 && c == keyLine(l) {
				continue
			}
			out = append(out, append(clean[:i:i], clean[i+1:]...))
		}
	}
	return out
}

var notBase64 = regexp.MustCompile(`[^A-Za-z0-9+/=]+`)

// parsesAsKey: the body lines of a block of type typ decode to a private
// key.
func parsesAsKey(typ string, lines []string) bool {
	block := &pem.Block{Type: typ, Headers: map[string]string{}}
	var body strings.Builder
	pgp := typ == "PGP PRIVATE KEY BLOCK"
	for _, line := range lines {
		line = keyLine(line)
		if line == "" {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok { // a PEM header (Proc-Type:, DEK-Info:, Version:)
			block.Headers[strings.TrimSpace(k)] = strings.TrimSpace(v)
			continue
		}
		body.WriteString(line)
		if pgp {
			body.WriteByte('\n') // the armour's checksum line stays a line
		}
	}
	if pgp {
		return pgpPrivateKey(body.String())
	}
	der, err := base64.StdEncoding.DecodeString(body.String())
	if err != nil || len(der) == 0 {
		return false
	}
	block.Bytes = der
	if _, err := ssh.ParseRawPrivateKey(pem.EncodeToMemory(block)); err == nil {
		return true
	} else if _, encrypted := err.(*ssh.PassphraseMissingError); encrypted {
		return true
	}
	// what ssh does not read (an X25519 PKCS#8 key, a bare SEC 1 key of a
	// curve it leaves out)
	if _, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return true
	}
	if _, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return true
	}
	_, err = x509.ParseECPrivateKey(der)
	return err == nil
}

// pgpPrivateKey: an OpenPGP armoured body (base64 lines and the "="
// checksum line) holds a secret key, encrypted or not.
func pgpPrivateKey(body string) bool {
	armoured := "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n" + body + "-----END PGP PRIVATE KEY BLOCK-----\n"
	keys, err := openpgp.ReadArmoredKeyRing(strings.NewReader(armoured))
	if err != nil {
		return false
	}
	for _, e := range keys {
		if e.PrivateKey != nil {
			return true
		}
	}
	return false
}

// keyLine takes the text's layout off one line of a key's body: leading
// space and a comment or quote marker ("# ", "// ", "* ", "> ", "; ",
// `"`, `+ "`), and trailing quotes, commas, semicolons, a line
// continuation and a string concatenation (`" +`). Base64's own "/" and
// "+" are kept where they belong to the body.
func keyLine(line string) string {
	const quotes = `"'` + "`"
	line = strings.TrimSpace(line)
	for _, m := range []string{"//", "#", "*", ">", ";", "--"} {
		if rest, ok := strings.CutPrefix(line, m); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			line = strings.TrimSpace(rest)
			break
		}
	}
	// + "…": the next piece of a concatenated string
	if rest, ok := strings.CutPrefix(line, "+"); ok {
		if r := strings.TrimSpace(rest); r != "" && strings.ContainsRune(quotes, rune(r[0])) {
			line = r
		}
	}
	line = strings.TrimRight(strings.TrimLeft(line, quotes), " \t\\,;")
	// "…" +: a string concatenated with the next
	if t := strings.TrimRight(line, " \t+"); t != line && t != "" && strings.ContainsRune(quotes, rune(t[len(t)-1])) {
		line = t
	}
	line = strings.TrimRight(line, quotes+",; \t")
	if strings.Trim(line, "+ \t") == "" {
		return "" // what is left of a concatenation
	}
	return line
}

// connURL is a connection URL's parts, percent-decoded where they decode.
type connURL struct {
	user, pass, host string
	rawPass          string
}

// parseConnURL reads scheme://user:password@host out of a match: with
// net/url when it parses, else leniently (url.Parse refuses `]`, `{}`,
// `^` and bad escapes in a password, which samples are full of): the user
// info up to the last @, the password after the first colon, the host up
// to the first of [:/?#].
func parseConnURL(m string) (connURL, bool) {
	if u, err := url.Parse(m); err == nil && u.User != nil {
		pass, _ := u.User.Password()
		raw := ""
		if i := strings.Index(m, "://"); i >= 0 {
			if at := strings.LastIndex(m, "@"); at > i {
				_, raw, _ = strings.Cut(m[i+3:at], ":")
			}
		}
		return connURL{user: u.User.Username(), pass: pass, rawPass: raw, host: u.Hostname()}, true
	}
	_, rest, ok := strings.Cut(m, "://")
	at := strings.LastIndex(rest, "@")
	if !ok || at < 0 {
		return connURL{}, false
	}
	user, pass, ok := strings.Cut(rest[:at], ":")
	if !ok {
		return connURL{}, false
	}
	host := rest[at+1:]
	if i := strings.IndexAny(host, ":/?#"); i >= 0 {
		host = host[:i]
	}
	c := connURL{user: user, pass: pass, rawPass: pass, host: host}
	if d, err := url.PathUnescape(pass); err == nil {
		c.pass = d
	}
	if d, err := url.PathUnescape(user); err == nil {
		c.user = d
	}
	return c, true
}

// sampleConnURL: a URL that documentation, templates and parser tests
// write, not one that logs in anywhere.
func sampleConnURL(c connURL) bool {
	switch {
	case isExampleHost(c.host):
		return true
	case c.pass == c.user: // postgres:postgres, root:root
		return true
	case demoAccount(c.user, c.pass):
		return true
	case placeholderWord(c.pass), templated(c.rawPass):
		return true
	case strings.Contains(c.pass, ":"): // user:pa:ss@host, a URL parser's test input
		return true
	case badEscape.MatchString(c.rawPass): // %zz: no client would send it
		return true
	}
	return false
}

var badEscape = regexp.MustCompile(`%(?:[^0-9A-Fa-f]|[0-9A-Fa-f][^0-9A-Fa-f]|[0-9A-Fa-f]?$)`)

// templated: the password is a template's slot ({}, %s, ${VAR}, $VAR,
// {{ .Password }}, <password>, $(cmd)), not a value.
func templated(pass string) bool {
	return templateSlot.MatchString(pass)
}

var templateSlot = regexp.MustCompile(`\{[^{}]*\}|%(?:\([^)]*\))?[-+ #0]*\d*[sdv]|\$\{|\$[A-Za-z_][A-Za-z0-9_]*|\$\(|<[^<>]+>|@@\w+@@|__\w+__`)

// localHost: a host that is not reachable from outside the machine or its
// compose network — localhost, loopback, private and link-local addresses,
// a single-label name (db, postgres, redis: a compose service). A real
// password for such a host is still a finding, at the local-host tier.
func localHost(h string) bool {
	h = strings.ToLower(strings.Trim(h, "[]"))
	switch {
	case h == "" || h == "localhost" || strings.HasSuffix(h, ".localhost") || h == "host.docker.internal":
		return true
	case !strings.Contains(h, ".") && !strings.Contains(h, ":"):
		return true // single label
	}
	ip := net.ParseIP(h)
	return ip != nil && (ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified())
}

// keyBody: a private key match holds a key — at least 64 characters of
// base64 between its armour lines, once each line's layout is taken off
// as the detector takes it off (keyLine: comment markers, quotes, string
// concatenation) and PEM headers (Proc-Type:, DEK-Info:) are left out.
// Docs write "<Private key data here.>" or "MIIEv...": placeholders, not
// keys. keyBody trimmed every line's trailing '+' and leading '/' before,
// base64's own characters: a one-line Ed25519 body (64 characters) ending
// in '+' counted 63, and such a key was left in the output unredacted.
func keyBody(secret string) bool {
	begin := strings.Index(secret, "-----BEGIN")
	if begin < 0 {
		return true // not an armoured key: leave it to the rule
	}
	rest := secret[begin+len("-----BEGIN"):]
	if i := strings.Index(rest, "-----"); i >= 0 {
		rest = rest[i+5:]
	}
	if i := strings.Index(rest, "-----END"); i >= 0 {
		rest = rest[:i]
	}
	var b64 strings.Builder
	for _, line := range strings.FieldsFunc(strings.ReplaceAll(rest, `\n`, "\n"), func(r rune) bool { return r == '\n' || r == '\r' }) {
		line = keyLine(line)
		if strings.Contains(line, ":") { // a PEM header
			continue
		}
		b64.WriteString(line)
	}
	body := b64.String()
	return len(body) >= 64 && base64Body.MatchString(body)
}

var base64Body = regexp.MustCompile(`^[A-Za-z0-9+/]+={0,2}$`)

// selfNamed: generic-api-key found an identifier assigned to its own name
// (api_key = "api_key", API_KEY=API_KEY) or a kebab-case identifier
// (secret-key-ref), which are names, not values.
func selfNamed(g report.Finding) bool {
	v := strings.Trim(g.Secret, `"'`)
	if kebab.MatchString(v) {
		return true
	}
	name := g.Match
	if i := strings.IndexAny(name, ":="); i >= 0 {
		name = name[:i]
	}
	norm := func(s string) string {
		return strings.ToLower(strings.NewReplacer("_", "", "-", "", ".", "", `"`, "", "'", "", " ", "").Replace(s))
	}
	n := norm(name)
	return n != "" && (norm(v) == n || strings.HasSuffix(n, norm(v)) && len(norm(v)) >= 6)
}

var kebab = regexp.MustCompile(`^[a-z][a-z0-9]*(?:-[a-z0-9]+){2,}$`)

// placeholderPair: curl -u APP_KEY:APP_SECRET, ALL_CAPS names standing for
// the values.
func placeholderPair(s string) bool {
	return capsPair.MatchString(s)
}

var capsPair = regexp.MustCompile(`^\$?\{?[A-Z][A-Z0-9_]*\}?:\$?\{?[A-Z][A-Z0-9_]*\}?$`)

// checksummed: GitHub's and npm's tokens end with a CRC32 of their random
// part, base62-encoded in 6 characters (github.blog, 2021-04-05 and
// 2021-09-23).
func checksummed(s string) bool {
	return tokenShape.MatchString(s)
}

var tokenShape = regexp.MustCompile(`^(?:gh[pousr]|npm)_[0-9A-Za-z]{36}$`)

func checksumOK(s string) bool {
	body, sum := s[4:len(s)-6], s[len(s)-6:]
	var n uint64
	for _, c := range sum {
		i := strings.IndexRune(base62, c)
		if i < 0 {
			return false
		}
		n = n*62 + uint64(i)
	}
	return n == uint64(crc32.ChecksumIEEE([]byte(body)))
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// pathClass is the class of a path (relative to the scanned root) that
// makes a generic finding unlikely to be a live credential: test and
// fixture trees, examples, documentation, vendored code.
func pathClass(p string) string {
	dir, file := path.Split(path.Clean(strings.ReplaceAll(p, "\\", "/")))
	for _, seg := range strings.Split(strings.ToLower(strings.Trim(dir, "/")), "/") {
		if c, ok := dirClasses[seg]; ok {
			return c
		}
	}
	switch {
	case testFile.MatchString(file):
		return policy.SecretContextTest
	case docFile.MatchString(file):
		return policy.SecretContextDocs
	}
	return ""
}

var dirClasses = map[string]string{
	"test": policy.SecretContextTest, "tests": policy.SecretContextTest, "testing": policy.SecretContextTest,
	"__tests__": policy.SecretContextTest, "spec": policy.SecretContextTest, "specs": policy.SecretContextTest,
	"testdata": policy.SecretContextTest, "test-data": policy.SecretContextTest, "test_data": policy.SecretContextTest,
	"testsetup": policy.SecretContextTest, "fixtures": policy.SecretContextTest, "fixture": policy.SecretContextTest,
	"__fixtures__": policy.SecretContextTest, "mocks": policy.SecretContextTest, "__mocks__": policy.SecretContextTest,
	"testfixtures": policy.SecretContextTest, "e2e": policy.SecretContextTest,
	"example": policy.SecretContextExample, "examples": policy.SecretContextExample, "sample": policy.SecretContextExample,
	"samples": policy.SecretContextExample, "demo": policy.SecretContextExample, "demos": policy.SecretContextExample,
	"doc": policy.SecretContextDocs, "docs": policy.SecretContextDocs, "documentation": policy.SecretContextDocs,
	"vendor": policy.SecretContextVendored, "node_modules": policy.SecretContextVendored, "third_party": policy.SecretContextVendored,
	"third-party": policy.SecretContextVendored, "thirdparty": policy.SecretContextVendored, "bower_components": policy.SecretContextVendored,
}

var (
	testFile = regexp.MustCompile(`(?:_test\.(?:go|py|rb|exs?)|^test_.*\.py|\.(?:test|spec)\.[cm]?[jt]sx?|_spec\.rb|[a-z0-9]Tests?\.(?:java|kt|scala|cs))$`)
	docFile  = regexp.MustCompile(`(?i)\.(?:md|markdown|rst|adoc|asciidoc)$`)
)

// judgeExample is judge with the public example values: drop is whether
// convert leaves g out as a public example, a placeholder or a sample
// (counted in its note, never reported). The cache keeps a file whose
// every match is dropped so (cache.go): one rule, written once.
func judgeExample(g report.Finding, relPath string) (context string, drop bool) {
	context, drop = judge(g, relPath)
	return context, drop || isPublicExample(g)
}
