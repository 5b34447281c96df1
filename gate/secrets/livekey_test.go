package secrets

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/secgate/secgate/gate/secrets/secretstest"
	"github.com/secgate/secgate/policy"
)

// openSSHKey returns a new Ed25519 key in OpenSSH's format, encrypted with
// passphrase when it is not empty.
func openSSHKey(t *testing.T, passphrase string) string {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var b *pem.Block
	if passphrase == "" {
		b, err = ssh.MarshalPrivateKey(k, "")
	} else {
		b, err = ssh.MarshalPrivateKeyWithPassphrase(k, "", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(b))
}

// truncated keeps a key's armour and its first body lines: a fixture's
// shape, not key material.
func truncated(key string) string {
	lines := strings.Split(strings.TrimSpace(key), "\n")
	return strings.Join(append(lines[:3:3], lines[len(lines)-1]), "\n") + "\n"
}

// Red team F7: key material that parses keeps the secrets tier wherever
// it is written; what does not parse keeps its path's context.
func TestLiveKey(t *testing.T) {
	ed, rsa, ec := secretstest.Ed25519KeyPEM(t), secretstest.RSAKeyPEM(t), string(contentKey(t, false))
	quoted, _ := json.Marshal(ed)
	live := map[string]string{
		"PKCS#8 Ed25519":        ed,
		"PKCS#1 RSA":            rsa,
		"SEC 1 EC":              ec,
		"OpenSSH":               openSSHKey(t, ""),
		"OpenSSH, encrypted":    openSSHKey(t, "correct horse"),
		"JSON string":           string(quoted),
		"commented with #":      "# " + strings.ReplaceAll(strings.TrimSpace(ec), "\n", "\n# "),
		"Go concatenation":      `"` + strings.ReplaceAll(strings.TrimSpace(rsa), "\n", `\n" +`+"\n\t\"") + `"`,
		"indented in markdown":  "    " + strings.ReplaceAll(ed, "\n", "\n    "),
		"CRLF line ends":        strings.ReplaceAll(rsa, "\n", "\r\n"),
		"YAML block, two lines": "key: |\n  " + strings.ReplaceAll(strings.TrimSpace(ed), "\n", "\n  "),
	}
	for name, text := range live {
		if !liveKey(text) {
			t.Errorf("%s: not read as a key:\n%s", name, text)
		}
	}
	body := strings.Split(rsa, "\n")
	dead := map[string]string{
		"truncated RSA":          truncated(rsa),
		"a body line dropped":    strings.Join(append(body[:5:5], body[6:]...), "\n"),
		"placeholder":            "-----BEGIN PRIVATE KEY-----\n<your key here>\n-----END PRIVATE KEY-----\n",
		"two headers, one body":  "-----BEGIN PRIVATE KEY-----\n" + ed,
		"public key":             strings.ReplaceAll(ed, "PRIVATE", "PUBLIC"),
		"a character flipped":    strings.Replace(ed, "M", "N", 1),
		"no armour":              strings.Join(body[1:len(body)-2], "\n"),
		"garbage between armour": "-----BEGIN RSA PRIVATE KEY-----\n" + strings.Repeat("QUJD", 40) + "\n-----END RSA PRIVATE KEY-----\n",
	}
	for name, text := range dead {
		if liveKey(text) {
			t.Errorf("%s: read as a key", name)
		}
	}
}

// The red team's layouts end to end, in the tree, range and history
// scans: a key file with a line of prose under docs/, a key in a
// markdown code fence under docs/, a real key under tests/ are at the
// secrets tier (no context); a truncated fixture key under tests/ and a
// truncated one in a README keep their path's context. Without liveKey in
// judge the first three get context docs, docs, test.
func TestLiveKeyNotLoweredByPath(t *testing.T) {
	fenced := "# Runbook\n\nThe deploy key:\n\n```\n" + secretstest.Ed25519KeyPEM(t) + "```\n\nRotate it yearly.\n"
	files := map[string][]byte{
		"docs/deploy-key.md":      []byte(secretstest.Ed25519KeyPEM(t) + "\nrotate yearly\n"),
		"docs/runbook.md":         []byte(fenced),
		"tests/k.pem":             []byte(secretstest.RSAKeyPEM(t)),
		"tests/fixtures/fake.pem": []byte(truncated(secretstest.RSAKeyPEM(t))),
		"guide/README.md":         []byte("Example:\n\n```\n" + truncated(openSSHKey(t, "")) + "```\n"),
	}
	want := map[string]string{
		"docs/deploy-key.md": "", "docs/runbook.md": "", "tests/k.pem": "",
		"tests/fixtures/fake.pem": policy.SecretContextTest, "guide/README.md": policy.SecretContextDocs,
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
			for p, c := range want {
				if gc, ok := got[p]; !ok {
					t.Errorf("%s: not found (found %v)", p, got)
				} else if gc != c {
					t.Errorf("%s: context %q, want %q", p, gc, c)
				}
			}
		})
	}
}
