package render

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"sync"
)

// sgr matches a Select Graphic Rendition sequence (colours, bold): the
// only escape sequence a guarded stream lets through, and only when
// asked to (a terminal). Never ESC[0K, which GitLab's log parser reads.
var (
	sgr    = regexp.MustCompile(`^\x1b\[[0-9;]{0,16}m`)
	sgrAny = regexp.MustCompile(`\x1b\[[0-9;]{0,16}m`)
)

// LineGuard is the last renderer of a stream that a CI runner parses (the
// process's stdout and stderr): whatever a writer forgot, no line written
// through it starts a workflow command or a GitLab section, no control
// character reaches the log raw, and each line is redacted first. It
// buffers a partial line until its newline or Flush. Safe for concurrent
// use.
type LineGuard struct {
	mu     sync.Mutex
	w      io.Writer
	buf    []byte
	color  bool
	redact func(string) string
}

// NewLineGuard guards w. color lets SGR colour sequences through (a
// terminal); redact, when set, runs on every line first.
func NewLineGuard(w io.Writer, color bool, redact func(string) string) *LineGuard {
	return &LineGuard{w: w, color: color, redact: redact}
}

// Write implements io.Writer.
func (g *LineGuard) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.buf = append(g.buf, p...)
	i := bytes.LastIndexByte(g.buf, '\n')
	if i < 0 {
		return len(p), nil
	}
	out := g.lines(string(g.buf[:i+1]))
	g.buf = append(g.buf[:0], g.buf[i+1:]...)
	if _, err := io.WriteString(g.w, out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes a last partial line.
func (g *LineGuard) Flush() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.buf) == 0 {
		return nil
	}
	out := g.lines(string(g.buf) + "\n")
	g.buf = g.buf[:0]
	_, err := io.WriteString(g.w, out)
	return err
}

// lines renders complete lines (text ends in a newline).
func (g *LineGuard) lines(text string) string {
	if g.redact != nil {
		text = g.redact(text)
	}
	var b strings.Builder
	for line := range strings.SplitAfterSeq(text, "\n") {
		if line == "" {
			continue
		}
		line = strings.TrimSuffix(line, "\n")
		b.WriteString(g.line(line))
		b.WriteByte('\n')
	}
	return b.String()
}

func (g *LineGuard) line(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		if g.color && s[0] == 0x1b {
			if m := sgr.FindString(s); m != "" {
				b.WriteString(m)
				s = s[len(m):]
				continue
			}
		}
		// Tabs stay tabs in a stream (tables); the rest as Visible shows it.
		i := strings.IndexAny(s, "\t\x1b")
		if i < 0 {
			b.WriteString(Visible(s))
			break
		}
		b.WriteString(Visible(s[:i]))
		s = s[i:]
		if g.color && sgr.MatchString(s) {
			continue
		}
		if s[0] == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteString(`\x1b`)
		}
		s = s[1:]
	}
	out := b.String()
	plain := sgrAny.ReplaceAllString(out, "")
	if t := strings.TrimLeft(plain, " \t"); strings.HasPrefix(t, "::") || strings.HasPrefix(strings.TrimLeft(out, " \t"), "::") {
		out = `\` + out
	}
	return strings.ReplaceAll(out, "##[", `#\#[`)
}
