package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/secgate/secgate/gate"
	"github.com/secgate/secgate/gate/github"
	"github.com/secgate/secgate/gate/gitlab"
	"github.com/secgate/secgate/gate/issues"
	"github.com/secgate/secgate/gate/render"
	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/gate/sign"
	"github.com/secgate/secgate/policy"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes, documented in the README.
const (
	exitPass  = 0 // the gate passed (block-production outside production too)
	exitFail  = 1 // the policy failed the gate
	exitError = 2 // the gate could not run: bad flag, bad policy, scanner error
)

// exitCodeError carries an exit code through cobra.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string { return e.err.Error() }
func (e *exitCodeError) Unwrap() error { return e.err }

// lookupEnv reads the environment (os.LookupEnv in main, a map in tests).
type lookupEnv func(string) (string, bool)

// run is the whole CLI: it parses args, runs the command and returns the
// exit code. It never calls os.Exit.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, env lookupEnv) int {
	// Every line the process writes goes through a guard, whatever wrote
	// it (the report, a log record, an error): redacted, with no
	// workflow command and no raw control character. Workflow commands
	// and GitLab's section markers are written raw to stderr (the runner
	// reads both streams), by the two packages that escape their data.
	red := &outputRedactor{}
	rawErr := stderr
	stdout = render.NewLineGuard(stdout, useColor(stdout, env), red.Redact)
	stderr = render.NewLineGuard(stderr, false, red.Redact)
	defer func() {
		_ = stdout.(*render.LineGuard).Flush()
		_ = stderr.(*render.LineGuard).Flush()
	}()
	root := newRootCmd(stdout, stderr, rawErr, red, env)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	var ec *exitCodeError
	switch {
	case err == nil:
		return exitPass
	case errors.As(err, &ec):
		if ec.err != nil && ec.code == exitError {
			fmt.Fprintf(stderr, "secgate: %s\n", workspaceRelative(env).Replace(ec.err.Error()))
		}
		return ec.code
	default:
		// cobra's own errors: unknown command or flag, bad flag value. For
		// `run`, the report is still written where it was asked for: the
		// next CI step reads it, and finds "error", not "file not found".
		fmt.Fprintf(stderr, "secgate: %v\n", err)
		if isRunCommand(args) {
			path, format := earlyReportTargets(args, env)
			rep := report.New()
			rep.Errors = append(rep.Errors, err.Error())
			if werr := emitReport(rep, path, format, stdout); werr != nil {
				fmt.Fprintf(stderr, "secgate: %v\n", werr)
			}
		}
		return exitError
	}
}

// isRunCommand reports whether args invoke `secgate run`.
func isRunCommand(args []string) bool {
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			return a == "run"
		}
	}
	return false
}

// earlyReportTargets finds --report and --format in arguments that did not
// parse (or their SECGATE_* twins), so that a bad flag still writes the
// report. Only these two flags are looked for; anything unreadable is
// left out.
func earlyReportTargets(args []string, env lookupEnv) (path, format string) {
	path, _ = env(envName("report"))
	format, _ = env(envName("format"))
	for i, a := range args {
		for _, name := range []string{"report", "format"} {
			var v string
			switch {
			case a == "--"+name && i+1 < len(args):
				v = args[i+1]
			case strings.HasPrefix(a, "--"+name+"="):
				v = strings.TrimPrefix(a, "--"+name+"=")
			default:
				continue
			}
			if name == "report" {
				path = v
			} else {
				format = v
			}
		}
	}
	return path, format
}

// emitReport writes an error report to the report file and, for the JSON
// format, to stdout (the text format's error goes to stderr already).
func emitReport(rep report.Report, path, format string, stdout io.Writer) error {
	var errs []error
	if path != "" {
		errs = append(errs, writeReportFile(path, rep))
	}
	if format == "json" {
		errs = append(errs, (report.JSON{}).Write(stdout, rep))
	}
	return errors.Join(errs...)
}

func newRootCmd(stdout, stderr, rawErr io.Writer, red *outputRedactor, env lookupEnv) *cobra.Command {
	root := &cobra.Command{
		Use:           "secgate",
		Short:         "The security gate of a CI pipeline: secrets, vulnerable dependencies, image checks, one verdict",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRunCmd(stdout, stderr, rawErr, red, env), newEnforceCmd(stdout), newVerifyCmd(stdout, env), newPolicyCmd(stdout, red), newVersionCmd(stdout))
	return root
}

