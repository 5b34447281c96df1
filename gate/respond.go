package gate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/secgate/secgate/gate/issues"
	"github.com/secgate/secgate/gate/notify"
	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/policy"
)

// Tracker names in the report.
const (
	TrackerRepository = policy.TicketRepository
	TrackerJira       = policy.TicketJira
)

// Responder carries out the policy's response beyond the repository's
// issues: Jira tickets and notifications. One per run:
//
//	r.Prefile(ctx, rep)                          // Jira tickets of new groups, before the repository issues
//	platform files issues with r.RepositoryRouting()
//	r.Respond(ctx, &rep)                         // Jira updated with the repository links, then notifications
type Responder struct {
	Response policy.Response
	DryRun   bool
	// Jira is the Jira tracker; nil when the policy has no jira section or
	// its credentials are missing (JiraUnavailable says which).
	Jira            issues.Tracker
	JiraUnavailable string
	// Filing is how tickets are filed (close-resolved, full scan, labels,
	// the run's URL); the routing is the Responder's.
	Filing issues.Options

	SlackURL, WebhookURL, WebhookSecret string
	HTTP                                *http.Client
	Repository, Commit                  string

	prefiled  []report.Issue
	jiraLinks map[string]string
}

// Prefile creates the Jira tickets of groups that have none yet, so that
// the repository issues can link them (nothing else is changed: Respond
// updates them once the repository issues exist).
func (r *Responder) Prefile(ctx context.Context, rep report.Report) {
	r.jiraLinks = map[string]string{}
	if r.Jira == nil || !r.Response.Uses(TrackerJira) || rep.Verdict == policy.VerdictError {
		return
	}
	o := r.options(TrackerJira, nil)
	o.CreateOnly = true
	entries, err := issues.File(ctx, r.Jira, rep, o)
	if err != nil {
		return // Respond files again and reports the error
	}
	r.prefiled = entries
	for _, e := range entries {
		if e.URL != "" {
			r.jiraLinks[e.Fingerprint] = e.URL
		}
	}
}

// RepositoryRouting is the routing of the repository's issues: the tiers
// the policy tickets there, their labels, the owner, the Jira links.
func (r *Responder) RepositoryRouting() issues.Routing {
	return r.routing(TrackerRepository, r.jiraLinks)
}

func (r *Responder) routing(tracker string, links map[string]string) issues.Routing {
	labels := map[policy.Severity]string{}
	for sev, t := range r.Response.Tiers {
		if t.Label != "" {
			labels[sev] = t.Label
		}
	}
	return issues.Routing{
		Include:    func(g issues.Group) bool { return r.Response.Tickets(g.Severity, tracker) },
		TierLabels: labels,
		Owner:      r.Response.Owner,
		Links:      links,
	}
}

func (r *Responder) options(tracker string, links map[string]string) issues.Options {
	o := r.Filing
	o.Routing = r.routing(tracker, links)
	o.Tracker = tracker
	o.DryRun = o.DryRun || r.DryRun
	return o
}

