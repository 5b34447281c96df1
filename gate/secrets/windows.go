package secrets

import (
	"context"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/detect/codec"
	"github.com/zricethezav/gitleaks/v8/regexp"
	"github.com/zricethezav/gitleaks/v8/report"
	"github.com/zricethezav/gitleaks/v8/sources"
)

// Windowed detection: the same findings as gitleaks' DetectContext on a
// fragment, for less work.
//
// Most of a scan's time is the few rules whose keywords are common words
// (generic-api-key: "key", "token", "api", ...; hashicorp-tf-password:
// "password"): gitleaks runs their regexes, which start with an
// unanchored `[\w.-]{0,50}?`, over every byte of a fragment that has the
// word anywhere, and Go's regexp does that slowly. Yet such a regex can
// only match around one of its literals, within a bounded distance of it.
// So each rule's regex is read once (regexp/syntax) for:
//
//   - anchors: literals of which every match contains one (for generic-api-key,
//     access, auth, api, key, token, ...), each containing one of the rule's
//     keywords, so that a window with the anchor passes gitleaks' keyword
//     prefilter exactly when a match could be in it;
//   - reach: how far a match extends on either side of its anchor, as
//     steps of a bounded number of bytes or "to the line's end" for an
//     unbounded part that cannot cross a line (the secret `[\w.=-]+`).
//     A part unbounded across lines (`\s+`) makes a rule not windowed.
//
// Such a rule runs on windows: whole lines from one line before the
// earliest start of any match around an anchor to one line after its
// latest end, merged. A match is then never on a window's first or last
// line, so gitleaks computes the same line, columns and line text (its
// columns differ on a fragment's first line) and the same \b, ^ and $
// around it; FindAll finds the same matches, since no match lies outside
// a window. Everything else (allowlists, entropy, secret groups) is
// gitleaks' own code on the window (its inline allow marker is not
// honoured: ignoreInlineAllow); the rules
// not windowed run on the whole fragment, as in gitleaks.
//
// An anchor counts only where the rest of the regex from it on (its
// "tail", anchored there) matches, and a window is made only where the
// whole regex matches in the reach around it: keywords are common,
// secrets rare, and both tests are cheap on a line.
//
// gitleaks scans the text again decoded when its decoder finds encoded
// values (base64, hex, percent, \u escapes, U+XXXX runs) in it; it finds
// them line by line (encoded.go), so the rules not windowed scan such a
// fragment with decoding as gitleaks does, and the windowed ones scan
// decoded only the lines around the encoded ones (a windowed rule's match
// crosses at most d.lines line breaks). The two non-ASCII letters that
// (?i) matches for ASCII ones are searched as them (anchorText). A rule
// whose windows would cover most of a fragment runs on it whole.
// TestWindowedMatchesGitleaks, TestWindowedDecoded, TestWindowedFolds,
// TestWindowedLongLine and FuzzWindowed hold the findings equal.
type detector struct {
	cfg   config.Config
	full  func() *detect.Detector // all rules, decoding as configured (built when first needed: 2.5 MB)
	rest  *detect.Detector        // the rules not windowed, raw text only
	rules []windowedRule          // the windowed rules, each with its own detector

	// for fragments with encoded text, built when first needed: the rules
	// not windowed and the windowed ones, decoding as configured; and the
	// most line breaks a windowed rule's match can reach across
	restDecoding, windowedDecoding func() *detect.Detector
	lines                          int
	maxDecode                      int // gitleaks' decoding depth

	anchors  anchorIndex
	patterns []anchorPattern // the anchors, each once

	// a rule whose reaches add up to more than maxReach of a fragment, or
	// whose windows cover more than maxCover of it, runs on it whole
	// (tests change them)
	maxReach float64
	maxCover float64
}

type windowedRule struct {
	id    string
	re    *regexp.Regexp
	forms []form
	det   func() *detect.Detector // this rule alone, raw text only (built when first needed)
}

// anchorIndex finds anchors by their first two bytes: for each pair, the
// anchors that start with it (a few; anchors are the rules' literals,
// lower case).
type anchorIndex struct {
	group  [1 << 16]uint16 // pair -> 1 + its index in groups, 0: none
	groups [][]int         // patterns
}

func newAnchorIndex(patterns []anchorPattern) anchorIndex {
	var x anchorIndex
	for i, p := range patterns {
		k := uint16(p.text[0])<<8 | uint16(p.text[1])
		if x.group[k] == 0 {
			x.groups = append(x.groups, nil)
			x.group[k] = uint16(len(x.groups))
		}
		g := &x.groups[x.group[k]-1]
		*g = append(*g, i)
	}
	return x
}

