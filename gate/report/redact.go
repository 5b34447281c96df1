package report

import (
	"reflect"
	"regexp"

	"github.com/secgate/secgate/policy"
)

// urlCredentials matches the user:password@ of a URL.
var urlCredentials = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]{0,30}://)[^\s/?#@'"<>]*:[^\s/?#@'"<>]*@`)

// RedactText removes URL credentials (scheme://user:password@) from s, and
// every value the redactors know.
func RedactText(s string, rs ...policy.Redactor) string {
	s = urlCredentials.ReplaceAllString(s, "${1}[REDACTED]@")
	for _, r := range rs {
		if r != nil {
			s = r.Redact(s)
		}
	}
	return s
}

// Redact is the last pass over a report before anything publishes it:
// every string in it, wherever it is (findings, notes, errors, issues,
// signatures, and any field added later), goes through RedactText.
func Redact(r *Report, rs ...policy.Redactor) {
	redactValue(reflect.ValueOf(r).Elem(), rs)
}

func redactValue(v reflect.Value, rs []policy.Redactor) {
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			if s := v.String(); s != "" {
				v.SetString(RedactText(s, rs...))
			}
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			redactValue(v.Elem(), rs)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				redactValue(v.Field(i), rs)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			redactValue(v.Index(i), rs)
		}
	case reflect.Map:
		// Rebuilt: map values are not addressable.
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			redactValue(e, rs)
			v.SetMapIndex(k, e)
		}
	}
}
