// Package gate runs secgate's scanners concurrently on one change, judges
// what they found with the policy, and returns the report.
package gate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/secgate/secgate/gate/deps"
	"github.com/secgate/secgate/gate/image"
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
)

// Config is one run of the gate.
type Config struct {
	Path            string   // the directory or repository to scan
	PolicyFile      string   // explicit policy; default <Path>/.secgate.yml if present, else built-in
	Environment     string   // target environment name
	EnvironmentTier string   // GitLab environment tier
	PullRequest     bool     // a pull/merge request is being judged
	Base, Head      string   // commit range for the secret scan
	History         bool     // scan the whole git history for secrets
	Only, Skip      []string // scanner selection
	Images          []string // images to check
	Platforms       []string // platforms of multi-platform images to check (default all)
	Lockfiles       []string // lockfiles to scan besides those found under Path
	OfflineDB       string   // offline OSV database directory; empty: the OSV API
	DownloadDB      bool     // download the offline database into OfflineDB first
	OSVAPIURL       string   // OSV API base URL (default the real one)
	DryRun          bool     // file nothing, sign nothing
	// FingerprintKey keys the hash of secret values in their fingerprints
	// (SECGATE_FINGERPRINT_KEY); empty: a public default key.
	FingerprintKey []byte
	Now            time.Time
	Logger         *slog.Logger
	Env            func(string) string // CI credentials for registries (GITHUB_TOKEN, CI_REGISTRY_*)

	// Scanners replaces the scanners built from the fields above (tests).
	Scanners []Scanner
}

// implemented lists the scanners this build has, in report order.
var implemented = []string{"secrets", "deps", "image"}

