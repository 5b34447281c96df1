package gate

import (
	"context"
	"sync"

	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/gate/secrets"
	"github.com/secgate/secgate/policy"
)

// outgoing is the redaction every output goes through last: the values
// the scanners found, and whatever gitleaks' detector finds in the
// outgoing text itself. The second half catches what no scanner reported:
// a token in an allowlisted file (go.mod, a lockfile) quoted by a parser's
// error, a value in a tracker's or registry's message, a scan cut short.
// It travels with the report (report.SetRedactor), so that text added
// after gate.Run is redacted by the same pass.
type outgoing struct {
	known []policy.Redactor

	once   sync.Once
	detect *secrets.TextScanner // nil when the rules did not load: known values only
}

var _ report.Learner = (*outgoing)(nil)

func newOutgoing(known ...policy.Redactor) *outgoing { return &outgoing{known: known} }

// NewRedactor is the outgoing redaction without a scan's values (URL
// credentials and the detector): for what is written before the gate
// has run, or when it could not.
func NewRedactor(known ...policy.Redactor) report.Learner { return newOutgoing(known...) }

func (o *outgoing) detector() *secrets.TextScanner {
	o.once.Do(func() {
		// The rules are gitleaks' defaults and secgate's; a failure to
		// load them fails the scanners too, so it is seen there.
		o.detect, _ = secrets.NewTextScanner(nil)
	})
	return o.detect
}

// Learn runs the detector over text (a provider-format token glued to
// the text before it, "cAKIA...", included: TextScanner.Learn): every value it finds is redacted
// from every string from then on. The name given to gitleaks is not a
// path, so that no path allowlist (go.mod, lockfiles) applies.
func (o *outgoing) Learn(text string) {
	if text == "" {
		return
	}
	if d := o.detector(); d != nil {
		d.Learn(context.Background(), "secgate output", []byte(text))
	}
}

// Redact implements policy.Redactor.
func (o *outgoing) Redact(s string) string {
	s = report.RedactText(s, o.known...)
	if d := o.detector(); d != nil {
		s = d.Redact(s)
	}
	return s
}
