// Package secretstest plants real-format, random (so never valid) secrets in
// a directory for tests, and remembers every value so that tests can grep
// all of secgate's outputs for them.
package secretstest

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"hash/crc32"
	"math/big"
	"os"
	"path/filepath"
	"testing"
)

// Planted is one secret written into the tree.
type Planted struct {
	Rule  string // the gitleaks rule id expected to find it
	Path  string // slash-separated, relative to the tree root
	Line  int
	Value string // the secret itself
}

// Tree is a directory with planted secrets.
type Tree struct {
	Root    string
	Planted []Planted
	// Decoys are public example values and placeholders that must not be reported.
	Decoys []string
}

const (
	upper   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b32     = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	alnum   = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	digits  = "0123456789"
	b64char = alnum + "+/"
)

// Random returns n random characters from alphabet.
func Random(t testing.TB, alphabet string, n int) string {
	t.Helper()
	b := make([]byte, n)
	for i := range b {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			t.Fatal(err)
		}
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}

// maxDraws bounds Drawn: a filter that rejects a value drawn at random one
// time in ten rejects twenty in a row once in 10^20 runs.
const maxDraws = 20

// Drawn returns the first value draw makes that accept takes (accept says
// why it refuses one), logging every value it refuses, and fails the test
// when maxDraws draws were all refused. A value drawn at random can trip a
// rule's entropy floor, stopwords or keyword constraints: a test that
// plants one must know its detector finds it before asserting anything.
func Drawn(t testing.TB, draw func() string, accept func(string) error) string {
	t.Helper()
	for range maxDraws {
		v := draw()
		err := accept(v)
		if err == nil {
			return v
		}
		t.Logf("drew again: %q refused: %v", v, err)
	}
	t.Fatalf("%d values drawn, all refused", maxDraws)
	return ""
}

// AWSKeyID returns a random AWS access key id.
func AWSKeyID(t testing.TB) string { return "AKIA" + Random(t, b32, 16) }

// GitHubPAT returns a random classic GitHub personal access token, in the
// real format: 30 random characters and their CRC32 in 6 base62 digits.
func GitHubPAT(t testing.TB) string { return Checksummed("ghp_", Random(t, alnum, 30)) }

// Checksummed is a GitHub- or npm-format token: prefix, body, and the
// body's CRC32 (IEEE) in base62 (0-9A-Za-z), zero-padded to 6 characters.
func Checksummed(prefix, body string) string {
	const digits62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	sum := crc32.ChecksumIEEE([]byte(body))
	enc := make([]byte, 6)
	for i := 5; i >= 0; i-- {
		enc[i] = digits62[sum%62]
		sum /= 62
	}
	return prefix + body + string(enc)
}

