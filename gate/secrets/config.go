package secrets

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/viper"
	"github.com/zricethezav/gitleaks/v8/config"

	"github.com/secgate/secgate/gate/repo"
)

// extraRulesTOML holds secgate's rules on top of gitleaks' defaults, in
// gitleaks' own config format.
//
//go:embed rules.toml
var extraRulesTOML string

// RepoConfigFile is the repository's own gitleaks configuration.
const RepoConfigFile = ".gitleaks.toml"

// loadConfig builds the ruleset of a scan: gitleaks' default rules, secgate's
// extra rules, and the repository's .gitleaks.toml merged on top by hand.
//
// gitleaks' own loader goes through the process-global viper and an
// "extend" counter that is never reset (gitleaks v8.30.1, config/config.go:
// a package-level extendDepth): it races and loses rules on the third load. Each config here is read with a private
// viper, and [extend] is never passed to Translate.
//
// A repository config adds rules and allowlists and may disable rules by
// id (extend.disabledRules); unlike the gitleaks CLI, a config without
// `[extend] useDefault = true` does not replace the default rules: the gate
// never scans with less than gitleaks' defaults. What the repository
// changed is returned as notes for the report. The rule set is built once
// per process for each content of .gitleaks.toml (none included) and
// shared read-only (rulesets).
func loadConfig(ctx context.Context, root, rev string) (cfg config.Config, notes []string, err error) {
	path := filepath.Join(root, RepoConfigFile)
	if rev != "" {
		path = fmt.Sprintf("%s (at base revision %s)", path, rev)
	}
	var data []byte
	found := false
	if root != "" { // no repository: the built-in rules only
		data, found, err = repo.ReadFile(ctx, root, rev, RepoConfigFile)
		if err != nil {
			return config.Config{}, nil, fmt.Errorf("reading %s: %w", path, err)
		}
	}
	key := "built-in rules"
	if found {
		key = fmt.Sprintf("%s %x", RepoConfigFile, sha256.Sum256(data))
	}
	return rulesets.get(key, func() (config.Config, []string, error) { return buildConfig(path, data, found) })
}

// buildConfig is loadConfig once the repository's config is read (data,
// when found; path names it in errors).
func buildConfig(path string, data []byte, found bool) (cfg config.Config, notes []string, err error) {
	def, err := readViperConfig("gitleaks default config", config.DefaultConfig)
	if err != nil {
		return config.Config{}, nil, err
	}
	extra, err := readViperConfig("secgate rules", extraRulesTOML)
	if err != nil {
		return config.Config{}, nil, err
	}
	merged := def
	mergeViperConfig(&merged, extra)
	if found {
		repo, err := readViperConfig(path, string(data))
		if err != nil {
			return config.Config{}, nil, err
		}
		notes = append(notes, fmt.Sprintf("%s: %d rules and %d allowlists added to the default rules", RepoConfigFile, len(repo.Rules), len(repo.Allowlists)))
		if repo.Extend.Path != "" || repo.Extend.URL != "" {
			notes = append(notes, fmt.Sprintf("%s: [extend] path/url is not followed; the default rules are always used", RepoConfigFile))
		}
		mergeViperConfig(&merged, repo)
		if len(repo.Extend.DisabledRules) > 0 {
			kept := merged.Rules[:0]
			for _, r := range merged.Rules {
				if !slices.Contains(repo.Extend.DisabledRules, r.ID) {
					kept = append(kept, r)
				}
			}
			merged.Rules = kept
			notes = append(notes, fmt.Sprintf("%s disables rules: %s", RepoConfigFile, strings.Join(repo.Extend.DisabledRules, ", ")))
		}
	}
	merged.Extend = config.Extend{}
	merged.MinVersion = ""
	cfg, err = translate(merged)
	if err != nil {
		return config.Config{}, nil, fmt.Errorf("secret scanning rules (%s): %w", path, err)
	}
	return cfg, notes, nil
}

// rulesets are the rule sets this process has built, by their input (the
// built-in rules alone, or with a .gitleaks.toml's content): one gate run
// needs the built-in set four times (the secret scan, the image and
// Dockerfile text scanners, the outgoing redaction), and parsing the TOML
// and compiling ~224 regexes cost ~40 ms each (BenchmarkLoadConfig),
// ~130 ms on a loaded machine. A translated config.Config is read-only
// from then on (gitleaks v8.30.1: Translate validates rules and
// allowlists, building their joined patterns and tries; detect only reads
// Config; the stdlib regexps are safe for concurrent use), and secgate
// derives its per-detector configs (rulesWhere, providerConfig) into new
// maps and slices: TestSharedConfigUnchanged. A detector keeps its
// per-scan state (findings, .gitleaksignore) and is never shared.
var rulesets = rulesetCache{m: map[string]*ruleset{}}

