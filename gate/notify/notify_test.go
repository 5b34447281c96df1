package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/secgate/secgate/gate/notify"
)

func message() notify.Message {
	return notify.Message{Verdict: "fail", Repository: "acme/shop", RunURL: "https://github.com/acme/shop/actions/runs/1", Owner: "@acme/security",
		Groups: []notify.Group{{Key: "grp-1", Title: "leaked generic-api-key in src/<!channel>.py", Severity: "critical", State: "opened",
			Where: []string{"src/<!channel>.py:3 — … (20 chars)"}, Fix: "rotate it <@U123> & remove it", Tickets: []string{"https://acme.atlassian.net/browse/SEC-1", "javascript:alert(1)"}}}}
}

func TestSlack(t *testing.T) {
	var got map[string]any
	var raw []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ = io.ReadAll(r.Body)
		_ = json.Unmarshal(raw, &got)
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	if err := notify.Slack(context.Background(), nil, srv.URL+"/services/T0/B0/x", message()); err != nil {
		t.Fatal(err)
	}
	blocks, _ := got["blocks"].([]any)
	if len(blocks) != 3 || !strings.Contains(got["text"].(string), "1 new critical finding group in acme/shop") {
		t.Fatalf("message %s", raw)
	}
	s := string(raw)
	for _, bad := range []string{"<!channel>", "<@U123>", "<javascript:"} {
		if strings.Contains(s, bad) {
			t.Errorf("the message carries %q unescaped: %s", bad, s)
		}
	}
	section := blocks[1].(map[string]any)["text"].(map[string]any)["text"].(string)
	if !strings.Contains(section, "Ticket: <https://acme.atlassian.net/browse/SEC-1>") || !strings.Contains(section, "src/&lt;!channel&gt;.py") ||
		!strings.Contains(section, "Ticket: javascript:alert(1)") {
		t.Errorf("ticket link or escaped text missing: %s", section)
	}
}

func TestWebhookSigned(t *testing.T) {
	const secret = "whsec-0123456789"
	var body []byte
	var sig string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		sig = r.Header.Get(notify.SignatureHeader)
	}))
	defer srv.Close()
	if err := notify.Webhook(context.Background(), nil, srv.URL, secret, message()); err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if sig != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
		t.Fatalf("signature %q does not verify", sig)
	}
	var p struct {
		Version int
		Event   string
		Groups  []notify.Group
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Version != 1 || p.Event != "findings" || len(p.Groups) != 1 || p.Groups[0].Key != "grp-1" {
		t.Fatalf("payload %s", body)
	}
	if err := notify.Webhook(context.Background(), nil, srv.URL, "", message()); err != nil || sig != "" {
		t.Fatalf("unsigned: %v %q", err, sig)
	}
}

// A webhook URL is a credential: it is in no error.
func TestErrorsHideTheURL(t *testing.T) {
	hook := "http://127.0.0.1:1/services/T000/B000/XXXXsecretXXXX"
	for name, err := range map[string]error{
		"slack":   notify.Slack(context.Background(), nil, hook, message()),
		"webhook": notify.Webhook(context.Background(), nil, hook, "", message()),
	} {
		if err == nil || strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "T000") {
			t.Errorf("%s: %v", name, err)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) }))
	defer srv.Close()
	if err := notify.Webhook(context.Background(), nil, srv.URL, "", message()); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("a 403: %v", err)
	}
}

// Every untrusted field of a Slack message holds a hostile string: the
// mrkdwn sent holds no mention, link, emphasis or code of its own, and
// each place stays on its line (issue 25: paths kept *_~` and newlines).
func TestSlackHostile(t *testing.T) {
	for name, h := range map[string]string{
		"channel": "<!channel> <@U1> <https://evil.example|x>", "emphasis": "*b* _i_ ~s~ `c`", "newline": "a.go\n*Fix:* <!here>",
		"url": "https://evil.example/x www.evil.example", "mention": "@here @acme/team", "control": "x\x1b[31m\ry\u202e",
	} {
		m := notify.Message{Verdict: "fail", Repository: h, RunURL: "https://github.com/acme/shop/actions/runs/1", Owner: h,
			Groups: []notify.Group{{Key: "k", Title: h, Severity: "critical", State: "opened", Where: []string{h, h}, Fix: h}}}
		raw, err := json.Marshal(notify.SlackMessage(m))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Blocks []struct {
				Text     struct{ Text string }
				Elements []struct{ Text string }
			}
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		var mrkdwn []string
		for _, b := range doc.Blocks[1:] {
			mrkdwn = append(mrkdwn, b.Text.Text)
			for _, e := range b.Elements {
				mrkdwn = append(mrkdwn, e.Text)
			}
		}
		all := strings.Join(mrkdwn, "\n")
		ours := strings.NewReplacer("<https://github.com/acme/shop/actions/runs/1>", "", "*", "") // our link and bold markers
		for _, bad := range []string{"<", "_", "~", "`", "://", "www.", "@h", "@a", "\x1b", "\r", "\u202e"} {
			if strings.Contains(ours.Replace(all), bad) {
				t.Errorf("%s: %q in the mrkdwn:\n%s", name, bad, all)
			}
		}
		// Our own bold markers only: around the title and the verdict.
		if n := strings.Count(all, "*"); n != 4 {
			t.Errorf("%s: %d asterisks, want 4 (ours):\n%s", name, n, all)
		}
		if lines := strings.Count(doc.Blocks[1].Text.Text, "\n"); lines != 4 {
			t.Errorf("%s: %d lines in the group's section, want 4 (title, two places, fix):\n%s", name, lines, doc.Blocks[1].Text.Text)
		}
	}
}
