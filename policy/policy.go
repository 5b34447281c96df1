package policy

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

//go:embed default.secgate.yml
var defaultYAML []byte

// DefaultFile returns the commented default policy, as `secgate policy init` writes it.
func DefaultFile() []byte { return bytes.Clone(defaultYAML) }

// Secret finding contexts (Finding.Context), each with a tier in
// secrets.context. The path classes apply to generic rules only (a
// connection URL, a private key, generic-api-key, curl's credentials);
// provider tokens with a verifiable format keep the secrets tier anywhere.
const (
	SecretContextTest      = "test"             // a test or fixture path (tests/, testdata/, fixtures/, *_test.go)
	SecretContextExample   = "example"          // examples/, samples/, demo/
	SecretContextDocs      = "docs"             // docs/, *.md, *.rst, *.adoc
	SecretContextVendored  = "vendored"         // vendor/, node_modules/, third_party/
	SecretContextLocalHost = "local-host"       // a connection URL to localhost, a loopback or private address, or a single-label host
	SecretContextChecksum  = "checksum-invalid" // a GitHub or npm token whose built-in checksum fails: not a token GitHub or npm issued
)

// SecretContexts lists the contexts, for validation and documentation.
var SecretContexts = []string{SecretContextTest, SecretContextExample, SecretContextDocs, SecretContextVendored, SecretContextLocalHost, SecretContextChecksum}

// DefaultPath names the built-in policy where a file path would be.
const DefaultPath = "(default policy)"

// FileName is the policy file secgate looks for at the root of the scanned tree.
const FileName = ".secgate.yml"

// Thresholds are the CVSS base score lower bounds of the tiers.
type Thresholds struct {
	Critical float64
	High     float64
	Medium   float64
}

// Actions maps each tier to what the gate does.
type Actions struct {
	Critical, High, Medium, Low Action
}

// For returns the action for a tier.
func (a Actions) For(s Severity) Action {
	switch s {
	case Critical:
		return a.Critical
	case High:
		return a.High
	case Medium:
		return a.Medium
	}
	return a.Low
}

// Exception suppresses the findings it names until it expires.
type Exception struct {
	ID      string
	Reason  string
	Expires time.Time // the last day on which it applies (UTC)
	Owner   string
	Line    int // where it is declared, for messages
}

// ExpiresString is the expiry date as written in the policy.
func (e Exception) ExpiresString() string { return e.Expires.Format(time.DateOnly) }

// Policy is a parsed, validated .secgate.yml.
type Policy struct {
	Path            string
	Digest          string // sha256:… of the file's bytes
	Tiers           Thresholds
	Actions         Actions
	Production      []string
	Unscored        Severity
	NewFindingsOnly bool
	SkipOnError     []string
	SecretsTier     Severity
	// SecretsContext is the tier of secret findings in a context
	// (Finding.Context: test, example, docs, vendored, local-host,
	// checksum-invalid) instead of SecretsTier.
	SecretsContext map[string]Severity
	// SecretsVerify (secrets.verify) asks each provider whether a found
	// credential is live; SecretsInvalid is the tier of one it rejected.
	SecretsVerify  bool
	SecretsInvalid Severity
	// ManifestsExclude are directory names the manifests scanner skips.
	ManifestsExclude []string
	// DockerfileExclude are directory names the dockerfile scanner skips.
	DockerfileExclude []string
	// Response is where each tier is ticketed and who is notified.
	Response Response
	// SecretsRequireFiles and DepsRequireLockfiles make a scan that read
	// nothing an error (secrets.require_files, deps.require_lockfiles).
	SecretsRequireFiles bool
	// SecretsSkipArchives (secrets.archives: skip) lets a secret scan go on
	// past an archive that decompresses beyond its bound, noted in the
	// coverage; by default (fail) such an archive fails the scan.
	SecretsSkipArchives  bool
	DepsRequireLockfiles bool
	DepsExclude          []string // osv-scanner exclude patterns: dir names, g:glob, r:regex
	DepsUnparsable       Action   // a lockfile that does not parse: ActionFail (gate error) or ActionReport (a warning)
	// DepsLockfilePatterns are files read as lockfiles beyond the names
	// osv-scanner knows, per ecosystem (deps.lockfile_patterns; default
	// DefaultDepsLockfilePatterns).
	DepsLockfilePatterns map[string][]string
	DepsMaxDBAge         time.Duration // how old offline vulnerability data may be; 0: unchecked
	// DepsKEV is the least tier of an advisory in CISA's KEV catalog
	// (deps.kev); SeverityUnset: off.
	DepsKEV Severity
	// DepsEPSSAbove and DepsEPSSTier are the EPSS floor (deps.epss): an
	// advisory whose EPSS probability is above it is at least that tier;
	// SeverityUnset: off.
	DepsEPSSAbove  float64
	DepsEPSSTier   Severity
	ImageMaxSize   int64 // bytes
	ImageMaxWasted int64 // bytes of files later layers delete or overwrite
	// Checks sets the tier of checks by id (image.checks, and the older
	// image.root_user and image.size keys); a check not set here has its
	// catalogue default.
	Checks     map[string]Severity
	Exceptions []Exception
	// VEXPaths are the policy's `vex:` documents (paths in the
	// repository); VEX the parsed documents, the caller's to load (the
	// policy reads no files).
	VEXPaths []string
	VEX      []*VEX
}

