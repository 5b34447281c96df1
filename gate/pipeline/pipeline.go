// Package pipeline is one run of `secgate run` on any CI platform: the
// same steps in the same order (range → policy → scan → tickets → issues →
// sign → respond → files → redact → publish), each platform's behaviour
// behind gate/ci's interface. cmd/secgate parses the flags into Options
// and calls Run; everything else a run decides is here.
package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/secgate/secgate/gate"
	"github.com/secgate/secgate/gate/ci"
	"github.com/secgate/secgate/gate/github"
	"github.com/secgate/secgate/gate/gitlab"
	"github.com/secgate/secgate/gate/issues"
	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/policy"
)

// Platforms are the CI platforms of this build, in detection order; a
// run on none of them is ci.Local's. Adding a platform is one
// implementation of ci.Platform and one entry here.
var Platforms = []ci.Registration{github.Registration, gitlab.Registration}

// Detect returns the platform the process runs on; raw receives its log
// commands unguarded.
func Detect(env ci.Getenv, raw io.Writer) (ci.Platform, error) {
	return ci.Detect(Platforms, env, raw)
}

// RegistryCredentials are the registry logins the platforms' variables
// give (every platform's that are set: a GitLab job may read ghcr.io with
// a GITHUB_TOKEN it was given), for checks, signing and verify.
func RegistryCredentials(env ci.Getenv) []gate.RegistryCredential {
	return toGate(ci.Credentials(Platforms, env))
}

// credentials are the run's platform's registry logins first, then the
// other platforms' whose variables are set.
func credentials(p ci.Platform, env ci.Getenv) []gate.RegistryCredential {
	creds := p.Credentials()
	for _, r := range Platforms {
		if r.Name != p.Name() && r.Credentials != nil {
			creds = append(creds, r.Credentials(env)...)
		}
	}
	return toGate(creds)
}

func toGate(cs []ci.Credential) []gate.RegistryCredential {
	var out []gate.RegistryCredential
	for _, c := range cs {
		out = append(out, gate.RegistryCredential{Host: c.Host, Username: c.Username, Password: c.Password})
	}
	return out
}

// IO is where a run writes: Stdout and Stderr guarded (redacted, no
// workflow command), Raw the unguarded stderr the platform writes its log
// commands to, Redaction the guards' redaction, which learns the report's
// once it exists.
type IO struct {
	Stdout, Stderr, Raw io.Writer
	Redaction           func(func(string) string)
	Color               bool
}

// State is one run as it goes through the steps.
type State struct {
	Options  Options
	Env      ci.Getenv
	IO       IO
	Platform ci.Platform
	Logger   *slog.Logger

	Config     gate.Config
	Range      ci.Range
	DryRun     bool
	Report     report.Report
	Writer     report.Writer // the stdout format, nil when none
	ReportOpts report.Options
	Responder  *gate.Responder
	Routing    issues.Routing

	// Steps are the steps that ran, in order (tests assert it).
	Steps []string

	input bool  // the input was bad: only the files and publish steps run
	errs  error // what makes the exit code 2
}

// Step is one step of the pipeline. An error it returns fails the gate
// (Fail); a step whose failures are warnings (a tracker without
// --fail-on-error) records them in the report and returns nil.
type Step struct {
	Name string
	Run  func(context.Context, *State) error
	// Always: the step runs after bad input too (the report reaches its
	// files and the platform's outputs in every outcome).
	Always bool
}

// Steps are the pipeline's steps, in order, on every platform.
func Steps() []Step {
	return []Step{
		{Name: "range", Run: rangeStep},
		{Name: "policy", Run: policyStep},
		{Name: "scan", Run: scanStep},
		{Name: "tickets", Run: ticketsStep},
		{Name: "issues", Run: issuesStep},
		{Name: "sign", Run: signStep},
		{Name: "respond", Run: respondStep},
		{Name: "files", Run: filesStep, Always: true},
		{Name: "redact", Run: redactStep, Always: true},
		{Name: "publish", Run: publishStep, Always: true},
	}
}

// Fail turns an error into the verdict "error" (deploy_allowed false) and
// the exit code 2: the rule is written once, here.
func (s *State) Fail(err error) {
	if err == nil {
		return
	}
	s.Report.Fail(err)
	s.errs = errors.Join(s.errs, err)
}

// exitOnly makes err the exit code's without touching the report: an
// error once the report is published (stdout) or one the gate recorded.
func (s *State) exitOnly(err error) { s.errs = errors.Join(s.errs, err) }

// Run runs the pipeline: the report, and the error that makes the exit
// code 2 (nil: the report's verdict says the exit code), its message
// redacted. inputErr is bad input (a flag, an action input): the report
// says error and reaches its files and outputs.
func Run(ctx context.Context, p ci.Platform, o Options, env ci.Getenv, sw IO, inputErr error) (report.Report, error) {
	s := RunState(ctx, p, o, env, sw, inputErr)
	return s.Report, s.Err()
}

