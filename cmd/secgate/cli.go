package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/secgate/secgate/gate/ci"
	"github.com/secgate/secgate/gate/pipeline"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/secgate/secgate/gate"
	"github.com/secgate/secgate/gate/render"
	"github.com/secgate/secgate/gate/report"
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
		errs = append(errs, pipeline.WriteReportFile(path, rep))
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

func newRunCmd(stdout, stderr, rawErr io.Writer, red *outputRedactor, env lookupEnv) *cobra.Command {
	var o pipeline.Options
	getenv := func(k string) string { v, _ := env(k); return v }
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
			o.Path = "."
			if len(args) == 1 {
				o.Path = args[0]
			}
			// The platform's own inputs (GitHub's INPUT_*) set the flags
			// first: the same flags, so the CLI and the action agree.
			p, err := pipeline.Detect(getenv, rawErr)
			if in, ok := p.(inputSource); ok {
				if path, ierr := applyInputs(cmd.Flags(), in); ierr != nil {
					err = ierr
				} else if path != "" && len(args) == 0 {
					o.Path = path
				}
			}
			// The environment's values apply after a bad input too: its
			// files (--dotenv, --report...) are where the error goes.
			err = errors.Join(err, applyEnv(cmd.Flags(), env))
			o.DryRunSet = cmd.Flags().Changed("dry-run")
			o.Version, o.CacheVersion = version, cacheVersion()
			sw := pipeline.IO{Stdout: stdout, Stderr: stderr, Raw: rawErr, Redaction: red.set, Color: useColor(stdout, env)}
			rep, err := pipeline.Run(cmd.Context(), p, o, getenv, sw, err)
			if err != nil {
				return &exitCodeError{exitError, err}
			}
			if code := rep.ExitCode(); code != exitPass {
				return &exitCodeError{code: code}
			}
			return nil
		},
	}
	registerRunFlags(cmd.Flags(), &o)
	return cmd
}

