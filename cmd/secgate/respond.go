package main

import (
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
