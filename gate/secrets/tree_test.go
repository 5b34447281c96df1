package secrets

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mholt/archives"

	"github.com/secgate/secgate/gate/secrets/secretstest"
)

// No archive or compressed stream starts as text, so a text head skips
// the costly guess (brotli's trial decode) without losing an archive; and
// a brotli stream under a name that says nothing is still opened.
func TestIsText(t *testing.T) {
	body := "# settings\ntoken = \"" + secretstest.GitHubPAT(t) + "\"\n" + strings.Repeat("export const option = \"value of the demo\";\n", 20)
	dir := t.TempDir()
	for _, c := range []archives.Compressor{archives.Brotli{}, archives.Gz{}, archives.Bz2{}, archives.Xz{}, archives.Zstd{}, archives.Lz4{}, archives.Sz{}, archives.Lzip{}} {
		var buf bytes.Buffer
		w, err := c.OpenWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, body); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if isText(buf.Bytes()[:min(512, buf.Len())]) {
			t.Errorf("%T: its stream reads as text", c)
		}
		if _, ok := c.(archives.Brotli); ok {
			if err := os.WriteFile(filepath.Join(dir, "app.cache"), buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	res := scan(t, Options{Root: dir})
	if len(res.Findings) != 1 || !strings.HasPrefix(res.Findings[0].Location.Path, "app.cache") {
		t.Errorf("the token in a brotli stream named app.cache: findings %+v", res.Findings)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "conf/app.env", Mode: 0o644, Size: int64(len(body))}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(tw, body); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if isText(buf.Bytes()[:512]) {
		t.Error("a tar header reads as text")
	}
	for _, text := range []string{body, "", "naïve café ünïcode\n", strings.Repeat("é", 300)} {
		if !isText([]byte(text)[:min(512, len(text))]) {
			t.Errorf("%.20q: not text", text)
		}
	}
	for _, bin := range []string{"\x00\x01\x02", "PK\x03\x04", "\xff\xfe\xfd", "abc\x1bdef"} {
		if isText([]byte(bin)) {
			t.Errorf("%q: text", bin)
		}
	}
}
