package secrets

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secgate/secgate/gate/secrets/secretstest"
	"github.com/secgate/secgate/policy"
)

const testAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// seen is one request as it left secgate, before the fake transport sent
// it to the httptest server standing in for the provider.
type seen struct {
	scheme, host, path, method string
	carries                    bool // the secret is in a header or the URL
}

// providerFake is an httptest server standing in for every provider: the
// transport records where each request was going, then sends it to the
// server, which answers with the status (and body) of the case.
type providerFake struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	value  string
	seen   []seen
	status int
	body   string
	delay  time.Duration
}

func newProviderFake(t *testing.T) *providerFake {
	f := &providerFake{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		status, body, delay := f.status, f.body, f.delay
		f.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if status == http.StatusFound {
			w.Header().Set("Location", "https://elsewhere.example/")
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *providerFake) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	var hdr strings.Builder
	for _, vs := range r.Header {
		hdr.WriteString(strings.Join(vs, " ") + "\n")
	}
	basic := base64.StdEncoding.EncodeToString([]byte(f.value + ":"))
	carries := f.value != "" && (strings.Contains(hdr.String(), f.value) || strings.Contains(hdr.String(), basic) || strings.Contains(r.URL.String(), f.value))
	f.seen = append(f.seen, seen{r.URL.Scheme, r.URL.Host, r.URL.Path, r.Method, carries})
	f.mu.Unlock()
	target, _ := url.Parse(f.srv.URL)
	out := r.Clone(r.Context())
	out.URL.Scheme, out.URL.Host, out.Host = target.Scheme, target.Host, ""
	return http.DefaultTransport.RoundTrip(out)
}

func (f *providerFake) set(value string, status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.value, f.status, f.body, f.seen = value, status, body, nil
}

func (f *providerFake) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.seen)
}

