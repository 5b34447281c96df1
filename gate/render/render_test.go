package render

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// hostile are the payloads of issue 25, each a way into one sink or more.
var hostile = map[string]string{
	"newline command":  "app\n::error file=x::pwned",
	"leading command":  "::add-mask::value",
	"spaced command":   "   ::group::folded",
	"old command":      "x ##[error]pwned",
	"percent newline":  "a%0A::warning::b",
	"CR":               "ok\r::error::over",
	"ESC section":      "\x1b[0Ksection_start:1:s[collapsed=true]\r\x1b[0Kfold",
	"ESC colour":       "\x1b[31mred\x1b[0m",
	"link":             "[x](https://evil.example/a)",
	"image":            "![](https://evil.example/p.png)",
	"bare URL":         "see https://evil.example/login now",
	"www":              "go to WWW.evil.example",
	"mention":          "ping @acme/security and @here",
	"Slack mention":    "<!channel> <@U123> <https://evil.example|click>",
	"emphasis":         "*bold* _it_ ~strike~ `code`",
	"reference":        "fixes #12 and !3 ~bug",
	"RTL":              "invoice\u202etxt.exe",
	"zero width":       "ad\u200bmin\u2060x\ufeff",
	"invalid UTF-8":    "bad\xff\xfe bytes",
	"C1 control":       "x\u0085y\u009bz",
	"html":             "<img src=x onerror=alert(1)> &amp;",
	"heading and list": "# title\n- item\n> quote",
	"table":            "a | b | c",
	"email":            "mail admin@evil.example",
}

var (
	commandLine = regexp.MustCompile(`(?m)^[ \t]*::`) // the runner trims whitespace, not U+200B
	autolink    = regexp.MustCompile(`(?i)(https?|ftp)://|www\.`)
)

// inert is what every renderer guarantees whatever the sink: one line,
// no ESC, CR, bidi or zero-width character from the input, no line a
// runner reads as a command, valid UTF-8.
func inert(t *testing.T, sink, name, in, out string) {
	t.Helper()
	switch {
	case strings.ContainsAny(out, "\n\r\x1b\u202e\u2060\ufeff\u0085\u009b"):
		t.Errorf("%s(%s) = %q: a control, bidi or line character left raw", sink, name, out)
	case commandLine.MatchString(out) || strings.Contains(out, "##["):
		t.Errorf("%s(%s) = %q: a workflow command", sink, name, out)
	case !utf8.ValidString(out):
		t.Errorf("%s(%s) = %q: invalid UTF-8", sink, name, out)
	}
}

func TestTerminal(t *testing.T) {
	for name, in := range hostile {
		for sink, f := range map[string]func(string) string{"Terminal": Terminal, "GitLabLog": GitLabLog} {
			inert(t, sink, name, in, f(in))
		}
	}
	for in, want := range map[string]string{
		"app\n::error::x":      `app\n::error::x`,
		"::add-mask::v":        `\::add-mask::v`,
		"  ::group::g":         `  \::group::g`,
		"\x1b[0Ksection_start": `\x1b[0Ksection_start`,
		"a\rb":                 `a\rb`,
		"x\u202ey":             `x\u202ey`,
		"bad\xff":              `bad\xff`,
		"x ##[error]y":         `x #\#[error]y`,
		"plain path/a_b.go":    "plain path/a_b.go",
		"héllo wörld":          "héllo wörld",
	} {
		if got := Terminal(in); got != want {
			t.Errorf("Terminal(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMarkdown(t *testing.T) {
	for name, in := range hostile {
		out := Markdown(in)
		inert(t, "Markdown", name, in, out)
		if autolink.MatchString(out) {
			t.Errorf("Markdown(%s) = %q: an autolink", name, out)
		}
		if unescaped(out, "[]()<>*_`~|#!") {
			t.Errorf("Markdown(%s) = %q: a markdown character unescaped", name, out)
		}
		if regexp.MustCompile(`@[A-Za-z]`).MatchString(out) {
			t.Errorf("Markdown(%s) = %q: a mention", name, out)
		}
		code := MarkdownCode(in)
		inert(t, "MarkdownCode", name, in, code)
		if !strings.HasPrefix(code, "`") || !strings.HasSuffix(code, "`") {
			t.Errorf("MarkdownCode(%s) = %q: not a code span", name, code)
		}
	}
	if got := Markdown("a_b-c.go"); got != `a\_b-c.go` {
		t.Errorf("Markdown(a_b-c.go) = %q", got)
	}
}

// unescaped reports a character of set in s not preceded by a backslash
// (an entity for < and > counts as escaped: they never appear raw).
func unescaped(s, set string) bool {
	esc := false
	for _, r := range s {
		switch {
		case esc:
			esc = false
		case r == '\\':
			esc = true
		case strings.ContainsRune(set, r):
			return true
		}
	}
	return false
}

func TestSlack(t *testing.T) {
	for name, in := range hostile {
		out := Slack(in)
		inert(t, "Slack", name, in, out)
		if strings.ContainsAny(out, "<>*_~`") || autolink.MatchString(out) || regexp.MustCompile(`@[A-Za-z]`).MatchString(out) {
			t.Errorf("Slack(%s) = %q: mrkdwn left active", name, out)
		}
	}
	if got := Slack("<!channel> *x*"); got != "&lt;!channel&gt; \u2217x\u2217" {
		t.Errorf("Slack = %q", got)
	}
}

func TestSARIF(t *testing.T) {
	for name, in := range hostile {
		out := SARIFText(in)
		inert(t, "SARIFText", name, in, out)
		if unescaped(out, "[]") || autolink.MatchString(out) {
			t.Errorf("SARIFText(%s) = %q: an embedded link", name, out)
		}
		md := SARIFMarkdown(in)
		inert(t, "SARIFMarkdown", name, in, md)
		if strings.Contains(md, "](") && !strings.Contains(md, `\](`) {
			t.Errorf("SARIFMarkdown(%s) = %q: a link", name, md)
		}
	}
}

func TestLineGuard(t *testing.T) {
	for name, in := range hostile {
		for _, color := range []bool{false, true} {
			var b bytes.Buffer
			g := NewLineGuard(&b, color, nil)
			// In two writes, split mid-line: the guard sees whole lines.
			_, _ = g.Write([]byte("note: " + in[:len(in)/2]))
			_, _ = g.Write([]byte(in[len(in)/2:] + "\n" + in))
			_ = g.Flush()
			out := b.String()
			if commandLine.MatchString(out) || strings.Contains(out, "##[") || strings.Contains(out, "\r") {
				t.Errorf("guard(%s, color %v) = %q: a command or CR", name, color, out)
			}
			if strings.Contains(sgrAny.ReplaceAllString(out, ""), "\x1b") || !color && strings.Contains(out, "\x1b") {
				t.Errorf("guard(%s, color %v) = %q: an escape sequence", name, color, out)
			}
		}
	}
	var b bytes.Buffer
	g := NewLineGuard(&b, true, func(s string) string { return strings.ReplaceAll(s, "hunter22", "[REDACTED]") })
	_, _ = g.Write([]byte("\x1b[31mred\x1b[0m\tcol\npass hunter"))
	_, _ = g.Write([]byte("22\n::error::x\n"))
	if want := "\x1b[31mred\x1b[0m\tcol\npass [REDACTED]\n\u200b::error::x\n"; b.String() != want {
		t.Errorf("guard = %q, want %q", b.String(), want)
	}
}

func FuzzTerminal(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		inert(t, "Terminal", "fuzz", s, Terminal(s))
	})
}

func FuzzMarkdown(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Markdown(s)
		inert(t, "Markdown", "fuzz", s, out)
		if autolink.MatchString(out) || unescaped(out, "[]()<>*_`~|#!") {
			t.Errorf("Markdown(%q) = %q: a link or markup", s, out)
		}
		inert(t, "MarkdownCode", "fuzz", s, MarkdownCode(s))
	})
}

