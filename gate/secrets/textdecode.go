package secrets

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/h2non/filetype"
)

// Reading content as text (issue 24, class 2). gitleaks reads bytes: a
// UTF-16 file (PowerShell's and some Windows editors' default) matches no
// rule, git's binary test (a NUL in the first 8000 bytes) drops a text
// file with one stray NUL, and a magic-number match on a file's first
// bytes ("MZ", "%PDF", "BZh", "OggS"...) drops a text file that happens to
// start so. readableText is the one test used by the tree walk, the
// archive walk and the range/history walk.

// textSample is how much of a file the text tests look at.
const textSample = 64 << 10

// mostlyText is the share of a sample's bytes that must be text (valid
// UTF-8, not a control character other than whitespace) for a file to be
// read as text: a text file with a few stray NULs is well above it, an
// executable, an image or a compressed stream well below.
const mostlyText = 0.90

// readableText returns content as text to scan, and how it was decoded:
// "" when content is read as it is, "UTF-16LE" or "UTF-16BE" when it was
// decoded to UTF-8. ok is false for a binary. It is the one rule of what
// is text, for the tree walk, the archive walk and the range and history
// walks (isBinaryContent), so that no mode skips what another reads:
//
//   - content that looks like UTF-16 (a byte order mark, or a NUL in every
//     other byte) and decodes to mostly text is read decoded, and its bytes
//     as they are too (after the decoded text): a byte order mark or a
//     UTF-16 header in front of UTF-8 text decodes to garbage that is
//     still "text" (two ASCII letters make one CJK character), and a file
//     half UTF-16 and half UTF-8 holds text in both readings;
//   - any other content is read as it is, the UTF-16 runs in it after it
//     (utf16Runs: a UTF-8 file with a UTF-16 part), unless it is a binary:
//     not mostly text, and its first bytes are a binary's magic number (an
//     executable, an image). A few NULs, leading or trailing, do not make
//     a file binary: gitleaks matches the text around them, as the tree
//     walk reads any file without a magic number.
//
// Lines of the second reading are numbered on from the first's.
//
// UTF-32 (a byte order mark, or three NULs beside each ASCII character)
// is read as UTF-16 is. The runs of ASCII written as 2- or 4-byte units
// at any alignment (textRuns) are read after the bytes in both cases:
// one stray byte after a byte order mark shifts the rest of a UTF-16 file
// out of the alignment its decoding reads.
func readableText(content []byte) (text []byte, encoding string, ok bool) {
	if enc := wideOrder(content); enc != "" {
		if dec := decodeWide(content, enc); isMostlyText(dec) {
			return joinReadings(dec, joinReadings(content, textRuns(content))), enc, true
		}
	}
	if !isMostlyText(content) && binaryMagic(content[:min(len(content), magicHead)]) != "" {
		return nil, "", false
	}
	return joinReadings(content, textRuns(content)), "", true
}

// wideOrder is utf32Order, else utf16Order: a UTF-32LE byte order mark
// starts with UTF-16LE's.
func wideOrder(b []byte) string {
	if enc := utf32Order(b); enc != "" {
		return enc
	}
	return utf16Order(b)
}

// decodeWide decodes content in enc (one of wideOrder's) to UTF-8.
func decodeWide(b []byte, enc string) []byte {
	switch enc {
	case "UTF-32LE", "UTF-32BE":
		return decodeUTF32(b, enc == "UTF-32BE")
	}
	return decodeUTF16(b, enc == "UTF-16BE")
}

// utf32Order tells UTF-32 by its byte order mark, or without one by the
// pattern ASCII text has in it: three NULs beside each character.
func utf32Order(b []byte) string {
	switch {
	case len(b) >= 4 && b[0] == 0xFF && b[1] == 0xFE && b[2] == 0 && b[3] == 0:
		return "UTF-32LE"
	case len(b) >= 4 && b[0] == 0 && b[1] == 0 && b[2] == 0xFE && b[3] == 0xFF:
		return "UTF-32BE"
	}
	s := b[:min(len(b), textSample)&^3]
	if len(s) < 16 {
		return ""
	}
	var le, be int // units of one ASCII character, little- and big-endian
	for i := 0; i < len(s); i += 4 {
		switch {
		case s[i] != 0 && s[i+1] == 0 && s[i+2] == 0 && s[i+3] == 0:
			le++
		case s[i] == 0 && s[i+1] == 0 && s[i+2] == 0 && s[i+3] != 0:
			be++
		}
	}
	units := len(s) / 4
	switch {
	case le*10 >= units*7:
		return "UTF-32LE"
	case be*10 >= units*7:
		return "UTF-32BE"
	}
	return ""
}

