// Package notify tells people about new critical findings: a Slack message
// through an incoming webhook (Block Kit, with slack-go) and a generic JSON
// webhook, signed with HMAC-SHA256 when a secret is set. Messages carry
// what an issue carries — titles, locations, previews, fixes, links —
// never a secret value, and every untrusted string is escaped for the
// medium.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/secgate/secgate/gate/render"
)

// Message is one notification: the run, and the groups it is about.
type Message struct {
	Verdict     string  `json:"verdict"`
	Environment string  `json:"environment,omitempty"`
	Repository  string  `json:"repository,omitempty"`
	Commit      string  `json:"commit,omitempty"`
	RunURL      string  `json:"run_url,omitempty"`
	Owner       string  `json:"owner,omitempty"`
	Groups      []Group `json:"groups"`
}

// Group is one finding group: what, where, the fix, its tickets.
type Group struct {
	Key      string   `json:"key"`
	Title    string   `json:"title"`
	Severity string   `json:"severity"`
	State    string   `json:"state"` // opened, reopened (would-open in a dry run)
	Where    []string `json:"where"`
	Fix      string   `json:"fix,omitempty"`
	Tickets  []string `json:"tickets,omitempty"`
}

// PayloadVersion is the version of the webhook's JSON payload.
const PayloadVersion = 1

// SignatureHeader carries "sha256=<hex HMAC-SHA256 of the body>" when a
// secret is set (SECGATE_WEBHOOK_SECRET): receivers check it.
const SignatureHeader = "X-Secgate-Signature-256"

// Webhook posts {"version": 1, "event": "findings", ...Message} as JSON.
func Webhook(ctx context.Context, client *http.Client, url, secret string, m Message) error {
	body, err := json.Marshal(struct {
		Version int    `json:"version"`
		Event   string `json:"event"`
		Message
	}{PayloadVersion, "findings", m})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return errors.New("webhook: the URL (SECGATE_WEBHOOK_URL) does not parse")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "secgate")
	if secret != "" {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		req.Header.Set(SignatureHeader, "sha256="+hex.EncodeToString(mac.Sum(nil)))
	}
	resp, err := httpClient(client).Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", hideURL(err, url, "SECGATE_WEBHOOK_URL"))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("webhook: HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return nil
}

// Slack posts a Block Kit message to an incoming webhook.
func Slack(ctx context.Context, client *http.Client, url string, m Message) error {
	msg := SlackMessage(m)
	if err := slack.PostWebhookCustomHTTPContext(ctx, url, httpClient(client), &msg); err != nil {
		return fmt.Errorf("slack: %w", hideURL(err, url, "SECGATE_SLACK_WEBHOOK_URL"))
	}
	return nil
}

// SlackMessage is the Block Kit message: a header, a section per group
// (at most 20, Slack's limit is 50 blocks), the owner and the run.
func SlackMessage(m Message) slack.WebhookMessage {
	n := len(m.Groups)
	head := fmt.Sprintf("secgate: %d new critical finding group", n)
	if n != 1 {
		head += "s"
	}
	if m.Repository != "" {
		head += " in " + render.Visible(m.Repository) // plain_text: no mrkdwn, one line
	}
	blocks := []slack.Block{slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, truncate(head, 150), false, false))}
	for i, g := range m.Groups {
		if i == 20 {
			blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, fmt.Sprintf("…and %d more: see the run.", n-20), false, false), nil, nil))
			break
		}
		var b strings.Builder
		fmt.Fprintf(&b, "*%s* (%s, %s)\n", Escape(g.Title), Escape(g.Severity), Escape(g.State))
		for j, w := range g.Where {
			if j == 5 {
				fmt.Fprintf(&b, "…and %d more places\n", len(g.Where)-5)
				break
			}
			fmt.Fprintf(&b, "• %s\n", Escape(w))
		}
		if g.Fix != "" {
			fmt.Fprintf(&b, "Fix: %s\n", Escape(g.Fix))
		}
		for _, t := range g.Tickets {
			fmt.Fprintf(&b, "Ticket: %s\n", link(t))
		}
		blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, truncate(b.String(), 2900), false, true), nil, nil))
	}
	var ctxText []string
	ctxText = append(ctxText, "Verdict: *"+Escape(m.Verdict)+"*")
	if m.Owner != "" {
		ctxText = append(ctxText, "Security owner: "+Escape(m.Owner))
	}
	if m.RunURL != "" {
		ctxText = append(ctxText, link(m.RunURL))
	}
	blocks = append(blocks, slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, strings.Join(ctxText, " · "), false, true)))
	return slack.WebhookMessage{Text: head, Blocks: &slack.Blocks{BlockSet: blocks}}
}

// Escape makes untrusted text inert in Slack's mrkdwn, on one line: the
// Slack sink's renderer, render.Slack (no <!channel>, link, emphasis,
// code or autolink).
func Escape(s string) string { return render.Slack(s) }

// link is a link to an http(s) URL we made (a ticket, the run); anything
// else is shown as text.
func link(u string) string {
	if (strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) && !strings.ContainsAny(u, "<>| \n") {
		return "<" + u + ">"
	}
	return Escape(u)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func httpClient(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// hideURL takes a webhook URL — a credential — out of an error's text.
func hideURL(err error, url, name string) error {
	if url == "" || !strings.Contains(err.Error(), url) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), url, name))
}
