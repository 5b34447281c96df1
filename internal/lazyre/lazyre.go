// Package lazyre is a regular expression compiled on its first use: a
// package's patterns then cost nothing when the process starts (secgate
// version, or a run that never reaches them), where a package-level
// regexp.MustCompile is paid by every start (issue 30: start-up).
package lazyre

import (
	"regexp"
	"sync"
)

// Regexp is a regular expression compiled on first use. An invalid
// expression panics there, as regexp.MustCompile would at start-up: the
// package's tests must reach every pattern.
type Regexp struct {
	expr string
	get  func() *regexp.Regexp
}

// New returns the expression, not yet compiled.
func New(expr string) *Regexp {
	return &Regexp{expr: expr, get: sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })}
}

// Regexp compiles the expression the first time, and returns it.
func (r *Regexp) Regexp() *regexp.Regexp { return r.get() }

// String is the expression's source text.
func (r *Regexp) String() string { return r.expr }

func (r *Regexp) MatchString(s string) bool            { return r.get().MatchString(s) }
func (r *Regexp) FindStringSubmatch(s string) []string { return r.get().FindStringSubmatch(s) }
func (r *Regexp) ReplaceAllStringFunc(s string, f func(string) string) string {
	return r.get().ReplaceAllStringFunc(s, f)
}
