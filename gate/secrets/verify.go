package secrets

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/osv-scalibr/veles"
	"github.com/google/osv-scalibr/veles/secrets/anthropicapikey"
	sv "github.com/google/osv-scalibr/veles/secrets/common/simplevalidate"
	"github.com/google/osv-scalibr/veles/secrets/digitaloceanapikey"
	"github.com/google/osv-scalibr/veles/secrets/github"
	"github.com/google/osv-scalibr/veles/secrets/gitlabpat"
	"github.com/google/osv-scalibr/veles/secrets/huggingfaceapikey"
	"github.com/google/osv-scalibr/veles/secrets/npmjsaccesstoken"
	"github.com/google/osv-scalibr/veles/secrets/openai"
	"github.com/google/osv-scalibr/veles/secrets/postmanapikey"
	"github.com/google/osv-scalibr/veles/secrets/sendgrid"
	"github.com/google/osv-scalibr/veles/secrets/slacktoken"
	"github.com/google/osv-scalibr/veles/secrets/stripeapikeys"

	"github.com/secgate/secgate/policy"
)

// VerifyTimeout bounds each provider request (the 5 s).
const VerifyTimeout = 5 * time.Second

// verifyWorkers is how many providers are asked at once.
const verifyWorkers = 4

// Verify asks each provider whether a found credential is live
// (secrets.verify, --verify-secrets), with osv-scalibr's veles validators.
// A value is sent only to its provider's own API host over HTTPS (the
// guard refuses anything else, redirects included), once per run however
// often it was found, and any failure to get a clear answer is unknown:
// only an explicit rejection makes a credential invalid.
type Verify struct {
	// Transport carries the requests (nil: http.DefaultTransport): tests
	// point it at fakes standing in for the providers. The host guard
	// runs before it.
	Transport http.RoundTripper
	// Timeout bounds each request (0: VerifyTimeout).
	Timeout time.Duration
}

// verifier is how one rule's values are checked: the provider's API host
// (the only host the value may reach) and the validator call.
type verifier struct {
	host  string
	check func(ctx context.Context, c *http.Client, value string) (veles.ValidationStatus, error)
}

// validate wraps a veles simplevalidate validator: made fresh for each
// value (the library's Validate writes its HTTPC field), our client in
// place of its own, its status codes adjusted where the provider's
// documentation says otherwise.
func validate[S veles.Secret](mk func() *sv.Validator[S], wrap func(string) S, adjust func(*sv.Validator[S])) func(context.Context, *http.Client, string) (veles.ValidationStatus, error) {
	return func(ctx context.Context, c *http.Client, value string) (veles.ValidationStatus, error) {
		v := mk()
		v.HTTPC = c
		// 429 (rate limited) and 5xx say nothing of the credential: several
		// upstream validators take 429 for valid (OpenAI, Anthropic,
		// Hugging Face); here it is unknown, and valid is a 2xx only.
		v.ValidResponseCodes = []int{http.StatusOK}
		if adjust != nil {
			adjust(v)
		}
		return v.Validate(ctx, wrap(value))
	}
}

