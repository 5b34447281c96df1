package secrets

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zricethezav/gitleaks/v8/detect/codec"
	"github.com/zricethezav/gitleaks/v8/report"
	"github.com/zricethezav/gitleaks/v8/sources"

	"github.com/secgate/secgate/gate/secrets/secretstest"
)

// testDetectors returns the scan's detector with windows on every
// fragment, of any size and coverage, and as the scan has it.
func testDetectors(t testing.TB) (everywhere, prod *detector) {
	t.Helper()
	cfg, _, err := loadConfig(context.Background(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	everywhere = newDetector(context.Background(), cfg, maxDecodeDepth, 0)
	everywhere.maxReach, everywhere.maxCover = 1e9, 2
	return everywhere, newDetector(context.Background(), cfg, maxDecodeDepth, 0)
}

// alnum24 draws the 24-character values the windowed tests plant.
func alnum24(t testing.TB) func() string {
	return func() string {
		return secretstest.Random(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 24)
	}
}

// detectable draws a value (secretstest.Drawn) that gitleaks' own
// detector, all rules, finds with rule in each plain line the contexts
// make of it: a value that trips the rule's entropy floor or stopwords is
// drawn again, so that a test's empty result means the code, not the draw.
func detectable(t testing.TB, d *detector, rule string, draw func() string, contexts ...func(v string) string) string {
	t.Helper()
	return secretstest.Drawn(t, draw, func(v string) error {
		for _, c := range contexts {
			line := c(v)
			found := d.full().DetectContext(context.Background(), asDetect(sources.Fragment{Raw: line, FilePath: "plain.txt", StartLine: 1}))
			if !slices.ContainsFunc(found, func(f report.Finding) bool { return f.RuleID == rule }) {
				return fmt.Errorf("gitleaks finds no %s in %q", rule, line)
			}
		}
		return nil
	})
}

// quoted makes the plain line "<key> = '<v><suffix>'".
func quoted(key, suffix string) func(string) string {
	return func(v string) string { return key + " = '" + v + suffix + "'" }
}

// A value gitleaks refuses (one of generic-api-key's stopwords, inside a
// value otherwise random) is drawn again, and the value kept is one
// gitleaks finds.
func TestDetectableRedraws(t *testing.T) {
	d, _ := testDetectors(t)
	draws, random := 0, alnum24(t)
	draw := func() string {
		draws++
		if draws == 1 {
			return "Xq7" + "java" + "script" + "Wz9Pk2Lm4Nb6Vc8"
		}
		return random()
	}
	line := quoted("api_key", "")
	v := detectable(t, d, "generic-api-key", draw, line)
	if draws < 2 {
		t.Fatalf("%d draws: the refused value was kept", draws)
	}
	if v == "Xq7javascriptWz9Pk2Lm4Nb6Vc8" {
		t.Fatal("the refused value was returned")
	}
	// the first value is one gitleaks itself refuses, the kept one it finds
	for want, value := range map[bool]string{false: "Xq7javascriptWz9Pk2Lm4Nb6Vc8", true: v} {
		found := d.full().DetectContext(context.Background(), asDetect(sources.Fragment{Raw: line(value), FilePath: "plain.txt", StartLine: 1}))
		if got := len(found) > 0; got != want {
			t.Errorf("gitleaks on %q: found %v, want %v", line(value), got, want)
		}
	}
}

func canonical(fs []report.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %s:%d-%d c%d-%d line=%q match=%q secret=%q entropy=%v tags=%v",
			f.RuleID, f.File, f.StartLine, f.EndLine, f.StartColumn, f.EndColumn, f.Line, f.Match, f.Secret, f.Entropy, f.Tags))
	}
	slices.Sort(out)
	return out
}

// sameAsGitleaks checks one fragment: windowed findings, with windows
// everywhere and as the scan sets them, against gitleaks' DetectContext
// with all the rules; and whether gitleaks' decoder finds anything.
func sameAsGitleaks(t testing.TB, d, prod *detector, fr sources.Fragment) int {
	t.Helper()
	ctx := context.Background()
	want := canonical(d.full().DetectContext(ctx, asDetect(fr)))
	for _, d := range []*detector{d, prod} {
		got := canonical(d.DetectContext(ctx, fr))
		if !slices.Equal(got, want) {
			t.Errorf("%s (max reach %v): windowed findings differ from gitleaks'\n got: %s\nwant: %s", fr.FilePath, d.maxReach, strings.Join(got, "\n      "), strings.Join(want, "\n      "))
		}
	}
	_, segments := codec.NewDecoder().Decode(fr.Raw, nil)
	if got := len(encodedLines(fr.Raw)) > 0; got != (len(segments) > 0) {
		t.Errorf("%s: encoded lines found: %v, gitleaks' decoder found %d segments", fr.FilePath, got, len(segments))
	}
	return len(want)
}

