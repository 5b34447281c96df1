package pipeline

import (
	"strings"

	"github.com/secgate/secgate/gate"
	"github.com/secgate/secgate/gate/issues"
	"github.com/secgate/secgate/gate/jira"
	"github.com/secgate/secgate/policy"
)

// newResponder prepares the policy's response beyond the repository's
// issues (Jira, notifications), when issues are filed: the policy the run
// used, Jira's credentials and the webhooks from the environment (never
// from flags: they are credentials).
func newResponder(s *State) *gate.Responder {
	pol, o, getenv := s.Config.Policy, s.Options, s.Env // the policy: loaded before the run
	if !o.FileIssues || s.Report.Verdict == policy.VerdictError || pol == nil {
		return nil
	}
	run := s.Platform.Run()
	r := &gate.Responder{
		Response: pol.Response,
		DryRun:   s.DryRun,
		Filing: issues.Options{Labels: o.IssueLabels, CloseResolved: o.CloseResolved && !s.Config.PullRequest, FullScan: true,
			PartialScanners: partialScanners(s.Config), RunURL: run.URL},
		SlackURL:      getenv("SECGATE_SLACK_WEBHOOK_URL"),
		WebhookURL:    getenv("SECGATE_WEBHOOK_URL"),
		WebhookSecret: getenv("SECGATE_WEBHOOK_SECRET"),
		Repository:    run.Repository,
		Commit:        run.Commit,
	}
	if j := pol.Response.Jira; j != nil && pol.Response.Uses(policy.TicketJira) {
		jc, err := jira.FromEnv(*j, getenv)
		if err == nil {
			var c *jira.Client
			if c, err = jira.New(jc); err == nil {
				r.Jira = c
			}
		}
		if err != nil {
			r.JiraUnavailable = err.Error()
		}
	}
	return r
}

// responseUnused says, when the policy's response asks for Jira tickets or
// notifications and --file-issues is not given, that none was sent: the
// response runs with the repository's issues, and a policy that seems to
// page someone must not do nothing in silence.
func responseUnused(cfg gate.Config, o Options) string {
	if o.FileIssues || cfg.Policy == nil {
		return ""
	}
	var used []string
	for _, target := range []string{policy.TicketJira, policy.NotifyOwner, policy.NotifySlack, policy.NotifyWebhook} {
		if cfg.Policy.Response.Uses(target) {
			used = append(used, target)
		}
	}
	if len(used) == 0 {
		return ""
	}
	return "the policy's response (" + strings.Join(used, ", ") + ") runs only with --file-issues (SECGATE_FILE_ISSUES, the file-issues input): nothing was ticketed or notified"
}
