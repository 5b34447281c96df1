package secrets

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/secgate/secgate/gate/secrets/secretstest"
	"github.com/secgate/secgate/policy"
)

// pgpSecretKey returns a new OpenPGP secret key, armoured as gpg
// --armor --export-secret-keys writes it.
func pgpSecretKey(t *testing.T) string {
	t.Helper()
	e, err := openpgp.NewEntity("Deploy Bot", "", "bot@example.org", nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SerializePrivate(w, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String() + "\n"
}

// prefixed puts p before every line of key.
func prefixed(p, key string) string {
	return p + strings.ReplaceAll(strings.TrimSpace(key), "\n", "\n"+p) + "\n"
}

// Red team A1: a fake key block before a real key made one match whose
// first body was empty; it was dropped as a placeholder. A2: a real key
// behind a line prefix judgeKey did not know did not parse and was
// dropped; a PGP private key block did not parse at all. Each block is
// judged on its own, a shared line prefix is taken off, a PGP key is read
// with OpenPGP, and only a placeholder's body (no base64 to speak of) is
// dropped. With the judge of stage, every "live" case here is dropped
// (keyPlaceholder) and the "material" ones too.
func TestJudgeKey(t *testing.T) {
	rsa, ed := secretstest.RSAKeyPEM(t), secretstest.Ed25519KeyPEM(t)
	body := strings.Split(rsa, "\n")
	live := map[string]string{
		"empty fake block first":   "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n" + rsa,
		"one-line example first":   "Example: -----BEGIN RSA PRIVATE KEY----- ... -----END RSA PRIVATE KEY-----\n\n" + ed,
		"placeholder block first":  "-----BEGIN PRIVATE KEY-----\n<your key here>\n-----END PRIVATE KEY-----\n" + rsa,
		"prefix > ":                prefixed("> ", rsa),
		"prefix % ":                prefixed("% ", ed),
		"prefix | ":                prefixed("| ", rsa),
		"prefix REM ":              prefixed("REM ", rsa),
		"prefix !":                 prefixed("!", ed),
		"prefix # ":                prefixed("# ", rsa),
		"prefix -- ":               prefixed("-- ", rsa),
		"prefix >> ":               prefixed(">> ", ed),
		"PGP private key block":    pgpSecretKey(t),
		"PGP behind a prefix":      prefixed("> ", pgpSecretKey(t)),
		"PGP after a fake PGP one": "-----BEGIN PGP PRIVATE KEY BLOCK-----\n...\n-----END PGP PRIVATE KEY BLOCK-----\n" + pgpSecretKey(t),
	}
	for name, text := range live {
		if v := judgeKey(text); v != keyLive {
			t.Errorf("%s: verdict %d, want live (%d)", name, v, keyLive)
		}
	}
	material := map[string]string{
		"a body line dropped":    strings.Join(append(body[:5:5], body[6:]...), "\n"),
		"truncated to two lines": truncated(rsa),
		"garbage between armour": "-----BEGIN RSA PRIVATE KEY-----\n" + strings.Repeat("QUJD", 40) + "\n-----END RSA PRIVATE KEY-----\n",
		"PGP body cut short":     strings.Join(strings.Split(pgpSecretKey(t), "\n")[:6], "\n") + "\n-----END PGP PRIVATE KEY BLOCK-----\n",
		"fake first, cut real":   "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n" + truncated(rsa),
	}
	for name, text := range material {
		if v := judgeKey(text); v != keyMaterial {
			t.Errorf("%s: verdict %d, want material (%d)", name, v, keyMaterial)
		}
	}
	placeholders := map[string]string{
		"angle brackets":   "-----BEGIN PRIVATE KEY-----\n<Private key data here.>\n-----END PRIVATE KEY-----\n",
		"elided":           "-----BEGIN RSA PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC...\n-----END RSA PRIVATE KEY-----\n",
		"one line":         "Example: -----BEGIN RSA PRIVATE KEY----- ... -----END RSA PRIVATE KEY-----",
		"empty":            "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----",
		"two placeholders": "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n-----BEGIN PRIVATE KEY-----\nxxxx\n-----END PRIVATE KEY-----",
		"PGP placeholder":  "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n<paste your key>\n-----END PGP PRIVATE KEY BLOCK-----",
	}
	for name, text := range placeholders {
		if v := judgeKey(text); v != keyPlaceholder {
			t.Errorf("%s: verdict %d, want placeholder (%d)", name, v, keyPlaceholder)
		}
	}
}

// The red team's A1 and A2 files end to end, in the tree, range and
// history scans: each real key is found at the secrets tier wherever it
// is; a long body that does not parse is found with its path's context;
// a placeholder is not reported. On stage none of the real keys is found.
func TestFakeKeyFirstFound(t *testing.T) {
	rsa := secretstest.RSAKeyPEM(t)
	files := map[string][]byte{
		"id_rsa":               []byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n" + secretstest.RSAKeyPEM(t)),
		"deploy_key.txt":       []byte("Example: -----BEGIN RSA PRIVATE KEY----- ... -----END RSA PRIVATE KEY-----\n\n" + secretstest.RSAKeyPEM(t)),
		"docs/setup.md":        []byte("Example: -----BEGIN RSA PRIVATE KEY----- ... -----END RSA PRIVATE KEY-----\n\n" + secretstest.Ed25519KeyPEM(t)),
		"tests/k.txt":          []byte("Example: -----BEGIN RSA PRIVATE KEY----- ... -----END RSA PRIVATE KEY-----\n\n" + secretstest.RSAKeyPEM(t)),
		"mail.txt":             []byte("On Monday Bob wrote:\n" + prefixed("> ", secretstest.RSAKeyPEM(t))),
		"setup.bat":            []byte("@echo off\n" + prefixed("REM ", secretstest.RSAKeyPEM(t))),
		"paper.tex":            []byte(prefixed("% ", secretstest.Ed25519KeyPEM(t))),
		"secring.asc":          []byte(pgpSecretKey(t)),
		"tests/gpg/secret.asc": []byte(pgpSecretKey(t)),
		"tests/cut.pem":        []byte(truncated(rsa)),
		// the rule's match ends at the real key's header: its body is in no match
		"hidden.pem":      []byte("-----BEGIN PRIVATE KEY-----\nnot a real key\n-----END PRIVATE KEY-----\n" + secretstest.RSAKeyPEM(t)),
		"chain.pem":       []byte(strings.Repeat("-----BEGIN PRIVATE KEY-----\nyour key goes here\n-----END PRIVATE KEY-----\n", 3) + secretstest.Ed25519KeyPEM(t)),
		"docs/two.md":     []byte("Example:\n\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA...\n-----END RSA PRIVATE KEY-----\n\n" + secretstest.RSAKeyPEM(t)),
		"docs/example.md": []byte("```\n-----BEGIN PRIVATE KEY-----\n<your key here>\n-----END PRIVATE KEY-----\n```\n"),
	}
	want := map[string]string{
		"id_rsa": "", "deploy_key.txt": "", "docs/setup.md": "", "tests/k.txt": "",
		"mail.txt": "", "setup.bat": "", "paper.tex": "", "secring.asc": "", "tests/gpg/secret.asc": "",
		"tests/cut.pem": policy.SecretContextTest,
		"hidden.pem":    "", "chain.pem": "", "docs/two.md": "",
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
			got := map[string]string{}
			for _, f := range res.Findings {
				if f.Rule == "private-key" {
					if _, dup := got[f.Location.Path]; dup {
						t.Errorf("%s listed twice", f.Location.Path)
					}
					got[f.Location.Path] = f.Context
					// at the real key's header
					if line := map[string]int{"hidden.pem": 4, "chain.pem": 10, "docs/two.md": 7}[f.Location.Path]; line != 0 && f.Location.Line != line {
						t.Errorf("%s: line %d, want %d", f.Location.Path, f.Location.Line, line)
					}
				}
			}
			for p, c := range want {
				if gc, ok := got[p]; !ok {
					t.Errorf("%s: not found (found %v)", p, got)
				} else if gc != c {
					t.Errorf("%s: context %q, want %q", p, gc, c)
				}
			}
			if _, ok := got["docs/example.md"]; ok {
				t.Errorf("a placeholder key is reported")
			}
		})
	}
}
