// Package jira files secgate's tickets in Jira, Cloud (REST v3, email and
// API token, descriptions in Atlassian Document Format) or Data Center
// (REST v2, a personal access token, wiki markup), as an issues.Tracker:
// the filing rules are gate/issues', the same as for GitHub and GitLab.
// No Go Jira client can be fetched here, so this is a small typed client
// for what secgate uses: search by label, create, update, comment and
// transition.
package jira

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/secgate/secgate/gate/issues"
	"github.com/secgate/secgate/policy"
)

// Flavors of Jira.
const (
	Cloud      = "cloud"
	DataCenter = "datacenter"
)

// Config is a Jira project and the credentials to reach it.
type Config struct {
	URL, Project, IssueType string
	Components              []string
	// Cloud: Email and APIToken (basic auth). Data Center: PAT (bearer).
	Email, APIToken, PAT string
	Transport            http.RoundTripper
	// Sleep waits between retries (tests make it instant).
	Sleep func(context.Context, time.Duration) error
}

// FromEnv completes the policy's Jira section with the credentials of the
// environment: JIRA_EMAIL and JIRA_API_TOKEN (Cloud), else JIRA_PAT (Data
// Center). No credential is an error that says which to set.
func FromEnv(j policy.JiraConfig, getenv func(string) string) (Config, error) {
	c := Config{URL: j.URL, Project: j.Project, IssueType: j.IssueType, Components: j.Components,
		Email: getenv("JIRA_EMAIL"), APIToken: getenv("JIRA_API_TOKEN"), PAT: getenv("JIRA_PAT")}
	if (c.Email == "" || c.APIToken == "") && c.PAT == "" {
		return c, errors.New("jira: no credentials: set JIRA_EMAIL and JIRA_API_TOKEN (Jira Cloud) or JIRA_PAT (Data Center) in the CI environment")
	}
	return c, nil
}

// Client is one Jira project's tracker.
type Client struct {
	cfg    Config
	flavor string
	api    string
	http   *http.Client

	mu   sync.Mutex
	open map[int]bool // the state of each ticket List saw
}

// New makes the client: Cloud with an email and API token, Data Center
// with a personal access token.
func New(c Config) (*Client, error) {
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("jira: url %q: want https://HOST", c.URL)
	}
	c.URL = strings.TrimRight(c.URL, "/")
	if c.IssueType == "" {
		c.IssueType = "Bug"
	}
	if c.Sleep == nil {
		c.Sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		}
	}
	cl := &Client{cfg: c, flavor: DataCenter, api: "/rest/api/2", open: map[int]bool{}}
	if c.Email != "" && c.APIToken != "" {
		cl.flavor, cl.api = Cloud, "/rest/api/3"
	}
	cl.http = &http.Client{Transport: c.Transport, Timeout: 60 * time.Second}
	return cl, nil
}

// Flavor is Cloud or DataCenter.
func (c *Client) Flavor() string { return c.flavor }

// Internal labels: where the group's marker and the body's digest live
// (Jira has no hidden comments).
const (
	labelGroup   = "secgate-group-"
	labelScanner = "secgate-scanner-"
	labelBody    = "secgate-body-"
)

// BodyDigest implements issues.BodyDigester: the marker and a digest of
// the body, which List rebuilds from the labels.
func (c *Client) BodyDigest(body string) string {
	key, scanner, _ := issues.ParseMarker(body)
	sum := sha256.Sum256([]byte(body))
	return issues.Marker(key, scanner) + "\nbody:" + hex.EncodeToString(sum[:])[:12]
}

func digestFromLabels(labels []string) string {
	var key, scanner, body string
	for _, l := range labels {
		switch {
		case strings.HasPrefix(l, labelGroup):
			key = strings.TrimPrefix(l, labelGroup)
		case strings.HasPrefix(l, labelScanner):
			scanner = strings.TrimPrefix(l, labelScanner)
		case strings.HasPrefix(l, labelBody):
			body = strings.TrimPrefix(l, labelBody)
		}
	}
	if key == "" {
		return ""
	}
	return issues.Marker(key, scanner) + "\nbody:" + body
}

