package secrets

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/secgate/secgate/gate/secrets/secretstest"
)

// pkcs8RSA returns a new RSA key as PKCS#8 ("PRIVATE KEY"), as openssl
// genpkey writes it.
func pkcs8RSA(t *testing.T) string {
	t.Helper()
	b, _ := pem.Decode([]byte(secretstest.RSAKeyPEM(t)))
	k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// respaced rewrites a PEM key's body as one line with sep after every 15
// base64 characters: a run-length count of 16 or more saw none of it.
func respaced(key, sep string) string {
	lines := strings.Split(strings.TrimSpace(key), "\n")
	body := strings.Join(lines[1:len(lines)-1], "")
	var b strings.Builder
	for i := 0; i < len(body); i += 15 {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(body[i:min(i+15, len(body))])
	}
	return lines[0] + "\n" + b.String() + "\n" + lines[len(lines)-1] + "\n"
}

// withLine puts extra as the body's line at (1 = the first body line, -1
// = the last before the footer).
func withLine(key, extra string, at int) string {
	lines := strings.Split(strings.TrimSpace(key), "\n")
	if at < 0 {
		at = len(lines) - 1
	}
	out := append(append(append([]string{}, lines[:at]...), extra), lines[at:]...)
	return strings.Join(out, "\n") + "\n"
}

// withTail appends tail to the body's last line.
func withTail(key, tail string) string {
	lines := strings.Split(strings.TrimSpace(key), "\n")
	lines[len(lines)-2] += tail
	return strings.Join(lines, "\n") + "\n"
}

// attack7Keys are the red team's F1 and F2 cases (lab /work/attack7:
// k_rsa_sp, k_rsa_dash, r_ssh_sp, k_ed_dots, k_ed_dots2, k_ec_example,
// k_ec_xxxx), each made from a key generated here.
func attack7Keys(t *testing.T) map[string]string {
	ed, ec := secretstest.Ed25519KeyPEM(t), string(contentKey(t, false))
	return map[string]string{
		"rsa_sp.pem":     respaced(pkcs8RSA(t), " "),
		"rsa_dash.pem":   respaced(pkcs8RSA(t), "-"),
		"ssh_sp":         respaced(openSSHKey(t, ""), " "),
		"ed_dots.pem":    withLine(ed, "...", -1),
		"ed_dots2.pem":   withTail(ed, "..."),
		"ec_example.pem": withLine(ec, "# example", -1),
		"ec_xxxx.pem":    withLine(string(contentKey(t, false)), "xxxx", 1),
	}
}

// Red team attack7 F1 and F2: a real key whose body has a separator
// after every 15 characters, or an elision marker added ("...", "#
// example", "xxxx" lines, "..." after the body), was dropped as a
// placeholder; each is usable after a `tr -d` or with the line removed.
// Without cleanedBodies every case is keyPlaceholder.
func TestSpacedKeyLive(t *testing.T) {
	for name, text := range attack7Keys(t) {
		if v := judgeKey(text); v != keyLive {
			t.Errorf("%s: verdict %d, want live (%d)", name, v, keyLive)
		}
	}
	// a separated key cut short still is key material, not a placeholder
	// (with runs of 16 counted it had none)
	cut := respaced(pkcs8RSA(t), " ")
	cut = cut[:len(cut)/2] + "\n-----END PRIVATE KEY-----\n"
	if v := judgeKey(cut); v != keyMaterial {
		t.Errorf("separated, cut short: verdict %d, want material (%d)", v, keyMaterial)
	}
	// placeholders stay placeholders when cleaned
	for _, text := range []string{
		"-----BEGIN PRIVATE KEY-----\n<paste the private key of the deploy account here, the one from the admin console>\n-----END PRIVATE KEY-----\n",
		"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI...\n...\nxxxx\n-----END EC PRIVATE KEY-----\n",
		withLine(truncated(secretstest.RSAKeyPEM(t)), "...", -1), // two lines and "..."
	} {
		if v := judgeKey(text); v != keyPlaceholder {
			t.Errorf("verdict %d, want placeholder (%d):\n%s", v, keyPlaceholder, text)
		}
	}
}

// The same cases end to end in the tree and range scans (and history):
// each is found at the secrets tier. Without cleanedBodies none is found.
func TestSpacedKeyFound(t *testing.T) {
	keys := attack7Keys(t)
	files := map[string][]byte{}
	for name, text := range keys {
		files["deploy/"+name] = []byte(text)
	}
	dir := contentRepo(t, files)
	for _, mode := range contentModes {
		t.Run(mode, func(t *testing.T) {
			opts := Options{Root: dir}
			opts = inMode(opts, mode)
			res, err := New(opts).Scan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			got := keyContexts(t, res)
			for name := range keys {
				if c, ok := got["deploy/"+name]; !ok {
					t.Errorf("%s: not found (found %v)", name, got)
				} else if c != "" {
					t.Errorf("%s: context %q, want none", name, c)
				}
			}
		})
	}
}

// Source code that builds a key is not one: the rule's lazy match runs
// from a header in a comment through the code to the next "KEY-----", and
// identifiers (MarshalPKCS8PrivateKey) look like random pieces; only
// lines that are mostly such pieces count as key material (counting
// every piece, the gate failed its own repository on a test helper). A
// real key with prose lines inside its block is still found.
func TestKeyBuildingSourceNotAKey(t *testing.T) {
	src := "// Ed25519KeyPEM returns a key as PKCS#8 PEM\n// (\"-----BEGIN PRIVATE KEY-----\"): made at run time.\n" +
		"func Ed25519KeyPEM(t testing.TB) string {\n\t_, k, err := ed25519.GenerateKey(rand.Reader)\n\tif err != nil {\n\t\tt.Fatal(err)\n\t}\n" +
		"\tder, err := x509.MarshalPKCS8PrivateKey(k)\n\tif err != nil {\n\t\tt.Fatal(err)\n\t}\n" +
		"\treturn string(pem.EncodeToMemory(&pem.Block{Type: \"PRIVATE KEY\", Bytes: der}))\n}\n\n" +
		"// RSAKeyPEM returns a 1024-bit RSA key as PKCS#1 PEM (\"-----BEGIN\n// RSA PRIVATE KEY-----\").\n"
	lines := strings.Split(strings.TrimSuffix(secretstest.RSAKeyPEM(t), "\n"), "\n")
	var padded []string
	for i, l := range lines {
		padded = append(padded, l)
		if i > 0 && i < len(lines)-1 {
			padded = append(padded, "note: this line is prose, not part of the key at all")
		}
	}
	dir := contentRepo(t, map[string][]byte{"keys/keys.go": []byte(src), "deploy/padded.pem": []byte(strings.Join(padded, "\n") + "\n")})
	for _, mode := range contentModes {
		res, err := New(inMode(Options{Root: dir}, mode)).Scan(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got := keyContexts(t, res)
		if _, ok := got["keys/keys.go"]; ok {
			t.Errorf("%s: source code that builds a key reported as one", mode)
		}
		if _, ok := got["deploy/padded.pem"]; !ok {
			t.Errorf("%s: a real key with prose lines inside its block not found (found %v)", mode, got)
		}
	}
}