// anchorHit is an anchor found at an offset.
type anchorHit struct{ pattern, start int }

// find returns every occurrence of every anchor in text, by offset.
func (x *anchorIndex) find(text []byte, patterns []anchorPattern) []anchorHit {
	var hits []anchorHit
	for i := 0; i+1 < len(text); i++ {
		g := x.group[uint16(text[i])<<8|uint16(text[i+1])]
		if g == 0 {
			continue
		}
		for _, p := range x.groups[g-1] {
			if t := patterns[p].text; len(t) <= len(text)-i && string(text[i:i+len(t)]) == t {
				hits = append(hits, anchorHit{p, i})
			}
		}
	}
	return hits
}

// anchorPattern is an anchor and the forms it anchors.
type anchorPattern struct {
	text     string
	anchorOf []formRef
}

type formRef struct{ rule, form int }

const (
	// maxReached is how much text a rule's regex may be tried on around
	// its anchors, maxCovered how much of a fragment its windows may
	// cover, before it runs on the whole fragment instead.
	maxReached = 1.0
	maxCovered = 0.5
)

// newDetector builds the detectors of cfg.
func newDetector(ctx context.Context, cfg config.Config, maxDecode, maxArchive int) *detector {
	d := &detector{cfg: cfg, maxDecode: maxDecode, maxReach: maxReached, maxCover: maxCovered}
	d.full = sync.OnceValue(func() *detect.Detector {
		full := detect.NewDetectorContext(ctx, cfg)
		full.MaxDecodeDepth, full.MaxArchiveDepth = maxDecode, maxArchive
		full.IgnoreGitleaksAllow = ignoreInlineAllow
		return full
	})

	required := map[string]bool{}
	for _, r := range cfg.Rules {
		for _, q := range r.RequiredRules {
			required[q.RuleID] = true
		}
	}
	rest := map[string]bool{} // rule ids not windowed
	index := map[string]int{}
	add := func(text string) *anchorPattern {
		i, ok := index[text]
		if !ok {
			i = len(d.patterns)
			index[text] = i
			d.patterns = append(d.patterns, anchorPattern{text: text})
		}
		return &d.patterns[i]
	}
	for _, id := range slices.Sorted(maps.Keys(cfg.Rules)) {
		r := cfg.Rules[id]
		forms, ok := windowableOf(r, required[id])
		if !ok {
			rest[id] = true
			continue
		}
		wr := windowedRule{id: id, re: r.Regex, forms: forms, det: sync.OnceValue(func() *detect.Detector {
			return detectorOf(ctx, cfg, func(rule string) bool { return rule == id }, 0)
		})}
		for fi, f := range forms {
			for _, a := range f.anchors {
				p := add(a)
				p.anchorOf = append(p.anchorOf, formRef{len(d.rules), fi})
			}
			n := 0
			for _, s := range append(slices.Clip(f.before), f.after...) {
				if s.nl {
					n += s.bytes
				}
			}
			d.lines = max(d.lines, n)
		}
		d.rules = append(d.rules, wr)
	}
	d.anchors = newAnchorIndex(d.patterns)
	notWindowed := func(id string) bool { return rest[id] }
	d.rest = detectorOf(ctx, cfg, notWindowed, 0)
	d.restDecoding = sync.OnceValue(func() *detect.Detector { return detectorOf(ctx, cfg, notWindowed, maxDecode) })
	d.windowedDecoding = sync.OnceValue(func() *detect.Detector {
		return detectorOf(ctx, cfg, func(id string) bool { return !rest[id] }, maxDecode)
	})
	return d
}

// rulesWhere is cfg with the rules keep says only, and their keywords
// (gitleaks' prefilter); the rest of cfg is shared.
func rulesWhere(cfg config.Config, keep func(id string, r config.Rule) bool) config.Config {
	c := cfg
	c.Rules, c.Keywords = map[string]config.Rule{}, map[string]struct{}{}
	for id, r := range cfg.Rules {
		if keep(id, r) {
			c.Rules[id] = r
			for _, k := range r.Keywords {
				c.Keywords[strings.ToLower(k)] = struct{}{}
			}
		}
	}
	return c
}

