package report

import (
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
