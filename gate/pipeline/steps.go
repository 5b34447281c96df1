package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/secgate/secgate/gate"
	"github.com/secgate/secgate/gate/ci"
	"github.com/secgate/secgate/gate/issues"
	"github.com/secgate/secgate/gate/repo"
	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/policy"
)

// rangeStep reads what the platform says of the run: the pull request,
// and the range unless the command line gave one. The platform is asked
// in every run: the pull request's number, the fork guard and the
// comment hold with --base or --history too. An error is a range that
// cannot be known: the gate does not run. A shallow clone is deepened to
// hold the range, as --deepen says: a push's first, before the platform
// decides its range (it judges before..after only when the clone holds
// before), then the range itself; what was done joins the range's note.
func rangeStep(ctx context.Context, s *State) error {
	own := s.Options.Base != "" || s.Options.History
	var pushNote, branchNote string
	var branchErr error
	if !own {
		before, after := s.Platform.PushRange()
		pushNote = s.deepen(ctx, true, before, after)
		// a run with no base from its event (a new branch, a forced push
		// whose previous head the clone lacks, a tag, a schedule...): the
		// default branch is fetched for the merge base with it
		if def, head := s.Platform.DefaultBranch(); def != "" && (before == "" || !repo.HasCommit(ctx, s.Config.Path, before)) {
			branchNote, branchErr = s.deepenToBranch(ctx, def, head)
		}
	}
	r, err := s.Platform.Range(ctx, s.Config.Path)
	if err != nil && own && errors.Is(err, repo.ErrNoTrustedBase) {
		// the command line's base is the trusted one the error asks for
		r, err = ci.Range{}, nil
	}
	if err != nil {
		if branchErr != nil {
			return fmt.Errorf("%w (fetching the default branch: %v)", err, branchErr)
		}
		return err
	}
	pushNote = joinNotes(pushNote, branchNote)
	s.Range = r
	s.Config.PullRequest = s.Config.PullRequest || r.PullRequest > 0
	if !own {
		s.Config.Base, s.Config.Head = r.Base, r.Head
	}
	s.Range.Note = joinNotes(r.Note, pushNote, s.deepen(ctx, !own, s.Config.Base, s.Config.Head))
	return nil
}

// policyStep loads the policy once: the gate judges with it and the
// response steps read its response section. An error is left to the
// gate, which reports it.
func policyStep(ctx context.Context, s *State) error {
	if s.errs != nil {
		return nil
	}
	if pol, err := s.Config.LoadPolicy(ctx); err == nil {
		s.Config.Policy = pol
	}
	return nil
}