// internalLabels are the labels that carry the body's marker and digest.
func (c *Client) internalLabels(body string) []string {
	key, scanner, ok := issues.ParseMarker(body)
	if !ok {
		return nil
	}
	d := c.BodyDigest(body)
	return []string{labelGroup + key, labelScanner + scanner, labelBody + d[strings.LastIndex(d, ":")+1:]}
}

type searchResult struct {
	Issues []struct {
		Key    string `json:"key"`
		Fields struct {
			Summary string   `json:"summary"`
			Labels  []string `json:"labels"`
			Status  struct {
				Category struct {
					Key string `json:"key"`
				} `json:"statusCategory"`
			} `json:"status"`
			Resolution *struct {
				Name string `json:"name"`
			} `json:"resolution"`
		} `json:"fields"`
	} `json:"issues"`
	// Cloud's /search/jql pages by token; Data Center's /search by offset.
	NextPageToken string `json:"nextPageToken"`
	IsLast        *bool  `json:"isLast"`
	StartAt       int    `json:"startAt"`
	MaxResults    int    `json:"maxResults"`
	Total         int    `json:"total"`
}

// notPlanned are the resolutions a person gives a ticket they will not
// fix: such a ticket is not reopened.
var notPlanned = []string{"won't do", "won't fix", "declined", "duplicate", "cannot reproduce", "not a bug"}

// List implements issues.Tracker: every ticket of the project with the
// label, every page, by JQL (Cloud: POST /rest/api/3/search/jql, which
// replaced /search; Data Center: POST /rest/api/2/search).
func (c *Client) List(ctx context.Context, label string) ([]issues.Issue, error) {
	jql := fmt.Sprintf("project = %s AND labels = %s ORDER BY created ASC", jqlString(c.cfg.Project), jqlString(label))
	fields := []string{"summary", "labels", "status", "resolution"}
	var out []issues.Issue
	token, startAt := "", 0
	for page := 0; page < 100; page++ {
		body := map[string]any{"jql": jql, "fields": fields, "maxResults": 100}
		path := c.api + "/search"
		if c.flavor == Cloud {
			path = c.api + "/search/jql"
			if token != "" {
				body["nextPageToken"] = token
			}
		} else {
			body["startAt"] = startAt
		}
		var res searchResult
		if err := c.do(ctx, http.MethodPost, path, body, &res); err != nil {
			return nil, err
		}
		for _, is := range res.Issues {
			n, err := c.number(is.Key)
			if err != nil {
				return nil, err
			}
			f := is.Fields
			open := f.Status.Category.Key != "done"
			x := issues.Issue{Number: n, URL: c.cfg.URL + "/browse/" + is.Key, Title: f.Summary, Open: open,
				Labels: f.Labels, Body: digestFromLabels(f.Labels)}
			if !open && f.Resolution != nil && slices.Contains(notPlanned, strings.ToLower(f.Resolution.Name)) {
				x.ClosedAsNotPlanned = true
			}
			c.mu.Lock()
			c.open[n] = open
			c.mu.Unlock()
			out = append(out, x)
		}
		if c.flavor == Cloud {
			if res.NextPageToken == "" || res.IsLast != nil && *res.IsLast {
				return out, nil
			}
			token = res.NextPageToken
			continue
		}
		startAt += len(res.Issues)
		if len(res.Issues) == 0 || startAt >= res.Total {
			return out, nil
		}
	}
	return nil, errors.New("jira: search: more than 100 pages")
}

// jqlString quotes a JQL string literal.
func jqlString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func (c *Client) number(key string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(key, c.cfg.Project+"-"))
	if err != nil || !strings.HasPrefix(key, c.cfg.Project+"-") {
		return 0, fmt.Errorf("jira: search answered a ticket %q outside project %s", key, c.cfg.Project)
	}
	return n, nil
}

func (c *Client) key(n int) string { return fmt.Sprintf("%s-%d", c.cfg.Project, n) }

// priority maps our tier (a label) to Jira's default priorities.
func priority(labels []string) string {
	for _, l := range labels {
		switch l {
		case "critical":
			return "Highest"
		case "high":
			return "High"
		case "medium":
			return "Medium"
		case "low":
			return "Low"
		}
	}
	return ""
}