// runFlags are the flags of `secgate run`; each has a SECGATE_* twin.
type runFlags struct {
	images      []string
	environment string
	policy      string
	format      string
	report      string
	sarifFile   string
	gitlabDir   string
	dotenv      string
	dryRun      bool
	base, head  string
	history     bool
	only, skip  []string
	pullRequest bool
	verbose     bool
	// acting on the decision (the platform layer)
	fileIssues    bool
	issueLabels   []string
	closeResolved bool
	comment       bool
	sign          signFlags
	failOnError   bool
	lockfiles     []string
	offlineDB     string
	cacheDir      string
	cacheMax      string
	downloadDB    bool
	osvAPIURL     string
	platforms     []string
	sbom          sbomFlags
	verifySecrets bool
}

func newRunCmd(stdout, stderr, rawErr io.Writer, red *outputRedactor, env lookupEnv) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run [PATH]",
		Short: "Run the gate on a directory or repository (default: the current directory)",
		Long: `Run the gate: scan PATH, judge the findings with the policy (.secgate.yml in
PATH, or --policy), write the report and exit 0 (pass), 1 (the policy failed
the gate) or 2 (the gate could not run).

Every flag has an environment twin: --only is SECGATE_ONLY, --dry-run is
SECGATE_DRY_RUN, and so on. Outside CI (CI unset, empty, false or 0) the
run is a dry run.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "."
			if len(args) == 1 {
				path = args[0]
			}
			// In GitHub Actions the action's inputs set the flags first
			// (INPUT_*): the same flags, so the CLI and the action agree.
			act, err := githubAction(env, rawErr)
			if err == nil && act != nil {
				if p, ierr := applyInputs(cmd.Flags(), act); ierr != nil {
					err = ierr
				} else if p != "" && len(args) == 0 {
					path = p
				}
			}
			// The environment's values apply after a bad input too: its
			// files (--dotenv, --report...) are where the error goes.
			err = errors.Join(err, applyEnv(cmd.Flags(), env))
			if err == nil {
				if _, serr := policy.ParseSize(f.cacheMax); serr != nil {
					err = fmt.Errorf("--cache-max %q: %w", f.cacheMax, serr)
				}
			}
			if err == nil {
				err = outputPaths(f)
			}
			if err != nil {
				// The flags that did parse (--report among them) say where
				// the report goes; the other files and the platform's
				// outputs say "error" too, so that no later step reads an
				// empty verdict.
				rep := report.New()
				rep.SetRedactor(gate.NewRedactor())
				rep.Errors = append(rep.Errors, err.Error())
				now := time.Now()
				ferr := writeOtherFiles(&rep, f, report.Options{Version: version, Start: now, End: now}, nil)
				return finish(rep, errors.Join(err, ferr), f, stdout, nil, publisher(act, f))
			}
			return runGate(cmd.Context(), f, cmd.Flags().Changed("dry-run"), path, streams{stdout, stderr, rawErr, red}, env, act)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.images, "image", nil, "container image to check (repeatable): a registry reference, docker-archive:FILE, oci-layout:DIR or docker-daemon:REF")
	fl.StringVar(&f.environment, "environment", "", "target environment (default: GitLab's CI_ENVIRONMENT_NAME); high findings fail the job only for a production one")
	fl.StringVar(&f.policy, "policy", "", "policy file (default: PATH/"+policy.FileName+" if present, else the built-in policy)")
	fl.StringVar(&f.format, "format", "text", "output format on stdout: "+strings.Join(report.Formats, ", "))
	fl.StringVar(&f.report, "report", "", "also write the JSON report to this file (in every outcome, errors included)")
	fl.StringVar(&f.sarifFile, "sarif-file", "", "also write the report as SARIF 2.1.0 to this file (for code scanning uploads)")
	fl.StringVar(&f.gitlabDir, "gitlab-reports", "", "also write GitLab's security reports (gl-secret_detection-report.json, gl-dependency_scanning-report.json, gl-container_scanning-report.json) into this directory, for the scanners that ran")
	f.sbom.register(fl)
	fl.StringVar(&f.dotenv, "dotenv", "", "also write the verdict as a dotenv file (SECGATE_VERDICT, SECGATE_DEPLOY_ALLOWED, ...), for GitLab's artifacts:reports:dotenv")
	fl.BoolVar(&f.dryRun, "dry-run", false, "scan and decide, but file no issue and sign nothing (the default outside CI)")
	fl.StringVar(&f.base, "base", "", "scan for secrets only the commits in BASE..HEAD (a pull/merge request or push)")
	fl.StringVar(&f.head, "head", "", "end of the commit range (default HEAD)")
	fl.BoolVar(&f.history, "history", false, "scan the whole git history for secrets")
	fl.StringSliceVar(&f.only, "only", nil, "run only these scanners: "+strings.Join(gate.ScannerNames(), ", "))
	fl.StringSliceVar(&f.skip, "skip", nil, "do not run these scanners")
	fl.StringSliceVar(&f.platforms, "platform", nil, "of a multi-platform image, check only these platforms (e.g. linux/amd64; default all)")
	fl.StringSliceVar(&f.lockfiles, "lockfile", nil, "also scan this lockfile or manifest (repeatable)")
	fl.StringVar(&f.offlineDB, "offline-db", "", "match dependencies against this offline OSV database directory (DIR/osv-scalibr/<Ecosystem>/all.zip) instead of the OSV API")
	fl.BoolVar(&f.downloadDB, "download-db", false, "download the offline OSV database into --offline-db first")
	fl.StringVar(&f.cacheDir, "cache-dir", "", "keep what the secret scan found nothing in (files by path and content, commits) and the dependency and image results in this directory, and skip what is unchanged next run (actions/cache, GitLab cache:; in CI it needs SECGATE_CACHE_KEY)")
	fl.StringVar(&f.cacheMax, "cache-max", "500MB", "bound the cache directory; the sets least recently written go first")
	fl.StringVar(&f.osvAPIURL, "osv-api-url", "", "OSV API base URL (default https://api.osv.dev)")
	fl.BoolVar(&f.pullRequest, "pull-request", false, "the run judges a pull/merge request (findings may be new or existing)")
	fl.BoolVar(&f.fileIssues, "file-issues", false, "in CI, file an issue per finding group (GitHub: issues: write); a dry run lists them")
	fl.StringSliceVar(&f.issueLabels, "issue-labels", nil, "more labels for filed issues (besides secgate, security and the tier)")
	fl.BoolVar(&f.closeResolved, "close-resolved", false, "close the issues of findings a full scan no longer finds")
	fl.BoolVar(&f.comment, "comment", false, "in CI, keep one pull request comment with the verdict (edited in place)")
	fl.BoolVar(&f.sign.sign, "sign", false, "in CI, cosign-sign the images that pass (by digest) and attach a signed verdict attestation")
	fl.StringVar(&f.sign.key, "sign-key", "", "cosign private key file (default: COSIGN_PRIVATE_KEY, with COSIGN_PASSWORD); without a key, keyless signing with the CI's OIDC token")
	fl.BoolVar(&f.sign.tlogUpload, "tlog-upload", true, "record signatures in the Rekor transparency log (false: for air-gapped registries; key-based signing only)")
	fl.StringVar(&f.sign.rekorURL, "rekor-url", sign.DefaultRekorURL, "Rekor transparency log URL")
	fl.StringVar(&f.sign.fulcioURL, "fulcio-url", sign.DefaultFulcioURL, "Fulcio URL, for keyless signing")
	fl.StringVar(&f.sign.trustedRoot, "trusted-root", "", "Sigstore trusted root (JSON): check what Fulcio and Rekor returned against it before pushing")
	fl.BoolVar(&f.failOnError, "fail-on-error", false, "a failure to file issues or comment fails the gate (exit 2); by default it is a warning")
	fl.BoolVar(&f.verifySecrets, "verify-secrets", false, "ask each provider whether a found credential is live (one request per value, to its own API host), also in a dry run; the policy's secrets.verify does it outside dry runs")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log progress to stderr")
	return cmd
}

// applyEnv gives every flag not set on the command line the value of its
// SECGATE_* environment twin (--dry-run ← SECGATE_DRY_RUN).
func applyEnv(fs *pflag.FlagSet, env lookupEnv) error {
	var errs []error
	fs.VisitAll(func(fl *pflag.Flag) {
		if fl.Changed {
			return
		}
		name := envName(fl.Name)
		v, ok := env(name)
		if !ok || v == "" {
			return
		}
		if err := fs.Set(fl.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", name, v, err))
		}
	})
	return errors.Join(errs...)
}

func envName(flag string) string {
	return "SECGATE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// streams are where runGate writes: out and err guarded (see run), raw
// the unguarded stderr for workflow commands and GitLab's log sections,
// red the guards' redaction, which learns the report's once it exists.
type streams struct {
	out, err, raw io.Writer
	red           *outputRedactor
}

func runGate(ctx context.Context, f runFlags, dryRunSet bool, path string, sw streams, env lookupEnv, act *github.Action) error {
	stdout, stderr := sw.out, sw.err
	// Until the report exists, the log is redacted by the detector alone.
	early := report.New()
	early.SetRedactor(gate.NewRedactor())
	sw.red.set(early.RedactText)
	level := slog.LevelWarn
	if f.verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	// Outside CI the run is a dry run unless --dry-run / SECGATE_DRY_RUN says otherwise.
	dryRun := f.dryRun
	if !inCI(env) && !dryRunSet {
		dryRun = true
		if f.format != "text" { // the text report says so itself
			fmt.Fprintln(stderr, "secgate: dry run (CI is not set): scanning and deciding, filing and signing nothing")
		}
	}

	cfg := gate.Config{
		Path:        path,
		PolicyFile:  f.policy,
		Environment: f.environment,
		PullRequest: f.pullRequest,
		Base:        f.base,
		Head:        f.head,
		History:     f.history,
		Only:        f.only,
		Skip:        f.skip,
		Images:      f.images,
		Platforms:   f.platforms,
		Lockfiles:   f.lockfiles,
		VEXFiles:    f.sbom.vex,
		OfflineDB:   f.offlineDB,
		DownloadDB:  f.downloadDB,
		OSVAPIURL:   f.osvAPIURL,
		CacheDir:    f.cacheDir,
		Version:     cacheVersion(),
		Now:         time.Now(),
		Logger:      logger,
	}
	// secrets.verify outside dry runs; --verify-secrets in any (issue 28)
	cfg.DryRun, cfg.VerifySecrets = dryRun, f.verifySecrets
	cfg.RegistryCredentials, cfg.DockerHost = registryAccess(env)
	getenv := func(k string) string { v, _ := env(k); return v }
	inGitLab := act == nil && gitlab.Detect(getenv)
	ghCtx, glCtx, rangeErr := platformRange(ctx, &cfg, f, act, inGitLab, getenv, logger)
	if f.cacheDir != "" {
		cfg.CacheMax, _ = policy.ParseSize(f.cacheMax) // checked with the flags
	}
	// Keys, never flags (command lines are visible to every process).
	cfg.CacheSecret, _ = env("SECGATE_CACHE_KEY")
	cfg.InCI = inCI(env)
	if k, ok := env("SECGATE_FINGERPRINT_KEY"); ok && k != "" {
		cfg.FingerprintKey = []byte(k)
	}
	if cfg.Environment == "" {
		cfg.Environment, _ = env("CI_ENVIRONMENT_NAME")
	}
	cfg.EnvironmentTier, _ = env("CI_ENVIRONMENT_TIER")

	start := time.Now()
	commit, _ := env("CI_COMMIT_SHA")
	opts := report.Options{Color: useColor(stdout, env), PathPrefix: gate.PathInRepository(ctx, path), Version: version, Start: start, Commit: commit}
	w, ferr := report.ForFormat(f.format, opts)
	var rep report.Report
	var runErr error
	if setupErr := errors.Join(ferr, rangeErr); setupErr != nil {
		rep = report.New()
		rep.SetRedactor(gate.NewRedactor())
		rep.Errors = append(rep.Errors, setupErr.Error())
		runErr = setupErr
	} else {
		// Loaded once: the gate judges with it and the response step reads
		// its response section. An error is left to the gate, which
		// reports it.
		if pol, err := cfg.LoadPolicy(ctx); err == nil {
			cfg.Policy = pol
		}
		rep, runErr = runRecovered(ctx, cfg, gate.Run)
	}
	sw.red.set(rep.RedactText)
	opts.End = time.Now()
	if ferr == nil {
		w, _ = report.ForFormat(f.format, opts) // with the scan's end time
	}
	rep.DryRun = dryRun
	if ghCtx.Note != "" {
		rep.Reasons = append(rep.Reasons, "GitHub: "+ghCtx.Note)
	}
	if glCtx.Note != "" {
		rep.Reasons = append(rep.Reasons, "GitLab: "+glCtx.Note)
	}
	// The policy's response: Jira tickets of new groups first, so that the
	// repository issues link them; the rest after the repository's issues.
	responder := newResponder(cfg, f, rep, dryRun, cfg.PullRequest, env)
	if note := responseUnused(cfg, f); note != "" {
		rep.Warnings = append(rep.Warnings, note)
	}
	var routing issues.Routing
	if responder != nil {
		responder.Prefile(ctx, rep)
		routing = responder.RepositoryRouting()
	}
	if inGitLab {
		if err := gitlab.FileIssues(ctx, getenv, &rep, glCtx, gitlab.FileOptions{
			Enabled: f.fileIssues, DryRun: dryRun, FailOnError: f.failOnError, Labels: f.issueLabels,
			CloseResolved: f.closeResolved, Partial: partialScanners(cfg), Routing: routing,
		}); err != nil {
			rep.Fail(err)
			runErr = errors.Join(runErr, err)
		}
		gitlabSections(sw.raw, rep)
	}
	if f.sign.sign {
		if err := signStep(ctx, &rep, f.sign, f.sbom.attested(cfg, env), dryRun, env, cfg.RegistryCredentials, ghCtx.Fork); err != nil {
			runErr = errors.Join(runErr, err)
		}
	}
	if act != nil {
		err := act.Act(ctx, &rep, github.ActOptions{
			DryRun: dryRun, FileIssues: f.fileIssues, CloseResolved: f.closeResolved, FailOnError: f.failOnError,
			Labels: f.issueLabels, Comment: f.comment, Partial: partialScanners(cfg), Context: ghCtx, Routing: routing,
		})
		if err != nil {
			rep.Fail(err)
			runErr = errors.Join(runErr, err)
		}
	}
	if responder != nil {
		if err := responder.Respond(ctx, &rep, f.failOnError); err != nil {
			rep.Fail(err)
			runErr = errors.Join(runErr, err)
		}
	}

	if act != nil {
		// The runner's absolute path says nothing to the reader of a
		// summary or a comment: the repository's paths do.
		relativeTo(&rep, env)
	}
	if err := writeOtherFiles(&rep, f, opts, f.sbom.files(rep, cfg, version, start, env)); err != nil {
		runErr = errors.Join(runErr, err)
	}
	return finish(rep, runErr, f, stdout, w, publisher(act, f))
}

// publisher is the platform's publication of the final report (outputs,
// summary, annotations), nil where the platform has none.
func publisher(act *github.Action, f runFlags) func(report.Report) {
	if act == nil {
		return nil
	}
	return func(r report.Report) {
		act.Publish(r, github.PublishOptions{ReportFile: f.report, SARIFFile: f.sarifFile})
	}
}

// writeOtherFiles writes the files asked for besides the report (SARIF,
// GitLab's reports, dotenv), in every outcome; a file that cannot be
// written makes the verdict error. A path that is also the report's is
// left to the report (flags that name one file twice are an error of
// their own, see outputPaths).
func writeOtherFiles(rep *report.Report, f runFlags, opts report.Options, extra map[string]report.Writer) error {
	files := map[string]report.Writer{}
	if f.sarifFile != "" {
		files[f.sarifFile] = report.SARIF{PathPrefix: opts.PathPrefix, Version: version}
	}
	if f.gitlabDir != "" {
		for _, typ := range report.GitLabTypes(*rep) {
			files[filepath.Join(f.gitlabDir, "gl-"+typ+"-report.json")] = report.GitLab{Type: typ, Start: opts.Start, End: opts.End, Version: version, Commit: opts.Commit}
		}
	}
	if f.dotenv != "" {
		files[f.dotenv] = report.Dotenv{}
	}
	maps.Copy(files, extra)
	var errs []error
	written := map[string]bool{}
	if f.report != "" {
		written[filepath.Clean(f.report)] = true
	}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if written[filepath.Clean(p)] {
			continue
		}
		written[filepath.Clean(p)] = true
		if err := writeFile(p, *rep, files[p]); err != nil {
			errs = append(errs, err)
			rep.Fail(err)
		}
	}
	return errors.Join(errs...)
}

// outputPaths checks that the files asked for are distinct: --report,
// --sarif-file and --dotenv given one path would overwrite each other.
func outputPaths(f runFlags) error {
	seen := map[string]string{}
	for _, o := range []struct{ flag, path string }{{"--report", f.report}, {"--sarif-file", f.sarifFile}, {"--dotenv", f.dotenv}, {"--sbom", f.sbom.file}, {"--vex-out", f.sbom.vexOut}} {
		if o.path == "" {
			continue
		}
		p := filepath.Clean(o.path)
		if other, ok := seen[p]; ok {
			return fmt.Errorf("%s and %s both name %s: each file needs its own path", other, o.flag, o.path)
		}
		seen[p] = o.flag
	}
	return nil
}

// platformRange reads what the platform says of the run (GitHub's event,
// GitLab's variables) into cfg: the pull request, and the range unless the
// command line gave one. The event is read in every run: the pull
// request's number, the fork guard and the comment hold with --base or
// --history too. An error is a range that cannot be known.
func platformRange(ctx context.Context, cfg *gate.Config, f runFlags, act *github.Action, inGitLab bool, getenv func(string) string, logger *slog.Logger) (ghCtx github.Context, glCtx gitlab.Context, rangeErr error) {
	path := cfg.Path
	ownRange := f.base != "" || f.history
	switch {
	case inGitLab:
		glCtx, rangeErr = gitlab.RunContext(ctx, getenv, path)
		cfg.PullRequest = cfg.PullRequest || glCtx.MergeRequest > 0
		if !ownRange && rangeErr == nil {
			cfg.Base, cfg.Head = glCtx.Base, glCtx.Head
			if err := gitlab.FetchBase(ctx, path, cfg.Base); err != nil {
				logger.Warn(err.Error())
			}
		}
	case act != nil:
		ghCtx, rangeErr = act.Context(ctx, path)
		cfg.PullRequest = cfg.PullRequest || ghCtx.PullRequest > 0
		if !ownRange && rangeErr == nil {
			cfg.Base, cfg.Head = ghCtx.Base, ghCtx.Head
			if err := github.FetchBase(ctx, path, cfg.Base); err != nil {
				logger.Warn(err.Error())
			}
		}
	}
	return ghCtx, glCtx, rangeErr
}

// gitlabSections writes a collapsible log section per scanner, to the raw
// stream (GitLab's markers), its notes redacted and rendered for the log.
func gitlabSections(w io.Writer, rep report.Report) {
	for _, s := range rep.Scanners {
		gitlab.Section(w, "secgate_"+s.Name, fmt.Sprintf("secgate %s: %s, %d findings, %d ms", s.Name, s.Status, s.Findings, s.DurationMS), func() {
			for _, n := range s.Notes {
				fmt.Fprintf(w, "  %s\n", render.GitLabLog(rep.RedactText(n)))
			}
		})
	}
}

// finish writes the report file and the report on stdout, in every
// outcome, and returns the error that carries the exit code. A report file
// that cannot be written makes the verdict "error" with deploy_allowed
// false, and stdout says why: no step may read a pass into it.
func finish(rep report.Report, runErr error, f runFlags, stdout io.Writer, w report.Writer, publish func(report.Report)) error {
	var errs []error
	if runErr != nil {
		errs = append(errs, runErr)
	}
	// The last redaction: every step after the gate (trackers, signing,
	// the files written) may have added text; nothing is added after
	// this but the report file's own error, redacted again below.
	report.Redact(&rep)
	if f.report != "" {
		if err := writeReportFile(f.report, rep); err != nil {
			errs = append(errs, err)
			rep.Fail(err)
			report.Redact(&rep)
		}
	}
	if publish != nil { // the platform's outputs and summary, from the final report
		publish(rep)
	}
	if w == nil && f.format == "json" {
		w = report.JSON{}
	}
	if w != nil {
		if err := w.Write(stdout, rep); err != nil {
			errs = append(errs, fmt.Errorf("writing the report: %w", err))
		}
	}
	if len(errs) > 0 {
		err := errors.Join(errs...)
		return &exitCodeError{exitError, &redactedError{msg: rep.RedactText(err.Error()), err: err}}
	}
	if code := rep.ExitCode(); code != exitPass {
		return &exitCodeError{code: code}
	}
	return nil
}

// partialScanners are the scanners that see only a commit range when the
// run has one: their issues are not closed as resolved.
func partialScanners(cfg gate.Config) []string {
	if cfg.Base == "" {
		return nil
	}
	return []string{"secrets", "config"}
}

// inCI reports whether the run is in CI: CI set to anything but "", a
// false boolean ("false", "0", "FALSE"...).
func inCI(env lookupEnv) bool {
	v, ok := env("CI")
	if !ok || v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	return err != nil || b
}

// githubAction returns the GitHub Actions run, or nil outside GitHub Actions.
func githubAction(env lookupEnv, stdout io.Writer) (*github.Action, error) {
	getenv := func(k string) string { v, _ := env(k); return v }
	if !github.Detect(getenv) {
		return nil, nil
	}
	return github.New(getenv, stdout)
}

// applyInputs gives every flag not set on the command line the value of
// its action input, and returns the path input.
func applyInputs(fs *pflag.FlagSet, act *github.Action) (string, error) {
	var errs []error
	for input, flag := range github.Inputs {
		v := act.Input(input)
		if flag == "" || v == "" || fs.Changed(flag) {
			continue
		}
		if err := fs.Set(flag, v); err != nil {
			errs = append(errs, fmt.Errorf("input %s=%q: %w", input, v, err))
		}
	}
	return act.Input("path"), errors.Join(errs...)
}

// registryAccess resolves what the image checks and signing need from the
// CI platform: its registry credentials (GITHUB_TOKEN, or in the action its
// token input, for ghcr.io in GitHub Actions; CI_REGISTRY_USER and
// CI_REGISTRY_PASSWORD for CI_REGISTRY in GitLab CI) and the Docker engine
// (DOCKER_HOST).
func registryAccess(env lookupEnv) (creds []gate.RegistryCredential, dockerHost string) {
	get := func(k string) string { v, _ := env(k); return v }
	tok := get("GITHUB_TOKEN")
	if tok == "" && get("GITHUB_ACTIONS") == "true" {
		tok = get("INPUT_TOKEN") // a Docker action's container gets no GITHUB_TOKEN
	}
	if tok != "" {
		user := get("GITHUB_ACTOR")
		if user == "" {
			user = "token"
		}
		creds = append(creds, gate.RegistryCredential{Host: "ghcr.io", Username: user, Password: tok})
	}
	if host, u, p := get("CI_REGISTRY"), get("CI_REGISTRY_USER"), get("CI_REGISTRY_PASSWORD"); host != "" && u != "" && p != "" {
		creds = append(creds, gate.RegistryCredential{Host: host, Username: u, Password: p})
	}
	return creds, get("DOCKER_HOST")
}

// runRecovered runs the gate; a panic outside the scanners (which gate.Run
// recovers itself) becomes an error report, never a process killed with no
// report.
func runRecovered(ctx context.Context, cfg gate.Config, run func(context.Context, gate.Config) (report.Report, error)) (rep report.Report, err error) {
	defer func() {
		if r := recover(); r != nil {
			rep = report.New()
			rep.SetRedactor(gate.NewRedactor())
			err = fmt.Errorf("internal error (a bug in secgate, please report it): %v", r)
			rep.Errors = append(rep.Errors, err.Error())
			report.Redact(&rep)
		}
	}()
	return run(ctx, cfg)
}

func writeReportFile(path string, rep report.Report) error {
	return writeFile(path, rep, report.JSON{})
}

// writeFile writes the report in a format to a file, its directory made.
func writeFile(path string, rep report.Report, w report.Writer) error {
	var buf bytes.Buffer
	if err := w.Write(&buf, rep); err != nil {
		return fmt.Errorf("writing report %s: %w", path, err)
	}
	// The rendered bytes once more: a format may put text together
	// (a description from a title and a preview) where a value shows.
	out := rep.RedactBytes(buf.Bytes())
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("writing report %s: %w", path, err)
		}
	}
	if err := replaceFile(path, out); err != nil {
		return fmt.Errorf("writing report %s: %w", path, err)
	}
	return nil
}

// replaceFile writes data to a new file beside path and renames it over
// path: a symbolic link a pull request commits at an output's path
// (secgate-report.json -> a file elsewhere, or -> a forged passing report
// that enforce would read) is replaced by the file, never followed.
func replaceFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := errors.Join(f.Chmod(0o644), f.Close()); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}

// useColor: colours only for a terminal, and never with NO_COLOR or TERM=dumb.
func useColor(w io.Writer, env lookupEnv) bool {
	if _, ok := env("NO_COLOR"); ok {
		return false
	}
	if t, _ := env("TERM"); t == "dumb" {
		return false
	}
	if g, ok := w.(interface{ Unwrap() io.Writer }); ok { // a guard: the stream it guards
		w = g.Unwrap()
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func newEnforceCmd(stdout io.Writer) *cobra.Command {
	var environment string
	cmd := &cobra.Command{
		Use:   "enforce REPORT.json",
		Short: "Turn a recorded verdict into the job's exit code (GitLab's scan/enforce split)",
		Long: `Read the JSON report of an earlier secgate run and exit as that run would