// detectorOf is a gitleaks detector of the rules of cfg that keep says,
// with their keywords (its prefilter) and cfg's global allowlists.
func detectorOf(ctx context.Context, cfg config.Config, keep func(id string) bool, maxDecode int) *detect.Detector {
	c := rulesWhere(cfg, func(id string, _ config.Rule) bool { return keep(id) })
	det := detect.NewDetectorContext(ctx, c)
	det.MaxDecodeDepth = maxDecode
	det.IgnoreGitleaksAllow = ignoreInlineAllow
	return det
}

// ignoreInlineAllow: gitleaks drops a finding whose line holds the text
// "gitleaks:allow" (anywhere: a comment, a JSON value, the token's own
// line in a one-line file). The gate does not honour it: the author of a
// pull request would write it next to their own token, and the finding
// would vanish without a trace. Exceptions are reviewed where the base
// branch keeps them (.secgate.yml, .gitleaksignore, .gitleaks.toml). Set
// on every gitleaks detector built here (detectorOf and the whole-rules
// one of newDetector), so the windowed rules and gitleaks' own
// DetectContext agree.
const ignoreInlineAllow = true

// DetectContext finds what gitleaks' DetectContext finds in a fragment.
func (d *detector) DetectContext(ctx context.Context, f sources.Fragment) []report.Finding {
	return d.detectEncoded(ctx, f, encodedLines(f.Raw))
}

// detectEncoded is DetectContext given the fragment's encodedLines.
func (d *detector) detectEncoded(ctx context.Context, f sources.Fragment, encoded []int) []report.Finding {
	raw := f.Raw
	regions := d.decodeRegions(raw, encoded)
	longS := func(r span) bool { return strings.Contains(raw[r.start:r.end], "\u017F") }
	if len(encoded) > 0 && (slices.ContainsFunc(regions, longS) || d.decodesLongS(raw, encoded)) {
		// a region of decoded text with a long s may lack the keyword
		// gitleaks finds elsewhere (see anchorText); a long s outside
		// them is the windows' concern (binary-like text, a PDF's
		// streams, has one every 64 kB)
		return d.full().DetectContext(ctx, asDetect(f))
	}
	var findings []report.Finding
	if len(encoded) == 0 {
		// gitleaks would run its rules once, on the raw text
		findings = d.rest.DetectContext(ctx, asDetect(f))
	} else {
		// and again on the text decoded: the rules not windowed on all of
		// it, the windowed ones around the encoded lines
		findings = d.restDecoding().DetectContext(ctx, asDetect(f))
		findings = append(findings, d.decoded(ctx, f, regions)...)
	}
	findings = append(findings, d.windowed(ctx, f)...)
	return dropGenericAsGitleaks(findings)
}

// decodeRegions is where the windowed rules can match in the decoded text
// of the encoded lines (gitleaks' decoding passes): a match of theirs
// reaches across at most d.lines line breaks, so each encoded line with
// that many lines on either side and one more, merged.
func (d *detector) decodeRegions(raw string, encoded []int) []span {
	if len(encoded) == 0 {
		return nil
	}
	var regions []span
	l := newLines(raw)
	for _, at := range encoded {
		start, end := at, l.end(at)
		for range d.lines + 1 {
			if start > 0 {
				start = l.start(start - 1)
			}
			if end < len(raw) {
				end = l.end(end + 1)
			}
		}
		if end == len(raw) && !l.endsLine() {
			start = 0 // see window
		}
		regions = append(regions, span{start, end})
	}
	return merge(regions)
}

// decoded returns what the windowed rules find decoded in regions (see
// decodeRegions): only what gitleaks found decoded (tagged decode-depth)
// is kept, the raw text is the windows' part.
func (d *detector) decoded(ctx context.Context, f sources.Fragment, regions []span) []report.Finding {
	raw := f.Raw
	var found []report.Finding
	line, at := f.StartLine, 0
	for _, r := range regions {
		line += strings.Count(raw[at:r.start], "\n")
		at = r.start
		part := f
		part.Raw, part.Bytes, part.StartLine = raw[r.start:r.end], nil, line
		for _, g := range d.windowedDecoding().DetectContext(ctx, asDetect(part)) {
			if len(g.Tags) > len(d.cfg.Rules[g.RuleID].Tags) {
				found = append(found, g)
			}
		}
	}
	return found
}

// lineFrom is raw from at to the end of its line (its break left out).
func lineFrom(raw string, at int) string {
	line, _, _ := strings.Cut(raw[at:], "\n")
	return line
}

