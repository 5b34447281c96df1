package main

import (
	"strings"

	"github.com/secgate/secgate/gate"
	"github.com/secgate/secgate/gate/issues"
	"github.com/secgate/secgate/gate/jira"
	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/policy"
)

// newResponder prepares the policy's response beyond the repository's
// issues (Jira, notifications), when issues are filed: the policy the run
// used, Jira's credentials and the webhooks from the environment (never
// from flags: they are credentials).
func newResponder(cfg gate.Config, f runFlags, rep report.Report, dryRun, pullRequest bool, env lookupEnv) *gate.Responder {
	getenv := func(k string) string { v, _ := env(k); return v }
	pol := cfg.Policy // loaded before the run
	if !f.fileIssues || rep.Verdict == policy.VerdictError || pol == nil {
		return nil
	}
	r := &gate.Responder{
		Response: pol.Response,
		DryRun:   dryRun,
		Filing: issues.Options{Labels: f.issueLabels, CloseResolved: f.closeResolved && !pullRequest, FullScan: true,
			PartialScanners: partialScanners(cfg), RunURL: runURL(getenv)},
		SlackURL:      getenv("SECGATE_SLACK_WEBHOOK_URL"),
		WebhookURL:    getenv("SECGATE_WEBHOOK_URL"),
		WebhookSecret: getenv("SECGATE_WEBHOOK_SECRET"),
		Repository:    firstEnv(getenv, "GITHUB_REPOSITORY", "CI_PROJECT_PATH"),
		Commit:        firstEnv(getenv, "GITHUB_SHA", "CI_COMMIT_SHA"),
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
func responseUnused(cfg gate.Config, f runFlags) string {
	if f.fileIssues || cfg.Policy == nil {
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