have: 0 pass, 1 the policy failed the gate, 2 the gate could not run — or the
report is missing, garbled, of another contract version, or was made for
another environment than --environment.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// The scan job's file, not a link the checkout holds at its
			// path (to a passing report committed in the tree).
			if fi, err := os.Lstat(args[0]); err == nil && fi.Mode()&os.ModeSymlink != 0 {
				return &exitCodeError{exitError, fmt.Errorf("%s is a symbolic link: a report is read only from the scan job's own file", args[0])}
			}
			rep, err := report.Read(args[0])
			if err != nil {
				return &exitCodeError{exitError, err}
			}
			if environment != "" && !strings.EqualFold(environment, rep.Environment) {
				return &exitCodeError{exitError, fmt.Errorf("%s was made for environment %q, not %q: run the scan for this environment", args[0], rep.Environment, environment)}
			}
			fmt.Fprintf(stdout, "secgate: %s (exit %d, deploy allowed: %t) from %s\n", strings.ToUpper(string(rep.Verdict)), rep.ExitCode(), rep.DeployAllowed, args[0])
			for _, r := range slices.Concat(rep.Errors, rep.Reasons) {
				fmt.Fprintf(stdout, "  - %s\n", r)
			}
			if code := rep.ExitCode(); code != exitPass {
				return &exitCodeError{code: code}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&environment, "environment", "", "the environment the job deploys to: the report must have been made for it")
	return cmd
}