// decodesLongS reports whether gitleaks' decoding passes (as deep as it
// goes) make a long s of an encoded line.
func (d *detector) decodesLongS(raw string, encoded []int) bool {
	dec := codec.NewDecoder()
	for _, at := range encoded {
		text, segments := lineFrom(raw, at), []*codec.EncodedSegment(nil)
		for range d.maxDecode {
			if text, segments = dec.Decode(text, segments); len(segments) == 0 {
				break
			}
			if strings.Contains(text, "\u017F") {
				return true
			}
		}
	}
	return false
}

// windowed returns what the windowed rules find in the raw text.
func (d *detector) windowed(ctx context.Context, f sources.Fragment) []report.Finding {
	raw := f.Raw
	// Anchors in the raw text with ASCII letters (and the Kelvin sign)
	// lowered. A rule with an anchor in the text has a keyword in it too,
	// as gitleaks' prefilter sees it (strings.ToLower), and so has a window
	// around the anchor; but for an anchor with a long s, which the
	// prefilter does not read as an s: its rule runs on the whole text,
	// where gitleaks' prefilter decides, as it does for the whole.
	text, at, longS := anchorText(raw)
	l := newLines(raw)

	// Where each rule can match: the reach around each of its anchors
	// whose form's tail matches there (keywords are common, secrets rare).
	reaches := make([][]span, len(d.rules))
	whole := make([]bool, len(d.rules))
	for _, h := range d.anchors.find(text, d.patterns) {
		a := d.patterns[h.pattern]
		start, end := h.start, h.start+len(a.text)
		if slices.ContainsFunc(longS, func(p int) bool { return start <= p && p < end }) {
			for _, ref := range a.anchorOf {
				whole[ref.rule] = true
			}
			continue
		}
		if at != nil {
			start, end = at[start], at[end]
		}
		for _, ref := range a.anchorOf {
			fm := d.rules[ref.rule].forms[ref.form]
			s, e := reach(l, start, end, fm)
			if !fm.filter().MatchString(raw[start:min(len(raw), e+1)]) {
				continue
			}
			rs := reaches[ref.rule]
			if n := len(rs); n > 0 && rs[n-1] == (span{s, e}) {
				continue // another anchor on the same line
			}
			reaches[ref.rule] = append(rs, span{s, e})
		}
	}
	type run struct {
		rule  int
		parts []span // nil: the whole fragment
	}
	var runs []run
	for i, rs := range reaches {
		if whole[i] {
			runs = append(runs, run{i, nil})
			continue
		}
		if len(rs) == 0 {
			continue // no match anywhere
		}
		// The rule's regex on each reach (and a byte on either side, for
		// \b, ^ and $) finds those that hold a match. Unless the reaches
		// add up to about the whole text: then once over all of it.
		reached := 0
		for _, r := range rs {
			reached += r.end - r.start
		}
		var ws []span
		if float64(reached) <= d.maxReach*float64(len(raw)) {
			re := d.rules[i].re
			for _, r := range rs {
				if re.MatchString(raw[max(0, r.start-1):min(len(raw), r.end+1)]) {
					ws = append(ws, window(l, r.start, r.end))
				}
			}
			if len(ws) == 0 {
				continue
			}
			ws = merge(ws)
			covered := 0
			for _, w := range ws {
				covered += w.end - w.start
			}
			if float64(covered) > d.maxCover*float64(len(raw)) {
				ws = nil
			}
		}
		runs = append(runs, run{i, ws})
	}
	var findings []report.Finding
	for _, r := range runs {
		det := d.rules[r.rule].det()
		if r.parts == nil {
			findings = append(findings, det.DetectContext(ctx, asDetect(f))...)
			continue
		}
		line, at := f.StartLine, 0
		for _, w := range r.parts {
			line += strings.Count(raw[at:w.start], "\n")
			at = w.start
			part := f
			part.Raw, part.Bytes, part.StartLine = raw[w.start:w.end], nil, line
			findings = append(findings, det.DetectContext(ctx, asDetect(part))...)
		}
	}
	return findings
}

