package report

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/secgate/secgate/policy"
)

// replacer is a redactor that knows one value.
type replacer string

func (r replacer) Redact(s string) string { return strings.ReplaceAll(s, string(r), "[REDACTED]") }

// Redact reaches strings behind pointers: the signature's reason and a
// finding's exception (issue 27: removing the pointer branch of
// walkStrings fails this test).
func TestRedactThroughPointers(t *testing.T) {
	const value = "value-known-to-the-redactor"
	r := New()
	r.Signature = &Signature{Reason: "pushing failed: " + value}
	r.Findings = []policy.Finding{{ID: "x", Ignored: &policy.Ignored{Reason: "excused: " + value}}}
	Redact(&r, replacer(value))
	if strings.Contains(r.Signature.Reason, value) || strings.Contains(r.Findings[0].Ignored.Reason, value) {
		t.Errorf("a value behind a pointer survived: signature %q, ignored %q", r.Signature.Reason, r.Findings[0].Ignored.Reason)
	}
	if !strings.Contains(r.Signature.Reason, "[REDACTED]") {
		t.Errorf("signature reason %q", r.Signature.Reason)
	}
}

// spanner redacts lazily from a key's header to the next "KEY-----", as
// gitleaks' private-key rule matches: over a rendered report, that is from
// one finding's preview to the next one's.
type spanner struct{}

func (spanner) Redact(s string) string {
	return regexp.MustCompile(`(?s)-----BEGIN[ A-Z]*PRIVATE KEY-----.*?KEY-----`).ReplaceAllString(s, "[REDACTED]")
}

// A redaction that matches across fields of a JSON output does not cut
// findings out of it: each string is redacted on its own instead
// (removing the sameShape fallback of RedactBytes fails this test).
func TestRedactBytesKeepsTheStructure(t *testing.T) {
	r := New()
	for _, p := range []string{"src/k.pem", "tests/k.pem", "docs/k.md"} {
		r.Findings = append(r.Findings, policy.Finding{ID: "private-key", Kind: policy.KindSecret, Rule: "private-key",
			Title: "Private key", Preview: "-----BEGIN OPENSSH PRIVATE KEY----- …", Location: policy.Location{Path: p}})
	}
	r.SetRedactor(spanner{})
	var buf bytes.Buffer
	if err := (JSON{}).Write(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := r.RedactBytes(buf.Bytes())
	var back Report
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatalf("redacted report does not parse: %v\n%s", err, out)
	}
	if len(back.Findings) != 3 {
		t.Fatalf("%d findings after redaction, want 3:\n%s", len(back.Findings), out)
	}
	for i, f := range back.Findings {
		if f.Location.Path != r.Findings[i].Location.Path {
			t.Errorf("finding %d at %q, want %q", i, f.Location.Path, r.Findings[i].Location.Path)
		}
	}
	// A value wholly inside one string is still removed.
	whole := New()
	whole.Warnings = []string{"a key: -----BEGIN RSA PRIVATE KEY-----abc-----END RSA PRIVATE KEY----- here"}
	whole.SetRedactor(spanner{})
	buf.Reset()
	if err := (JSON{}).Write(&buf, whole); err != nil {
		t.Fatal(err)
	}
	if out := whole.RedactBytes(buf.Bytes()); bytes.Contains(out, []byte("abc")) {
		t.Errorf("a key inside one string survived:\n%s", out)
	}
}
