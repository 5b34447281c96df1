package gate

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/gate/secrets/secretstest"
	"github.com/secgate/secgate/policy"
)

// countingTransport answers every provider request itself: 200 for
// GitHub, 401 for Stripe, 500 for the rest; it records the hosts.
type countingTransport struct {
	mu    sync.Mutex
	hosts []string
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.hosts = append(c.hosts, r.URL.Host)
	c.mu.Unlock()
	status := http.StatusInternalServerError
	switch r.URL.Host {
	case "api.github.com":
		status = http.StatusOK
	case "api.stripe.com":
		status = http.StatusUnauthorized
	}
	return &http.Response{StatusCode: status, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
}

// secrets.verify asks the providers outside a dry run only;
// --verify-secrets asks them in a dry run too; without either nothing is
// sent. A revoked key takes secrets.invalid (medium), live ones stay
// critical, and no output holds a piece of any value.
func TestRunVerifiesSecretsOnlyWhenAsked(t *testing.T) {
	tr := secretstest.New(t)
	verifyPolicy, err := ParsePolicy(".secgate.yml", []byte("secrets: {verify: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		pol      *policy.Policy
		dry, cli bool
		asked    bool
	}{
		{"default policy", policy.Default(), false, false, false},
		{"default policy, --verify-secrets", policy.Default(), false, true, true},
		{"secrets.verify", verifyPolicy, false, false, true},
		{"secrets.verify, dry run", verifyPolicy, true, false, false},
		{"secrets.verify, dry run, --verify-secrets", verifyPolicy, true, true, true},
		{"default policy, dry run, --verify-secrets", policy.Default(), true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct := &countingTransport{}
			rep, err := Run(context.Background(), Config{Path: tr.Root, Now: now, Only: []string{"secrets"}, Policy: tc.pol,
				DryRun: tc.dry, VerifySecrets: tc.cli, SecretsTransport: ct})
			if err != nil {
				t.Fatal(err)
			}
			if asked := len(ct.hosts) > 0; asked != tc.asked {
				t.Fatalf("providers asked: %v (%v), want %v", asked, ct.hosts, tc.asked)
			}
			var stripe *policy.Finding
			live := 0
			for i, f := range rep.Findings {
				if f.Rule == "stripe-access-token" {
					stripe = &rep.Findings[i]
				}
				if f.Live() {
					live++
				}
			}
			if stripe == nil {
				t.Fatal("the planted Stripe key was not found")
			}
			if !tc.asked {
				if live != 0 || stripe.Validity != "" || stripe.Severity != policy.Critical {
					t.Errorf("not asked, yet %d live, Stripe %q %s", live, stripe.Validity, stripe.Severity)
				}
				if tc.pol.SecretsVerify && !strings.Contains(strings.Join(rep.Scanners[0].Notes, "\n"), "--verify-secrets asks the providers") {
					t.Errorf("no note that the dry run left verification off: %v", rep.Scanners[0].Notes)
				}
				return
			}
			if live != 3 || stripe.Validity != policy.ValidityInvalid || stripe.Severity != policy.Medium {
				t.Errorf("%d live (want the 3 GitHub tokens), Stripe %q %s (want invalid, medium)", live, stripe.Validity, stripe.Severity)
			}
			slices.Sort(ct.hosts)
			if want := []string{"api.github.com", "api.github.com", "api.github.com", "api.stripe.com", "gitlab.com"}; !slices.Equal(ct.hosts, want) {
				t.Errorf("hosts %v, want %v", ct.hosts, want)
			}
			var out strings.Builder
			for _, w := range []report.Writer{report.JSON{}, report.Text{}, report.SARIF{}, report.Markdown{}} {
				if err := w.Write(&out, rep); err != nil {
					t.Fatal(err)
				}
			}
			if !strings.Contains(out.String(), "LIVE") {
				t.Error("no LIVE in the outputs")
			}
			for _, p := range tr.Pieces(6) {
				if strings.Contains(out.String(), p) {
					t.Fatalf("a secret piece %q is in an output", p)
				}
			}
		})
	}
}