// registerRunFlags binds run's flags to the pipeline's options.
func registerRunFlags(fl *pflag.FlagSet, o *pipeline.Options) {
	fl.StringSliceVar(&o.Images, "image", nil, "container image to check (repeatable): a registry reference, docker-archive:FILE, oci-layout:DIR or docker-daemon:REF")
	fl.StringVar(&o.Environment, "environment", "", "target environment (default: GitLab's CI_ENVIRONMENT_NAME); high findings fail the job only for a production one")
	fl.StringVar(&o.Policy, "policy", "", "policy file (default: PATH/"+policy.FileName+" if present, else the built-in policy)")
	fl.StringVar(&o.Format, "format", "text", "output format on stdout: "+strings.Join(report.Formats, ", "))
	fl.StringVar(&o.Report, "report", "", "also write the JSON report to this file (in every outcome, errors included)")
	fl.StringVar(&o.SARIFFile, "sarif-file", "", "also write the report as SARIF 2.1.0 to this file (for code scanning uploads)")
	fl.StringVar(&o.GitLabDir, "gitlab-reports", "", "also write GitLab's security reports (gl-secret_detection-report.json, gl-dependency_scanning-report.json, gl-container_scanning-report.json) into this directory, for the scanners that ran")
	registerSBOMFlags(fl, &o.SBOM)
	fl.StringVar(&o.Dotenv, "dotenv", "", "also write the verdict as a dotenv file (SECGATE_VERDICT, SECGATE_DEPLOY_ALLOWED, ...), for GitLab's artifacts:reports:dotenv")
	fl.BoolVar(&o.DryRun, "dry-run", false, "scan and decide, but file no issue and sign nothing (the default outside CI)")
	fl.StringVar(&o.Base, "base", "", "scan for secrets only the commits in BASE..HEAD (a pull/merge request or push)")
	fl.StringVar(&o.Head, "head", "", "end of the commit range (default HEAD)")
	fl.BoolVar(&o.History, "history", false, "scan the whole git history for secrets")
	o.Deepen = pipeline.DeepenAuto
	fl.Var(&o.Deepen, "deepen", "deepen a shallow clone with go-git to hold the commit range, with the checkout's credentials: auto (the range the CI platform gives), true (any range, --base too), false")
	fl.StringSliceVar(&o.Only, "only", nil, "run only these scanners: "+strings.Join(gate.ScannerNames(), ", "))
	fl.StringSliceVar(&o.Skip, "skip", nil, "do not run these scanners")
	fl.StringSliceVar(&o.ImagePlatforms, "platform", nil, "of a multi-platform image, check only these platforms (e.g. linux/amd64; default all)")
	fl.StringSliceVar(&o.Lockfiles, "lockfile", nil, "also scan this lockfile or manifest (repeatable)")
	fl.StringVar(&o.OfflineDB, "offline-db", "", "match dependencies against this offline OSV database directory (DIR/osv-scalibr/<Ecosystem>/all.zip) instead of the OSV API")
	fl.BoolVar(&o.DownloadDB, "download-db", false, "download the offline OSV database into --offline-db first")
	fl.StringVar(&o.CacheDir, "cache-dir", "", "keep what the secret scan found nothing in (files by path and content, commits) and the dependency and image results in this directory, and skip what is unchanged next run (actions/cache, GitLab cache:; in CI it needs SECGATE_CACHE_KEY)")
	fl.StringVar(&o.CacheMax, "cache-max", "500MB", "bound the cache directory; the sets least recently written go first")
	fl.StringVar(&o.OSVAPIURL, "osv-api-url", "", "OSV API base URL (default https://api.osv.dev)")
	fl.BoolVar(&o.PullRequest, "pull-request", false, "the run judges a pull/merge request (findings may be new or existing)")
	fl.BoolVar(&o.FileIssues, "file-issues", false, "in CI, file an issue per finding group (GitHub: issues: write); a dry run lists them")
	fl.StringSliceVar(&o.IssueLabels, "issue-labels", nil, "more labels for filed issues (besides secgate, security and the tier)")
	fl.BoolVar(&o.CloseResolved, "close-resolved", false, "close the issues of findings a full scan no longer finds")
	fl.BoolVar(&o.Comment, "comment", false, "in CI, keep one pull request comment with the verdict (edited in place)")
	registerSignFlags(fl, &o.Sign)
	fl.BoolVar(&o.FailOnError, "fail-on-error", false, "a failure to file issues or comment fails the gate (exit 2); by default it is a warning")
	fl.BoolVar(&o.VerifySecrets, "verify-secrets", false, "ask each provider whether a found credential is live (one request per value, to its own API host), also in a dry run; the policy's secrets.verify does it outside dry runs")
	fl.BoolVarP(&o.Verbose, "verbose", "v", false, "log progress to stderr")
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

// inputSource is a platform whose run has inputs that set flags (GitHub's
// action inputs).
type inputSource interface {
	Input(name string) string
	InputFlags() map[string]string // input -> flag ("" for the platform's own)
}

// applyInputs gives every flag not set on the command line the value of
// its input, and returns the path input.
func applyInputs(fs *pflag.FlagSet, act inputSource) (string, error) {
	var errs []error
	for input, flag := range act.InputFlags() {
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
					case "github.com/google/osv-scalibr": // the deps scanner's engine since issue 30
						fmt.Fprintf(stdout, "  osv-scalibr %s\n", d.Version)
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

// workspaceRelative rewrites GitHub's workspace path (GITHUB_WORKSPACE) as
// the repository's: "" before a path in it, "." for itself. Outside
// GitHub Actions it changes nothing.
func workspaceRelative(env lookupEnv) *strings.Replacer {
	root, _ := env("GITHUB_WORKSPACE")
	if act, _ := env("GITHUB_ACTIONS"); act != "true" {
		return strings.NewReplacer()
	}
	return ci.Relative(root)
}