func TestWindowableRules(t *testing.T) {
	d, _ := testDetectors(t)
	forms := map[string][]form{}
	for _, wr := range d.rules {
		forms[wr.id] = wr.forms
	}
	t.Logf("%d of %d rules run on windows", len(d.rules), len(d.cfg.Rules))
	for _, id := range []string{"generic-api-key", "hashicorp-tf-password", "jwt", "vault-service-token", "aws-secret-access-key", "connection-url-credentials"} {
		if forms[id] == nil {
			t.Errorf("%s does not run on windows", id)
		}
	}
	// \s+ and (?s:.) reach across any number of lines; a path rule has no regex
	for _, id := range []string{"kubernetes-secret-yaml", "private-key", "pkcs12-file"} {
		if _, ok := forms[id]; ok {
			t.Errorf("%s runs on windows", id)
		}
	}
	var anchors []string
	for _, f := range forms["generic-api-key"] {
		anchors = append(anchors, f.anchors...)
	}
	for _, a := range []string{"access", "auth", "api", "credential", "creds", "key", "passwd", "password", "secret", "token"} {
		if !slices.Contains(anchors, a) {
			t.Errorf("generic-api-key: anchor %q missing from %q", a, anchors)
		}
	}
	// [\w.-]{0,50}? before the keyword (3 bytes each: (?i) lets \w match
	// the Kelvin sign); after it, the bounded separators, the secret to
	// the line's end, its terminator
	f := forms["generic-api-key"][0]
	if want := []step{{bytes: 150}}; !slices.Equal(f.before, want) {
		t.Errorf("generic-api-key before = %v, want %v", f.before, want)
	}
	if !slices.Contains(f.after, step{line: true}) {
		t.Errorf("generic-api-key after = %v: no step to the line's end", f.after)
	}
}

