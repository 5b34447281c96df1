package secrets

import (
	"github.com/zricethezav/gitleaks/v8/detect/codec"
)

// encodedLines returns the offsets of the lines in which gitleaks' decoder
// finds an encoded segment (which it then scans again, decoded). Its
// patterns (percent, \u escapes, hex, base64) do not reach across lines;
// a run of U+XXXX sequences does, but only onto a line that starts with
// one, which is then an encoded line too (and `$` ends such a run at a
// line's end as a line break would). Only lines with what could decode to
// printable text are decoded.
func encodedLines(raw string) (lines []int) {
	var (
		dec   = codec.NewDecoder()
		start = 0     // of the current line
		run   = -1    // start of the current run of base64 characters
		keep  = false // the current line has a candidate
	)
	for i := 0; i <= len(raw); i++ {
		eol := i == len(raw) || raw[i] == '\n'
		if !eol && encodedChar[raw[i]] {
			if run < 0 {
				run = i
			}
			if raw[i] == 'U' && !keep {
				keep = i+5 < len(raw) && raw[i+1] == '+' && isHex(raw[i+2]) && isHex(raw[i+3]) && isHex(raw[i+4]) && isHex(raw[i+5])
			}
			continue
		}
		if run >= 0 && !keep {
			keep = mayDecode(raw[run:i])
		}
		run = -1
		if eol {
			if keep {
				if _, segments := dec.Decode(raw[start:i], nil); len(segments) > 0 {
					lines = append(lines, start)
				}
			}
			start, keep = i+1, false
			continue
		}
		switch raw[i] {
		case '%':
			keep = keep || i+2 < len(raw) && isHex(raw[i+1]) && isHex(raw[i+2])
		case '\\':
			keep = keep || i+1 < len(raw) && (raw[i+1] == 'u' || raw[i+1] == 'U')
		}
	}
	return lines
}

// mayDecode reports whether some part of a run of base64 characters could
// be what gitleaks' decoder keeps: 16 characters of one base64 alphabet
// that decode to 12 printable bytes (its shortest base64), or 32 hex
// digits that decode to 16 (its shortest hex).
func mayDecode(run string) bool {
	return len(run) >= 16 && (printableFrom(run, 4, 4, quad(&stdAlphabet)) ||
		printableFrom(run, 4, 4, quad(&urlAlphabet)) ||
		printableFrom(run, 2, 16, hexPair))
}

// printableFrom reports whether n units of size bytes in a row, from some
// offset of run, each decode to printable bytes.
func printableFrom(run string, size, n int, ok func(string) bool) bool {
	for p := 0; p+size*n <= len(run); p++ {
		k := 0
		for k < n && ok(run[p+k*size:p+(k+1)*size]) {
			k++
		}
		if k == n {
			return true
		}
	}
	return false
}

// quad decodes four base64 characters of an alphabet to three printable
// bytes, as gitleaks counts printable (tab to tilde).
func quad(alphabet *[256]int8) func(string) bool {
	return func(q string) bool {
		var v [4]byte
		for i := range v {
			x := alphabet[q[i]]
			if x < 0 {
				return false
			}
			v[i] = byte(x)
		}
		return printable(v[0]<<2|v[1]>>4) && printable(v[1]<<4|v[2]>>2) && printable(v[2]<<6|v[3])
	}
}

func hexPair(p string) bool {
	return isHex(p[0]) && isHex(p[1]) && printable(hexValue(p[0])<<4|hexValue(p[1]))
}

func printable(b byte) bool { return '\t' <= b && b <= '~' }

var stdAlphabet, urlAlphabet = alphabet("+/"), alphabet("-_")

func alphabet(last2 string) (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" + last2 {
		t[c] = int8(i)
	}
	return t
}

// encodedChar holds the characters of gitleaks' base64 pattern [\w/+-]
// (hex digits among them).
var encodedChar = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_/+-" {
		t[c] = true
	}
	return t
}()

func hexValue(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