func newPolicyCmd(stdout io.Writer, red *outputRedactor) *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Write or check a " + policy.FileName + " policy file"}
	var force bool
	initCmd := &cobra.Command{
		Use:   "init [FILE]",
		Short: "Write the default policy, with comments (default: ./" + policy.FileName + ")",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := policy.FileName
			if len(args) == 1 {
				path = args[0]
			}
			if _, err := os.Stat(path); err == nil && !force {
				return &exitCodeError{exitError, fmt.Errorf("%s exists: use --force to overwrite it", path)}
			}
			if err := os.WriteFile(path, policy.DefaultFile(), 0o644); err != nil {
				return &exitCodeError{exitError, err}
			}
			fmt.Fprintf(stdout, "wrote %s\n", path)
			return nil
		},
	}
	initCmd.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	checkCmd := &cobra.Command{
		Use:   "check [FILE]",
		Short: "Validate a policy file (default: ./" + policy.FileName + ")",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := policy.FileName
			if len(args) == 1 {
				path = args[0]
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return &exitCodeError{exitError, fmt.Errorf("reading policy: %w", err)}
			}
			// The parser's errors and the exception lines quote the file
			// (a key, a value, an id): every secret the detector finds in
			// it is redacted from all that this command prints.
			learned := gate.NewRedactor()
			learned.Learn(string(data))
			red.set(learned.Redact)
			p, err := gate.ParsePolicy(path, data)
			if err != nil {
				return &exitCodeError{exitError, err}
			}
			fmt.Fprintf(stdout, "%s: ok (%d exceptions)\n", path, len(p.Exceptions))
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			for _, sc := range gate.Catalogue() {
				for _, ch := range sc.Checks {
					tier := "per finding"
					if ch.Tier != policy.SeverityUnset {
						tier = p.CheckTier(ch.ID, ch.Tier).String()
					}
					fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", sc.Name, ch.ID, tier, ch.Title)
				}
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, w := range p.ExpiryWarnings(time.Now()) {
				fmt.Fprintf(stdout, "  ! %s\n", w)
			}
			return nil
		},
	}
	cmd.AddCommand(initCmd, checkCmd)
	return cmd
}

func newVersionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of secgate and of its scanners",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, args []string) {
			fmt.Fprintf(stdout, "secgate %s\n", version)
			if bi, ok := debug.ReadBuildInfo(); ok {
				fmt.Fprintf(stdout, "  go %s\n", bi.GoVersion)
				for _, d := range bi.Deps {
					switch d.Path {
					case "github.com/zricethezav/gitleaks/v8":
						fmt.Fprintf(stdout, "  gitleaks %s\n", d.Version)
					}
				}
			}
		},
	}
}

// cacheVersion names this build in the scan cache's digests: the version,
// and for an unversioned (dev) build the executable's size and time, so
// that a rebuilt binary never trusts what another build judged.
func cacheVersion() string {
	if version != "dev" {
		return version
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Sprintf("dev %d", time.Now().UnixNano()) // no reuse
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return fmt.Sprintf("dev %d", time.Now().UnixNano())
	}
	return fmt.Sprintf("dev %d %d", fi.Size(), fi.ModTime().UnixNano())
}

// outputRedactor is the guards' redaction (see run): URL credentials
// until the gate starts, then the detector, then the report's own.
type outputRedactor struct {
	mu sync.Mutex
	fn func(string) string
}

func (o *outputRedactor) set(fn func(string) string) {
	o.mu.Lock()
	o.fn = fn
	o.mu.Unlock()
}

