package policy

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Response is what the policy prescribes per tier besides the verdict:
// where a finding group is ticketed, who is notified. Without a response
// section, every filed finding (fail, block-production, file-issue) is
// ticketed in the repository's tracker and nobody is notified.
type Response struct {
	Tiers map[Severity]TierResponse
	// Owner is mentioned in tickets and notifications (a GitHub team or
	// user, a GitLab user or group: "@acme/security").
	Owner string
	Jira  *JiraConfig
	// NotifyFailure: ActionFail makes a notification that cannot be sent
	// fail the gate; by default (ActionReport) it is a warning.
	NotifyFailure Action
}

// TierResponse is one tier's response.
type TierResponse struct {
	Ticket []string // TicketRepository, TicketJira
	Notify []string // NotifyOwner, NotifySlack, NotifyWebhook
	Label  string   // one more label on its tickets (needs-fix)
}

// Ticket and notification targets.
const (
	TicketRepository = "repository"
	TicketJira       = "jira"
	NotifyOwner      = "owner"
	NotifySlack      = "slack"
	NotifyWebhook    = "webhook"
)

// JiraConfig is the Jira project tickets go to. Credentials are never in
// the policy: JIRA_EMAIL and JIRA_API_TOKEN (Cloud) or JIRA_PAT (Data
// Center) in the environment.
type JiraConfig struct {
	URL        string
	Project    string
	IssueType  string
	Components []string
}

// Tickets says whether a tier is ticketed in a tracker.
func (r Response) Tickets(s Severity, tracker string) bool {
	return slices.Contains(r.Tiers[s].Ticket, tracker)
}

// Notifies says whether a tier notifies a channel.
func (r Response) Notifies(s Severity, channel string) bool {
	return slices.Contains(r.Tiers[s].Notify, channel)
}

// Uses says whether any tier tickets in a tracker or notifies a channel.
func (r Response) Uses(target string) bool {
	for _, t := range r.Tiers {
		if slices.Contains(t.Ticket, target) || slices.Contains(t.Notify, target) {
			return true
		}
	}
	return false
}

func defaultResponse() Response {
	repo := TierResponse{Ticket: []string{TicketRepository}}
	return Response{
		Tiers:         map[Severity]TierResponse{Critical: repo, High: repo, Medium: repo, Low: repo},
		NotifyFailure: ActionReport,
	}
}

var ownerRE = regexp.MustCompile(`^@[A-Za-z0-9][A-Za-z0-9_.-]*(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)*$`)

type rawResponse struct {
	Critical      *rawTierResponse `yaml:"critical"`
	High          *rawTierResponse `yaml:"high"`
	Medium        *rawTierResponse `yaml:"medium"`
	Low           *rawTierResponse `yaml:"low"`
	NotifyFailure *string          `yaml:"notify_failure"`
}

type rawTierResponse struct {
	Ticket []string `yaml:"ticket"`
	Notify []string `yaml:"notify"`
	Label  *string  `yaml:"label"`
}

type rawJira struct {
	URL        *string  `yaml:"url"`
	Project    *string  `yaml:"project"`
	IssueType  *string  `yaml:"issue_type"`
	Components []string `yaml:"components"`
}

// parseResponse reads response:, owner: and jira:. A tier the file does
// not name keeps the default (a repository ticket).
func parseResponse(v *validator, raw *rawResponse, owner *string, jira *rawJira, p *Policy) {
	if raw != nil {
		for _, t := range []struct {
			name string
			sev  Severity
			in   *rawTierResponse
		}{{"critical", Critical, raw.Critical}, {"high", High, raw.High}, {"medium", Medium, raw.Medium}, {"low", Low, raw.Low}} {
			if t.in == nil {
				continue
			}
			path := "$.response." + t.name
			var tr TierResponse
			for i, x := range t.in.Ticket {
				if x != TicketRepository && x != TicketJira {
					v.errf(fmt.Sprintf("%s.ticket[%d]", path, i), "unknown tracker %q (want repository, jira)", x)
					continue
				}
				if !slices.Contains(tr.Ticket, x) {
					tr.Ticket = append(tr.Ticket, x)
				}
			}
			for i, x := range t.in.Notify {
				if x != NotifyOwner && x != NotifySlack && x != NotifyWebhook {
					v.errf(fmt.Sprintf("%s.notify[%d]", path, i), "unknown notification %q (want owner, slack, webhook)", x)
					continue
				}
				if !slices.Contains(tr.Notify, x) {
					tr.Notify = append(tr.Notify, x)
				}
			}
			if t.in.Label != nil {
				l := strings.TrimSpace(*t.in.Label)
				if l == "" || strings.ContainsAny(l, " \t,") {
					v.errf(path+".label", "label %q: one word, no spaces or commas", *t.in.Label)
				}
				tr.Label = l
			}
			p.Response.Tiers[t.sev] = tr
		}
		if raw.NotifyFailure != nil {
			switch *raw.NotifyFailure {
			case "warn":
				p.Response.NotifyFailure = ActionReport
			case "fail":
				p.Response.NotifyFailure = ActionFail
			default:
				v.errf("$.response.notify_failure", "unknown value %q (want warn, fail)", *raw.NotifyFailure)
			}
		}
	}
	if owner != nil {
		o := strings.TrimSpace(*owner)
		if !ownerRE.MatchString(o) {
			v.errf("$.owner", "owner %q: a GitHub team or user, or a GitLab user or group, starting with @ (\"@acme/security\")", *owner)
		}
		p.Response.Owner = o
	}
	for _, sev := range []Severity{Critical, High, Medium, Low} {
		if t := p.Response.Tiers[sev]; len(t.Notify) > 0 && len(t.Ticket) == 0 {
			v.errf("$.response."+sev.String(), "%s notifies %s with no ticket: notifications are sent once per new or reopened ticket (the tracker remembers what was told), so give the tier a ticket", sev, strings.Join(t.Notify, ", "))
		}
	}
	if p.Response.Uses(NotifyOwner) && p.Response.Owner == "" {
		v.errf("$.response", "a tier notifies the owner, and no owner is set (owner: \"@acme/security\")")
	}
	if jira != nil {
		j := &JiraConfig{Components: jira.Components}
		if jira.URL == nil || jira.Project == nil {
			v.errf("$.jira", "jira needs url and project (and issue_type, default Bug)")
		} else {
			j.URL, j.Project = strings.TrimRight(*jira.URL, "/"), *jira.Project
			u, err := url.Parse(j.URL)
			switch {
			case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
				v.errf("$.jira.url", "jira url %q: want https://HOST", *jira.URL)
			case u.User != nil:
				v.errf("$.jira.url", "jira url: no credentials in the policy (they are in the repository for everyone to read): set JIRA_EMAIL and JIRA_API_TOKEN, or JIRA_PAT, in the CI environment")
			}
			if strings.TrimSpace(j.Project) == "" || strings.ContainsAny(j.Project, " \"'") {
				v.errf("$.jira.project", "jira project %q: a project key (SEC)", j.Project)
			}
		}
		j.IssueType = "Bug"
		if jira.IssueType != nil {
			j.IssueType = *jira.IssueType
		}
		p.Response.Jira = j
	}
	if p.Response.Uses(TicketJira) && p.Response.Jira == nil {
		v.errf("$.response", "a tier tickets in jira, and no jira section says where (jira: {url: https://acme.atlassian.net, project: SEC})")
	}
}
