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
// decoded to UTF-8. ok is false for a binary: not mostly text in any of
// those encodings.
func readableText(content []byte) (text []byte, encoding string, ok bool) {
	if enc := utf16Order(content); enc != "" {
		if dec := decodeUTF16(content, enc == "UTF-16BE"); isMostlyText(dec) {
			return dec, enc, true
		}
	}
	if isMostlyText(content) {
		return content, "", true
	}
	return nil, "", false
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

// textOf returns a blob's content as text when it is UTF-16 text (decoded
// to UTF-8), else as it is.
func textOf(content []byte) []byte {
	if !gitBinary(content) && utf16Order(content[:min(len(content), 2)]) == "" {
		return content // no NUL, no byte order mark: not UTF-16
	}
	if text, enc, ok := readableText(content); ok && enc != "" {
		return text
	}
	return content
}

// gitBinary is git's test: a NUL byte in the first 8000 bytes. Content
// git reads as text needs no closer look (and most blobs are such).
func gitBinary(content []byte) bool {
	return bytes.IndexByte(content[:min(len(content), 8000)], 0) >= 0
}