// scanStep runs the gate (unless an earlier step failed: the report says
// why) and prepares the stdout format with the scan's end time.
func scanStep(ctx context.Context, s *State) error {
	if s.errs == nil {
		rep, err := runRecovered(ctx, s.Config, gate.Run)
		s.Report = rep
		s.exitOnly(err) // the gate recorded it in the report
	}
	s.IO.Redaction(s.Report.RedactText)
	s.ReportOpts.End = time.Now()
	s.Writer, _ = report.ForFormat(s.Options.Format, s.ReportOpts) // checked by Validate
	s.Report.DryRun = s.DryRun
	if s.Range.Note != "" {
		s.Report.Reasons = append(s.Report.Reasons, s.Platform.Name()+": "+s.Range.Note)
	}
	return nil
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

// ticketsStep is the policy's response before the repository's issues:
// Jira tickets of new groups, so that the repository issues link them.
func ticketsStep(ctx context.Context, s *State) error {
	s.Responder = newResponder(s)
	if note := responseUnused(s.Config, s.Options); note != "" {
		s.Report.Warnings = append(s.Report.Warnings, note)
	}
	if s.Responder != nil {
		s.Responder.Prefile(ctx, s.Report)
		s.Routing = s.Responder.RepositoryRouting()
	}
	return nil
}

// issuesStep files an issue per finding group in the platform's tracker.
// A tracker that cannot be had (no token) or fails is a warning, the
// issues listed as would-open; an error only with --fail-on-error. A
// fork's read-only token is never an error. A dry run lists the issues.
func issuesStep(ctx context.Context, s *State) error {
	rep, name := &s.Report, s.Platform.Name()
	if !s.Options.FileIssues || rep.Verdict == policy.VerdictError {
		return nil
	}
	tracker, terr := s.Platform.Tracker(s.Range)
	var failed error
	var readOnly *ci.ReadOnlyError
	switch {
	case errors.Is(terr, ci.ErrNoTracker):
		return nil // the policy's response (tickets, notifications) still runs
	case errors.As(terr, &readOnly):
		rep.Warnings = append(rep.Warnings, name+" issues: "+terr.Error()+": issues are listed as would-open, not filed")
	case s.DryRun:
		tracker = nil
	case terr != nil:
		rep.Warnings = append(rep.Warnings, name+" issues: "+terr.Error()+": issues are listed as would-open, not filed")
		if s.Options.FailOnError {
			failed = fmt.Errorf("filing issues: %w", terr)
		}
	}
	filed, err := issues.File(ctx, tracker, *rep, issues.Options{
		Labels: s.Options.IssueLabels, CloseResolved: s.Options.CloseResolved && s.Range.PullRequest == 0,
		FullScan: true, PartialScanners: partialScanners(s.Config), DryRun: s.DryRun || tracker == nil,
		RunURL: s.Platform.Run().URL, Routing: s.Routing, Tracker: "repository",
	})
	rep.Issues = append(rep.Issues, filed...)
	if err != nil {
		rep.Warnings = append(rep.Warnings, name+" issues: "+err.Error())
		if s.Options.FailOnError && failed == nil {
			failed = fmt.Errorf("filing issues: %w", err)
		}
	}
	return failed
}

// partialScanners are the scanners that see only a commit range when the
// run has one: their issues are not closed as resolved.
func partialScanners(cfg gate.Config) []string {
	if cfg.Base == "" {
		return nil
	}
	return []string{"secrets", "config"}
}

// respondStep is the policy's response after the repository's issues
// (Jira updated with their links, notifications), then the pull/merge
// request comment: before the files, so that a failure with
// --fail-on-error reaches every file.
func respondStep(ctx context.Context, s *State) error {
	var errs []error
	if s.Responder != nil {
		errs = append(errs, s.Responder.Respond(ctx, &s.Report, s.Options.FailOnError))
	}
	if s.Options.Comment && !s.DryRun {
		if err := s.Platform.Comment(ctx, s.Range, s.Report); err != nil {
			s.Report.Warnings = append(s.Report.Warnings, s.Platform.Name()+": "+err.Error())
			if s.Options.FailOnError {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// filesStep writes the files asked for besides the report (SARIF,
// GitLab's reports, dotenv, SBOM, VEX), the messages' paths relative to
// the platform's workspace.
func filesStep(_ context.Context, s *State) error {
	relativeTo(&s.Report, ci.Relative(s.Platform.Run().Workspace).Replace)
	var extra map[string]report.Writer
	if !s.input {
		extra = s.Options.SBOM.files(s.Report, s.Config, s.Options.Version, s.ReportOpts.Start, s.Platform.Run().Repository)
	}
	return writeOtherFiles(&s.Report, s.Options, s.ReportOpts, extra)
}

// redactStep is the last redaction: every step after the gate (trackers,
// signing, the files written) may have added text; nothing is added after
// this but the report file's own error, redacted again.
func redactStep(_ context.Context, s *State) error {
	report.Redact(&s.Report)
	return nil
}

// publishStep writes the report file, the platform's outputs and summary
// (from the final report) and the report on stdout, in every outcome. A
// report file that cannot be written makes the verdict "error" with
// deploy_allowed false, and the outputs say so: no step may read a pass
// into it.
func publishStep(_ context.Context, s *State) error {
	if s.Options.Report != "" {
		if err := WriteReportFile(s.Options.Report, s.Report); err != nil {
			s.Fail(err)
			report.Redact(&s.Report)
		}
	}
	s.Platform.Publish(s.Report, ci.PublishOptions{ReportFile: s.Options.Report, SARIFFile: s.Options.SARIFFile})
	w := s.Writer
	if w == nil && s.Options.Format == "json" {
		w = report.JSON{}
	}
	if w != nil {
		if err := w.Write(s.IO.Stdout, s.Report); err != nil {
			s.exitOnly(fmt.Errorf("writing the report: %w", err))
		}
	}
	return nil
}

// relativeTo writes the report's messages with paths relative to the
// repository, not the runner's absolute path.
func relativeTo(rep *report.Report, rel func(string) string) {
	fix := func(ss []string) {
		for i := range ss {
			ss[i] = rel(ss[i])
		}
	}
	fix(rep.Errors)
	fix(rep.Warnings)
	fix(rep.Reasons)
	for i := range rep.Scanners {
		sc := &rep.Scanners[i]
		sc.Error, sc.Target = rel(sc.Error), rel(sc.Target)
		fix(sc.Notes)
	}
}
