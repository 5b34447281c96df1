// Package gate runs secgate's scanners concurrently on one change, judges
// what they found with the policy, and returns the report.
package gate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/secgate/secgate/gate/deps"
	"github.com/secgate/secgate/gate/image"
	"github.com/secgate/secgate/gate/repo"
	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/gate/secrets"
	"github.com/secgate/secgate/policy"
)

// Scanner is one kind of check over the change.
type Scanner interface {
	Name() string
	Scan(ctx context.Context) (policy.ScanResult, error)
}

// Targeter is implemented by scanners that can say what they scan.
type Targeter interface {
	Target() string
}

var (
	_ Scanner = (*secrets.Scanner)(nil)
	_ Scanner = (*deps.Scanner)(nil)
	_ Scanner = (*image.Scanner)(nil)
	_ Scanner = (*configScanner)(nil)
)

// Config is one run of the gate. The caller (the CLI, a platform layer)
// resolves everything from the environment; the gate reads none of it.
type Config struct {
	Path string // the directory or repository to scan
	// Policy is an already-loaded policy; when nil, PolicyFile, else the
	// repository's .secgate.yml (the base revision's on a pull/merge
	// request), else the built-in policy.
	Policy          *policy.Policy
	PolicyFile      string
	Environment     string   // target environment name
	EnvironmentTier string   // GitLab environment tier
	PullRequest     bool     // a pull/merge request is being judged
	Base, Head      string   // commit range for the secret scan; Base: the trusted revision
	History         bool     // scan the whole git history for secrets
	Only, Skip      []string // scanner selection
	Images          []string // images to check
	Platforms       []string // platforms of multi-platform images to check (default all)
	Lockfiles       []string // lockfiles to scan besides those found under Path
	VEXFiles        []string // OpenVEX documents besides the policy's vex: list
	OfflineDB       string   // offline OSV database directory; empty: the OSV API
	DownloadDB      bool     // download the offline database into OfflineDB first
	OSVAPIURL       string   // OSV API base URL (default the real one)
	// KEVURL and EPSSURL are where CISA's KEV catalog and FIRST's EPSS
	// scores are fetched from (--download-db, and at run time without an
	// offline database); empty: deps.DefaultKEVURL, deps.DefaultEPSSURL.
	KEVURL, EPSSURL string
	// CacheDir keeps, between runs, what the secret scan found nothing in
	// (internal/cache); CacheMax bounds it; Version names the build in
	// its digests.
	CacheDir string
	CacheMax int64
	Version  string
	// CacheSecret (SECGATE_CACHE_KEY) keys the authentication of the
	// cache's entries; without it, outside CI (InCI false) a key file
	// under CacheKeyDir (default: the user's cache directory) does, and
	// in CI the cache is not used (internal/cache/key.go).
	CacheSecret string
	InCI        bool
	CacheKeyDir string
	// FingerprintKey keys the hash of secret values in their fingerprints
	// (SECGATE_FINGERPRINT_KEY); empty: a public default key.
	FingerprintKey []byte
	// RegistryCredentials are registry logins besides the docker config's
	// (the CI platform's own); DockerHost the engine for docker-daemon:.
	RegistryCredentials []RegistryCredential
	DockerHost          string
	// DryRun is a run that files and signs nothing; VerifySecrets
	// (--verify-secrets) asks the providers whether found credentials
	// are live, in a dry run too, where the policy's secrets.verify does
	// not; SecretsTransport carries those requests (nil: the default).
	DryRun           bool
	VerifySecrets    bool
	SecretsTransport http.RoundTripper
	Now              time.Time
	Logger           *slog.Logger

	// Redaction is the run's redaction before the gate (Config.Redactor's,
	// the pipeline's log): the gate's shares its detector and its cache
	// of clean texts. Nil: the gate makes its own.
	Redaction report.Learner

	// Scanners replaces the scanners built from the fields above (tests).
	Scanners []Scanner
}

// RegistryCredential is a registry login, as gate/image (checks, package
// export) and signing take it.
type RegistryCredential = image.Credential