// anchorText returns raw with ASCII letters lowered, and the two letters
// (?i) matches for ASCII ones as those: the Kelvin sign as k (which
// strings.ToLower makes a k too) and the long s as s (which it leaves, so
// longS says where in text those are). With either, at maps each offset
// of text (and its end) to raw's; else at is nil and the offsets are raw's.
func anchorText(raw string) (text []byte, at, longS []int) {
	folded := strings.Contains(raw, "\u212A") || strings.Contains(raw, "\u017F")
	text = make([]byte, 0, len(raw))
	if folded {
		at = make([]int, 0, len(raw)+1)
	}
	for i := 0; i < len(raw); {
		c, n := lowerASCII(raw[i]), 1
		if folded {
			switch {
			case strings.HasPrefix(raw[i:], "\u212A"):
				c, n = 'k', len("\u212A")
			case strings.HasPrefix(raw[i:], "\u017F"):
				c, n = 's', len("\u017F")
				longS = append(longS, len(text))
			}
			at = append(at, i)
		}
		text = append(text, c)
		i += n
	}
	if folded {
		at = append(at, len(raw))
	}
	return text, at, longS
}

// span is a window: raw[start:end].
type span struct{ start, end int }

// reach returns the bounds of any match of the form around an anchor at
// raw[start:end].
func reach(l lines, start, end int, f form) (int, int) {
	for _, s := range f.before {
		switch {
		case s.line:
			start = l.start(start)
		case s.nl:
			start = max(0, start-s.bytes)
		default:
			start = max(l.start(start), start-s.bytes)
		}
	}
	for _, s := range f.after {
		switch {
		case s.line:
			end = l.end(end)
		case s.nl:
			end = min(l.n, end+s.bytes)
		default:
			end = min(l.end(end), end+s.bytes)
		}
	}
	return start, end
}

// window returns the lines holding raw[start:end], the reach of matches
// around an anchor, and one line more on either side.
func window(l lines, start, end int) span {
	start = l.start(start)
	if start > 0 {
		start = l.start(start - 1)
	}
	end = l.end(end)
	if end < l.n {
		end = l.end(end + 1)
	}
	if end == l.n && !l.endsLine() {
		// gitleaks gives a match on a last line with no line break the
		// text from the fragment's start as its line
		start = 0
	}
	return span{start, end}
}

// lines holds the offsets of a text's line breaks, to find the bounds of
// the line holding an offset in log time: a minified file is one long
// line with thousands of anchors on it.
type lines struct {
	n  int   // the text's length
	nl []int // the offsets of its line breaks
}

func newLines(raw string) lines {
	l := lines{n: len(raw)}
	for i := 0; ; {
		j := strings.IndexByte(raw[i:], '\n')
		if j < 0 {
			return l
		}
		l.nl = append(l.nl, i+j)
		i += j + 1
	}
}

// start is the offset of the start of the line holding offset i.
func (l lines) start(i int) int {
	if k := sort.SearchInts(l.nl, i); k > 0 {
		return l.nl[k-1] + 1
	}
	return 0
}

// end is the offset of the line break ending the line holding offset i
// (or the text's end).
func (l lines) end(i int) int {
	if k := sort.SearchInts(l.nl, i); k < len(l.nl) {
		return l.nl[k]
	}
	return l.n
}

// endsLine reports whether the text ends with a line break.
func (l lines) endsLine() bool { return len(l.nl) > 0 && l.nl[len(l.nl)-1] == l.n-1 }

// merge sorts windows and joins those that overlap or touch.
func merge(ws []span) []span {
	slices.SortFunc(ws, func(a, b span) int { return a.start - b.start })
	out := ws[:1]
	for _, w := range ws[1:] {
		last := &out[len(out)-1]
		if w.start <= last.end+1 {
			last.end = max(last.end, w.end)
			continue
		}
		out = append(out, w)
	}
	return out
}

// dropGenericAsGitleaks applies the rule gitleaks applies to the findings
// of one fragment: a finding of a rule named generic is dropped when a
// rule not so named found a secret containing its secret on the same line
// of the same commit. Run per detector, gitleaks applies it within each;
// applied again to them all, it gives what one detector would have.
func dropGenericAsGitleaks(fs []report.Finding) []report.Finding {
	generic := func(f report.Finding) bool { return strings.Contains(strings.ToLower(f.RuleID), "generic") }
	out := fs[:0:0]
	for _, f := range fs {
		if generic(f) && slices.ContainsFunc(fs, func(g report.Finding) bool {
			return !generic(g) && g.StartLine == f.StartLine && g.Commit == f.Commit &&
				g.RuleID != f.RuleID && strings.Contains(g.Secret, f.Secret)
		}) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// asDetect is the fragment as gitleaks' DetectContext takes it.
//
//lint:ignore SA1019 DetectContext takes the deprecated alias until gitleaks v9
func asDetect(f sources.Fragment) detect.Fragment { return detect.Fragment(f) }
