package secrets

import (
	"context"
	_ "embed"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

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
// changed is returned as notes for the report.
func loadConfig(ctx context.Context, root, rev string) (cfg config.Config, notes []string, err error) {
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