// Ed25519KeyPEM returns a new Ed25519 private key as PKCS#8 PEM
// ("-----BEGIN PRIVATE KEY-----"): key material that parses, made at run
// time so that no key is committed.
func Ed25519KeyPEM(t testing.TB) string {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// RSAKeyPEM returns a new 1024-bit RSA private key as PKCS#1 PEM ("-----BEGIN
// RSA PRIVATE KEY-----"); small, for speed: only its shape matters.
func RSAKeyPEM(t testing.TB) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

// New writes a tree with one secret of each common kind, in plain files and
// inside a zip archive, plus decoys, and returns what it planted.
func New(t testing.TB) *Tree {
	t.Helper()
	root := t.TempDir()
	tr := &Tree{Root: root}

	keyID, awsSecret := AWSKeyID(t), Random(t, b64char, 40)
	ghp := GitHubPAT(t)
	slack := "xoxb-" + Random(t, digits, 12) + "-" + Random(t, digits, 13) + "-" + Random(t, alnum, 24)
	stripe := "sk_live_" + Random(t, alnum, 24)
	dbPass := Random(t, alnum, 18)
	zipped := GitHubPAT(t)
	encoded := GitHubPAT(t)

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}))

	tr.write(t, "config/prod.env",
		"# production settings\n"+
			"AWS_ACCESS_KEY_ID="+keyID+"\n"+
			"AWS_SECRET_ACCESS_KEY="+awsSecret+"\n"+
			"DATABASE_URL=postgres://app:"+dbPass+"@db.internal:5432/app\n")
	tr.plant("aws-access-token", "config/prod.env", 2, keyID)
	tr.plant("aws-secret-access-key", "config/prod.env", 3, awsSecret)
	tr.plant("connection-url-credentials", "config/prod.env", 4, dbPass)

	tr.write(t, "deploy/notify.sh", "#!/bin/sh\n\ncurl -H 'Authorization: token "+ghp+"' https://api.github.com/user\nSLACK_TOKEN=\""+slack+"\"\n")
	tr.plant("github-pat", "deploy/notify.sh", 3, ghp)
	tr.plant("slack-bot-token", "deploy/notify.sh", 4, slack)

	tr.write(t, "src/billing.py", "import stripe\n\nstripe.api_key = \""+stripe+"\"\n")
	tr.plant("stripe-access-token", "src/billing.py", 3, stripe)

	tr.write(t, "keys/deploy_key.pem", keyPEM)
	tr.plant("private-key", "keys/deploy_key.pem", 1, keyPEM)

	// The same token in plain text and base64-encoded: one finding.
	tr.write(t, "ci/settings.yml", "token: "+encoded+"\nencoded: "+base64.StdEncoding.EncodeToString([]byte("token="+encoded))+"\n")
	tr.plant("github-pat", "ci/settings.yml", 1, encoded)

	// A token inside a zip archive (a jar is a zip too).
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("BOOT-INF/classes/application.properties")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("github.token=" + zipped + "\n")); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	tr.writeBytes(t, "dist/app.jar", buf.Bytes())
	tr.plant("github-pat", "dist/app.jar!BOOT-INF/classes/application.properties", 1, zipped)

	// Values whose own characters look like a type prefix: a UUID-shaped
	// key (8 hex digits, then '-') and a GitLab token with '_' early. A
	// preview must show neither beyond the documented prefix.
	heroku := Random(t, "0123456789abcdef", 8) + "-" + Random(t, "0123456789abcdef", 4) + "-" + Random(t, "0123456789abcdef", 4) + "-" +
		Random(t, "0123456789abcdef", 4) + "-" + Random(t, "0123456789abcdef", 12)
	glpat := "glpat-" + Random(t, alnum, 2) + "_" + Random(t, alnum, 17)
	// A real password whose user name is AWS's documentation key id.
	nextToExample := Random(t, alnum, 16)
	tr.write(t, "ops/deploy.env",
		"HEROKU_API_KEY="+heroku+"\n"+
			"GITLAB_TOKEN="+glpat+"\n"+
			"BACKUP_URL=postgres://AKIAIOSFODNN7EXAMPLE:"+nextToExample+"@backup.internal/app\n")
	tr.plant("heroku-api-key", "ops/deploy.env", 1, heroku)
	tr.plant("gitlab-pat", "ops/deploy.env", 2, glpat)
	tr.plant("connection-url-credentials", "ops/deploy.env", 3, nextToExample)

	// Decoys: public documentation values and placeholders.
	jwtSample := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
	tr.write(t, "docs/README.md", "Configure the client:\n\n"+
		"    aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"+
		"    aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n\n"+
		"Send `Authorization: Bearer "+jwtSample+"`.\n\n"+
		"    DATABASE_URL=postgres://user:${DB_PASSWORD}@localhost/app\n"+
		"    REDIS_URL=redis://admin:<password>@cache:6379\n"+
		"    AMQP_URL=amqp://guest:guest@rabbit:5672\n"+
		"    MONGO_URL=mongodb://root:hunter2secret@db.example.com/admin\n"+
		"    stripe.api_key = \"sk_test_4eC39HqLyjWDarjtT1zdp7dc\"\n")
	tr.Decoys = []string{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", jwtSample, "sk_test_4eC39HqLyjWDarjtT1zdp7dc", "hunter2secret"}
	return tr
}

func (tr *Tree) plant(rule, path string, line int, value string) {
	tr.Planted = append(tr.Planted, Planted{Rule: rule, Path: path, Line: line, Value: value})
}

func (tr *Tree) write(t testing.TB, rel, content string) { tr.writeBytes(t, rel, []byte(content)) }

func (tr *Tree) writeBytes(t testing.TB, rel string, content []byte) {
	t.Helper()
	p := filepath.Join(tr.Root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
}

// documentedPrefixes are the public type prefixes the planted tokens start
// with, which previews may show.
var documentedPrefixes = []string{"AKIA", "ghp_", "xoxb-", "sk_live_", "glpat-"}

// Pieces returns every n-character piece of every planted value (of a
// private key, of its base64 body), except pieces that lie wholly within a
// documented public prefix: no output may contain any of them.
func (tr *Tree) Pieces(n int) []string {
	seen := map[string]bool{}
	var out []string
	add := func(v string, skip int) {
		for i := 0; i+n <= len(v); i++ {
			if i+n <= skip {
				continue
			}
			if p := v[i : i+n]; !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	for _, p := range tr.Planted {
		if block, _ := pem.Decode([]byte(p.Value)); block != nil {
			add(base64.StdEncoding.EncodeToString(block.Bytes), 0)
			continue
		}
		skip := 0
		for _, pre := range documentedPrefixes {
			if len(p.Value) > len(pre) && p.Value[:len(pre)] == pre {
				skip = len(pre)
			}
		}
		add(p.Value, skip)
	}
	return out
}

// Values returns every planted secret value, and the distinctive parts of
// multi-line ones (each line of a private key body).
func (tr *Tree) Values() []string {
	var vs []string
	for _, p := range tr.Planted {
		vs = append(vs, p.Value)
		if block, _ := pem.Decode([]byte(p.Value)); block != nil {
			body := base64.StdEncoding.EncodeToString(block.Bytes)
			for i := 0; i+64 <= len(body); i += 64 {
				vs = append(vs, body[i:i+64])
			}
		}
	}
	return vs
}
