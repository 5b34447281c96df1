package secrets

import (
	stdregexp "regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/zricethezav/gitleaks/v8/config"
)

// What a rule's regex says of its matches (regexp/syntax): the literals
// every match holds, and how far a match reaches around them. See the
// detector (windows.go) for what it is for.

// form is one way a regex can match: every match contains one of anchors,
// preceded by at most `before` and followed by at most `after`.
type form struct {
	anchors       []string // ASCII lower case
	before, after []step   // outward from the anchor
	// what a match has from its anchor on (the anchor's element and those
	// after it), and it compiled and anchored when first needed: a cheap
	// test of whether a match can hold the anchor where it is
	tail   *syntax.Regexp
	filter func() *stdregexp.Regexp
}

// step is part of a match's reach: a number of bytes (on the same line if
// the part cannot hold a line break), or up to the line's boundary (a part
// with no line break in it, of any length).
type step struct {
	bytes int
	nl    bool
	line  bool
}

// windowable returns the forms of a rule that can run on windows.
func windowable(r config.Rule, required bool) ([]form, bool) {
	if r.Regex == nil || len(r.RequiredRules) > 0 || required || r.SkipReport {
		return nil, false
	}
	re, err := syntax.Parse(r.Regex.String(), syntax.Perl)
	if err != nil {
		return nil, false
	}
	forms, ok := formsOf(re)
	if !ok {
		return nil, false
	}
	for i := range forms {
		if slices.ContainsFunc(forms[i].anchors, func(a string) bool { return len(a) < 2 }) {
			return nil, false // the anchor index finds two bytes and more
		}
		expr := `\A(?:` + forms[i].tail.String() + `)`
		forms[i].filter = sync.OnceValue(func() *stdregexp.Regexp {
			if f, err := stdregexp.Compile(expr); err == nil {
				return f
			}
			return stdregexp.MustCompile(``) // matches anywhere: no test
		})
	}
	if len(r.Keywords) > 0 {
		// every anchor must pass the keyword prefilter wherever it is
		for _, f := range forms {
			for _, a := range f.anchors {
				if !slices.ContainsFunc(r.Keywords, func(k string) bool { return strings.Contains(a, strings.ToLower(k)) }) {
					return nil, false
				}
			}
		}
	}
	return forms, true
}

// windowableOf is windowable, computed once per rule and process: every
// detector built of a shared rule set (loadConfig) reads the same rules,
// and a gate run builds several (the secret scan's, its provider-format
// one, the text scanners', the redaction's): parsing and walking ~224
// regexes cost ~10 ms a detector, 20% of a warm run's CPU on
// bench/whole.sh's tree. The forms are read-only once made (their filter
// compiles once, safely from any goroutine). The key is the rule's
// compiled regex (immutable, and kept alive by the key, so its address is
// never another's) and everything else windowable reads.
func windowableOf(r config.Rule, required bool) ([]form, bool) {
	if r.Regex == nil {
		return windowable(r, required)
	}
	k := windowKey{r.Regex, required, len(r.RequiredRules) > 0, r.SkipReport, strings.Join(r.Keywords, "\x00")}
	windowables.mu.Lock()
	w, ok := windowables.m[k]
	windowables.mu.Unlock()
	if ok {
		return w.forms, w.ok
	}
	w.forms, w.ok = windowable(r, required)
	windowables.mu.Lock()
	if len(windowables.m) >= maxWindowables {
		clear(windowables.m)
	}
	windowables.m[k] = w
	windowables.mu.Unlock()
	return w.forms, w.ok
}

// maxWindowables bounds windowables: a few rule sets' rules (tests build
// many).
const maxWindowables = 4096

var windowables = struct {
	mu sync.Mutex
	m  map[windowKey]windowResult
}{m: map[windowKey]windowResult{}}

type windowKey struct {
	re                          *stdregexp.Regexp
	required, requires, skipped bool
	keywords                    string
}

type windowResult struct {
	forms []form
	ok    bool
}

// formsOf finds the forms of a regex: for a concatenation, around the
// element with the longest sure literals.
func formsOf(re *syntax.Regexp) ([]form, bool) {
	if lits, ok := literals(re); ok && !slices.Contains(lits, "") {
		return []form{{anchors: lits, tail: re}}, true
	}
	switch re.Op {
	case syntax.OpCapture:
		return formsOf(re.Sub[0])
	case syntax.OpAlternate:
		var all []form
		for _, sub := range re.Sub {
			fs, ok := formsOf(sub)
			if !ok {
				return nil, false
			}
			all = append(all, fs...)
		}
		return all, true
	case syntax.OpPlus, syntax.OpRepeat:
		if re.Op == syntax.OpRepeat && re.Min < 1 {
			return nil, false
		}
		fs, ok := formsOf(re.Sub[0])
		if !ok {
			return nil, false
		}
		// the anchor in the first repetition, the others after it
		rest, ok := steps(re, false)
		if !ok {
			return nil, false
		}
		for i := range fs {
			fs[i].after = append(slices.Clip(fs[i].after), rest...)
		}
		return fs, true
	case syntax.OpConcat:
		var best []form
		bestLen := 0
		for i, sub := range re.Sub {
			fs, ok := formsOf(sub)
			if !ok {
				continue
			}
			var before, after []step
			for j := i - 1; j >= 0 && ok; j-- {
				var s []step
				s, ok = steps(re.Sub[j], true)
				before = append(before, s...)
			}
			for j := i + 1; j < len(re.Sub) && ok; j++ {
				var s []step
				s, ok = steps(re.Sub[j], false)
				after = append(after, s...)
			}
			if !ok {
				continue
			}
			if n := shortest(fs); n > bestLen {
				best, bestLen = nil, n
				for _, f := range fs {
					f.before = append(slices.Clip(f.before), before...)
					f.after = append(slices.Clip(f.after), after...)
					f.tail = &syntax.Regexp{Op: syntax.OpConcat, Sub: append([]*syntax.Regexp{f.tail}, re.Sub[i+1:]...)}
					best = append(best, f)
				}
			}
		}
		return best, best != nil
	}
	return nil, false
}

