// Package github is secgate's GitHub surface: the run's context from the
// Actions environment and event, the action's inputs and outputs, the step
// summary and annotations, the pull request comment, and issue filing
// through the REST API. It is the only importer of go-githubactions and
// go-github.
package github

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v75/github"

	"github.com/secgate/secgate/gate/issues"
)

// DefaultAPIURL is the REST API of github.com; GHES gives GITHUB_API_URL.
const DefaultAPIURL = "https://api.github.com"

// Client talks to a repository's issues through the REST API.
type Client struct {
	gh          *gh.Client
	owner, repo string
}

var _ issues.Tracker = (*Client)(nil)

// NewClient returns a client of repository ("owner/name") at apiURL, with
// token, retrying transient failures (5xx, rate limits) through rt.
func NewClient(apiURL, repository, token string, rt http.RoundTripper) (*Client, error) {
	owner, repo, ok := strings.Cut(repository, "/")
	if !ok || owner == "" || repo == "" {
		return nil, fmt.Errorf("GITHUB_REPOSITORY %q is not owner/name", repository)
	}
	c := gh.NewClient(&http.Client{Transport: rt, Timeout: 2 * time.Minute}).WithAuthToken(token)
	// GITHUB_API_URL as given: GHES gives https://HOST/api/v3.
	base, err := url.Parse(strings.TrimSuffix(cmp.Or(apiURL, DefaultAPIURL), "/") + "/")
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("GITHUB_API_URL %q is not a URL", apiURL)
	}
	c.BaseURL = base
	return &Client{gh: c, owner: owner, repo: repo}, nil
}