func FuzzSlack(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Slack(s)
		inert(t, "Slack", "fuzz", s, out)
		if strings.ContainsAny(out, "<>*_~`") || autolink.MatchString(out) {
			t.Errorf("Slack(%q) = %q: mrkdwn left active", s, out)
		}
	})
}

func FuzzSARIF(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := SARIFText(s)
		inert(t, "SARIFText", "fuzz", s, out)
		if unescaped(out, "[]") || autolink.MatchString(out) {
			t.Errorf("SARIFText(%q) = %q: an embedded link", s, out)
		}
	})
}

func FuzzLineGuard(f *testing.F) {
	for _, s := range hostile {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, color bool) {
		var b bytes.Buffer
		g := NewLineGuard(&b, color, nil)
		_, _ = g.Write([]byte(s))
		_ = g.Flush()
		out := b.String()
		if commandLine.MatchString(out) || strings.Contains(out, "##[") || strings.Contains(out, "\r") || strings.Contains(sgrAny.ReplaceAllString(out, ""), "\x1b") {
			t.Errorf("guard(%q) = %q", s, out)
		}
	})
}

// A JSON document through the guard stays the same document, whatever its
// strings hold: the guard's escapes are JSON's.
func TestLineGuardKeepsJSON(t *testing.T) {
	var in []string
	for _, s := range hostile {
		in = append(in, s)
	}
	in = append(in, "del\x7f c1\u0085 ##[x] \u200b")
	doc, err := json.MarshalIndent(map[string]any{"strings": in}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	g := NewLineGuard(&b, false, nil)
	_, _ = g.Write(doc)
	_ = g.Flush()
	var back map[string][]string
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatalf("the guarded JSON does not parse: %v\n%s", err, b.String())
	}
	var want map[string][]string // what encoding/json made of the strings (invalid UTF-8)
	_ = json.Unmarshal(doc, &want)
	for i, s := range want["strings"] {
		if got := strings.ReplaceAll(back["strings"][i], "#\u200b#[", "##["); got != s {
			t.Errorf("string %d: %q, want %q", i, got, s)
		}
	}
}

func TestMarkdownLink(t *testing.T) {
	for _, c := range []struct{ label, url, want string }{
		{"issue #3", "https://github.com/acme/shop/issues/3", "[issue \\#\u200b3](https://github.com/acme/shop/issues/3)"},
		{"https://t.example/browse/SEC-1", "https://t.example/browse/SEC-1", "https://t.example/browse/SEC-1"},
		{"x", "https://evil.example/a) [y](https://evil.example/b", "x"},
		{"x", "javascript:alert(1)", "x"},
		{"x", "https://evil.example/\u202e", "x"},
	} {
		if got := MarkdownLink(c.label, c.url); got != c.want {
			t.Errorf("MarkdownLink(%q, %q) = %q, want %q", c.label, c.url, got, c.want)
		}
	}
}