// decodeUTF32 decodes UTF-32 (a byte order mark dropped) to UTF-8; a cut
// last unit is dropped, a unit that is no character becomes U+FFFD.
func decodeUTF32(b []byte, bigEndian bool) []byte {
	if len(b) >= 4 && (b[0] == 0xFF && b[1] == 0xFE && b[2] == 0 && b[3] == 0 || b[0] == 0 && b[1] == 0 && b[2] == 0xFE && b[3] == 0xFF) {
		b = b[4:]
	}
	out := make([]byte, 0, len(b)/4)
	for i := 0; i+3 < len(b); i += 4 {
		var u uint32
		if bigEndian {
			u = uint32(b[i])<<24 | uint32(b[i+1])<<16 | uint32(b[i+2])<<8 | uint32(b[i+3])
		} else {
			u = uint32(b[i+3])<<24 | uint32(b[i+2])<<16 | uint32(b[i+1])<<8 | uint32(b[i])
		}
		r := rune(u)
		if u > utf8.MaxRune || !utf8.ValidRune(r) {
			r = utf8.RuneError
		}
		out = utf8.AppendRune(out, r)
	}
	return out
}

// magicHead is how much of a file's start binaryMagic is given (the tree
// walk's head).
const magicHead = 512

// joinReadings returns a, then b on the lines after it (a when b is empty).
func joinReadings(a, b []byte) []byte {
	if len(b) == 0 {
		return a
	}
	out := make([]byte, 0, len(a)+1+len(b))
	out = append(append(append(out, a...), '\n'), b...)
	return out
}

// minUTF16Run is the fewest characters a run of UTF-16 or UTF-32 text in
// other content must have to be read (shorter ones are common in
// binaries).
const minUTF16Run = 8

// textRuns returns the runs of ASCII text written as 2-byte (UTF-16) or
// 4-byte (UTF-32) units, little- then big-endian, at any alignment, in
// content, decoded, one a line: the UTF-16 or UTF-32 part of a file
// otherwise UTF-8, or a UTF-16 file shifted by a stray byte. nil when
// content has no NUL (most files: one IndexByte).
func textRuns(content []byte) []byte {
	if bytes.IndexByte(content, 0) < 0 {
		return nil
	}
	var out []byte
	for _, width := range []int{2, 4} {
		for _, bigEndian := range []bool{false, true} {
			out = appendRuns(out, content, width, bigEndian)
		}
	}
	return out
}

// appendRuns appends to out the runs of at least minUTF16Run ASCII
// characters in content written as units of width bytes: the character
// first (little-endian) or last (big-endian), the other bytes NUL. A run
// may start at any byte.
func appendRuns(out, content []byte, width int, bigEndian bool) []byte {
	at := 0 // the character's offset in a unit
	if bigEndian {
		at = width - 1
	}
	start, n := -1, 0 // the run's first byte, its characters
	flush := func() {
		if n >= minUTF16Run {
			for i := 0; i < n; i++ {
				out = append(out, content[start+width*i+at])
			}
			out = append(out, '\n')
		}
		start, n = -1, 0
	}
	for i := 0; i+width <= len(content); {
		unit := content[i : i+width]
		c, zeros := unit[at], true
		for j, z := range unit {
			if j != at && z != 0 {
				zeros = false
				break
			}
		}
		if zeros && (c >= ' ' && c < 0x7f || c == '\t' || c == '\n' || c == '\r') {
			if start < 0 {
				start = i
			}
			n++
			i += width
			continue
		}
		flush()
		i++
	}
	flush()
	return out
}

// isBinaryContent is the opposite of readableText's ok, for the callers
// that only ask (history.go's isBinary).
func isBinaryContent(content []byte) bool {
	if !gitBinary(content) {
		return false // git reads it as text, as it is
	}
	_, _, ok := readableText(content)
	return !ok
}