// Default returns the built-in policy (the one `policy init` writes).
func Default() *Policy {
	p, err := Parse(DefaultPath, defaultYAML, nil)
	if err != nil {
		panic("secgate: the embedded default policy does not parse: " + err.Error())
	}
	return p
}

// TierFor maps a CVSS base score to a tier.
func (p *Policy) TierFor(score float64) Severity {
	switch {
	case score >= p.Tiers.Critical:
		return Critical
	case score >= p.Tiers.High:
		return High
	case score >= p.Tiers.Medium:
		return Medium
	}
	return Low
}

// CheckTier is the tier of a check: the policy's, else def (the
// catalogue's default).
func (p *Policy) CheckTier(id string, def Severity) Severity {
	if t, ok := p.Checks[id]; ok && t != SeverityUnset {
		return t
	}
	return def
}

// MaySkip reports whether the policy tolerates the named scanner failing.
func (p *Policy) MaySkip(scanner string) bool {
	return slices.Contains(p.SkipOnError, scanner)
}

// IsProduction reports whether an environment (name or GitLab tier) is a production one.
func (p *Policy) IsProduction(name, tier string) bool {
	if strings.EqualFold(strings.TrimSpace(tier), "production") {
		return true
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return false
	}
	for _, n := range p.Production {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// FileError is a problem in a policy file, located at file:line:column.
type FileError struct {
	File   string
	Line   int
	Column int
	Msg    string
}

func (e *FileError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// rawPolicy mirrors the YAML document; pointers tell "absent" from "zero".
type rawPolicy struct {
	Version         *int     `yaml:"version"`
	Tiers           *rawTier `yaml:"tiers"`
	Actions         *rawActs `yaml:"actions"`
	Production      []string `yaml:"production"`
	Unscored        *string  `yaml:"unscored"`
	NewFindingsOnly *bool    `yaml:"new_findings_only"`
	SkipOnError     []string `yaml:"skip_on_error"`
	Secrets         *struct {
		Tier         *string            `yaml:"tier"`
		RequireFiles *bool              `yaml:"require_files"`
		Archives     *string            `yaml:"archives"`
		Context      map[string]*string `yaml:"context"`
		Verify       *bool              `yaml:"verify"`
		Invalid      *string            `yaml:"invalid"`
	} `yaml:"secrets"`
	Deps *struct {
		Exclude    []string            `yaml:"exclude"`
		Unparsable *string             `yaml:"unparsable"`
		MaxDBAge   *string             `yaml:"max_db_age"`
		Require    *bool               `yaml:"require_lockfiles"`
		Patterns   map[string][]string `yaml:"lockfile_patterns"`
		KEV        any                 `yaml:"kev"`  // a tier, or off
		EPSS       any                 `yaml:"epss"` // {above, tier}, or off
	} `yaml:"deps"`
	Image *struct {
		MaxSize   *string           `yaml:"max_size"`
		MaxWasted *string           `yaml:"max_wasted"`
		RootUser  *string           `yaml:"root_user"`
		Size      *string           `yaml:"size"`
		Checks    map[string]string `yaml:"checks"`
	} `yaml:"image"`
	Manifests  *rawFileChecks    `yaml:"manifests"`
	Dockerfile *rawFileChecks    `yaml:"dockerfile"`
	Checks     map[string]string `yaml:"checks"`
	Exceptions []rawException    `yaml:"exceptions"`
	VEX        []string          `yaml:"vex"`
	Response   *rawResponse      `yaml:"response"`
	Owner      *string           `yaml:"owner"`
	Jira       *rawJira          `yaml:"jira"`
}

type rawTier struct {
	Critical *float64 `yaml:"critical"`
	High     *float64 `yaml:"high"`
	Medium   *float64 `yaml:"medium"`
}

type rawActs struct {
	Critical *string `yaml:"critical"`
	High     *string `yaml:"high"`
	Medium   *string `yaml:"medium"`
	Low      *string `yaml:"low"`
}

type rawException struct {
	ID      string `yaml:"id"`
	Reason  string `yaml:"reason"`
	Expires string `yaml:"expires"`
	Owner   string `yaml:"owner"`
}

// Parse reads and validates a policy document. file names it in errors.
// Keys that are absent keep their defaults; unknown keys, wrong types and
// bad values are errors located at file:line:column (all of them, joined).
// Scanner names and check ids are checked against cat (the gate's
// registry); a nil cat checks none.
func Parse(file string, data []byte, cat Catalogue) (*Policy, error) {
	ast, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, yamlError(file, err)
	}
	// One document: the decoder reads the first and would ignore the rest,
	// which a reader of the file takes for policy too.
	docs := 0
	for _, d := range ast.Docs {
		if d.Body == nil {
			continue
		}
		if docs++; docs > 1 {
			return nil, fmt.Errorf("%s:%d: a second YAML document (after ---): a policy is one document", file, d.Body.GetToken().Position.Line)
		}
	}
	var raw rawPolicy
	if err := yaml.UnmarshalWithOptions(data, &raw, yaml.DisallowUnknownField(), yaml.Strict()); err != nil {
		return nil, yamlError(file, err)
	}
	v := validator{file: file, ast: ast}
	p := builtin()
	p.Path = file
	p.Digest = fmt.Sprintf("sha256:%x", sha256.Sum256(data))
	if raw.Version != nil && *raw.Version != 1 {
		v.errf("$.version", "unsupported policy version %d (this secgate reads version 1)", *raw.Version)
	}
	if t := raw.Tiers; t != nil {
		setScore(&v, "$.tiers.critical", t.Critical, &p.Tiers.Critical)
		setScore(&v, "$.tiers.high", t.High, &p.Tiers.High)
		setScore(&v, "$.tiers.medium", t.Medium, &p.Tiers.Medium)
		if !(p.Tiers.Medium < p.Tiers.High && p.Tiers.High < p.Tiers.Critical) {
			v.errf("$.tiers", "tiers must increase: medium (%.1f) < high (%.1f) < critical (%.1f)",
				p.Tiers.Medium, p.Tiers.High, p.Tiers.Critical)
		}
	}
	if a := raw.Actions; a != nil {
		setAction(&v, "$.actions.critical", a.Critical, &p.Actions.Critical)
		setAction(&v, "$.actions.high", a.High, &p.Actions.High)
		setAction(&v, "$.actions.medium", a.Medium, &p.Actions.Medium)
		setAction(&v, "$.actions.low", a.Low, &p.Actions.Low)
	}
	if raw.Production != nil {
		p.Production = nil
		for i, n := range raw.Production {
			if strings.TrimSpace(n) == "" {
				v.errf(fmt.Sprintf("$.production[%d]", i), "empty environment name")
				continue
			}
			p.Production = append(p.Production, strings.TrimSpace(n))
		}
	}
	setSeverity(&v, "$.unscored", raw.Unscored, &p.Unscored)
	if raw.NewFindingsOnly != nil {
		p.NewFindingsOnly = *raw.NewFindingsOnly
	}
	for i, s := range raw.SkipOnError {
		if cat != nil && !cat.Has(s) {
			v.errf(fmt.Sprintf("$.skip_on_error[%d]", i), "unknown scanner %q (want %s)", s, strings.Join(cat.Names(), ", "))
			continue
		}
		p.SkipOnError = append(p.SkipOnError, s)
	}
	parseResponse(&v, raw.Response, raw.Owner, raw.Jira, p)
	if s := raw.Secrets; s != nil {
		setSeverity(&v, "$.secrets.tier", s.Tier, &p.SecretsTier)
		if s.RequireFiles != nil {
			p.SecretsRequireFiles = *s.RequireFiles
		}
		if s.Verify != nil {
			p.SecretsVerify = *s.Verify
		}
		setSeverity(&v, "$.secrets.invalid", s.Invalid, &p.SecretsInvalid)
		if a := s.Archives; a != nil {
			switch *a {
			case "fail":
				p.SecretsSkipArchives = false
			case "skip":
				p.SecretsSkipArchives = true
			default:
				v.errf("$.secrets.archives", "unknown value %q (want fail or skip)", *a)
			}
		}
		for _, class := range slices.Sorted(maps.Keys(s.Context)) {
			path := "$.secrets.context." + class
			if !slices.Contains(SecretContexts, class) {
				v.errf(path, "unknown context %q (want %s)", class, strings.Join(SecretContexts, ", "))
				continue
			}
			if s.Context[class] == nil {
				v.errf(path, "a tier is required (critical, high, medium, low)")
				continue
			}
			sev := p.SecretsContext[class]
			setSeverity(&v, path, s.Context[class], &sev)
			p.SecretsContext[class] = sev
		}
	}
	if dp := raw.Deps; dp != nil {
		for i, e := range dp.Exclude {
			if strings.TrimSpace(e) == "" {
				v.errf(fmt.Sprintf("$.deps.exclude[%d]", i), "empty exclude pattern")
				continue
			}
			p.DepsExclude = append(p.DepsExclude, e)
		}
		if dp.Require != nil {
			p.DepsRequireLockfiles = *dp.Require
		}
		parseKEV(&v, dp.KEV, &p.DepsKEV)
		parseEPSS(&v, dp.EPSS, &p.DepsEPSSAbove, &p.DepsEPSSTier)
		if a := dp.MaxDBAge; a != nil {
			d, err := ParseAge(*a)
			if err != nil {
				v.errf("$.deps.max_db_age", "%v", err)
			} else {
				p.DepsMaxDBAge = d
			}
		}
		if dp.Patterns != nil {
			p.DepsLockfilePatterns = map[string][]string{}
			for eco, list := range dp.Patterns {
				at := "$.deps.lockfile_patterns." + eco
				if _, ok := DefaultDepsLockfilePatterns[eco]; !ok {
					v.errf(at, "unknown ecosystem %q (want one of %s)", eco, strings.Join(slices.Sorted(maps.Keys(DefaultDepsLockfilePatterns)), ", "))
					continue
				}
				for i, pat := range list {
					if err := checkLockfilePattern(pat); err != nil {
						v.errf(fmt.Sprintf("%s[%d]", at, i), "%v", err)
						continue
					}
					p.DepsLockfilePatterns[eco] = append(p.DepsLockfilePatterns[eco], pat)
				}
			}
		}
		if u := dp.Unparsable; u != nil {
			switch *u {
			case "error":
				p.DepsUnparsable = ActionFail
			case "warn":
				p.DepsUnparsable = ActionReport
			default:
				v.errf("$.deps.unparsable", "unknown value %q (want error or warn)", *u)
			}
		}
	}
	if im := raw.Image; im != nil {
		if im.MaxSize != nil {
			n, err := ParseSize(*im.MaxSize)
			if err != nil {
				v.errf("$.image.max_size", "%v", err)
			} else {
				p.ImageMaxSize = n
			}
		}
		if im.MaxWasted != nil {
			n, err := ParseSize(*im.MaxWasted)
			if err != nil {
				v.errf("$.image.max_wasted", "%v", err)
			} else {
				p.ImageMaxWasted = n
			}
		}
		// The older keys are two names of two checks: one setting each.
		for key, alias := range map[string]struct {
			id  string
			val *string
		}{"root_user": {"image-runs-as-root", im.RootUser}, "size": {"image-size-budget", im.Size}} {
			if alias.val == nil {
				continue
			}
			if _, twice := im.Checks[alias.id]; twice {
				v.errf("$.image."+key, "image.%s and image.checks.%s set the same tier: keep one", key, alias.id)
				continue
			}
			var sev Severity
			setSeverity(&v, "$.image."+key, alias.val, &sev)
			if sev != SeverityUnset {
				p.setCheck(&v, "$.image."+key, alias.id, sev)
			}
		}
		for _, id := range slices.Sorted(maps.Keys(im.Checks)) {
			if _, ok := cat.Check("image", id); cat != nil && !ok {
				v.errf("$.image.checks."+id, "unknown image check %q (want one of %s)", id, cat.checkIDs("image"))
				continue
			}
			p.setCheckString(&v, "$.image.checks."+id, id, im.Checks[id])
		}
	}
	// checks: the tier of any registered scanner's check, by id.
	p.ManifestsExclude = p.fileChecks(&v, cat, "manifests", raw.Manifests)
	p.DockerfileExclude = p.fileChecks(&v, cat, "dockerfile", raw.Dockerfile)
	for _, id := range slices.Sorted(maps.Keys(raw.Checks)) {
		ch, ok := cat.Check("", id)
		if cat != nil && !ok {
			v.errf("$.checks."+id, "unknown check %q (want one of %s)", id, cat.checkIDs(""))
			continue
		}
		if ok && ch.Tier == SeverityUnset {
			v.errf("$.checks."+id, "check %s has no tier of its own: each finding's comes from its section (secrets.tier, CVSS scores)", id)
			continue
		}
		p.setCheckString(&v, "$.checks."+id, id, raw.Checks[id])
	}
	seen := map[string]int{}
	for i, e := range raw.Exceptions {
		at := fmt.Sprintf("$.exceptions[%d]", i)
		ex := Exception{ID: strings.TrimSpace(e.ID), Reason: strings.TrimSpace(e.Reason), Owner: strings.TrimSpace(e.Owner)}
		ex.Line, _ = v.pos(at)
		if ex.ID == "" {
			v.errf(at, "exception has no id")
		} else if prev, dup := seen[ex.ID]; dup {
			v.errf(at+".id", "exception %q is declared twice (first at line %d)", ex.ID, prev)
		}
		seen[ex.ID] = ex.Line
		if ex.Reason == "" {
			v.errf(at, "exception %q has no reason: say why it is safe to ignore", ex.ID)
		}
		if strings.TrimSpace(e.Expires) == "" {
			v.errf(at, "exception %q has no expires date (YYYY-MM-DD): every exception must end", ex.ID)
		} else if d, err := time.Parse(time.DateOnly, strings.TrimSpace(e.Expires)); err != nil {
			v.errf(at+".expires", "exception %q: expires %q is not a date (YYYY-MM-DD)", ex.ID, e.Expires)
		} else {
			ex.Expires = d
		}
		p.Exceptions = append(p.Exceptions, ex)
	}
	for i, f := range raw.VEX {
		if f = strings.TrimSpace(f); f == "" || filepath.IsAbs(f) || slices.Contains(strings.Split(filepath.ToSlash(f), "/"), "..") {
			v.errf(fmt.Sprintf("$.vex[%d]", i), "VEX document %q: want a path in the repository (relative, no ..)", f)
			continue
		}
		p.VEXPaths = append(p.VEXPaths, f)
	}
	if len(v.errs) > 0 {
		return nil, errors.Join(v.errs...)
	}
	return p, nil
}

// DefaultDepsLockfilePatterns are the files read as lockfiles beyond the
// names osv-scanner knows, per ecosystem: pip requirements files in the
// Django and pip-tools layouts (a requirements/ directory, requirements.in,
// constraints.txt). PyPI is the only ecosystem with a format to read them
// as.
var DefaultDepsLockfilePatterns = map[string][]string{
	"PyPI": {"requirements/*.txt", "requirements*.in", "constraints*.txt"},
}

// checkLockfilePattern checks a deps.lockfile_patterns glob: relative, no
// "..", only *, ** and ? as wildcards.
func checkLockfilePattern(p string) error {
	switch {
	case strings.TrimSpace(p) == "":
		return errors.New("empty pattern")
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("pattern %q: a path relative to the tree, not /", p)
	case slices.Contains(strings.Split(p, "/"), ".."):
		return fmt.Errorf("pattern %q: \"..\" leaves the tree", p)
	case strings.ContainsAny(p, "[]{}\\"):
		return fmt.Errorf("pattern %q: only *, ** and ? are wildcards", p)
	}
	return nil
}

// builtin is the default policy as Go values; Parse overlays the file on it.
// The embedded default file must agree with it (a test checks).
func builtin() *Policy {
	return &Policy{
		Tiers:          Thresholds{Critical: 9.0, High: 7.0, Medium: 4.0},
		Actions:        Actions{Critical: ActionFail, High: ActionBlockProduction, Medium: ActionFileIssue, Low: ActionReport},
		Production:     []string{"production", "prod"},
		Unscored:       Medium,
		SecretsTier:    Critical,
		SecretsInvalid: DefaultSecretsInvalidTier,
		SecretsContext: map[string]Severity{
			SecretContextTest: Low, SecretContextExample: Low, SecretContextDocs: Low,
			SecretContextVendored: Low, SecretContextLocalHost: Low, SecretContextChecksum: Low,
		},
		DepsUnparsable: ActionFail,
		DepsLockfilePatterns: map[string][]string{
			"PyPI": slices.Clone(DefaultDepsLockfilePatterns["PyPI"]),
		},
		DepsMaxDBAge:   7 * 24 * time.Hour,
		DepsKEV:        DefaultKEVTier,
		DepsEPSSAbove:  DefaultEPSSAbove,
		DepsEPSSTier:   DefaultEPSSTier,
		ImageMaxSize:   200 * 1000 * 1000,
		ImageMaxWasted: 10 * 1000 * 1000,
		Response:       defaultResponse(),
	}
}

// setCheck sets a check's tier, once: a second key for the same check
// (image.root_user and checks.image-runs-as-root) is an error, never a
// silent choice between two settings.
func (p *Policy) setCheck(v *validator, at, id string, sev Severity) {
	if _, twice := p.Checks[id]; twice {
		v.errf(at, "the tier of check %s is set twice: keep one setting", id)
		return
	}
	if p.Checks == nil {
		p.Checks = map[string]Severity{}
	}
	p.Checks[id] = sev
}

// rawFileChecks is the section of a scanner of files (manifests,
// dockerfile): the tiers of its checks and the directories it skips.
type rawFileChecks struct {
	Checks  map[string]string `yaml:"checks"`
	Exclude []string          `yaml:"exclude"`
}

// fileChecks applies a file scanner's section: its checks' tiers, and
// returns its excluded directory names.
func (p *Policy) fileChecks(v *validator, cat Catalogue, section string, raw *rawFileChecks) []string {
	if raw == nil {
		return nil
	}
	for _, id := range slices.Sorted(maps.Keys(raw.Checks)) {
		if _, ok := cat.Check(section, id); cat != nil && !ok {
			v.errf("$."+section+".checks."+id, "unknown %s check %q (want one of %s)", section, id, cat.checkIDs(section))
			continue
		}
		p.setCheckString(v, "$."+section+".checks."+id, id, raw.Checks[id])
	}
	var out []string
	for i, e := range raw.Exclude {
		if strings.TrimSpace(e) == "" || strings.Contains(e, "/") {
			v.errf(fmt.Sprintf("$.%s.exclude[%d]", section, i), "exclude %q: a directory name (charts, testdata)", e)
			continue
		}
		out = append(out, e)
	}
	return out
}

func (p *Policy) setCheckString(v *validator, at, id, tier string) {
	sev, err := ParseSeverity(tier)
	if err != nil {
		v.errf(at, "%v", err)
		return
	}
	p.setCheck(v, at, id, sev)
}

type validator struct {
	file string
	ast  *ast.File
	errs []error
}

func (v *validator) pos(path string) (line, col int) {
	p, err := yaml.PathString(path)
	if err != nil {
		return 0, 0
	}
	n, err := p.FilterFile(v.ast)
	if err != nil || n == nil {
		return 0, 0
	}
	if m, ok := n.(*ast.MappingNode); ok && len(m.Values) > 0 {
		n = m.Values[0].Key // a block mapping: point at its first key
	}
	tk := n.GetToken()
	if tk == nil {
		return 0, 0
	}
	return tk.Position.Line, tk.Position.Column
}

func (v *validator) errf(path, format string, args ...any) {
	line, col := v.pos(path)
	v.errs = append(v.errs, &FileError{File: v.file, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)})
}

func setScore(v *validator, path string, in *float64, out *float64) {
	if in == nil {
		return
	}
	if *in <= 0 || *in > 10 {
		v.errf(path, "CVSS threshold %v is outside (0, 10]", *in)
		return
	}
	*out = *in
}

func setAction(v *validator, path string, in *string, out *Action) {
	if in == nil {
		return
	}
	a, err := parseAction(*in)
	if err != nil {
		v.errf(path, "%v", err)
		return
	}
	*out = a
}

func setSeverity(v *validator, path string, in *string, out *Severity) {
	if in == nil {
		return
	}
	s, err := ParseSeverity(*in)
	if err != nil {
		v.errf(path, "%v", err)
		return
	}
	*out = s
}

func yamlError(file string, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) && ye.GetToken() != nil {
		tk := ye.GetToken()
		return &FileError{File: file, Line: tk.Position.Line, Column: tk.Position.Column, Msg: ye.GetMessage()}
	}
	return &FileError{File: file, Msg: err.Error()}
}