// Redact implements policy.Redactor.
func (o *outputRedactor) Redact(s string) string {
	o.mu.Lock()
	fn := o.fn
	o.mu.Unlock()
	if fn == nil {
		return report.RedactText(s)
	}
	return fn(s)
}

// redactedError is an error whose message went through the redaction pass.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// relativeTo writes the report's messages with paths relative to the
// repository (GITHUB_WORKSPACE), not the runner's absolute path.
func relativeTo(rep *report.Report, env lookupEnv) {
	rel := workspaceRelative(env)
	fix := func(ss []string) {
		for i := range ss {
			ss[i] = rel.Replace(ss[i])
		}
	}
	fix(rep.Errors)
	fix(rep.Warnings)
	fix(rep.Reasons)
	for i := range rep.Scanners {
		s := &rep.Scanners[i]
		s.Error, s.Target = rel.Replace(s.Error), rel.Replace(s.Target)
		fix(s.Notes)
	}
}

// workspaceRelative rewrites GitHub's workspace path (GITHUB_WORKSPACE) as
// the repository's: "" before a path in it, "." for itself. Outside
// GitHub Actions it changes nothing.
func workspaceRelative(env lookupEnv) *strings.Replacer {
	root, _ := env("GITHUB_WORKSPACE")
	root = strings.TrimSuffix(root, "/")
	if act, _ := env("GITHUB_ACTIONS"); act != "true" || root == "" || root == "." {
		return strings.NewReplacer()
	}
	return strings.NewReplacer(root+"/", "", root, ".")
}