// TestWindowedMatchesGitleaks holds windowed detection equal to gitleaks'
// on every file of this repository (fixtures with real-format secrets,
// encoded ones, test code full of keywords) and on a tree of planted
// secrets, whole and cut into pieces that start and end anywhere.
func TestWindowedMatchesGitleaks(t *testing.T) {
	d, prod := testDetectors(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	planted := secretstest.New(t).Root
	stride := 1
	if raceEnabled {
		stride = 4 // this repository's files sampled: see race_test.go
	}
	// the planted tree whole in every mode, so that the comparison always
	// sees findings of many rules whichever files the sample takes
	own, ownFound := compareTree(t, d, prod, root, stride)
	n, found := compareTree(t, d, prod, planted, 1)
	if found < 15 {
		t.Errorf("only %d findings in the %d planted files: the comparison saw too few", found, n)
	}
	t.Logf("%d files of this repository (every %d), %d findings; %d planted files, %d findings; equal", own, stride, ownFound, n, found)
}

// compareTree compares every stride-th text file under dir, whole and a
// piece of it, and returns how many files it read and how many findings
// gitleaks gave on the whole files compared.
func compareTree(t *testing.T, d *detector, prod *detector, dir string, stride int) (files, found int) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && (e.Name() == ".git" || e.Name() == ".out") {
			return filepath.SkipDir
		}
		if !e.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil || len(data) > 4<<20 || slices.Contains(data, 0) {
			return err
		}
		i := files
		files++
		if i%stride != 0 {
			return nil
		}
		fr := sources.Fragment{Raw: string(data), FilePath: p, StartLine: 1}
		found += sameAsGitleaks(t, d, prod, fr)
		// a piece cut at arbitrary offsets: windows at a fragment's edges
		if n := len(fr.Raw); n > 10 {
			a, b := (i*7919)%(n/2), n/2+(i*104729)%(n/2)
			piece := fr
			piece.Raw, piece.StartLine = fr.Raw[a:b], 40
			sameAsGitleaks(t, d, prod, piece)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files, found
}

func FuzzWindowed(f *testing.F) {
	for _, s := range []string{
		"api_key = \"Zx8Lk2Jq9Pw4Rt6Yv1Nb3Mc5\"\n",
		"x\n\nconst token=\n  'ab12cd34ef56gh78ij90'\nnext line\n",
		"password: \"s3cr3tP4ss\"",
		"\u212Aey = \"Zx8Lk2Jq9Pw4Rt6Yv1Nb3Mc5\"",
		// tokens put together here, so that this file holds none
		strings.Join([]string{"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", "eyJzdWIiOiIxMjM0NTY3ODkwIn0", "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U\n"}, "."),
		"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
		"hvs" + "." + strings.Repeat("CAESIJlU8mpV7Z0sN2x3", 6) + "\n",
		"postgres://admin:hunter2secret@db.internal:5432/app\n",
		"x = \"YXBpX2tleT0iWng4TGsySnE5UHc0UnQ2WXYxTmIzTWM1Ig==\"\n",
		"url=https://h/?q=%70%61%73%73word%3D%22s3cr3tP4ss%22\n",
		"s = \"\\u0061\\u0070\\u0069_key = 'Zx8Lk2Jq9Pw4Rt6Yv1Nb3Mc5'\"\n",
		"U+0041 U+0050\nU+0049\n",
		"hex: 6170695f6b65793d225a78384c6b324a7139507734527436597631\n",
		"U+0061 U+0070 U+0069 U+005F U+006B U+0065 U+0079\nU+003D U+0027 U+0041 U+0042\n",
		"\t// key name retry id\n\tname := \"token response secret\"\n\tkey.request(id, 6213)\n\tauth_token := \"Zx8Lk2Jq9Pw4Rt6Yv1Nb3Mc5\"\n",
		"KEY=\n\n  \"Zx8Lk2Jq9Pw4Rt6Yv1Nb3Mc5\";\nTOKEN='\\nq8Rt6Yv1Nb3Mc5Zx8Lk2'",
	} {
		f.Add(s)
	}
	d, prod := testDetectors(f)
	f.Fuzz(func(t *testing.T, s string) {
		sameAsGitleaks(t, d, prod, sources.Fragment{Raw: s, FilePath: "fuzz.txt", StartLine: 1})
	})
}

// Encoded secrets are found in the decoded text around their lines, as
// gitleaks finds them: base64, hex and percent-encoded values, a decoded
// match that reaches across lines, one whose keyword is raw text before
// the encoded value, an encoding in an encoding, near a fragment's ends
// and deep inside filler code full of keywords.
func TestWindowedDecoded(t *testing.T) {
	d, prod := testDetectors(t)
	// each encoded row's text, decoded, with the value as it is planted
	value := detectable(t, d, "generic-api-key", alnum24(t),
		quoted("api_key", ""), func(v string) string { return `token := "` + v + `"` },
		func(v string) string { return `password="` + v + `"` }, func(v string) string { return "secret =\n\n  '" + v + "'\n" },
		quoted("auth_token", "xyz"), func(v string) string { return "note: token: " + v })
	pat := secretstest.GitHubPAT(t)
	b64 := base64.StdEncoding.EncodeToString
	encoded := []string{
		"blob = \"" + b64([]byte("api_key = '"+value+"'")) + "\"",
		"hexed = \"" + hex.EncodeToString([]byte("token := \""+value+"\"")) + "\"",
		"url = \"https://h/?q=" + url.QueryEscape("password=\""+value+"\"") + "&x=%41\"",
		"across = \"" + b64([]byte("secret =\n\n  '"+value+"'\n")) + "\"",
		"auth_token = '" + b64([]byte(value+"xyz")) + "'",
		"nested = \"" + b64([]byte(b64([]byte("GITHUB_TOKEN="+pat)))) + "\"",
		"gh = \"" + b64([]byte(pat)) + "\"",
		// U+XXXX runs go on across a line break onto a line that starts
		// with one
		unicodePoints("api_key = '"+value[:12]) + "\n" + unicodePoints(value[12:]+"'"),
		"note: " + unicodePoints("token: "+value),
	}
	var filler []string
	for i := range 40 {
		filler = append(filler, fmt.Sprintf("\tkey.request(token, %d) // auth secret api access", i))
	}
	positions := []int{0, 1, 20, 39, 40}
	if raceEnabled {
		positions = []int{1, 40} // a sample: see race_test.go
	}
	for i, e := range encoded {
		decodedFound := 0
		for _, at := range positions {
			lines := slices.Insert(slices.Clone(filler), at, e)
			for _, text := range []string{strings.Join(lines, "\n") + "\n", strings.Join(lines, "\n")} {
				fr := sources.Fragment{Raw: text, FilePath: fmt.Sprintf("enc%d.go", i), StartLine: 1}
				sameAsGitleaks(t, d, prod, fr)
				for _, g := range d.DetectContext(context.Background(), fr) {
					if slices.ContainsFunc(g.Tags, func(tag string) bool { return strings.HasPrefix(tag, "decode-depth:") }) {
						decodedFound++
					}
				}
			}
		}
		if decodedFound < len(positions) {
			t.Errorf("%.40q: %d decoded findings in %d fragments", e, decodedFound, 2*len(positions))
		}
	}
}

// unicodePoints writes s as U+XXXX sequences, one space apart.
func unicodePoints(s string) string {
	var parts []string
	for _, r := range s {
		parts = append(parts, fmt.Sprintf("U+%04X", r))
	}
	return strings.Join(parts, " ")
}

// The Kelvin sign is a k to (?i) and to strings.ToLower, the long s an s
// to (?i) only: keys written with them are found, or not, as gitleaks
// does, with and without the ASCII keyword elsewhere in the fragment.
func TestWindowedFolds(t *testing.T) {
	d, prod := testDetectors(t)
	value := detectable(t, d, "generic-api-key", alnum24(t), quoted("api_key", ""), quoted("secret", ""), quoted("token", ""))
	for _, line := range []string{
		"api_\u212Aey = '" + value + "'",
		"\u212AEY: \"" + value + "\"",
		"\u017Fecret = '" + value + "'",
		"pa\u017F\u017Fword := \"" + value + "\"",
		"to\u212Aen = '" + value + "' # \u017F",
		// a long s that only decoding makes (percent, hex and base64
		// decode to ASCII only; \u escapes and U+XXXX to any letter)
		`j = "\u017fecret = '` + value + `'"`,
		"u = " + unicodePoints("\u017Fecret = '"+value+"'"),
		// a long s a line before a value that decodes: the decoded
		// match's keyword (the ASCII one far off in the fragment)
		"\u017Fecret =\n\t'" + base64.StdEncoding.EncodeToString([]byte(value)) + "'",
	} {
		// and an encoded key, far from the line (a long s outside the
		// decoded regions leaves the fragment to the windows) or next
		// to it (inside them: the fragment goes to gitleaks whole)
		encoded := "\tb := \"" + base64.StdEncoding.EncodeToString([]byte(`api_key = "`+value+`"`)) + "\"\n"
		for _, other := range []string{"", "\t// the secret key\n"} {
			for _, far := range []string{"", strings.Repeat("\tz := compute(3)\n", 20) + encoded, encoded} {
				text := "package x\n\n" + other + strings.Repeat("\tx := compute(1)\n", 20) + "\t" + line + "\n" + far + strings.Repeat("\ty := compute(2)\n", 20)
				sameAsGitleaks(t, d, prod, sources.Fragment{Raw: text, FilePath: "fold.go", StartLine: 1})
			}
		}
	}
}

// A minified file is one long line with thousands of anchors on it: the
// same findings, and (BenchmarkDetectMinified) not a scan of the line per
// anchor.
func TestWindowedLongLine(t *testing.T) {
	d, prod := testDetectors(t)
	value := detectable(t, d, "generic-api-key", alnum24(t),
		func(v string) string { return `auth_token="` + v + `";` }, func(v string) string { return `api_key = "` + v + `"` })
	code := strings.Repeat(`var a={key:b.token,api:c.s.x};`, 400)
	for _, secret := range []string{
		`auth_token="` + value + `";`,
		`gh="` + secretstest.GitHubPAT(t) + `";`,
		`x="` + base64.StdEncoding.EncodeToString([]byte(`api_key = "`+value+`"`)) + `";`,
	} {
		texts := []string{code + secret + code, secret + code, code + secret, code + secret + code + "\n"}
		if raceEnabled {
			texts = texts[:1] // a sample: see race_test.go
		}
		for _, text := range texts {
			if sameAsGitleaks(t, d, prod, sources.Fragment{Raw: text, FilePath: "app.min.js", StartLine: 1}) == 0 {
				t.Errorf("%.20q in a minified line: nothing found", secret)
			}
		}
	}
}