// Validate checks the configuration before anything runs.
func (c Config) Validate() error {
	var errs []error
	for _, n := range slices.Concat(c.Only, c.Skip) {
		if !slices.Contains(policy.ScannerNames, n) {
			errs = append(errs, fmt.Errorf("unknown scanner %q (want %s)", n, strings.Join(policy.ScannerNames, ", ")))
		}
	}
	if len(c.Only) > 0 && len(c.Skip) > 0 {
		errs = append(errs, errors.New("--only and --skip cannot be combined"))
	}
	if c.Head != "" && c.Base == "" {
		errs = append(errs, errors.New("--head needs --base (the commit range is BASE..HEAD)"))
	}
	if c.DownloadDB && c.OfflineDB == "" {
		errs = append(errs, errors.New("--download-db needs --offline-db DIR (where to put the database)"))
	}
	if c.History && c.Base != "" {
		errs = append(errs, errors.New("--history and --base select different secret scans: choose one"))
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

// selected returns the names of the scanners to run: those requested
// (--only, or --image for the image checks), else every one this build
// has, less --skip.
func (c Config) selected() []string {
	var names []string
	for _, n := range policy.ScannerNames {
		if len(c.Only) > 0 && !slices.Contains(c.Only, n) || slices.Contains(c.Skip, n) {
			continue
		}
		requested := slices.Contains(c.Only, n) || n == "image" && len(c.Images) > 0
		if n == "image" && len(c.Images) == 0 && !requested {
			continue
		}
		if requested || slices.Contains(implemented, n) {
			names = append(names, n)
		}
	}
	return names
}

// LoadPolicy reads the policy the run uses.
func (c Config) LoadPolicy() (*policy.Policy, error) {
	path := c.PolicyFile
	if path == "" {
		path = filepath.Join(c.Path, policy.FileName)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return policy.Default(), nil
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading policy: %w", err)
	}
	return policy.Parse(path, data)
}

// Run runs the gate. The report is complete in every outcome; err is
// non-nil exactly when the gate could not run (verdict "error", exit 2).
func Run(ctx context.Context, cfg Config) (rep report.Report, err error) {
	// The last pass before anything is published: secret values and URL
	// credentials leave no string of the report, nor the error.
	var redactors []policy.Redactor
	defer func() {
		report.Redact(&rep, redactors...)
		if err != nil {
			err = &redactedError{msg: report.RedactText(err.Error(), redactors...), err: err}
		}
	}()
	rep = report.New()
	rep.Environment, rep.DryRun = cfg.Environment, cfg.DryRun
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now.IsZero() {
		cfg.Now = time.Now()
	}
	fail := func(err error) (report.Report, error) {
		rep.Verdict, rep.DeployAllowed = policy.VerdictError, false
		rep.Errors = append(rep.Errors, err.Error())
		return rep, err
	}
	if err := cfg.Validate(); err != nil {
		return fail(err)
	}
	var pol *policy.Policy
	pol, err = cfg.LoadPolicy()
	if err != nil {
		return fail(err)
	}
	rep.Production = pol.IsProduction(cfg.Environment, cfg.EnvironmentTier)

	scanners := cfg.Scanners
	if scanners == nil {
		if scanners, err = cfg.build(log, pol); err != nil {
			return fail(err)
		}
	}

	results := make([]report.Scanner, len(scanners))
	found := make([][]policy.Finding, len(scanners))
	redactors = make([]policy.Redactor, len(scanners))
	g, gctx := errgroup.WithContext(ctx)
	for i, s := range scanners {
		g.Go(func() error {
			start := time.Now()
			log.Info("scanner started", "scanner", s.Name())
			res, err := scanRecovered(gctx, s)
			r := report.Scanner{Name: s.Name(), Status: report.StatusOK, DurationMS: time.Since(start).Milliseconds(), Notes: res.Notes}
			if t, ok := s.(Targeter); ok {
				r.Target = t.Target()
			}
			// What a failing scanner did find is kept: nothing is lost.
			r.Findings, found[i], redactors[i] = len(res.Findings), res.Findings, res.Redactor
			defer func() { results[i] = r }()
			if err != nil {
				r.Error = err.Error()
				switch {
				case pol.MaySkip(s.Name()):
					r.Status = report.StatusSkipped
					return nil
				case ctx.Err() == nil && gctx.Err() != nil && errors.Is(err, context.Canceled):
					r.Status, r.Error = report.StatusError, "cancelled: another scanner failed"
					return nil
				}
				r.Status = report.StatusError
				return fmt.Errorf("%s: %w", s.Name(), err)
			}
			log.Info("scanner finished", "scanner", s.Name(), "findings", r.Findings, "duration_ms", r.DurationMS)
			return nil
		})
	}
	runErr := g.Wait()
	rep.Scanners = results
	for _, r := range results {
		if r.Status == report.StatusSkipped {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("scanner %s failed and was skipped (skip_on_error in the policy): %s", r.Name, r.Error))
		}
	}

	d := pol.Decide(slices.Concat(found...), policy.Context{
		Environment: cfg.Environment, EnvironmentTier: cfg.EnvironmentTier,
		PullRequest: cfg.PullRequest, Now: cfg.Now,
	})
	rep.Verdict, rep.DeployAllowed, rep.Production = d.Verdict, d.DeployAllowed, d.Production
	rep.Counts, rep.Findings = d.Counts, d.Findings
	rep.Reasons = append(rep.Reasons, d.Reasons...)
	rep.Warnings = append(rep.Warnings, d.Warnings...)
	if runErr != nil {
		return fail(runErr)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	return rep, nil
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

// build makes the scanners the configuration selects. Asking for a scanner
// this build does not have is an error, never a silent pass.
func (c Config) build(log *slog.Logger, pol *policy.Policy) ([]Scanner, error) {
	var out []Scanner
	for _, n := range c.selected() {
		switch n {
		case "secrets":
			out = append(out, secrets.New(secrets.Options{Root: c.Path, History: c.History, Base: c.Base, Head: c.Head, FingerprintKey: c.FingerprintKey, Logger: log}))
		case "deps":
			out = append(out, deps.New(deps.Options{
				Root: c.Path, Lockfiles: c.Lockfiles, Exclude: pol.DepsExclude, Images: c.Images,
				OfflineDB: c.OfflineDB, DownloadDB: c.DownloadDB, APIURL: c.OSVAPIURL, Base: c.Base,
				SkipUnparsable: pol.DepsUnparsable == policy.ActionReport,
				Now:            c.Now, Logger: log,
			}))
		case "image":
			if len(c.Images) == 0 {
				return nil, errors.New("the image checks need an image: --image REF")
			}
			text, err := secrets.NewTextScanner(c.FingerprintKey)
			if err != nil {
				return nil, err
			}
			tiers := map[string]policy.Severity{image.CheckRoot: pol.ImageRootUser, image.CheckSize: pol.ImageSize}
			maps.Copy(tiers, pol.ImageChecks)
			out = append(out, image.New(image.Options{
				Refs: c.Images, Platforms: c.Platforms, MaxSize: pol.ImageMaxSize, Tiers: tiers,
				Secrets: text, Env: c.Env, Logger: log,
			}))
		default:
			return nil, fmt.Errorf("scanner %s: not available in this version of secgate", n)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no scanner selected: check --only/--skip")
	}
	return out, nil
}