// Err is the error that makes the exit code 2, its message redacted; nil
// when the report's verdict says the exit code.
func (s *State) Err() error {
	if s.errs == nil {
		return nil
	}
	return &redactedError{msg: s.Report.RedactText(s.errs.Error()), err: s.errs}
}

// RunState is Run, returning the whole state (the steps that ran, the
// range, the configuration), for tests and callers that need more than
// the report.
func RunState(ctx context.Context, p ci.Platform, o Options, env ci.Getenv, sw IO, inputErr error) *State {
	s := newState(p, o, env, sw)
	s.Fail(errors.Join(inputErr, o.Validate()))
	s.input = s.errs != nil
	if !s.input {
		s.prepare(ctx)
	}
	for _, step := range Steps() {
		if s.input && !step.Always {
			continue
		}
		s.Steps = append(s.Steps, step.Name)
		s.Fail(step.Run(ctx, s))
	}
	// Every output is written: what the redaction found clean is kept
	// for the next run (--cache-dir); a failure costs that run time only.
	if err := s.Report.SaveRedactor(); err != nil && s.Logger != nil {
		s.Logger.Warn("outgoing redaction: " + err.Error() + ": the next run reads every output again")
	}
	return s
}

// newState starts a run: the report says error until the gate decides,
// and the log is redacted by the detector alone until the report exists.
func newState(p ci.Platform, o Options, env ci.Getenv, sw IO) *State {
	if p == nil {
		p = ci.NewLocal(env)
	}
	if sw.Redaction == nil {
		sw.Redaction = func(func(string) string) {}
	}
	s := &State{Options: o, Env: env, IO: sw, Platform: p, Report: report.New()}
	s.Report.SetRedactor(gate.NewRedactor())
	sw.Redaction(s.Report.RedactText)
	now := time.Now()
	s.ReportOpts = report.Options{Color: sw.Color, Version: o.Version, Start: now, End: now, Commit: p.Run().Commit}
	return s
}

// prepare resolves the run's configuration from the options and the
// platform: the dry run, the gate's Config, the stdout format.
func (s *State) prepare(ctx context.Context) {
	o := s.Options
	level := slog.LevelWarn
	if o.Verbose {
		level = slog.LevelInfo
	}
	s.Logger = slog.New(slog.NewTextHandler(s.IO.Stderr, &slog.HandlerOptions{Level: level}))
	// Outside CI the run is a dry run unless --dry-run / SECGATE_DRY_RUN says otherwise.
	s.DryRun = o.DryRun || !ci.InCI(s.Env) && !o.DryRunSet
	s.Config = o.config(s.Platform, s.Env, s.Logger)
	// The run's redaction from here on: with --cache-dir it knows the
	// texts earlier runs found clean (this line among them), and the
	// gate's shares its detector, whose rules then load once.
	early := s.Config.Redactor(s.Logger)
	s.Report.SetRedactor(early)
	s.IO.Redaction(s.Report.RedactText)
	s.Config.Redaction = early
	if !ci.InCI(s.Env) && !o.DryRunSet && o.Format != "text" { // the text report says so itself
		fmt.Fprintln(s.IO.Stderr, "secgate: dry run (CI is not set): scanning and deciding, filing and signing nothing")
	}
	// secrets.verify outside dry runs; --verify-secrets in any (issue 28)
	s.Config.DryRun = s.DryRun
	s.ReportOpts.PathPrefix = gate.PathInRepository(ctx, o.Path)
}

// config is the gate's configuration of the run.
func (o Options) config(p ci.Platform, env ci.Getenv, logger *slog.Logger) gate.Config {
	run := p.Run()
	cfg := gate.Config{
		Path: o.Path, PolicyFile: o.Policy, Environment: cmp.Or(o.Environment, run.Environment), EnvironmentTier: run.EnvironmentTier,
		PullRequest: o.PullRequest, Base: o.Base, Head: o.Head, History: o.History,
		Only: o.Only, Skip: o.Skip, Images: o.Images, Platforms: o.ImagePlatforms, Lockfiles: o.Lockfiles, VEXFiles: o.SBOM.VEX,
		OfflineDB: o.OfflineDB, DownloadDB: o.DownloadDB, OSVAPIURL: o.OSVAPIURL, CacheDir: o.CacheDir,
		Version: o.CacheVersion, Now: time.Now(), Logger: logger,
		RegistryCredentials: credentials(p, env), DockerHost: env("DOCKER_HOST"),
	}
	if o.CacheDir != "" {
		cfg.CacheMax, _ = policy.ParseSize(o.CacheMax) // checked by Validate
	}
	cfg.VerifySecrets = o.VerifySecrets
	cfg.InCI = ci.InCI(env)
	// Keys, never flags (command lines are visible to every process).
	cfg.CacheSecret = env("SECGATE_CACHE_KEY")
	if k := env("SECGATE_FINGERPRINT_KEY"); k != "" {
		cfg.FingerprintKey = []byte(k)
	}
	return cfg
}

// redactedError is an error whose message went through the redaction pass.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