// Validate checks the configuration before anything runs. Messages name
// the configuration's fields (each is a flag, an action input, a
// component input and a SECGATE_* variable).
func (c Config) Validate() error {
	var errs []error
	names := ScannerNames()
	for _, n := range slices.Concat(c.Only, c.Skip) {
		if !slices.Contains(names, n) {
			errs = append(errs, fmt.Errorf("unknown scanner %q (want %s)", n, strings.Join(names, ", ")))
		}
	}
	if len(c.Only) > 0 && len(c.Skip) > 0 {
		errs = append(errs, errors.New("only and skip cannot be combined"))
	}
	if c.Head != "" && c.Base == "" {
		errs = append(errs, errors.New("head needs base (the commit range is base..head)"))
	}
	if c.DownloadDB && c.OfflineDB == "" {
		errs = append(errs, errors.New("download_db needs offline_db (the directory to put the database in)"))
	}
	if c.History && c.Base != "" {
		errs = append(errs, errors.New("history and base select different secret scans: choose one"))
	}
	if c.Scanners == nil {
		if fi, err := os.Stat(c.Path); err != nil {
			errs = append(errs, fmt.Errorf("scan path: %w", err))
		} else if !fi.IsDir() {
			errs = append(errs, fmt.Errorf("scan path %s is not a directory", c.Path))
		}
	}
	return errors.Join(errs...)
}

