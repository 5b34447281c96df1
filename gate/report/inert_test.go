package report

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// hostileText is every injection of issue 25 in one string.
const hostileText = "x\n::pwned::a\r\x1b[0Ksection_start:1:pwned[collapsed=true]\r\x1b[0K ##[pwned] [l](https://evil.example/a) ![](https://evil.example/i.png) https://evil.example/b www.evil.example @acme/team #12 <!channel> <b>h</b> *b* _i_ ~s~ `c` |t| \u202etxt \u200bz \xff"

// hostileReport puts hostileText into every field a scan, a repository's
// config, a manifest or an API fills.
func hostileReport() Report {
	r := sample()
	for i := range r.Findings {
		f := &r.Findings[i]
		f.Title, f.Fix, f.Preview = hostileText, hostileText, hostileText
		f.Location.Path, f.Location.Package, f.Location.Version, f.Location.Object = hostileText, hostileText, hostileText, hostileText
		if f.Location.Image != "" {
			f.Location.Image = hostileText
		}
	}
	for i := range r.Scanners {
		r.Scanners[i].Notes = []string{hostileText}
		r.Scanners[i].Error, r.Scanners[i].Target = hostileText, hostileText
	}
	r.Reasons, r.Warnings, r.Errors = []string{hostileText}, []string{hostileText}, []string{hostileText}
	r.Environment = hostileText
	r.Issues = []Issue{{Title: hostileText, URL: "https://evil.example/x) [y](https://evil.example/z", State: "opened"}}
	return r
}

var (
	liveCommand = regexp.MustCompile(`(?m)^[ \t]*::|##\[`)
	liveLink    = regexp.MustCompile(`(?i)\]\(https?://evil|(^|[^\\])!\[|https?://evil|www\.evil|@acme|<!channel>|<b>|(^|[^\\])\[l\]`)
)

// Each writer, whatever the report's strings hold: no line that a runner
// reads as a command, no raw ESC, CR, bidi or zero-width character, no
// link or mention we did not make outside code spans. Removing a renderer
// from a writer's field fails it.
func TestWritersInert(t *testing.T) {
	r := hostileReport()
	// Every format --format knows, so that a new one is checked too; the
	// JSON report alone is data (the contract: its readers render it, and
	// on stdout the stream's guard does).
	writers := map[string]Writer{"markdown comment": Markdown{NewOnly: true, FileURL: "https://github.com/o/r/blob/abc/"}}
	for _, name := range Formats {
		w, err := ForFormat(name, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if name != "json" {
			writers[name] = w
		}
	}
	for name, w := range writers {
		out := string(written(t, w, r))
		if m := liveCommand.FindString(out); m != "" {
			t.Errorf("%s: a live command %q", name, m)
		}
		if strings.ContainsAny(out, "\r\x1b\u202e") {
			t.Errorf("%s: a raw control or bidi character", name)
		}
		switch name {
		case "markdown", "markdown comment":
			if i := liveLink.FindStringIndex(withoutCode(out)); i != nil {
				t.Errorf("%s: a link or mention we did not make: %q", name, withoutCode(out)[max(0, i[0]-40):i[1]])
			}
		case "sarif":
			var doc struct {
				Runs []struct {
					Tool struct {
						Driver struct {
							Rules []struct {
								Help struct{ Text, Markdown string }
							}
						}
					}
					Results []struct{ Message struct{ Text string } }
				}
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			for _, run := range doc.Runs {
				for _, rule := range run.Tool.Driver.Rules {
					if i := liveLink.FindStringIndex(rule.Help.Markdown); i != nil {
						t.Errorf("SARIF help.markdown: a link: %q", rule.Help.Markdown[max(0, i[0]-40):i[1]])
					}
				}
				for _, res := range run.Results {
					if regexp.MustCompile(`(^|[^\\])\[`).MatchString(res.Message.Text) || strings.Contains(res.Message.Text, "https://evil") {
						t.Errorf("SARIF message text: an embedded link: %q", res.Message.Text)
					}
				}
			}
		}
	}
}

// withoutCode drops markdown's code spans, where nothing is a link.
func withoutCode(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '`')
		if i < 0 {
			return b.String() + s
		}
		n := len(s[i:]) - len(strings.TrimLeft(s[i:], "`"))
		fence, rest := s[i:i+n], s[i+n:]
		b.WriteString(s[:i])
		end := -1
		for j := 0; j < len(rest); {
			k := strings.Index(rest[j:], fence)
			if k < 0 {
				break
			}
			k += j
			if m := len(rest[k:]) - len(strings.TrimLeft(rest[k:], "`")); m == n {
				end = k
				break
			} else {
				j = k + m
			}
		}
		if end < 0 {
			b.WriteString(fence)
			s = rest
			continue
		}
		s = rest[end+n:]
	}
}
