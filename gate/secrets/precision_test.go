package secrets

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/secgate/secgate/gate/secrets/secretstest"
	"github.com/secgate/secgate/policy"
)

// The false-positive classes measured on public repositories (issue 10),
// written as fixture files: each is dropped as a sample or reported in a
// context whose default tier does not block — while the same credential
// shapes outside those contexts still block. Values are assembled at run
// time so that this file holds no credential-shaped string.
func TestPrecisionFixtures(t *testing.T) {
	const at = "@"
	pw := func() string { return secretstest.Random(t, "abcdefghijkmnopqrstuvwxyz23456789", 16) }
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	// a fixture's shape: the armour and the first two body lines
	pemLines := strings.Split(strings.TrimSpace(keyPEM), "\n")
	fakeKey := strings.Join([]string{pemLines[0], pemLines[1], pemLines[2], pemLines[len(pemLines)-1]}, "\n")
	docKey := strings.Join([]string{
		"/// This should be an ASCII-encoded blob that starts with `-----BEGIN PRIVATE KEY-----`.",
		"///", "/// # Example", "/// Note: embedding keys in the binary is not advised.", "///",
		`/// const KEY: &[u8] = b"\`, "/// -----BEGIN PRIVATE KEY-----", "/// <Private key data here.>", `/// -----END PRIVATE KEY-----";`,
	}, "\n")
	var javaKey strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(keyPEM), "\n") {
		javaKey.WriteString("        \"" + l + "\\n\" +\n")
	}
	realPAT := secretstest.GitHubPAT(t)
	fakePAT := realPAT[:len(realPAT)-1] + map[bool]string{true: "B", false: "A"}[strings.HasSuffix(realPAT, "A")]
	azurite := "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

	const drop = "dropped"
	cases := []struct {
		name, path, line, want string
	}{
		// 2. connection URLs
		{"oracle demo account", "db/config.py", "DSN = 'oracle://scott:tiger" + at + "orcl.acme-corp.io:1521/ORCL'", drop},
		{"oracle demo, suffixed", "db/config.py", "DSN = 'oracle://scott:tiger123" + at + "orcl.acme-corp.io:1521/ORCL'", drop},
		{"firebird default admin", "conf/fb.ini", "url=firebird://SYSDBA:masterkey" + at + "fb.acme-corp.io/employee.fdb", drop},
		{"placeholder, encoded space", "conf/app.ini", "url=postgresql://app:pass%20word" + at + "pg.acme-corp.io/app", drop},
		{"placeholder, encoded hash", "conf/app.ini", "url=mysql://root:%23password" + at + "my.acme-corp.io/app", drop},
		{"template braces", "conf/app.py", "URL = 'postgres://app:{}" + at + "pg.acme-corp.io/app'.format(p)", drop},
		{"printf verb", "conf/app.go", `dsn := "postgres://app:%s` + at + `pg.acme-corp.io/app"`, drop},
		{"shell variable", "deploy/run.sh", "DATABASE_URL=postgres://app:$DB_PASSWORD" + at + "pg.acme-corp.io/app", drop},
		{"parser test input, colon", "urlparse/cases.txt", "http://user:pa:ss" + at + "host.acme-corp.io/", drop},
		{"parser test input, bad escape", "urlparse/cases.txt", "ftp://u:%zzsecret99" + at + "ftp.acme-corp.io/", drop},
		{"example host that url.Parse refuses", "conf/app.ini", "url=postgres://app:p]q{x}^y9" + at + "db.example.com/app", drop},
		{"localhost", "docker/dev.env", "DATABASE_URL=postgres://app:" + pw() + at + "localhost:5432/app", policy.SecretContextLocalHost},
		{"loopback", "docker/dev.env", "REDIS_URL=redis://app:" + pw() + at + "127.0.0.1:6379", policy.SecretContextLocalHost},
		{"private address", "docker/dev.env", "AMQP_URL=amqp://app:" + pw() + at + "10.1.2.3:5672", policy.SecretContextLocalHost},
		{"compose service name", "compose.yaml", "      DATABASE_URL: postgres://app:" + pw() + at + "db:5432/app", policy.SecretContextLocalHost},
		// 3. fixture keys that are not key material (truncated) in test,
		// docs, example and vendored trees; tokens in test trees; a
		// fake-checksum token anywhere
		{"fixture key under tests/", "tests/certs/server.key", fakeKey, policy.SecretContextTest},
		{"fixture key under testdata/", "pkg/tls/testdata/client.pem", fakeKey, policy.SecretContextTest},
		{"fixture key in a fixture", "spec/fixtures/ssh/id_ecdsa", fakeKey, policy.SecretContextTest},
		{"fixture key quoted in the docs", "docs/tls.md", "Generate one:\n\n```\n" + fakeKey + "\n```\n", policy.SecretContextDocs},
		{"fixture key in an example", "examples/mtls/key.pem", fakeKey, policy.SecretContextExample},
		{"fixture key in vendored code", "third_party/x/y/server.pem", fakeKey, policy.SecretContextVendored},
		{"URL in a Go test", "store/store_test.go", `const dsn = "postgres://app:` + pw() + at + `pg.acme-corp.io/app"`, policy.SecretContextTest},
		{"token with a failing checksum", "src/client.js", "const token = '" + fakePAT + "'", policy.SecretContextChecksum},
		{"placeholder key in a doc comment", "src/options/mod.rs", docKey, drop},
		{"truncated key in the docs", "src/tls.go", "// -----BEGIN RSA PRIVATE KEY-----\n// MIIEowIBAAKCAQEA... (your key here, truncated for the example, see the guide)\n// -----END RSA PRIVATE KEY-----", drop},
		// 4. generic-api-key and curl noise
		{"RFC 5849 example in a docstring", "oauth1/signature.py", `        oauth_signature="djosJKDKJSD8743243%2Fjdk33klY%3D"`, drop},
		{"kebab-case identifier", "config/app.yaml", "secret_key: client-secret-key-reference-name", drop},
		{"websocket sample nonce", "src/ws.go", "// Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", drop},
		{"oauth example token", "src/oauth.py", `access_token = "2YotnFZFEjr1zCsicMWpAA"`, drop},
		{"azurite account key", "src/storage.cs", `var accountKey = "` + azurite + `";`, drop},
		{"curl placeholders", "scripts/call.sh", "curl -u APP_KEY:APP_SECRET https://api.acme-corp.io/v1/things", drop},

		// Recall: the same shapes where they are live.
		{"real password, production host", "config/prod.env", "DATABASE_URL=postgres://app:" + pw() + at + "db.prod.acme-corp.io:5432/app", ""},
		{"host followed by a dot is not single-label", "config/prod.env", "DATABASE_URL=postgres://app:" + pw() + at + "db.acme-corp.io./app", ""},
		{"key outside tests", "deploy/keys/prod.pem", keyPEM, ""},
		// key material that parses is a key wherever it is, like a
		// provider-format token (issue 24 class 8, red team F7)
		{"key under tests/", "tests/certs/server.key", keyPEM, ""},
		{"key under testdata/", "pkg/tls/testdata/client.pem", keyPEM, ""},
		{"key in a fixture", "spec/fixtures/ssh/id_ecdsa", keyPEM, ""},
		{"key quoted in the docs", "docs/tls.md", "Generate one:\n\n```\n" + keyPEM + "\n```\n", ""},
		{"key file in the docs", "docs/tls.md", keyPEM, ""},
		{"key in an example", "examples/mtls/key.pem", keyPEM, ""},
		{"key in vendored code", "third_party/x/y/server.pem", keyPEM, ""},
		{"key in a Java string, outside tests", "src/main/java/Keys.java", "String KEY = \n" + javaKey.String() + "        \"\";", ""},
		{"real-format token in a test tree", "tests/e2e_setup.sh", "export GITHUB_TOKEN=" + realPAT, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, tc.path, tc.line+"\n")
			res := scan(t, Options{Root: dir})
			if tc.want == drop {
				if len(res.Findings) != 0 {
					t.Fatalf("%s: findings %+v, want none (a sample, not a credential)", tc.path, res.Findings)
				}
				return
			}
			if len(res.Findings) != 1 {
				t.Fatalf("%s: %d findings %+v, want one", tc.path, len(res.Findings), res.Findings)
			}
			f := res.Findings[0]
			if f.Context != tc.want {
				t.Fatalf("%s: rule %s context %q, want %q", tc.path, f.Rule, f.Context, tc.want)
			}
			// Through the default policy: a context does not block, no
			// context does (the secrets tier, critical: fail).
			d := policy.Default().Decide([]policy.Finding{f}, policy.Context{Environment: "production", Now: time.Now()})
			blocking := d.Findings[0].Action == policy.ActionFail || d.Findings[0].Action == policy.ActionBlockProduction
			if blocking != (tc.want == "") {
				t.Fatalf("%s: action %s at tier %s (context %q)", tc.path, d.Findings[0].Action, d.Findings[0].Severity, f.Context)
			}
		})
	}
}

func TestChecksum(t *testing.T) {
	for range 50 {
		tok := secretstest.GitHubPAT(t)
		if !checksummed(tok) || !checksumOK(tok) {
			t.Fatalf("%s: a real-format token fails the checksum", tok[:10])
		}
		bad := tok[:10] + string(tok[11]) + string(tok[10]) + tok[12:]
		if tok[10] != tok[11] && checksumOK(bad) {
			t.Fatal("two characters swapped and the checksum still verifies")
		}
	}
	if npm := secretstest.Checksummed("npm_", secretstest.Random(t, "abcdefghijABCDEFGHIJ0123456789", 30)); !checksumOK(npm) {
		t.Fatal("npm token")
	}
}
