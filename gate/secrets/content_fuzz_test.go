package secrets

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzContentDecode: the text decoders of untrusted content (readableText,
// decodePaddedURLBase64) never panic, a decoded text is valid UTF-8 where
// it came from UTF-16, and a padded URL-safe segment planted in any text
// decodes back to what was encoded.
func FuzzContentDecode(f *testing.F) {
	f.Add([]byte("token: dXJsP3Rva2VuPWFiYz9-Pw==\n"), "u~?id x", uint8(3))
	f.Add([]byte("\xff\xfek\x00e\x00y\x00"), "", uint8(0))
	f.Add([]byte("MZ\x00text\x00more"), "a?~b?~c", uint8(1))
	f.Fuzz(func(t *testing.T, content []byte, plain string, at uint8) {
		// the UTF-16 reading comes first, valid UTF-8; the bytes as they
		// are follow it
		if text, enc, ok := readableText(content); ok && enc != "" {
			dec := decodeWide(content, enc)
			if !utf8.Valid(dec) || !bytes.HasPrefix(text, dec) || !bytes.Contains(text, content) {
				t.Fatalf("%s: not the decoded text, then the bytes", enc)
			}
		}
		raw := string(content)
		decodePaddedURLBase64(raw)
		// plant: a segment of the form, between separators, in the text
		seg := base64.URLEncoding.EncodeToString([]byte(plain))
		if len(strings.TrimRight(seg, "=")) < minEncoded || !strings.ContainsAny(seg, "-_") || !strings.HasSuffix(seg, "=") ||
			!utf8.ValidString(plain) || !isMostlyText([]byte(plain)) {
			return
		}
		i := int(at) % (len(raw) + 1)
		planted := raw[:i] + " " + seg + " " + raw[i:]
		out, ok := decodePaddedURLBase64(planted)
		if !ok || !strings.Contains(out, " "+plain+" ") && !bytes.Contains([]byte(out), []byte(plain)) {
			t.Fatalf("planted %q (from %q) not decoded: %q", seg, plain, out)
		}
	})
}
