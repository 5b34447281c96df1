package secrets

import (
	"context"
	"strings"
	"testing"

	"github.com/secgate/secgate/gate/secrets/secretstest"
)

// Red team F6: the outgoing redaction reads a rendered report with the
// rules, and the private-key rule matched from one finding's preview
// ("-----BEGIN PRIVATE KEY----- …") to the next one's header: that span
// was redacted, which cut the findings between the two out of the
// output. A span that is not one key is not learned; a real key in the
// text still is. Removing redactable's check fails the first half.
func TestLearnKeepsKeyPreviewsApart(t *testing.T) {
	ts, err := NewTextScanner(nil)
	if err != nil {
		t.Fatal(err)
	}
	rendered := `[{"path": "src/k.pem", "preview": "-----BEGIN PRIVATE KEY----- …", "severity": "critical"},` + "\n" +
		`{"path": "tests/k.pem", "preview": "-----BEGIN RSA PRIVATE KEY----- …", "severity": "low"},` + "\n" +
		"  critical  fail  secret  private-key  src/k.pem:1  -----BEGIN OPENSSH PRIVATE KEY----- …  secret-46cfe842423830fc3bdd\n" +
		"  low  report  secret  private-key  tests/k.pem:1  -----BEGIN EC PRIVATE KEY----- …  secret-75735db057a7f5dab803\n"
	ts.Learn(context.Background(), "secgate output", []byte(rendered))
	if got := ts.Redact(rendered); got != rendered {
		t.Errorf("previews of two keys redacted as one value:\n%s", got)
	}

	key := secretstest.Ed25519KeyPEM(t)
	msg := "error: cannot parse " + strings.ReplaceAll(key, "\n", `\n`) + " (line 3)"
	ts.Learn(context.Background(), "secgate output", []byte(msg))
	body := strings.Split(key, "\n")[1]
	if got := ts.Redact(msg); strings.Contains(got, body) {
		t.Errorf("a real key in outgoing text is not redacted: %s", got)
	}
	if got := ts.Redact(rendered); got != rendered {
		t.Errorf("after a real key, the previews are redacted:\n%s", got)
	}
}
