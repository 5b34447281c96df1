package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"regexp"
	"strings"

	"github.com/secgate/secgate/policy"
)

// urlCredentials matches the user:password@ of a URL.
var urlCredentials = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]{0,30}://)[^\s/?#@'"<>]*:[^\s/?#@'"<>]*@`)

// RedactText removes URL credentials (scheme://user:password@) from s, and
// every value the redactors know.
func RedactText(s string, rs ...policy.Redactor) string {
	if mayHoldURLCredentials(s) {
		s = urlCredentials.ReplaceAllString(s, "${1}[REDACTED]@")
	}
	for _, r := range rs {
		if r != nil {
			s = r.Redact(s)
		}
	}
	return s
}

// mayHoldURLCredentials is false when urlCredentials cannot match s: no
// "://" is followed by a run of the characters its user and password
// allow that holds a ':' and ends at an '@'. The regex over a whole
// rendered report (a JSON document of 100 kB) costs more than the
// detector's pass over it once that is cached (--cache-dir), and most
// texts hold no URL credentials; one that may is matched by the regex.
func mayHoldURLCredentials(s string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], "://")
		if j < 0 {
			return false
		}
		i += j + 3
		colon := false
	run:
		for k := i; k < len(s); k++ {
			switch s[k] {
			case '@':
				if colon {
					return true
				}
				break run
			case ':':
				colon = true
			case ' ', '\t', '\n', '\f', '\r', '/', '?', '#', '\'', '"', '<', '>':
				break run
			}
		}
	}
}

// Learner is a redactor that can also find values no scanner reported: it
// runs a secret detector over the outgoing text itself. Learn is given
// every string of an output before any of them is redacted, so that a
// value found in one string is removed from all of them.
type Learner interface {
	policy.Redactor
	Learn(text string)
}

// Redact is the last pass over a report before anything publishes it:
// every string in it, wherever it is (findings, notes, errors, issues,
// signatures, and any field added later), goes through RedactText, with
// the redactors given and the report's own (SetRedactor).
func Redact(r *Report, rs ...policy.Redactor) {
	if r.redactor != nil {
		rs = append(rs, r.redactor)
	}
	RedactStrings(r, rs...)
}

// RedactStrings is Redact for any value (a pointer to it): a notification,
// an issue. Learners among rs first read every string of it.
func RedactStrings(ptr any, rs ...policy.Redactor) {
	v := reflect.ValueOf(ptr)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return
	}
	var learners []Learner
	for _, r := range rs {
		if l, ok := r.(Learner); ok {
			learners = append(learners, l)
		}
	}
	if len(learners) > 0 {
		var all strings.Builder
		walkStrings(v.Elem(), func(s string) string {
			all.WriteString(s)
			all.WriteByte('\n')
			return s
		})
		for _, l := range learners {
			l.Learn(all.String())
		}
	}
	walkStrings(v.Elem(), func(s string) string { return RedactText(s, rs...) })
}

// Saver is a redactor that keeps what it learned between runs (the
// gate's: the texts its detector found nothing in, with --cache-dir).
type Saver interface {
	Save() error
}

// SaveRedactor writes what the report's redactor learned to keep, once
// every output is written; nothing when it keeps nothing.
func (r Report) SaveRedactor() error {
	if s, ok := r.redactor.(Saver); ok {
		return s.Save()
	}
	return nil
}

// SetRedactor attaches to the report what redacts it: the scanners'
// known values and the detector of values no scanner reported. Every
// later step that adds text (trackers, signing, writing files) and every
// sink redacts again with it, after its own text is in.
func (r *Report) SetRedactor(red policy.Redactor) { r.redactor = red }

// RedactText is the report's redaction of one string that is about to
// leave the process outside the report (a request body, a log line).
func (r Report) RedactText(s string) string {
	if l, ok := r.redactor.(Learner); ok {
		l.Learn(s)
	}
	return RedactText(s, r.redactor)
}

// RedactAll is the report's redaction of every string of a value that is
// about to leave the process outside the report (a notification).
func (r Report) RedactAll(ptr any) { RedactStrings(ptr, r.redactor) }

// RedactBytes is RedactText for a rendered output. A JSON output (the
// report, SARIF, GitLab reports, SBOM, VEX) keeps its structure: a rule
// that matches across fields of the rendered text (from one finding's
// preview to the next one's, as gitleaks' private-key rule once did) would
// cut the findings between them out of the document and still leave valid
// JSON. When the pass over the whole text changed anything but string
// contents, each string is redacted on its own instead.
func (r Report) RedactBytes(b []byte) []byte {
	s := string(b)
	out := r.RedactText(s)
	if out == s {
		return b
	}
	if json.Valid(b) && !sameShape(b, []byte(out)) {
		if fixed, err := redactJSONStrings(b, r.RedactText); err == nil {
			return fixed
		}
	}
	return []byte(out)
}

// sameShape reports whether two JSON documents have the same tokens but
// for the contents of their strings.
func sameShape(a, b []byte) bool {
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	for {
		ta, ea := da.Token()
		tb, eb := db.Token()
		if ea != nil || eb != nil {
			return errors.Is(ea, io.EOF) && errors.Is(eb, io.EOF)
		}
		_, sa := ta.(string)
		_, sb := tb.(string)
		if sa != sb || (!sa && ta != tb) {
			return false
		}
	}
}

// redactJSONStrings redacts every string of a JSON document on its own and
// writes it again, indented as the writers indent (object keys sorted).
func redactJSONStrings(b []byte, redact func(string) string) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	var walk func(any) any
	walk = func(v any) any {
		switch t := v.(type) {
		case string:
			return redact(t)
		case []any:
			for i := range t {
				t[i] = walk(t[i])
			}
		case map[string]any:
			for k, e := range t {
				t[k] = walk(e)
			}
		}
		return v
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(walk(v)); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func walkStrings(v reflect.Value, f func(string) string) {
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			if s := v.String(); s != "" {
				if out := f(s); out != s {
					v.SetString(out)
				}
			}
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkStrings(v.Elem(), f)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				walkStrings(v.Field(i), f)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkStrings(v.Index(i), f)
		}
	case reflect.Map:
		// Rebuilt: map values are not addressable.
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			walkStrings(e, f)
			v.SetMapIndex(k, e)
		}
	}
}