// Create implements issues.Tracker.
func (c *Client) Create(ctx context.Context, is issues.Issue) (issues.Issue, error) {
	fields := map[string]any{
		"project":     map[string]string{"key": c.cfg.Project},
		"issuetype":   map[string]string{"name": c.cfg.IssueType},
		"summary":     is.Title,
		"description": c.description(is.Body),
		"labels":      append(slices.Clone(is.Labels), c.internalLabels(is.Body)...),
	}
	if p := priority(is.Labels); p != "" {
		fields["priority"] = map[string]string{"name": p}
	}
	if len(c.cfg.Components) > 0 {
		var cs []map[string]string
		for _, n := range c.cfg.Components {
			cs = append(cs, map[string]string{"name": n})
		}
		fields["components"] = cs
	}
	var res struct {
		Key string `json:"key"`
	}
	err := c.do(ctx, http.MethodPost, c.api+"/issue", map[string]any{"fields": fields}, &res)
	var he *HTTPError
	if errors.As(err, &he) && he.Status == http.StatusBadRequest && strings.Contains(he.Detail, "priority") {
		// A project whose screen has no priority field, or other names.
		delete(fields, "priority")
		err = c.do(ctx, http.MethodPost, c.api+"/issue", map[string]any{"fields": fields}, &res)
	}
	if err != nil {
		return issues.Issue{}, err
	}
	n, err := c.number(res.Key)
	if err != nil {
		return issues.Issue{}, err
	}
	is.Number, is.URL = n, c.cfg.URL+"/browse/"+res.Key
	c.mu.Lock()
	c.open[n] = true
	c.mu.Unlock()
	return is, nil
}

// Update implements issues.Tracker: the summary, description and labels,
// then a transition when the ticket is to be closed or reopened.
func (c *Client) Update(ctx context.Context, is issues.Issue) (issues.Issue, error) {
	k := c.key(is.Number)
	fields := map[string]any{"summary": is.Title, "labels": is.Labels}
	if _, _, ok := issues.ParseMarker(is.Body); ok {
		// A body written by the filing rules (closing passes back what List
		// gave: a digest, not a body to write).
		if !strings.Contains(is.Body, "\nbody:") || strings.Count(is.Body, "\n") > 2 {
			fields["description"] = c.description(is.Body)
			fields["labels"] = append(slices.Clone(is.Labels), c.internalLabels(is.Body)...)
		}
	}
	if err := c.do(ctx, http.MethodPut, c.api+"/issue/"+k, map[string]any{"fields": fields}, nil); err != nil {
		return is, err
	}
	c.mu.Lock()
	open, known := c.open[is.Number]
	c.mu.Unlock()
	if known && open != is.Open {
		if err := c.transition(ctx, k, is.Open); err != nil {
			return is, err
		}
		c.mu.Lock()
		c.open[is.Number] = is.Open
		c.mu.Unlock()
	}
	return is, nil
}

// transition moves a ticket to a done status (close) or out of one
// (reopen), by the transitions its workflow offers.
func (c *Client) transition(ctx context.Context, key string, open bool) error {
	var res struct {
		Transitions []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
			To   struct {
				Category struct {
					Key string `json:"key"`
				} `json:"statusCategory"`
			} `json:"to"`
		} `json:"transitions"`
	}
	if err := c.do(ctx, http.MethodGet, c.api+"/issue/"+key+"/transitions", nil, &res); err != nil {
		return err
	}
	best := ""
	for _, t := range res.Transitions {
		done := t.To.Category.Key == "done"
		if done == open {
			continue
		}
		name := strings.ToLower(t.Name)
		if best == "" || !open && name == "done" || open && (name == "reopen" || name == "reopened" || name == "to do") {
			best = t.ID
		}
	}
	if best == "" {
		what := "close"
		if open {
			what = "reopen"
		}
		return fmt.Errorf("jira: %s: the workflow offers no transition to %s it", key, what)
	}
	return c.do(ctx, http.MethodPost, c.api+"/issue/"+key+"/transitions", map[string]any{"transition": map[string]string{"id": best}}, nil)
}

// LinkURL attaches a web link (a remote link) to the ticket at ticketURL:
// the same group's repository issue. Jira keeps one link per globalId, so
// linking again updates it.
func (c *Client) LinkURL(ctx context.Context, ticketURL, url, title string) error {
	key := ticketURL[strings.LastIndex(ticketURL, "/")+1:]
	if _, err := c.number(key); err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, c.api+"/issue/"+key+"/remotelink", map[string]any{
		"globalId": "secgate:" + url,
		"object":   map[string]any{"url": url, "title": title},
	}, nil)
}