// verifiers maps a gitleaks rule id to its provider's validator; pick
// chooses by the value where one rule covers several token types.
// Rules with no veles validator (AWS keys need their secret too, GCP API
// keys have none in this osv-scalibr) are not verified.
var verifiers = map[string]func(value string) *verifier{
	// GitHub answers 403 both to a live token without the scope and, for
	// a while, to every attempt after repeated bad credentials (its REST
	// docs, "Failed login limit"): unknown, not valid as upstream has it.
	// A GitHub Enterprise Server token is asked of api.github.com too.
	"github-pat": fixed(&verifier{host: "api.github.com", check: validate(github.NewClassicPATValidator,
		func(s string) github.ClassicPersonalAccessToken { return github.ClassicPersonalAccessToken{Token: s} }, nil)}),
	"github-fine-grained-pat": fixed(&verifier{host: "api.github.com", check: validate(github.NewFineGrainedPATValidator,
		func(s string) github.FineGrainedPersonalAccessToken {
			return github.FineGrainedPersonalAccessToken{Token: s}
		}, nil)}),
	"github-oauth": fixed(&verifier{host: "api.github.com", check: validate(github.NewOAuthTokenValidator,
		func(s string) github.OAuthToken { return github.OAuthToken{Token: s} }, nil)}),
	"github-app-token": func(v string) *verifier {
		switch {
		case strings.HasPrefix(v, "ghu_"):
			return &verifier{host: "api.github.com", check: validate(github.NewAppU2STokenValidator,
				func(s string) github.AppUserToServerToken { return github.AppUserToServerToken{Token: s} }, nil)}
		case strings.HasPrefix(v, "ghs_"):
			return &verifier{host: "api.github.com", check: validate(github.NewAppS2STokenValidator,
				func(s string) github.AppServerToServerToken { return github.AppServerToServerToken{Token: s} }, nil)}
		}
		return nil
	},
	// gitlab.com answers 401 to a token of a self-managed instance as to
	// a revoked one: that is unknown here, never invalid (it would lower
	// the tier of a live credential). A 200 is live.
	"gitlab-pat": fixed(&verifier{host: "gitlab.com", check: validate(gitlabpat.NewValidator,
		func(s string) gitlabpat.GitlabPAT { return gitlabpat.GitlabPAT{Pat: s} },
		func(v *sv.Validator[gitlabpat.GitlabPAT]) { v.InvalidResponseCodes = nil })}),
	"gitlab-pat-routable": fixed(&verifier{host: "gitlab.com", check: validate(gitlabpat.NewValidator,
		func(s string) gitlabpat.GitlabPAT { return gitlabpat.GitlabPAT{Pat: s} },
		func(v *sv.Validator[gitlabpat.GitlabPAT]) { v.InvalidResponseCodes = nil })}),
	// Slack's auth.test answers 200 with ok:false and the reason; only
	// invalid_auth is a rejection (upstream's body check).
	"slack-app-token": fixed(&verifier{host: "slack.com", check: validate(slacktoken.NewAppLevelTokenValidator,
		func(s string) slacktoken.SlackAppLevelToken { return slacktoken.SlackAppLevelToken{Token: s} }, slackBody[slacktoken.SlackAppLevelToken])}),
	"slack-config-access-token": fixed(&verifier{host: "slack.com", check: validate(slacktoken.NewAppConfigAccessTokenValidator,
		func(s string) slacktoken.SlackAppConfigAccessToken {
			return slacktoken.SlackAppConfigAccessToken{Token: s}
		}, slackBody[slacktoken.SlackAppConfigAccessToken])}),
	"slack-config-refresh-token": fixed(&verifier{host: "slack.com", check: validate(slacktoken.NewAppConfigRefreshTokenValidator,
		func(s string) slacktoken.SlackAppConfigRefreshToken {
			return slacktoken.SlackAppConfigRefreshToken{Token: s}
		}, slackBody[slacktoken.SlackAppConfigRefreshToken])}),
	// Stripe: 403 is a restricted key without the permission for the
	// endpoint (Stripe's error docs): authenticated, so live.
	"stripe-access-token": func(v string) *verifier {
		switch {
		case strings.HasPrefix(v, "sk_"):
			return &verifier{host: "api.stripe.com", check: validate(stripeapikeys.NewSecretKeyValidator,
				func(s string) stripeapikeys.StripeSecretKey { return stripeapikeys.StripeSecretKey{Key: s} }, nil)}
		case strings.HasPrefix(v, "rk_"):
			return &verifier{host: "api.stripe.com", check: validate(stripeapikeys.NewRestrictedKeyValidator,
				func(s string) stripeapikeys.StripeRestrictedKey { return stripeapikeys.StripeRestrictedKey{Key: s} },
				func(v *sv.Validator[stripeapikeys.StripeRestrictedKey]) {
					v.ValidResponseCodes = []int{http.StatusOK, http.StatusForbidden}
				})}
		}
		return nil
	},
	"anthropic-api-key": fixed(&verifier{host: "api.anthropic.com", check: validate(anthropicapikey.NewModelValidator,
		func(s string) anthropicapikey.ModelAPIKey { return anthropicapikey.ModelAPIKey{Key: s} }, nil)}),
	"anthropic-admin-api-key": fixed(&verifier{host: "api.anthropic.com", check: validate(anthropicapikey.NewWorkspaceValidator,
		func(s string) anthropicapikey.WorkspaceAPIKey { return anthropicapikey.WorkspaceAPIKey{Key: s} }, nil)}),
	"openai-api-key": fixed(&verifier{host: "api.openai.com", check: validate(openai.NewProjectValidator,
		func(s string) openai.APIKey { return openai.APIKey{Key: s} }, nil)}),
	// SendGrid: 403 is a key without the scope of the endpoint.
	"sendgrid-api-token": fixed(&verifier{host: "api.sendgrid.com", check: validate(sendgrid.NewValidator,
		func(s string) sendgrid.APIKey { return sendgrid.APIKey{Key: s} },
		func(v *sv.Validator[sendgrid.APIKey]) {
			v.ValidResponseCodes = []int{http.StatusOK, http.StatusForbidden}
		})}),
	"npm-access-token": fixed(&verifier{host: "registry.npmjs.org", check: validate(npmjsaccesstoken.NewValidator,
		func(s string) npmjsaccesstoken.NpmJsAccessToken { return npmjsaccesstoken.NpmJsAccessToken{Token: s} }, nil)}),
	"huggingface-access-token": fixed(&verifier{host: "huggingface.co", check: validate(huggingfaceapikey.NewValidator,
		func(s string) huggingfaceapikey.HuggingfaceAPIKey { return huggingfaceapikey.HuggingfaceAPIKey{Key: s} }, nil)}),
	"huggingface-organization-api-token": fixed(&verifier{host: "huggingface.co", check: validate(huggingfaceapikey.NewValidator,
		func(s string) huggingfaceapikey.HuggingfaceAPIKey { return huggingfaceapikey.HuggingfaceAPIKey{Key: s} }, nil)}),
	// Upstream's endpoint is plain http:// (osv-scalibr at our pin): the
	// token would cross the network in clear. Same API over HTTPS.
	"digitalocean-pat": fixed(&verifier{host: "api.digitalocean.com", check: validate(digitaloceanapikey.NewValidator,
		func(s string) digitaloceanapikey.DigitaloceanAPIToken {
			return digitaloceanapikey.DigitaloceanAPIToken{Key: s}
		},
		func(v *sv.Validator[digitaloceanapikey.DigitaloceanAPIToken]) {
			v.Endpoint = "https://api.digitalocean.com/v2/account"
		})}),
	"postman-api-token": fixed(&verifier{host: "api.getpostman.com", check: validate(postmanapikey.NewAPIValidator,
		func(s string) postmanapikey.PostmanAPIKey { return postmanapikey.PostmanAPIKey{Key: s} }, nil)}),
}