// maxRulesets bounds rulesets: a process scans one repository or a few
// (tests make many configs).
const maxRulesets = 8

type rulesetCache struct {
	mu sync.Mutex
	m  map[string]*ruleset
}

type ruleset struct {
	ready chan struct{} // closed once built
	cfg   config.Config
	notes []string
	err   error
}

// get returns the rule set of key, built by build once: concurrent callers
// of one key wait for the first one's. An error is not kept: it names the
// file of the caller that met it, and the next caller builds again.
func (c *rulesetCache) get(key string, build func() (config.Config, []string, error)) (config.Config, []string, error) {
	c.mu.Lock()
	r, ok := c.m[key]
	if !ok {
		if len(c.m) >= maxRulesets {
			clear(c.m)
		}
		r = &ruleset{ready: make(chan struct{}), err: errors.New("building the secret scanning rules failed")}
		c.m[key] = r
		c.mu.Unlock()
		defer close(r.ready) // a panic in build (a bug) must not hang the callers waiting
		r.cfg, r.notes, r.err = build()
		if r.err != nil {
			c.mu.Lock()
			if c.m[key] == r {
				delete(c.m, key)
			}
			c.mu.Unlock()
		}
		return r.cfg, slices.Clone(r.notes), r.err
	}
	c.mu.Unlock()
	<-r.ready
	if r.err != nil {
		return build()
	}
	return r.cfg, slices.Clone(r.notes), nil
}

func readViperConfig(name, data string) (config.ViperConfig, error) {
	v := viper.New()
	v.SetConfigType("toml")
	if err := v.ReadConfig(strings.NewReader(data)); err != nil {
		return config.ViperConfig{}, fmt.Errorf("reading %s: %w", name, err)
	}
	var vc config.ViperConfig
	if err := v.Unmarshal(&vc); err != nil {
		return config.ViperConfig{}, fmt.Errorf("reading %s: %w", name, err)
	}
	normalizeAllowlists(&vc)
	return vc, nil
}

// mergeViperConfig adds src's rules and allowlists to dst. A rule with the
// id of an existing one replaces it when it has its own regex or path, and
// otherwise adds its allowlists, keywords and tags to it (as gitleaks'
// [extend] does).
func mergeViperConfig(dst *config.ViperConfig, src config.ViperConfig) {
	for _, r := range src.Rules {
		found := -1
		for j := range dst.Rules {
			if dst.Rules[j].ID == r.ID {
				found = j
				break
			}
		}
		switch {
		case found < 0:
			dst.Rules = append(dst.Rules, r)
		case r.Regex != "" || r.Path != "":
			dst.Rules[found] = r
		default:
			d := &dst.Rules[found]
			d.Allowlists = append(d.Allowlists, r.Allowlists...)
			d.Keywords = append(d.Keywords, r.Keywords...)
			d.Tags = append(d.Tags, r.Tags...)
		}
	}
	dst.Allowlists = append(dst.Allowlists, src.Allowlists...)
}

// normalizeAllowlists moves the deprecated single [allowlist] tables (which
// gitleaks' own default config still uses) into the [[allowlists]] lists:
// Translate refuses a config that has both, as a merged one could.
func normalizeAllowlists(vc *config.ViperConfig) {
	//lint:ignore SA1019 reading the deprecated form is the point
	if al := vc.AllowList; al != nil {
		vc.Allowlists = append(vc.Allowlists, al)
		vc.AllowList = nil //lint:ignore SA1019 see above
	}
	for i := range vc.Rules {
		if r := &vc.Rules[i]; r.AllowList != nil {
			r.Allowlists = append(r.Allowlists, r.AllowList)
			r.AllowList = nil
		}
	}
}

// translate compiles a merged config. gitleaks panics on an invalid regex
// (regexp.MustCompile): that becomes an error here.
func translate(vc config.ViperConfig) (cfg config.Config, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("invalid rule: %v", r)
		}
	}()
	return vc.Translate()
}