// Respond files the Jira tickets (linking the repository issues already in
// rep.Issues), then notifies, once per new or reopened group, the channels
// the policy names for its tier. Failures are warnings in the report; the
// error is for the caller to fail the gate with (FailOnError for Jira,
// response.notify_failure: fail for notifications).
func (r *Responder) Respond(ctx context.Context, rep *report.Report, failOnError bool) error {
	if rep.Verdict == policy.VerdictError {
		return nil
	}
	var errs []error
	if r.Response.Uses(TrackerJira) {
		switch {
		case r.Jira == nil && !r.DryRun && !r.Filing.DryRun:
			rep.Warnings = append(rep.Warnings, "Jira: "+r.JiraUnavailable)
			if failOnError {
				errs = append(errs, errors.New("jira: "+r.JiraUnavailable))
			}
		default:
			repoLinks := map[string]string{}
			for _, e := range rep.Issues {
				if e.Tracker == TrackerRepository && e.URL != "" {
					repoLinks[e.Fingerprint] = e.URL
				}
			}
			entries, err := issues.File(ctx, r.Jira, *rep, r.options(TrackerJira, repoLinks))
			entries = merge(r.prefiled, entries)
			if err == nil {
				err = r.remoteLinks(ctx, entries, rep.Issues)
			}
			rep.Issues = append(rep.Issues, entries...)
			if err != nil {
				rep.Warnings = append(rep.Warnings, "Jira: "+err.Error())
				if failOnError {
					errs = append(errs, fmt.Errorf("jira: %w", err))
				}
			}
		}
	}
	if err := r.notify(ctx, rep); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// linker is a tracker that attaches web links to its tickets (Jira's
// remote links).
type linker interface {
	LinkURL(ctx context.Context, ticketURL, url, title string) error
}

// remoteLinks attaches each new Jira ticket's repository issue as a web
// link (besides the text link in both bodies), when either was opened or
// reopened this run: reruns write nothing.
func (r *Responder) remoteLinks(ctx context.Context, jira, repo []report.Issue) error {
	l, ok := r.Jira.(linker)
	if !ok || r.DryRun || r.Filing.DryRun {
		return nil
	}
	fresh := func(s string) bool { return s == issues.StateOpened || s == issues.StateReopened }
	for _, j := range jira {
		for _, e := range repo {
			if e.Tracker != TrackerRepository || e.Fingerprint != j.Fingerprint || e.URL == "" || j.URL == "" || !fresh(j.State) && !fresh(e.State) {
				continue
			}
			if err := l.LinkURL(ctx, j.URL, e.URL, e.Title); err != nil {
				return fmt.Errorf("linking %s to %s: %w", j.URL, e.URL, err)
			}
		}
	}
	return nil
}

// merge keeps "opened" from the create-only pass: the full pass that
// follows only added links to a ticket that run created.
func merge(pre, full []report.Issue) []report.Issue {
	opened := map[string]bool{}
	for _, e := range pre {
		if e.State == issues.StateOpened {
			opened[e.Fingerprint] = true
		}
	}
	out := slices.Clone(full)
	for i := range out {
		if opened[out[i].Fingerprint] && out[i].State != issues.StateError {
			out[i].State = issues.StateOpened
		}
	}
	return out
}

// notify tells each channel the policy names about the groups that are
// new or reopened in a tracker this run (the trackers are the memory: a
// rerun tells nobody again).
func (r *Responder) notify(ctx context.Context, rep *report.Report) error {
	dry := r.DryRun || r.Filing.DryRun
	fresh := map[string][]string{} // group key → its tickets
	for _, e := range rep.Issues {
		// A would-open entry counts in a dry run only: outside one it is a
		// tracker that could not file (a fork's read-only token), which
		// remembers nothing — telling on it would tell on every run.
		if e.State == issues.StateOpened || e.State == issues.StateReopened || dry && e.State == issues.StateWouldOpen {
			fresh[e.Fingerprint] = append(fresh[e.Fingerprint], e.URL)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	byChannel := map[string][]notify.Group{}
	var channels []string
	for _, g := range issues.Groups(*rep) {
		tickets, ok := fresh[g.Key]
		if !ok {
			continue
		}
		ng := notifyGroup(g, tickets, rep.Issues)
		for _, ch := range r.Response.Tiers[g.Severity].Notify {
			if _, seen := byChannel[ch]; !seen {
				channels = append(channels, ch)
			}
			byChannel[ch] = append(byChannel[ch], ng)
		}
	}
	slices.Sort(channels)
	var errs []error
	for _, ch := range channels {
		groups := byChannel[ch]
		n := report.Notification{Channel: ch, State: "sent"}
		for _, g := range groups {
			n.Groups = append(n.Groups, g.Key)
		}
		msg := notify.Message{Verdict: string(rep.Verdict), Environment: rep.Environment, Repository: r.Repository, Commit: r.Commit,
			RunURL: r.Filing.RunURL, Owner: r.Response.Owner, Groups: groups}
		rep.RedactAll(&msg) // a Slack message or webhook leaves the process: the report's last pass
		var err error
		switch {
		case ch == policy.NotifyOwner:
			// The owner is mentioned in every ticket and message.
			n.To = r.Response.Owner
			if dry {
				n.State = "would-send"
			}
		case ch == policy.NotifySlack && r.SlackURL == "", ch == policy.NotifyWebhook && r.WebhookURL == "":
			n.State = "not-configured"
			env := map[string]string{policy.NotifySlack: "SECGATE_SLACK_WEBHOOK_URL", policy.NotifyWebhook: "SECGATE_WEBHOOK_URL"}[ch]
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("the policy notifies %s and %s is not set: nobody was told of %d new group(s)", ch, env, len(groups)))
		case dry:
			n.State = "would-send"
		case ch == policy.NotifySlack:
			err = notify.Slack(ctx, r.HTTP, r.SlackURL, msg)
		case ch == policy.NotifyWebhook:
			err = notify.Webhook(ctx, r.HTTP, r.WebhookURL, r.WebhookSecret, msg)
		}
		if err != nil {
			n.State, n.Error = "error", err.Error()
			rep.Warnings = append(rep.Warnings, "notification: "+err.Error())
			if r.Response.NotifyFailure == policy.ActionFail {
				errs = append(errs, fmt.Errorf("notification (response.notify_failure: fail): %w", err))
			}
		}
		rep.Notifications = append(rep.Notifications, n)
	}
	return errors.Join(errs...)
}

func notifyGroup(g issues.Group, tickets []string, all []report.Issue) notify.Group {
	state := issues.StateOpened
	for _, e := range all {
		if e.Fingerprint == g.Key && e.State == issues.StateReopened {
			state = issues.StateReopened
		}
		if e.Fingerprint == g.Key && e.State == issues.StateWouldOpen {
			state = issues.StateWouldOpen
		}
	}
	ng := notify.Group{Key: g.Key, Title: issues.Title(g), Severity: g.Severity.String(), State: state, Fix: g.Findings[0].Fix}
	for _, f := range g.Findings {
		w := f.Location.String()
		if f.Preview != "" {
			w += " — " + f.Preview
		}
		ng.Where = append(ng.Where, w)
	}
	for _, t := range tickets {
		if t != "" && !slices.Contains(ng.Tickets, t) {
			ng.Tickets = append(ng.Tickets, t)
		}
	}
	return ng
}