// Comment implements issues.Tracker.
func (c *Client) Comment(ctx context.Context, number int, body string) error {
	return c.do(ctx, http.MethodPost, c.api+"/issue/"+c.key(number)+"/comment", map[string]any{"body": c.description(body)}, nil)
}

// description renders a body for the flavor: Cloud wants an Atlassian
// Document Format document (built as data: nothing in the text can break
// out of a text node), Data Center wiki markup (the body as preformatted
// text, where no markup applies). The hidden marker stays out: the labels
// carry it.
func (c *Client) description(body string) any {
	var lines []string
	for _, l := range strings.Split(body, "\n") {
		if _, _, ok := issues.ParseMarker(l); ok {
			continue
		}
		lines = append(lines, l)
	}
	// Markdown's bold markers read as noise in Jira's text.
	text := strings.ReplaceAll(strings.TrimSpace(strings.Join(lines, "\n")), "**", "")
	if c.flavor == DataCenter {
		return "{noformat}\n" + strings.ReplaceAll(text, "{noformat}", "{ noformat}") + "\n{noformat}"
	}
	var content []map[string]any
	for _, para := range strings.Split(text, "\n\n") {
		para = strings.TrimSpace(para)
		if para == "" {
			continue
		}
		var inline []map[string]any
		for i, l := range strings.Split(para, "\n") {
			if i > 0 {
				inline = append(inline, map[string]any{"type": "hardBreak"})
			}
			if l != "" {
				inline = append(inline, map[string]any{"type": "text", "text": l})
			}
		}
		content = append(content, map[string]any{"type": "paragraph", "content": inline})
	}
	return map[string]any{"type": "doc", "version": 1, "content": content}
}

// HTTPError is an answer Jira gave with an error status.
type HTTPError struct {
	Method, Path string
	Status       int
	Detail       string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("jira: %s %s: HTTP %d %s%s", e.Method, e.Path, e.Status, http.StatusText(e.Status), e.Detail)
}

// do sends one request, retrying 429 (after Retry-After) and 5xx a few
// times, and decodes the answer.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	const attempts = 4
	for i := 0; ; i++ {
		req, err := http.NewRequestWithContext(ctx, method, c.cfg.URL+path, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "application/json")
		if in != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if c.flavor == Cloud {
			req.SetBasicAuth(c.cfg.Email, c.cfg.APIToken)
		} else {
			req.Header.Set("Authorization", "Bearer "+c.cfg.PAT)
		}
		resp, err := c.http.Do(req)
		if err != nil {
			if i+1 < attempts && ctx.Err() == nil {
				if err := c.cfg.Sleep(ctx, backoff(i, "")); err != nil {
					return err
				}
				continue
			}
			return fmt.Errorf("jira: %s %s: %w", method, path, err)
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			if i+1 < attempts {
				if err := c.cfg.Sleep(ctx, backoff(i, resp.Header.Get("Retry-After"))); err != nil {
					return err
				}
				continue
			}
		}
		if resp.StatusCode >= 300 {
			return &HTTPError{Method: method, Path: path, Status: resp.StatusCode, Detail: errorDetail(data)}
		}
		if out == nil || len(bytes.TrimSpace(data)) == 0 {
			return nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("jira: %s %s: the answer is not the JSON expected: %w", method, path, err)
		}
		return nil
	}
}

func backoff(attempt int, retryAfter string) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(retryAfter)); err == nil && s >= 0 {
		return min(time.Duration(s)*time.Second, 60*time.Second)
	}
	return time.Duration(1<<attempt) * time.Second
}

// errorDetail reads Jira's error body ({"errorMessages": [...], "errors":
// {field: message}}).
func errorDetail(data []byte) string {
	var e struct {
		Messages []string          `json:"errorMessages"`
		Errors   map[string]string `json:"errors"`
	}
	if json.Unmarshal(data, &e) != nil {
		return ""
	}
	parts := slices.Clone(e.Messages)
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range e.Errors {
			if !yield(k) {
				return
			}
		}
	}) {
		parts = append(parts, k+": "+e.Errors[k])
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, "; ")
}