// selected returns the scanners to run: the registered ones that are
// ready (they have their inputs) and selected by Only/Skip. One asked for
// by name that is not ready is an error, never a silent pass.
func (c Config) selected() ([]Registration, error) {
	var out []Registration
	for _, r := range registry {
		named := slices.Contains(c.Only, r.Name)
		if len(c.Only) > 0 && !named || slices.Contains(c.Skip, r.Name) {
			continue
		}
		if ok, why := r.Ready(c); !ok {
			if named {
				return nil, fmt.Errorf("scanner %s cannot run: %s", r.Name, why)
			}
			continue
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, errors.New("no scanner selected: check only and skip")
	}
	return out, nil
}

// LoadPolicy returns the policy the run uses: Policy, else PolicyFile (a
// path the pipeline gives: trusted when outside the git repository, else
// read like .secgate.yml), else the repository's .secgate.yml —
// the base revision's on a pull/merge request (Base set), so that a change
// cannot add an exception for its own findings — else the built-in one.
func (c Config) LoadPolicy(ctx context.Context) (*policy.Policy, error) {
	if c.Policy != nil {
		return c.Policy, nil
	}
	if c.PolicyFile != "" {
		// A --policy file of the repository (anywhere in it, not only in
		// the scanned tree) is the repository's like .secgate.yml: the
		// base revision's on a pull/merge request. One outside it is the
		// pipeline's, used as given.
		if top, rel, ok := repo.Locate(c.Path, c.PolicyFile); ok && c.Base != "" {
			name := fmt.Sprintf("%s (at base revision %s)", c.PolicyFile, c.Base)
			data, found, err := repo.ReadFile(ctx, top, c.Base, rel)
			if err != nil {
				return nil, fmt.Errorf("reading policy %s: %w", name, err)
			}
			if !found {
				return policy.Default(), nil // runPolicy warns
			}
			return policy.Parse(name, data, Catalogue())
		}
		data, err := os.ReadFile(c.PolicyFile)
		if err != nil {
			return nil, fmt.Errorf("reading policy: %w", err)
		}
		return policy.Parse(c.PolicyFile, data, Catalogue())
	}
	data, ok, err := repo.ReadFile(ctx, c.Path, c.Base, policy.FileName)
	if err != nil {
		return nil, fmt.Errorf("reading policy: %w", err)
	}
	if !ok {
		return policy.Default(), nil
	}
	name := filepath.Join(c.Path, policy.FileName)
	if c.Base != "" {
		name = fmt.Sprintf("%s (at base revision %s)", name, c.Base)
	}
	return policy.Parse(name, data, Catalogue())
}

// PathInRepository is where path is in its git repository ("" at its
// root, or outside any repository): report locations relative to the
// repository (SARIF) are prefixed with it.
func PathInRepository(ctx context.Context, path string) string {
	return repo.Prefix(ctx, path)
}

// ParsePolicy parses a policy file against this build's scanners and checks.
func ParsePolicy(file string, data []byte) (*policy.Policy, error) {
	return policy.Parse(file, data, Catalogue())
}

// Run runs the gate. The report is complete in every outcome; err is
// non-nil exactly when the gate could not run (verdict "error", exit 2).
func Run(ctx context.Context, cfg Config) (rep report.Report, err error) {
	// The last pass before anything is published: secret values, URL
	// credentials and anything the detector finds in the text leave no
	// string of the report, nor the error. The report keeps the redactor:
	// the steps after the gate add text, and redact again with it.
	var redactors []policy.Redactor
	red := newOutgoing()
	defer func() {
		red.known = redactors
		rep.SetRedactor(red)
		if err != nil {
			red.Learn(err.Error())
		}
		report.Redact(&rep)
		if err != nil {
			err = &redactedError{msg: red.Redact(err.Error()), err: err}
		}
	}()
	rep = report.New()
	rep.Environment = cfg.Environment
	ctx = repo.WithIgnoredDirsMemo(ctx) // the scanners of files share the answer
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now.IsZero() {
		cfg.Now = time.Now()
	}
	// With --cache-dir, the outgoing texts an earlier run found clean are
	// not read again (a store that cannot open: the scanners say why).
	if from, ok := cfg.Redaction.(*outgoing); ok {
		red.follow(from)
	} else if store, err := cfg.openCache(log, false); err == nil {
		red.remember(store, cfg.Version, cfg.Now, log)
	}
	go red.detector() // its rules load while the scanners run
	fail := func(err error) (report.Report, error) {
		rep.Fail(err)
		return rep, err
	}
	pol, err := cfg.runPolicy(ctx, &rep)
	if err != nil {
		return fail(err)
	}
	scanners := cfg.Scanners
	if scanners == nil {
		if scanners, err = cfg.build(log, pol); err != nil {
			return fail(err)
		}
	}
	out := runScanners(ctx, scanners, pol, log)
	redactors = out.redactors
	found := out.collect(&rep)
	d := pol.Decide(found, policy.Context{
		Environment: cfg.Environment, EnvironmentTier: cfg.EnvironmentTier,
		PullRequest: cfg.PullRequest, Now: cfg.Now,
	})
	rep.Verdict, rep.DeployAllowed, rep.Production = d.Verdict, d.DeployAllowed, d.Production
	rep.Counts, rep.Findings = d.Counts, d.Findings
	rep.Reasons = append(rep.Reasons, d.Reasons...)
	rep.Warnings = append(rep.Warnings, d.Warnings...)
	vexNotes(rep.Scanners, d.Notes)
	if out.err != nil {
		return fail(out.err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	return rep, nil
}

// runPolicy checks the configuration and loads the run's policy (with the
// VEX documents' statements), recording its source in the report.
func (cfg Config) runPolicy(ctx context.Context, rep *report.Report) (*policy.Policy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	pol, err := cfg.LoadPolicy(ctx)
	if err != nil {
		return nil, err
	}
	var vexWarnings []string
	if pol, vexWarnings, err = cfg.withVEX(ctx, pol); err != nil {
		return nil, err
	}
	rep.Warnings = append(rep.Warnings, vexWarnings...)
	if cfg.PolicyFile != "" && pol.Path == policy.DefaultPath {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("policy %s is not in the base revision %s: the built-in policy judges this change, the file applies once merged", cfg.PolicyFile, cfg.Base))
	}
	rep.Production = pol.IsProduction(cfg.Environment, cfg.EnvironmentTier)
	rep.Policy = &report.PolicySource{File: pol.Path, Digest: pol.Digest}
	if pol.Path == policy.DefaultPath {
		rep.Policy.File = ""
	}
	return pol, nil
}

// scanOutcome is what the scanners handed over, one slot per scanner.
type scanOutcome struct {
	results       []report.Scanner
	found         [][]policy.Finding
	redactors     []policy.Redactor
	checkedImages [][]policy.CheckedImage
	deployed      [][]policy.Deployment
	warnings      [][]string
	packages      [][]policy.Package
	err           error
}

// runScanners runs the scanners concurrently. One scanner failing does not
// cancel the others: the gate fails closed all the same, but only once
// every scanner has handed over its findings and the values to redact. A
// secret scan cancelled because a parser failed on a token would leave
// that token in the parser's error, unredacted.
func runScanners(ctx context.Context, scanners []Scanner, pol *policy.Policy, log *slog.Logger) scanOutcome {
	n := len(scanners)
	o := scanOutcome{
		results: make([]report.Scanner, n), found: make([][]policy.Finding, n), redactors: make([]policy.Redactor, n),
		checkedImages: make([][]policy.CheckedImage, n), deployed: make([][]policy.Deployment, n),
		warnings: make([][]string, n), packages: make([][]policy.Package, n),
	}
	var g errgroup.Group
	for i, s := range scanners {
		g.Go(func() error { return o.scanOne(ctx, i, s, pol, log) })
	}
	o.err = g.Wait()
	return o
}

// scanOne runs scanner i and records what it found, also on failure:
// nothing is lost.
func (o *scanOutcome) scanOne(ctx context.Context, i int, s Scanner, pol *policy.Policy, log *slog.Logger) error {
	start := time.Now()
	log.Info("scanner started", "scanner", s.Name())
	res, err := scanRecovered(ctx, s)
	r := report.Scanner{Name: s.Name(), Status: report.StatusOK, DurationMS: time.Since(start).Milliseconds(), Notes: res.Notes}
	if cov := res.Coverage; err == nil || !cov.Empty() || len(cov.Skipped) > 0 {
		r.Coverage = &cov
	}
	if t, ok := s.(Targeter); ok {
		r.Target = t.Target()
	}
	for j := range res.Findings {
		res.Findings[j].Scanner = s.Name()
	}
	r.Findings, o.found[i], o.redactors[i], o.checkedImages[i], o.deployed[i] = len(res.Findings), res.Findings, res.Redactor, res.Images, res.Deployments
	o.packages[i] = res.Packages
	for _, w := range res.Warnings {
		o.warnings[i] = append(o.warnings[i], s.Name()+": "+w)
	}
	defer func() { o.results[i] = r }()
	if err != nil {
		r.Error = err.Error()
		if pol.MaySkip(s.Name()) {
			r.Status = report.StatusSkipped
			return nil
		}
		r.Status = report.StatusError
		return fmt.Errorf("%s: %w", s.Name(), err)
	}
	log.Info("scanner finished", "scanner", s.Name(), "findings", r.Findings, "duration_ms", r.DurationMS)
	return nil
}

// collect writes the scanners' results into the report (statuses, images,
// warnings, packages, the cross-check's notes) and returns every finding.
func (o scanOutcome) collect(rep *report.Report) []policy.Finding {
	rep.Scanners = o.results
	for _, r := range o.results {
		if r.Status == report.StatusSkipped {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("scanner %s failed and was skipped (skip_on_error in the policy): %s", r.Name, r.Error))
		}
	}
	for i := range o.results {
		rep.Images = append(rep.Images, o.checkedImages[i]...)
		rep.Warnings = append(rep.Warnings, o.warnings[i]...)
		rep.Packages = append(rep.Packages, o.packages[i]...)
	}
	notes := crossCheck(o.found, slices.Concat(o.deployed...))
	for i := range o.results {
		o.results[i].Findings = len(o.found[i])
		if o.results[i].Name == "image" {
			o.results[i].Notes = append(o.results[i].Notes, notes...)
		}
	}
	if reason, ok := coveredNothing(o.results); ok {
		rep.Reasons = append(rep.Reasons, reason)
	}
	return slices.Concat(o.found...)
}

// coveredNothing says so when no scanner read anything: a pass over
// nothing is not a clean change, and the verdict's reasons must say it.
func coveredNothing(results []report.Scanner) (string, bool) {
	var empty []string
	for _, r := range results {
		if r.Coverage == nil || !r.Coverage.Empty() || r.Coverage.Range != "" {
			return "", false
		}
		empty = append(empty, r.Name)
	}
	if len(empty) == 0 {
		return "", false
	}
	return fmt.Sprintf("nothing was scanned: %s read no file, lockfile, commit or image (see each scanner's coverage)", strings.Join(empty, ", ")), true
}

// redactedError is an error whose message went through the redaction pass.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// scanRecovered runs one scanner; a panic in it (or in a library it
// calls) becomes its error, so that the report is still written and the
// gate fails closed.
func scanRecovered(ctx context.Context, s Scanner) (res policy.ScanResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: panic: %v (a bug in secgate or a library it uses)", r)
		}
	}()
	return s.Scan(ctx)
}

// build makes the scanners the configuration selects.
func (c Config) build(log *slog.Logger, pol *policy.Policy) ([]Scanner, error) {
	regs, err := c.selected()
	if err != nil {
		return nil, err
	}
	out := make([]Scanner, 0, len(regs))
	for _, r := range regs {
		s, err := r.Build(c, pol, log)
		if err != nil {
			return nil, fmt.Errorf("scanner %s: %w", r.Name, err)
		}
		out = append(out, s)
	}
	return out, nil
}
