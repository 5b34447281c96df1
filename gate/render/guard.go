package render

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"
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
// changes nothing a renderer already made inert, nor a JSON document. It
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

// Unwrap returns the guarded writer (to ask whether it is a terminal).
func (g *LineGuard) Unwrap() io.Writer { return g.w }

// Flush writes a last partial line.
func (g *LineGuard) Flush() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.buf) == 0 {
		return nil
	}
	text := string(g.buf)
	if g.redact != nil {
		text = g.redact(text)
	}
	out := g.line(strings.ReplaceAll(text, "\n", " ")) // a last line without its newline
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
	for i := 0; i < len(s); {
		if g.color && s[i] == 0x1b {
			if m := sgr.FindString(s[i:]); m != "" {
				b.WriteString(m)
				i += len(m)
				continue
			}
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 && r != '\t', r == 0x7f, r >= 0x80 && r < 0xa0:
			// \u00NN: readable in a log, and a valid escape inside a JSON
			// string, so that --format json stays parseable.
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	// The mark is a zero-width space: invisible in a log, and valid
	// anywhere in JSON, markdown or SARIF on stdout.
	out := b.String()
	if t := strings.TrimLeft(sgrAny.ReplaceAllString(out, ""), " \t"); strings.HasPrefix(t, "::") || strings.HasPrefix(strings.TrimLeft(out, " \t"), "::") {
		out = zwsp + out
	}
	return strings.ReplaceAll(out, "##[", "#"+zwsp+"#[")
}