func shortest(fs []form) int {
	n := -1
	for _, f := range fs {
		for _, a := range f.anchors {
			if n < 0 || len(a) < n {
				n = len(a)
			}
		}
	}
	return n
}

// maxLiterals bounds the strings a literal set expands to.
const maxLiterals = 64

// literals returns the strings of which every match of re is one, lower
// case: literals, small classes ([Aa]) and their concatenations and
// alternations. The Kelvin sign and the long s, which (?i) classes hold
// for k and s, are left out: the anchor search reads them as k and s.
func literals(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		var b strings.Builder
		for _, r := range re.Rune {
			if r >= utf8.RuneSelf {
				return nil, false
			}
			b.WriteByte(lowerASCII(byte(r)))
		}
		return []string{b.String()}, true
	case syntax.OpCharClass:
		var set []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if r == 0x212A || r == 0x17F {
					continue
				}
				if r >= utf8.RuneSelf || len(set) > maxLiterals {
					return nil, false
				}
				if s := string(lowerASCII(byte(r))); !slices.Contains(set, s) {
					set = append(set, s)
				}
			}
		}
		return set, len(set) > 0 && len(set) <= 8
	case syntax.OpCapture:
		return literals(re.Sub[0])
	case syntax.OpQuest:
		set, ok := literals(re.Sub[0])
		return append(set, ""), ok
	case syntax.OpAlternate:
		var set []string
		for _, sub := range re.Sub {
			s, ok := literals(sub)
			if !ok {
				return nil, false
			}
			set = append(set, s...)
		}
		return set, len(set) <= maxLiterals
	case syntax.OpConcat:
		set := []string{""}
		for _, sub := range re.Sub {
			if zeroWidth(sub.Op) {
				continue
			}
			s, ok := literals(sub)
			if !ok || len(set)*len(s) > maxLiterals {
				return nil, false
			}
			var next []string
			for _, a := range set {
				for _, b := range s {
					next = append(next, a+b)
				}
			}
			set = next
		}
		return set, true
	}
	return nil, false
}

func zeroWidth(op syntax.Op) bool {
	switch op {
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary, syntax.OpEmptyMatch:
		return true
	}
	return false
}

// steps returns the reach of re, outward: leftward (reversed) or rightward.
func steps(re *syntax.Regexp, leftward bool) ([]step, bool) {
	switch re.Op {
	case syntax.OpCapture:
		return steps(re.Sub[0], leftward)
	case syntax.OpConcat:
		var all []step
		for i := range re.Sub {
			sub := re.Sub[i]
			if leftward {
				sub = re.Sub[len(re.Sub)-1-i]
			}
			s, ok := steps(sub, leftward)
			if !ok {
				return nil, false
			}
			all = append(all, s...)
		}
		return all, true
	}
	n, nl := width(re)
	switch {
	case n >= 0:
		return []step{{bytes: n, nl: nl}}, true
	case !nl:
		return []step{{line: true}}, true
	}
	return nil, false
}

// width returns the most bytes re can match (-1: no bound) and whether it
// can match a line break.
func width(re *syntax.Regexp) (n int, nl bool) {
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			n += runeWidth(r, re.Flags&syntax.FoldCase != 0)
			nl = nl || r == '\n'
		}
		return n, nl
	case syntax.OpCharClass:
		if len(re.Rune) == 0 {
			return 0, false
		}
		for i := 0; i+1 < len(re.Rune); i += 2 {
			nl = nl || re.Rune[i] <= '\n' && '\n' <= re.Rune[i+1]
		}
		return utf8.RuneLen(min(re.Rune[len(re.Rune)-1], unicode.MaxRune)), nl
	case syntax.OpAnyCharNotNL:
		return utf8.UTFMax, false
	case syntax.OpAnyChar:
		return utf8.UTFMax, true
	case syntax.OpCapture, syntax.OpQuest:
		return width(re.Sub[0])
	case syntax.OpStar, syntax.OpPlus, syntax.OpRepeat:
		m, subNL := width(re.Sub[0])
		switch {
		case m == 0:
			return 0, subNL
		case m < 0 || re.Op != syntax.OpRepeat || re.Max < 0:
			return -1, subNL
		}
		return m * re.Max, subNL
	case syntax.OpConcat, syntax.OpAlternate:
		for _, sub := range re.Sub {
			m, subNL := width(sub)
			nl = nl || subNL
			switch {
			case m < 0 || n < 0:
				n = -1
			case re.Op == syntax.OpConcat:
				n += m
			default:
				n = max(n, m)
			}
		}
		return n, nl
	}
	return 0, false // empty-width assertions, empty match, no match
}

// runeWidth is the most bytes r takes, with its case variants if folded.
func runeWidth(r rune, fold bool) int {
	n := utf8.RuneLen(r)
	if fold {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			n = max(n, utf8.RuneLen(f))
		}
	}
	return n
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