func fixed(v *verifier) func(string) *verifier { return func(string) *verifier { return v } }

// slackBody keeps upstream's body check (ok, or error invalid_auth) and
// drops the status codes: auth.test answers 200 either way.
func slackBody[S veles.Secret](v *sv.Validator[S]) { v.ValidResponseCodes = nil }

// VerifiedRules are the rule ids whose findings can be verified, sorted.
func VerifiedRules() []string {
	out := make([]string, 0, len(verifiers))
	for r := range verifiers {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// errOffHost is the guard's refusal: a request for another host than the
// provider's (a validator's bug, a redirect) never leaves.
var errOffHost = errors.New("refused: not the provider's API host")

// hostGuard lets a request through only to one host, over HTTPS.
type hostGuard struct {
	host string
	next http.RoundTripper
}

func (g hostGuard) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme != "https" || !strings.EqualFold(r.URL.Hostname(), g.host) || r.URL.Port() != "" && r.URL.Port() != "443" {
		return nil, errOffHost
	}
	return g.next.RoundTrip(r)
}

// verifyFindings sets the validity of the findings whose rule has a
// validator; values[i] is findings[i]'s secret. It returns the report's
// note. Ignored findings and tokens whose checksum fails are not sent.
func (o *Verify) verifyFindings(ctx context.Context, findings []policy.Finding, values []string) string {
	next := o.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = VerifyTimeout
	}
	type job struct {
		v      *verifier
		value  string
		result policy.Validity
	}
	jobs := map[string]*job{} // by value: one request per distinct value
	var order []*job
	unsupported := map[string]bool{}
	for i, f := range findings {
		if f.Ignored != nil || f.Context == policy.SecretContextChecksum {
			continue
		}
		pick, ok := verifiers[f.Rule]
		var v *verifier
		if ok {
			v = pick(values[i])
		}
		if v == nil {
			unsupported[f.Rule] = true
			continue
		}
		if _, seen := jobs[values[i]]; !seen {
			j := &job{v: v, value: values[i]}
			jobs[values[i]] = j
			order = append(order, j)
		}
	}
	sem := make(chan struct{}, verifyWorkers)
	var wg sync.WaitGroup
	for _, j := range order {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			client := &http.Client{
				Transport: hostGuard{host: j.v.host, next: next},
				Timeout:   timeout,
				// A redirect is not the provider's answer (and could take
				// the credential elsewhere): taken as it is, unknown.
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			}
			rctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			// The validator's error is never kept: it may quote the
			// request (a URL with the token in it).
			status, _ := j.v.check(rctx, client, j.value)
			j.result = validity(status)
		})
	}
	wg.Wait()
	counts := map[policy.Validity]int{}
	for i := range findings {
		if j, ok := jobs[values[i]]; ok && findings[i].Ignored == nil && findings[i].Context != policy.SecretContextChecksum {
			findings[i].Validity = j.result
			counts[j.result]++
		}
	}
	note := fmt.Sprintf("secrets.verify: %d distinct %s asked of their providers (findings: %d valid, %d invalid, %d unknown)",
		len(order), map[bool]string{true: "credential", false: "credentials"}[len(order) == 1],
		counts[policy.ValidityValid], counts[policy.ValidityInvalid], counts[policy.ValidityUnknown])
	if len(unsupported) > 0 {
		rules := make([]string, 0, len(unsupported))
		for r := range unsupported {
			rules = append(rules, r)
		}
		slices.Sort(rules)
		note += "; not verifiable (no validator): " + strings.Join(rules, ", ")
	}
	return note
}

// validity maps a veles status to the finding's: anything but an explicit
// answer is unknown.
func validity(s veles.ValidationStatus) policy.Validity {
	switch s {
	case veles.ValidationValid:
		return policy.ValidityValid
	case veles.ValidationInvalid:
		return policy.ValidityInvalid
	}
	return policy.ValidityUnknown
}
