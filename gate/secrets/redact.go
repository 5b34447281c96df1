package secrets

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/zricethezav/gitleaks/v8/report"
)

// publicPrefixes are the token type prefixes that vendors document as the
// public, constant part of their tokens (GitHub, GitLab, Slack, Stripe, AWS,
// Google, npm, Hugging Face, PyPI, Anthropic, OpenAI, SendGrid, Shopify,
// DigitalOcean, Grafana, Databricks, Vault, Docker Hub, Figma, Linear,
// PlanetScale, Square). A preview shows one of these, or nothing: never a
// character taken from the value itself beyond it.
var publicPrefixes = []string{
	"github_pat_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_",
	"glpat-", "gldt-", "glrt-", "glptt-", "glsoat-", "glcbt-", "gloas-", "glffct-", "glimt-", "glagent-", "GR1348941",
	"xoxe.xoxp-", "xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxe-", "xapp-",
	"sk_live_", "rk_live_", "pk_live_", "sk_test_", "rk_test_", "pk_test_", "whsec_",
	"AKIA", "ASIA", "ABIA", "ACCA",
	"AIza", "ya29.",
	"npm_", "hf_", "pypi-",
	"sk-ant-api03-", "sk-ant-admin01-", "sk-proj-", "sk-svcacct-",
	"SG.", "shpat_", "shpss_", "shpca_", "shppa_",
	"dop_v1_", "doo_v1_", "dor_v1_",
	"glsa_", "glc_", "dapi", "hvs.", "hvb.", "dckr_pat_", "figd_", "lin_api_", "pscale_tkn_", "pscale_pw_", "sq0atp-", "sq0csp-",
}

// minHidden is how many characters a value must have beyond its prefix for
// the prefix to be shown: a short value is shown by its length only.
const minHidden = 12

// pemHeader is the header line of a PEM block, which names its type only.
var pemHeader = regexp.MustCompile(`^-----BEGIN [A-Z0-9 ]{1,40}-----`)

// preview shows what kind of value was found without any of it: the PEM
// header of a key, or a documented public prefix of a provider token
// (ghp_, glpat-, xoxb-, sk_live_, AKIA), and the length. Everything else,
// passwords, generic secrets, UUID-shaped keys, shows its length only.
func preview(g report.Finding) string {
	s := g.Secret
	if s == "" {
		return "(file)"
	}
	if h := pemHeader.FindString(s); h != "" {
		return h + " …"
	}
	n := len([]rune(s))
	if p := publicPrefix(s); p != "" && !isGenericRule(g.RuleID) {
		return fmt.Sprintf("%s… (%d chars)", p, n)
	}
	return fmt.Sprintf("… (%d chars)", n)
}

// publicPrefix returns the documented public prefix s starts with, the
// longest one, or "" when s has none or is too short to show it.
func publicPrefix(s string) string {
	best := ""
	for _, p := range publicPrefixes {
		if len(p) > len(best) && strings.HasPrefix(s, p) && len(s) >= len(p)+minHidden {
			best = p
		}
	}
	return best
}

// Redactor remembers the secret values a scan found and removes them from
// any text: the gate's last pass over everything it publishes. The values
// stay in this process's memory, in this package. Safe for concurrent use.
type Redactor struct {
	mu       sync.Mutex
	values   map[string]bool
	replacer *strings.Replacer
	forms    []formMatcher // of the values of minFolded characters and more (forms.go)
}

// minRedact is the shortest value redacted: shorter ones (a 3-character
// password) would blank unrelated words of the report.
const minRedact = 6

// Redacted is what a secret value is replaced with.
const Redacted = "[REDACTED]"

func (r *Redactor) add(values ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range values {
		if len(v) < minRedact || r.values[v] {
			continue
		}
		if r.values == nil {
			r.values = map[string]bool{}
		}
		r.values[v] = true
		r.replacer = nil
	}
}

// Redact replaces every remembered value in s.
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	r.mu.Lock()
	if r.replacer == nil && len(r.values) > 0 {
		// Longest first, so a value containing another is removed whole.
		vs := make([]string, 0, len(r.values))
		for v := range r.values {
			vs = append(vs, v)
		}
		slices.SortFunc(vs, func(a, b string) int { return len(b) - len(a) })
		pairs := make([]string, 0, 2*len(vs))
		for _, v := range vs {
			pairs = append(pairs, v, Redacted)
		}
		r.replacer = strings.NewReplacer(pairs...)
		r.forms = nil // a Redact running still holds the old slice
		for _, v := range vs {
			if len(v) >= minFolded {
				r.forms = append(r.forms, newFormMatcher(v))
			}
		}
	}
	rep, forms := r.replacer, r.forms
	r.mu.Unlock()
	if rep == nil {
		return s
	}
	return redactForms(rep.Replace(s), forms)
}