// utf16Order tells UTF-16 by its byte order mark, or without one by the
// pattern ASCII text has in it: a NUL in every other byte, on one side.
func utf16Order(b []byte) string {
	switch {
	case len(b) >= 2 && b[0] == 0xFF && b[1] == 0xFE:
		return "UTF-16LE"
	case len(b) >= 2 && b[0] == 0xFE && b[1] == 0xFF:
		return "UTF-16BE"
	}
	s := b[:min(len(b), textSample)&^1]
	if len(s) < 8 {
		return ""
	}
	var even, odd int // NULs at even and odd offsets
	for i := 0; i < len(s); i += 2 {
		if s[i] == 0 {
			even++
		}
		if s[i+1] == 0 {
			odd++
		}
	}
	pairs := len(s) / 2
	switch {
	case odd*10 >= pairs*7 && even*10 < pairs:
		return "UTF-16LE"
	case even*10 >= pairs*7 && odd*10 < pairs:
		return "UTF-16BE"
	}
	return ""
}

// decodeUTF16 decodes UTF-16 (a byte order mark dropped) to UTF-8; an odd
// last byte is dropped, lone surrogates become U+FFFD.
func decodeUTF16(b []byte, bigEndian bool) []byte {
	if len(b) >= 2 && (b[0] == 0xFF && b[1] == 0xFE || b[0] == 0xFE && b[1] == 0xFF) {
		b = b[2:]
	}
	units := make([]uint16, len(b)/2)
	for i := range units {
		if bigEndian {
			units[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			units[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	out := make([]byte, 0, len(units)+len(units)/8)
	for _, r := range utf16.Decode(units) {
		out = utf8.AppendRune(out, r)
	}
	return out
}

// isMostlyText reports whether the first textSample bytes of b are at
// least mostlyText text: bytes of valid UTF-8 sequences that are not
// control characters (tab, line feed, form feed and carriage return are
// text). A multi-byte character cut at the sample's end counts as text.
func isMostlyText(b []byte) bool {
	s := b[:min(len(b), textSample)]
	if len(s) == 0 {
		return true
	}
	text := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= ' ' && c != 0x7f || c == '\t' || c == '\n' || c == '\f' || c == '\r' {
				text++
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		switch {
		case r != utf8.RuneError || n > 1:
			text += n
		case len(s) < len(b) && !utf8.FullRune(s[i:]):
			text += len(s) - i // cut by the sample
			n = len(s) - i
		}
		i += n
	}
	return float64(text) >= mostlyText*float64(len(s))
}

// binaryMagic returns the MIME type of a head whose magic number says it
// is an application's binary (what gitleaks skips), or "".
func binaryMagic(head []byte) string {
	if kind, err := filetype.Match(head); err == nil && kind.MIME.Type == "application" {
		return kind.MIME.Value
	}
	return ""
}

// textChunk is about how much text one fragment holds, as gitleaks' file
// source reads (100 kB); a chunk ends at a line break.
const textChunk = 100_000

// textChunks splits text into fragments' texts at line breaks, each about
// textChunk long (a line longer than that is one chunk), and returns each
// with its first line's number.
func textChunks(text []byte, yield func(chunk []byte, line int) error) error {
	line := 1
	for len(text) > 0 {
		end := len(text)
		if end > textChunk {
			end = textChunk
			if j := bytes.IndexByte(text[end:], '\n'); j >= 0 {
				end += j + 1
			} else {
				end = len(text)
			}
		}
		if err := yield(text[:end], line); err != nil {
			return err
		}
		line += bytes.Count(text[:end], []byte{'\n'})
		text = text[end:]
	}
	return nil
}

// textOf returns a blob's content as readableText reads it (UTF-16
// decoded, UTF-16 runs added), else as it is.
func textOf(content []byte) []byte {
	if bytes.IndexByte(content, 0) < 0 && wideOrder(content[:min(len(content), 2)]) == "" {
		return content // no NUL, no byte order mark: as it is
	}
	if text, _, ok := readableText(content); ok {
		return text
	}
	return content
}

// gitBinary is git's test: a NUL byte in the first 8000 bytes. Content
// git reads as text needs no closer look (and most blobs are such).
func gitBinary(content []byte) bool {
	return bytes.IndexByte(content[:min(len(content), 8000)], 0) >= 0
}