// Each enabled provider's validator, against a fake of its API: the value
// goes to the provider's own host over HTTPS and nowhere else, and each
// answer maps to valid, invalid or unknown as the provider documents it
// (429, 5xx, a redirect and a timeout are unknown, never invalid).
func TestVerifyProviders(t *testing.T) {
	r := func(n int) string { return secretstest.Random(t, testAlnum, n) }
	type answer struct {
		status int
		body   string
		want   policy.Validity
	}
	common := func(forbidden policy.Validity) []answer {
		return []answer{
			{200, `{}`, policy.ValidityValid},
			{401, `{}`, policy.ValidityInvalid},
			{403, `{}`, forbidden},
			{429, `{}`, policy.ValidityUnknown},
			{500, `{}`, policy.ValidityUnknown},
			{503, ``, policy.ValidityUnknown},
			{302, ``, policy.ValidityUnknown},
		}
	}
	unknown := policy.ValidityUnknown
	cases := []struct {
		rule, value, host, path, method string
		answers                         []answer
	}{
		{"github-pat", secretstest.GitHubPAT(t), "api.github.com", "/user", "GET", common(unknown)},
		{"github-fine-grained-pat", "github_pat_" + r(22) + "_" + r(59), "api.github.com", "/user", "GET", common(unknown)},
		{"github-oauth", secretstest.Checksummed("gho_", r(30)), "api.github.com", "/user", "GET", common(unknown)},
		{"github-app-token", secretstest.Checksummed("ghu_", r(30)), "api.github.com", "/user", "GET", common(unknown)},
		{"github-app-token", secretstest.Checksummed("ghs_", r(30)), "api.github.com", "/installation/repositories", "GET", common(unknown)},
		// gitlab.com's 401 is also its answer to a self-managed instance's token.
		{"gitlab-pat", "glpat-" + r(20), "gitlab.com", "/api/v4/personal_access_tokens/self", "GET", []answer{
			{200, `{}`, policy.ValidityValid}, {401, `{}`, unknown}, {403, `{}`, unknown}, {429, `{}`, unknown}, {500, `{}`, unknown}}},
		{"slack-app-token", "xapp-1-A" + r(10) + "-" + r(13) + "-" + r(64), "slack.com", "/api/auth.test", "POST", []answer{
			{200, `{"ok":true}`, policy.ValidityValid},
			{200, `{"ok":false,"error":"invalid_auth"}`, policy.ValidityInvalid},
			{200, `{"ok":false,"error":"account_inactive"}`, unknown},
			{429, `{"ok":false,"error":"ratelimited"}`, unknown},
			{500, `<html>`, unknown}}},
		{"slack-config-access-token", "xoxe.xoxp-1-" + r(160), "slack.com", "/api/auth.test", "POST", []answer{
			{200, `{"ok":true}`, policy.ValidityValid}, {200, `{"ok":false,"error":"invalid_auth"}`, policy.ValidityInvalid}, {502, ``, unknown}}},
		{"stripe-access-token", "sk_live_" + r(24), "api.stripe.com", "/v1/accounts", "GET", common(unknown)},
		// A restricted key without the permission: authenticated (Stripe's docs).
		{"stripe-access-token", "rk_live_" + r(24), "api.stripe.com", "/v1/accounts", "GET", common(policy.ValidityValid)},
		{"anthropic-api-key", "sk-ant-api03-" + r(93) + "AA", "api.anthropic.com", "/v1/models", "GET", common(unknown)},
		{"anthropic-admin-api-key", "sk-ant-admin01-" + r(93) + "AA", "api.anthropic.com", "/v1/organizations/workspaces", "GET", common(unknown)},
		{"openai-api-key", "sk-proj-" + r(74) + "T3BlbkFJ" + r(74), "api.openai.com", "/v1/models", "GET", common(unknown)},
		{"sendgrid-api-token", "SG." + r(22) + "." + r(43), "api.sendgrid.com", "/v3/user/account", "GET", common(policy.ValidityValid)},
		{"npm-access-token", secretstest.Checksummed("npm_", r(30)), "registry.npmjs.org", "/-/whoami", "GET", common(unknown)},
		{"huggingface-access-token", "hf_" + r(34), "huggingface.co", "/api/whoami-v2", "GET", common(unknown)},
		{"digitalocean-pat", "dop_v1_" + secretstest.Random(t, "0123456789abcdef", 64), "api.digitalocean.com", "/v2/account", "GET", common(unknown)},
		{"postman-api-token", "PMAK-" + secretstest.Random(t, "0123456789abcdef", 24) + "-" + secretstest.Random(t, "0123456789abcdef", 34), "api.getpostman.com", "/me", "GET", common(unknown)},
	}
	fake := newProviderFake(t)
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.rule] = true
		for _, a := range c.answers {
			t.Run(fmt.Sprintf("%s/%s/%d/%s", c.rule, c.value[:4], a.status, a.body), func(t *testing.T) {
				fake.set(c.value, a.status, a.body)
				findings := []policy.Finding{{Kind: policy.KindSecret, Rule: c.rule}}
				note := (&Verify{Transport: fake}).verifyFindings(t.Context(), findings, []string{c.value})
				if got := findings[0].Validity; got != a.want {
					t.Errorf("validity %q, want %q", got, a.want)
				}
				reqs := fake.requests()
				if len(reqs) != 1 {
					t.Fatalf("%d requests, want 1: %+v", len(reqs), reqs)
				}
				want := seen{"https", c.host, c.path, c.method, true}
				if reqs[0] != want {
					t.Errorf("request %+v, want %+v", reqs[0], want)
				}
				if strings.Contains(note, c.value[len(c.value)-6:]) {
					t.Errorf("the note quotes the secret: %s", note)
				}
			})
		}
	}
	// Every rule with a validator is tested here.
	for _, rule := range VerifiedRules() {
		if !covered[rule] && rule != "gitlab-pat-routable" && rule != "slack-config-refresh-token" && rule != "huggingface-organization-api-token" {
			t.Errorf("rule %s has a validator and no test case", rule)
		}
	}
}

// One request per distinct value, however often it was found; ignored
// findings, tokens whose checksum fails and rules without a validator are
// not sent; a provider slower than the timeout is unknown.
func TestVerifyOncePerValueAndTimeout(t *testing.T) {
	fake := newProviderFake(t)
	ghp, other := secretstest.GitHubPAT(t), secretstest.GitHubPAT(t)
	fake.set(ghp, 200, `{}`)
	findings := []policy.Finding{
		{Kind: policy.KindSecret, Rule: "github-pat", Location: policy.Location{Path: "a.env"}},
		{Kind: policy.KindSecret, Rule: "github-pat", Location: policy.Location{Path: "b.env"}},
		{Kind: policy.KindSecret, Rule: "github-pat", Ignored: &policy.Ignored{Reason: "listed"}},
		{Kind: policy.KindSecret, Rule: "github-pat", Context: policy.SecretContextChecksum},
		{Kind: policy.KindSecret, Rule: "aws-access-token"},
	}
	values := []string{ghp, ghp, other, other, secretstest.AWSKeyID(t)}
	note := (&Verify{Transport: fake}).verifyFindings(t.Context(), findings, values)
	if n := len(fake.requests()); n != 1 {
		t.Errorf("%d requests for one distinct verifiable value, want 1", n)
	}
	for i, want := range []policy.Validity{policy.ValidityValid, policy.ValidityValid, "", "", ""} {
		if findings[i].Validity != want {
			t.Errorf("finding %d: validity %q, want %q", i, findings[i].Validity, want)
		}
	}
	if !strings.Contains(note, "1 distinct credential asked") || !strings.Contains(note, "not verifiable (no validator): aws-access-token") {
		t.Errorf("note: %s", note)
	}

	fake.set(ghp, 200, `{}`)
	fake.delay = 2 * time.Second
	findings = []policy.Finding{{Kind: policy.KindSecret, Rule: "github-pat"}}
	start := time.Now()
	(&Verify{Transport: fake, Timeout: 100 * time.Millisecond}).verifyFindings(t.Context(), findings, []string{ghp})
	if findings[0].Validity != policy.ValidityUnknown {
		t.Errorf("a provider slower than the timeout: %q, want unknown", findings[0].Validity)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the timeout did not bound the request: %v", d)
	}
}

