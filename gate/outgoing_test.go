package gate

import (
	"fmt"
	"strings"
	"testing"

	"github.com/secgate/secgate/gate/secrets/secretstest"
)

// TestOutgoingRedactsGluedTokens (red team after issue 24, item 5): a
// provider-format token glued to the text before it ("cAKIA...") is not
// matched by its rule's word boundary, and was printed by every output.
// The outgoing redaction finds it; a token standing alone still is.
func TestOutgoingRedactsGluedTokens(t *testing.T) {
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	for _, c := range []struct {
		name, text, value string
	}{
		func() (c struct{ name, text, value string }) {
			v := secretstest.AWSKeyID(t)
			return struct{ name, text, value string }{"AWS key id after a letter", `name: "c` + v + `"`, v}
		}(),
		func() (c struct{ name, text, value string }) {
			v := secretstest.AWSKeyID(t)
			return struct{ name, text, value string }{"AWS key id after a digit, in an error", "parse error near 7" + v + ": bad", v}
		}(),
		func() (c struct{ name, text, value string }) {
			// drawn until the detector finds it standing alone: a random
			// body can trip the rule's own filters (issue 31)
			v := secretstest.Drawn(t, func() string { return "sk_" + "live_" + secretstest.Random(t, alnum, 24) }, func(v string) error {
				o := newOutgoing()
				o.Learn("key = " + v + "\n")
				if strings.Contains(o.Redact("key = "+v+"\n"), v) {
					return fmt.Errorf("not found standing alone")
				}
				return nil
			})
			return struct{ name, text, value string }{"Stripe key after an underscore", "key=prod_" + v + "\n", v}
		}(),
		func() (c struct{ name, text, value string }) {
			v := secretstest.AWSKeyID(t)
			return struct{ name, text, value string }{"AWS key id alone", "id " + v + " ok", v}
		}(),
	} {
		t.Run(c.name, func(t *testing.T) {
			o := newOutgoing()
			o.Learn(c.text)
			if out := o.Redact(c.text); strings.Contains(out, c.value) {
				t.Errorf("the value is in the redacted text: %q", c.text)
			}
		})
	}
}