// ParseAge reads an age: "7d", "36h", "90m", or "0" (no limit).
func ParseAge(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if t == "0" {
		return 0, nil
	}
	if n, ok := strings.CutSuffix(t, "d"); ok {
		days, err := strconv.ParseFloat(n, 64)
		if err == nil && days >= 0 {
			return time.Duration(days * 24 * float64(time.Hour)), nil
		}
	} else if d, err := time.ParseDuration(t); err == nil && d >= 0 {
		return d, nil
	}
	return 0, fmt.Errorf("invalid age %q (want e.g. 7d, 36h, or 0 for no limit)", s)
}

// ParseSize reads a size such as "200MB", "1.5GiB", "512 KB" or "1000"
// (bytes). KB/MB/GB are powers of 1000, KiB/MiB/GiB powers of 1024.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return !unicode.IsDigit(r) && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = strings.TrimSpace(t[:i]), strings.TrimSpace(t[i:])
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("invalid size %q (want e.g. 200MB)", s)
	}
	mult := map[string]float64{"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30}
	m, ok := mult[strings.ToLower(unit)]
	if !ok {
		return 0, fmt.Errorf("invalid size %q: unknown unit %q (want B, KB, MB, GB, KiB, MiB or GiB)", s, unit)
	}
	return int64(f * m), nil
}