// The guard sends a value to its provider's host over HTTPS only.
func TestVerifyHostGuard(t *testing.T) {
	fake := newProviderFake(t)
	fake.set("x", 200, "")
	g := hostGuard{host: "api.github.com", next: fake}
	for _, u := range []string{"http://api.github.com/user", "https://api.github.com.evil.example/user", "https://evil.example/user", "https://api.github.com:8443/user"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if _, err := g.RoundTrip(req); err != errOffHost {
			t.Errorf("%s: %v, want refused", u, err)
		}
	}
	if n := len(fake.requests()); n != 0 {
		t.Errorf("%d refused requests reached the transport", n)
	}
	req, _ := http.NewRequest(http.MethodGet, "https://API.github.com/user", nil)
	resp, err := g.RoundTrip(req)
	if err != nil {
		t.Fatalf("the provider's host refused: %v", err)
	}
	resp.Body.Close()
}

// Through a whole scan: the planted GitHub tokens are live, the Stripe key
// revoked; the others have no validator. No output holds a piece of any
// value, and without Verify nothing is sent.
func TestScanVerifiesSecrets(t *testing.T) {
	tr := secretstest.New(t)
	var mu sync.Mutex
	var hosts []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/user":
			w.WriteHeader(200)
		case "/v1/accounts":
			w.WriteHeader(401)
		default:
			w.WriteHeader(500)
		}
	}))
	defer srv.Close()
	target, _ := url.Parse(srv.URL)
	transport := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		hosts = append(hosts, r.URL.Host)
		mu.Unlock()
		out := r.Clone(r.Context())
		out.URL.Scheme, out.URL.Host = target.Scheme, target.Host
		return http.DefaultTransport.RoundTrip(out)
	})

	res, err := New(Options{Root: tr.Root}).Scan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) != 0 {
		t.Fatalf("requests without Verify: %v", hosts)
	}
	for _, f := range res.Findings {
		if f.Validity != "" {
			t.Errorf("%s: validity %q without Verify", f.Rule, f.Validity)
		}
	}

	res, err = New(Options{Root: tr.Root, Verify: &Verify{Transport: transport}}).Scan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]policy.Validity{"github-pat": policy.ValidityValid, "stripe-access-token": policy.ValidityInvalid, "gitlab-pat": policy.ValidityUnknown}
	got := map[string]int{}
	for _, f := range res.Findings {
		if w, ok := want[f.Rule]; ok {
			got[f.Rule]++
			if f.Validity != w {
				t.Errorf("%s at %s: validity %q, want %q", f.Rule, f.Location, f.Validity, w)
			}
		} else if f.Validity != "" {
			t.Errorf("%s: validity %q without a validator", f.Rule, f.Validity)
		}
	}
	if got["github-pat"] != 3 || got["stripe-access-token"] != 1 || got["gitlab-pat"] != 1 {
		t.Errorf("verified findings by rule: %v", got)
	}
	slices.Sort(hosts)
	if wantHosts := []string{"api.github.com", "api.github.com", "api.github.com", "api.stripe.com", "gitlab.com"}; !slices.Equal(hosts, wantHosts) {
		t.Errorf("requests went to %v, want %v (one per distinct value)", hosts, wantHosts)
	}
	out, _ := json.Marshal(res.Findings)
	all := string(out) + strings.Join(res.Notes, "\n") + strings.Join(res.Warnings, "\n")
	for _, p := range tr.Pieces(6) {
		if strings.Contains(all, p) {
			t.Fatalf("a secret piece %q is in the scan's output", p)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