// List implements issues.Tracker: every issue with the label, open and
// closed, every page (pull requests, which the API lists too, left out).
func (c *Client) List(ctx context.Context, label string) ([]issues.Issue, error) {
	opts := &gh.IssueListByRepoOptions{State: "all", Labels: []string{label}, ListOptions: gh.ListOptions{PerPage: 100}}
	var out []issues.Issue
	for {
		page, resp, err := c.gh.Issues.ListByRepo(ctx, c.owner, c.repo, opts)
		if err != nil {
			return nil, err
		}
		for _, is := range page {
			if !is.IsPullRequest() {
				out = append(out, fromGitHub(is))
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.ListOptions.Page = resp.NextPage
	}
}

// Create implements issues.Tracker.
func (c *Client) Create(ctx context.Context, is issues.Issue) (issues.Issue, error) {
	created, _, err := c.gh.Issues.Create(ctx, c.owner, c.repo, &gh.IssueRequest{Title: &is.Title, Body: &is.Body, Labels: &is.Labels})
	if err != nil {
		return issues.Issue{}, err
	}
	return fromGitHub(created), nil
}

// Update implements issues.Tracker.
func (c *Client) Update(ctx context.Context, is issues.Issue) (issues.Issue, error) {
	state, reason := "open", "reopened"
	if !is.Open {
		state, reason = "closed", "completed"
	}
	req := &gh.IssueRequest{Title: &is.Title, Body: &is.Body, State: &state, StateReason: &reason}
	if len(is.Labels) > 0 {
		req.Labels = &is.Labels
	}
	edited, _, err := c.gh.Issues.Edit(ctx, c.owner, c.repo, is.Number, req)
	if err != nil {
		return issues.Issue{}, err
	}
	return fromGitHub(edited), nil
}

// Comment implements issues.Tracker.
func (c *Client) Comment(ctx context.Context, number int, body string) error {
	_, _, err := c.gh.Issues.CreateComment(ctx, c.owner, c.repo, number, &gh.IssueComment{Body: &body})
	return err
}

// UpsertComment writes the pull request's one secgate comment: the one
// whose body holds marker is edited in place, else one is created. It
// returns the comment's URL.
func (c *Client) UpsertComment(ctx context.Context, pr int, marker, body string) (string, error) {
	opts := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		page, resp, err := c.gh.Issues.ListComments(ctx, c.owner, c.repo, pr, opts)
		if err != nil {
			return "", fmt.Errorf("listing the comments of #%d: %w", pr, err)
		}
		for _, cm := range page {
			if strings.Contains(cm.GetBody(), marker) {
				if cm.GetBody() == body {
					return cm.GetHTMLURL(), nil
				}
				edited, _, err := c.gh.Issues.EditComment(ctx, c.owner, c.repo, cm.GetID(), &gh.IssueComment{Body: &body})
				if err != nil {
					return "", fmt.Errorf("editing comment %d of #%d: %w", cm.GetID(), pr, err)
				}
				return edited.GetHTMLURL(), nil
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	created, _, err := c.gh.Issues.CreateComment(ctx, c.owner, c.repo, pr, &gh.IssueComment{Body: &body})
	if err != nil {
		return "", fmt.Errorf("commenting on #%d: %w", pr, err)
	}
	return created.GetHTMLURL(), nil
}

func fromGitHub(is *gh.Issue) issues.Issue {
	out := issues.Issue{
		Number: is.GetNumber(), URL: is.GetHTMLURL(), Title: is.GetTitle(), Body: is.GetBody(),
		Open: is.GetState() == "open", ClosedAsNotPlanned: is.GetStateReason() == "not_planned",
	}
	for _, l := range is.Labels {
		out.Labels = append(out.Labels, l.GetName())
	}
	return out
}

// Retry is a transport that retries what GitHub asks to retry: 5xx, 429,
// and a 403 with Retry-After or an exhausted rate limit (the secondary and
// primary rate limits), waiting as the answer says (Retry-After,
// X-RateLimit-Reset) or with jittered backoff, at most Attempts times and
// MaxWait in all.
type Retry struct {
	Next     http.RoundTripper
	Attempts int
	MaxWait  time.Duration
	Sleep    func(context.Context, time.Duration) error // tests: no real waits
	Now      func() time.Time
	Logger   *slog.Logger
}

// RoundTrip implements http.RoundTripper.
func (r Retry) RoundTrip(req *http.Request) (*http.Response, error) {
	next := cmp.Or[http.RoundTripper](r.Next, http.DefaultTransport)
	attempts := cmp.Or(r.Attempts, 4)
	sleep := r.Sleep
	if sleep == nil {
		sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	now := r.Now
	if now == nil {
		now = time.Now
	}
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		if attempt > 1 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req = req.Clone(req.Context())
			req.Body = body
		}
		resp, err := next.RoundTrip(req)
		wait, retry := retryAfter(resp, err, attempt, now)
		if !retry || attempt >= attempts || waited+wait > cmp.Or(r.MaxWait, 90*time.Second) || req.Context().Err() != nil {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
		}
		if r.Logger != nil {
			r.Logger.Warn("GitHub API: retrying", "method", req.Method, "path", req.URL.Path, "attempt", attempt, "wait", wait)
		}
		if err := sleep(req.Context(), wait); err != nil {
			return nil, err
		}
		waited += wait
	}
}

func retryAfter(resp *http.Response, err error, attempt int, now func() time.Time) (time.Duration, bool) {
	backoff := time.Duration(1<<(attempt-1))*time.Second + time.Duration(rand.Int64N(int64(500*time.Millisecond)))
	if err != nil {
		var netErr interface{ Timeout() bool }
		if errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) {
			return backoff, true
		}
		return 0, false
	}
	if s := resp.Header.Get("Retry-After"); s != "" && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusForbidden || resp.StatusCode >= 500) {
		if secs, err := strconv.Atoi(s); err == nil {
			return time.Duration(secs) * time.Second, true
		}
	}
	switch {
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests:
		if resp.Header.Get("X-RateLimit-Remaining") == "0" {
			if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
				return max(time.Unix(reset, 0).Sub(now()), time.Second), true
			}
		}
		if resp.StatusCode == http.StatusTooManyRequests || secondaryLimit(resp) {
			return max(backoff, 60*time.Second), true
		}
	case resp.StatusCode >= 500:
		return backoff, true
	}
	return 0, false
}

// secondaryLimit tells GitHub's secondary rate limit (a 403 whose message
// says so) from a 403 that is a real refusal.
func secondaryLimit(resp *http.Response) bool {
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return err == nil && bytes.Contains(bytes.ToLower(b), []byte("secondary rate limit"))
}
