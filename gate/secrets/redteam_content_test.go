package secrets

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/secgate/secgate/gate/secrets/secretstest"
	"github.com/secgate/secgate/internal/cache"
	"github.com/secgate/secgate/policy"
)

// The content classes of issue 24, as an attacker writing a pull request
// would try them: each row's files are committed on top of a base commit
// and scanned as a working tree, as the range base..head and as the whole
// history; each must fail the gate (a finding at the secrets tier, or for
// an archive past its bound a scanner error). Other file names, encodings
// and layouts than the issue's.

// contentCase is one variant of a class.
type contentCase struct {
	class, name string
	files       func(t *testing.T) map[string][]byte
	rule        string // the rule that must find it at the secrets tier
	// bomb: the scan must fail with an *ArchiveBoundError naming file
	bomb string
	opts Options // bounds
}

// contentModes are the scans of a repository made by contentRepo.
var contentModes = []string{"tree", "range", "history"}

// inMode is opts for one of contentModes over a contentRepo: the working
// tree, the range of its last commit, or its whole history.
func inMode(opts Options, mode string) Options {
	switch mode {
	case "range":
		opts.Base, opts.Head = "HEAD~1", "HEAD"
	case "history":
		opts.History = true
	}
	return opts
}

// keyContexts maps the paths of a scan's private-key findings to their
// contexts; a path listed twice is an error.
func keyContexts(t *testing.T, res policy.ScanResult) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, f := range res.Findings {
		if f.Rule == "private-key" {
			if _, dup := got[f.Location.Path]; dup {
				t.Errorf("%s listed twice", f.Location.Path)
			}
			got[f.Location.Path] = f.Context
		}
	}
	return got
}

func TestRedTeamContent(t *testing.T) {
	cases := []contentCase{
		// class 2: text that does not look like text
		{class: "2 text", name: "UTF-16BE without a byte order mark (a PowerShell profile)", rule: "github-pat",
			files: func(t *testing.T) map[string][]byte {
				return map[string][]byte{"tools/profile.ps1": contentUTF16("# set up\r\n$env:GITHUB_TOKEN = '"+secretstest.GitHubPAT(t)+"'\r\n", true, false)}
			}},
		{class: "2 text", name: "UTF-16LE with a byte order mark (a .reg export)", rule: "slack-bot-token",
			files: func(t *testing.T) map[string][]byte {
				return map[string][]byte{"setup/bot.reg": contentUTF16("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\Software\\Bot]\r\n\"SlackToken\"=\""+contentSlackBot(t)+"\"\r\n", false, true)}
			}},
		{class: "2 text", name: "text with a stray NUL that starts like an executable", rule: "github-pat",
			files: func(t *testing.T) map[string][]byte {
				return map[string][]byte{"notes/MZ-release.txt": []byte("MZ release notes\x00\nsee the runbook\nGH_TOKEN=" + secretstest.GitHubPAT(t) + "\n")}
			}},
		{class: "2 text", name: "a minified line of 125 kB, then a binary's magic number", rule: "github-pat",
			files: func(t *testing.T) map[string][]byte {
				// gitleaks' file source tests every 100 kB chunk for a magic
				// number until one has a line break
				return map[string][]byte{"web/app.min.js": []byte(strings.Repeat("var a=1;", 125000/8) + "MZ;var t='" + secretstest.GitHubPAT(t) + "';\n")}
			}},
		// red team after issue 24 (2): a byte order mark or a UTF-16 header
		// in front of text that is not UTF-16, or a file half UTF-16 and
		// half UTF-8, decoded as UTF-16 garbage
		{class: "2 text", name: "a UTF-16LE byte order mark in front of ASCII text", rule: "github-pat",
			files: func(t *testing.T) map[string][]byte {
				return map[string][]byte{"conf/app.ini": append([]byte{0xFF, 0xFE}, "[auth]\ntoken = "+secretstest.GitHubPAT(t)+"\n"...)}
			}},
		{class: "2 text", name: "a UTF-16BE byte order mark in front of UTF-8 text", rule: "github-pat",
			files: func(t *testing.T) map[string][]byte {
				return map[string][]byte{"conf/señal.cfg": append([]byte{0xFE, 0xFF}, "# configuración\nclave="+secretstest.GitHubPAT(t)+"\n"...)}
			}},
		{class: "2 text", name: "a UTF-16LE header without a byte order mark, then ASCII text", rule: "github-pat",
			files: func(t *testing.T) map[string][]byte {
				head := contentUTF16(strings.Repeat("generated file, do not edit\r\n", 8), false, false)
				return map[string][]byte{"build/out.log": append(head, "GH_TOKEN="+secretstest.GitHubPAT(t)+"\n"...)}
			}},
		{class: "2 text", name: "half UTF-16LE (with a byte order mark), half UTF-8 holding the token", rule: "github-pat",
			files: func(t *testing.T) map[string][]byte {
				head := contentUTF16(strings.Repeat("line of a UTF-16 export\r\n", 20), false, true)
				tail := []byte(strings.Repeat("# appended by a script\n", 10) + "token: " + secretstest.GitHubPAT(t) + "\n" + strings.Repeat("# more\n", 10))
				return map[string][]byte{"export/users.csv": append(head, tail...)}
			}},
		{class: "2 text", name: "UTF-8 first, then a UTF-16LE part (no byte order mark) holding the token", rule: "github-pat",
			files: func(t *testing.T) map[string][]byte {
				head := []byte(strings.Repeat("# a UTF-8 header line\n", 40))
				return map[string][]byte{"logs/merged.txt": append(head, contentUTF16("token="+secretstest.GitHubPAT(t)+"\r\n", false, false)...)}
			}},
		// red team after issue 24 (3): a few NUL bytes made the range and
		// history walks skip a text file that tree mode reads
		{class: "2 text", name: "a token line followed by ten NULs", rule: "github-pat",
			files: func(t *testing.T) map[string][]byte {
				return map[string][]byte{"cfg/token.txt": append([]byte("tok="+secretstest.GitHubPAT(t)+"\n"), make([]byte, 10)...)}
			}},
		{class: "2 text", name: "ten leading NULs, then a token line", rule: "github-pat",
			files: func(t *testing.T) map[string][]byte {
				return map[string][]byte{"cfg/lead.txt": append(make([]byte, 10), "tok="+secretstest.GitHubPAT(t)+"\n"...)}
			}},
		{class: "2 text", name: "letters and NULs alternating, then a token line", rule: "github-pat",
			files: func(t *testing.T) map[string][]byte {
				return map[string][]byte{"cfg/alt.dat": []byte("a\x00b\x00c\x00d\x00e\x00f\x00g\x00h\x00\n\x00tok=" + secretstest.GitHubPAT(t))}
			}},
		// red team after issue 24 (1): gitleaks' inline allow marker is
		// written by the author of the change: the gate does not honour it
		{class: "1 inline allow", name: "gitleaks:allow in a comment on the token's line", rule: "github-pat",
			files: func(t *testing.T) map[string][]byte {
				return map[string][]byte{"app/settings.py": []byte("import os\nTOKEN = \"" + secretstest.GitHubPAT(t) + "\"  # gitleaks:allow\n")}
			}},
		{class: "1 inline allow", name: "gitleaks:allow as a value of one-line JSON holding a private key", rule: "private-key",
			files: func(t *testing.T) map[string][]byte {
				key := strings.ReplaceAll(string(contentKey(t, true)), "\n", `\n`)
				return map[string][]byte{"deploy/sa.json": []byte(`{"private_key":"` + key + `","_":"gitleaks:allow"}`)}
			}},
		// red team after issue 24 (4): an archive nested past the depth
		// limit is a bound, as the decompressed bytes are
		{class: "6 archives", name: "a zip nested five deep", bomb: "dist/bundle.zip",
			files: func(t *testing.T) map[string][]byte {
				z := contentZip(t, map[string][]byte{"app.env": []byte("GH=" + secretstest.GitHubPAT(t) + "\n")})
				for i := 0; i < 4; i++ {
					z = contentZip(t, map[string][]byte{"layer.zip": z})
				}
				return map[string][]byte{"dist/bundle.zip": z}
			}},
		{class: "6 archives", name: "tar.gz and zips nested six deep", bomb: "assets/pack.tgz",
			files: func(t *testing.T) map[string][]byte {
				z := contentZip(t, map[string][]byte{"k.txt": []byte("k=" + secretstest.GitHubPAT(t) + "\n")})
				for i := 0; i < 4; i++ {
					z = contentZip(t, map[string][]byte{"in.zip": z})
				}
				return map[string][]byte{"assets/pack.tgz": contentTarGz(t, map[string][]byte{"in.zip": z})}
			}},
		// red team after the redfix (2): a zip (random access) inside a
		// gzip stream passed tree mode (the trial open gave the zip reader
		// the stream); history and range mode read it
		{class: "6 archives", name: "a zip inside gzip, named a.dat", rule: "github-pat",
			files: func(t *testing.T) map[string][]byte {
				z := contentZip(t, map[string][]byte{"s.txt": []byte("tok=" + secretstest.GitHubPAT(t) + "\n")})
				return map[string][]byte{"data/a.dat": contentGzip(t, z)}
			}},
		{class: "6 archives", name: "a zip inside gzip, named a.zip.gz", rule: "github-pat",
			files: func(t *testing.T) map[string][]byte {
				z := contentZip(t, map[string][]byte{"conf/s.env": []byte("GH_TOKEN=" + secretstest.GitHubPAT(t) + "\n")})
				return map[string][]byte{"release/a.zip.gz": contentGzip(t, z)}
			}},
		// red team after the redfix (1): UTF-32, and UTF-16 after a stray
		// byte, read as nothing in every mode
		{class: "2 text", name: "UTF-32LE with a byte order mark", rule: "github-pat",
			files: func(t *testing.T) map[string][]byte {
				return map[string][]byte{"conf/u32.txt": contentUTF32("tok="+secretstest.GitHubPAT(t)+"\n", false, true)}
			}},
		{class: "2 text", name: "UTF-32BE without a byte order mark", rule: "github-pat",
			files: func(t *testing.T) map[string][]byte {
				return map[string][]byte{"conf/u32be.txt": contentUTF32("tok="+secretstest.GitHubPAT(t)+"\n", true, false)}
			}},
		{class: "2 text", name: "UTF-32LE between ASCII lines", rule: "github-pat",
			files: func(t *testing.T) map[string][]byte {
				b := []byte(strings.Repeat("# plain header line\n", 10))
				b = append(b, contentUTF32("tok="+secretstest.GitHubPAT(t)+"\n", false, false)...)
				return map[string][]byte{"logs/mixed.log": append(b, strings.Repeat("# plain trailer line\n", 10)...)}
			}},
		{class: "2 text", name: "a UTF-16LE byte order mark, one stray byte, then UTF-16LE", rule: "github-pat",
			files: func(t *testing.T) map[string][]byte {
				b := append([]byte{0xFF, 0xFE, 'x'}, contentUTF16("tok="+secretstest.GitHubPAT(t)+"\n", false, false)...)
				return map[string][]byte{"conf/odd.txt": b}
			}},
		{class: "2 text", name: "a UTF-16BE byte order mark, one stray byte, then UTF-16BE", rule: "github-pat",
			files: func(t *testing.T) map[string][]byte {
				b := append([]byte{0xFE, 0xFF, 'x'}, contentUTF16("tok="+secretstest.GitHubPAT(t)+"\n", true, false)...)
				return map[string][]byte{"conf/odd2.txt": b}
			}},
		// class 3: gitleaks' default path allowlist
		{class: "3 allowlist", name: "npm token in a lockfile's registry entry", rule: "npm-access-token",
			files: func(t *testing.T) map[string][]byte {
				return map[string][]byte{"web/npm-shrinkwrap.json": []byte("{\n  \"//registry.acme-corp.io/:_authToken\": \"" + secretstest.Checksummed("npm_", secretstest.Random(t, contentAlnum, 30)) + "\"\n}\n")}
			}},
		{class: "3 allowlist", name: "GitLab token in a file named like vendored bootstrap", rule: "gitlab-pat",
			files: func(t *testing.T) map[string][]byte {
				return map[string][]byte{"static/bootstrap-admin.js": []byte("const api = { token: '" + "glpat-" + secretstest.Random(t, contentAlnum, 20) + "' };\n")}
			}},
		{class: "3 allowlist", name: "AWS key id in go.sum", rule: "aws-access-token",
			files: func(t *testing.T) map[string][]byte {
				return map[string][]byte{"tools/go.sum": []byte("example.org/x v1.0.0 h1:abc=\n# " + secretstest.AWSKeyID(t) + "\n")}
			}},
		{class: "3 allowlist", name: "Stripe key in a vendored Go module's file", rule: "stripe-access-token",
			files: func(t *testing.T) map[string][]byte {
				return map[string][]byte{"vendor/github.com/acme/billing/client.go": []byte("package billing\n\nconst key = \"" + "sk_" + "live_" + secretstest.Random(t, contentAlnum, 24) + "\"\n")}
			}},
		// class 4: padded URL-safe base64
		{class: "4 encoding", name: "padded URL-safe base64 in YAML", rule: "github-pat",
			files: func(t *testing.T) map[string][]byte {
				return map[string][]byte{"deploy/values.yaml": []byte("auth: " + contentURLSafe(t, "u~?token="+secretstest.GitHubPAT(t)+"~") + "\n")}
			}},
		{class: "4 encoding", name: "padded URL-safe base64 under standard base64, in JSON", rule: "aws-access-token",
			files: func(t *testing.T) map[string][]byte {
				inner := contentURLSafe(t, "u~?id "+secretstest.AWSKeyID(t)+" ok")
				return map[string][]byte{"conf/blob.json": []byte(`{"blob": "` + base64.StdEncoding.EncodeToString([]byte(inner)) + `"}` + "\n")}
			}},
		// class 6: decompression bombs
		{class: "6 archives", name: "a zip of one large deflated entry", bomb: "vendor.bin",
			opts: Options{ArchiveBytes: 1 << 20},
			files: func(t *testing.T) map[string][]byte {
				return map[string][]byte{"vendor.bin": contentZip(t, map[string][]byte{"zeros.txt": make([]byte, 4<<20)})}
			}},
		{class: "6 archives", name: "a tar.gz holding a zip past the run's bound", bomb: "data/assets.pkg",
			opts: Options{RunArchiveBytes: 1 << 20},
			files: func(t *testing.T) map[string][]byte {
				inner := contentZip(t, map[string][]byte{"a.txt": make([]byte, 3<<20)})
				return map[string][]byte{"data/assets.pkg": contentTarGz(t, map[string][]byte{"inner.zip": inner})}
			}},
		// class 8: a key file in document clothing
		{class: "8 key file", name: "PKCS#8 EC key saved as markdown", rule: "private-key",
			files: func(t *testing.T) map[string][]byte {
				return map[string][]byte{"ops/prod-signing.md": contentKey(t, true)}
			}},
		{class: "8 key file", name: "SEC 1 EC key as reStructuredText under docs/", rule: "private-key",
			files: func(t *testing.T) map[string][]byte {
				return map[string][]byte{"docs/keys/ci.rst": contentKey(t, false)}
			}},
	}
	for _, c := range cases {
		t.Run(c.class+"/"+c.name, func(t *testing.T) {
			dir := contentRepo(t, c.files(t))
			for _, mode := range contentModes {
				opts := c.opts
				opts.Root = dir
				opts = inMode(opts, mode)
				res, err := New(opts).Scan(context.Background())
				if c.bomb != "" {
					var bound *ArchiveBoundError
					if !errors.As(err, &bound) || bound.Path != c.bomb {
						t.Errorf("%s: err %v, want the bound error of %s", mode, err, c.bomb)
					}
					// under secrets.archives: skip the scan goes on and
					// the coverage names the archive
					opts.SkipArchiveBounds = true
					res, err := New(opts).Scan(context.Background())
					if err != nil || !contentSkipped(res, "archive", c.bomb) {
						t.Errorf("%s, archives: skip: err %v, coverage %+v", mode, err, res.Coverage.Skipped)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", mode, err)
				}
				if !slices.ContainsFunc(res.Findings, func(f policy.Finding) bool {
					return f.Rule == c.rule && f.Context == "" && f.Ignored == nil
				}) {
					t.Errorf("%s: no %s finding at the secrets tier: %+v", mode, c.rule, res.Findings)
				}
			}
		})
	}
}

// TestProviderRules: the rules that run on gitleaks' default-allowlisted
// paths are decided from their regexes; the listed providers are among
// them, the generic rules are not.
func TestProviderRules(t *testing.T) {
	cfg, _, err := loadConfig(context.Background(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"github-pat", "github-fine-grained-pat", "github-oauth", "gitlab-pat", "slack-bot-token", "slack-user-token",
		"aws-access-token", "stripe-access-token", "npm-access-token", "pypi-upload-token", "private-key"} {
		r, ok := cfg.Rules[id]
		if !ok {
			t.Errorf("no rule %s", id)
			continue
		}
		if !isProviderRule(r) {
			t.Errorf("%s (%s) is not read as a provider format", id, r.Regex)
		}
	}
	for _, id := range []string{"generic-api-key", "connection-url-credentials", "curl-auth-user", "hashicorp-tf-password", "aws-secret-access-key"} {
		if r, ok := cfg.Rules[id]; ok && isProviderRule(r) {
			t.Errorf("%s (%s) is read as a provider format", id, r.Regex)
		}
	}
	n := 0
	for _, r := range cfg.Rules {
		if isProviderRule(r) {
			n++
		}
	}
	t.Logf("%d of %d rules are provider formats", n, len(cfg.Rules))
}

// TestReadableText: what is read as text, and how.
func TestReadableText(t *testing.T) {
	line := "key = value, and more of it\n"
	for _, c := range []struct {
		name    string
		content []byte
		enc     string
		ok      bool
	}{
		{"UTF-8", []byte(line), "", true},
		{"UTF-16LE BOM", contentUTF16(line, false, true), "UTF-16LE", true},
		{"UTF-16BE BOM", contentUTF16(line, true, true), "UTF-16BE", true},
		{"UTF-16LE", contentUTF16(strings.Repeat(line, 3), false, false), "UTF-16LE", true},
		{"UTF-16BE", contentUTF16(strings.Repeat(line, 3), true, false), "UTF-16BE", true},
		{"stray NULs", []byte(strings.Repeat(line, 10) + "\x00\x00" + line), "", true},
		{"ELF", append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 256)...), "", false},
		// no magic number: read as it is, as the tree walk streams it
		// (a few NULs around text do not make it binary: red team 3)
		{"random", contentRandom(t, 4096), "", true},
		{"text then NULs", append([]byte(line), make([]byte, 64)...), "", true},
		{"random after an ELF magic number", append([]byte("\x7fELF\x02\x01\x01"), contentRandom(t, 4096)...), "", false},
		// both readings: UTF-16 decoded, and the bytes as they are (red team 2)
		{"UTF-16LE BOM, then ASCII", append([]byte{0xFF, 0xFE}, strings.Repeat(line, 3)...), "UTF-16LE", true},
		{"UTF-16 header, then ASCII", append(contentUTF16(strings.Repeat("header\r\n", 30), false, false), line...), "UTF-16LE", true},
		{"UTF-8, then UTF-16LE", append([]byte(strings.Repeat("plain text here\n", 20)), contentUTF16(line, false, false)...), "", true},
		// UTF-32, and UTF-16 shifted by a stray byte (red team after the redfix)
		{"UTF-32LE BOM", contentUTF32(line, false, true), "UTF-32LE", true},
		{"UTF-32BE BOM", contentUTF32(line, true, true), "UTF-32BE", true},
		{"UTF-32LE", contentUTF32(line, false, false), "UTF-32LE", true},
		{"UTF-32BE", contentUTF32(line, true, false), "UTF-32BE", true},
		{"UTF-8, then UTF-32BE", append([]byte(strings.Repeat("plain text here\n", 20)), contentUTF32(line, true, false)...), "", true},
		{"UTF-16LE BOM, a stray byte, then UTF-16LE", append([]byte{0xFF, 0xFE, 'x'}, contentUTF16(line, false, false)...), "UTF-16LE", true},
	} {
		text, enc, ok := readableText(c.content)
		if ok != c.ok || enc != c.enc {
			t.Errorf("%s: %q %v, want %q %v", c.name, enc, ok, c.enc, c.ok)
		}
		if ok && c.name != "random" && !strings.Contains(string(text), strings.TrimSpace(line)) {
			t.Errorf("%s: decoded to %q", c.name, text[:min(len(text), 200)])
		}
	}
}

// contentRepo commits a README, then files on top of it; the working
// tree holds both.
func contentRepo(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	writeFile(t, dir, "README.md", "base\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "base")
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, dir, "add", "-f", ".")
	git(t, dir, "commit", "-qm", "the change")
	return dir
}

func contentSkipped(res policy.ScanResult, what, path string) bool {
	for _, s := range res.Coverage.Skipped {
		if s.What == what && slices.Contains(s.Paths, path) {
			return true
		}
	}
	return false
}

const contentAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// contentSlackBot is a Slack bot token in its real format.
func contentSlackBot(t *testing.T) string {
	return "xoxb-" + secretstest.Random(t, "0123456789", 12) + "-" + secretstest.Random(t, "0123456789", 12) + "-" + secretstest.Random(t, contentAlnum, 24)
}

// contentUTF16 encodes s as UTF-16, big- or little-endian, with or
// without a byte order mark.
func contentUTF16(s string, bigEndian, bom bool) []byte {
	units := utf16.Encode([]rune(s))
	if bom {
		units = append([]uint16{0xFEFF}, units...)
	}
	out := make([]byte, 2*len(units))
	for i, u := range units {
		if bigEndian {
			binary.BigEndian.PutUint16(out[2*i:], u)
		} else {
			binary.LittleEndian.PutUint16(out[2*i:], u)
		}
	}
	return out
}

// contentURLSafe encodes text with padded URL-safe base64 and checks it
// has the form gitleaks does not decode: a - or _, and = padding. (ASCII
// text gives a - or _ only from ~, ?, > or DEL at offsets 2 mod 3.)
func contentURLSafe(t *testing.T, text string) string {
	t.Helper()
	s := base64.URLEncoding.EncodeToString([]byte(text))
	if !strings.ContainsAny(s, "-_") || !strings.HasSuffix(s, "=") {
		t.Fatalf("%d bytes of text do not encode to padded URL-safe base64 with - or _", len(text))
	}
	return s
}

// contentUTF32 encodes s as UTF-32, big- or little-endian, with or
// without a byte order mark.
func contentUTF32(s string, bigEndian, bom bool) []byte {
	rs := []rune(s)
	if bom {
		rs = append([]rune{0xFEFF}, rs...)
	}
	out := make([]byte, 4*len(rs))
	for i, r := range rs {
		if bigEndian {
			binary.BigEndian.PutUint32(out[4*i:], uint32(r))
		} else {
			binary.LittleEndian.PutUint32(out[4*i:], uint32(r))
		}
	}
	return out
}

// contentGzip compresses b with gzip.
func contentGzip(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	if _, err := gz.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func contentZip(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(content); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func contentTarGz(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(content); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// contentKey is a new EC private key in PEM: PKCS#8 or SEC 1.
func contentKey(t *testing.T, pkcs8 bool) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if pkcs8 {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

func contentRandom(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestArchiveBoundNotCached: an archive read only up to its bound, under
// secrets.archives: skip, is not remembered as clean: the next run with
// the cache still reads it (and, failing closed, fails).
func TestArchiveBoundNotCached(t *testing.T) {
	dir := contentRepo(t, map[string][]byte{"dist/bundle.zip": contentZip(t, map[string][]byte{"big.txt": bytes.Repeat([]byte("a"), 2<<20)})})
	cacheDir := t.TempDir()
	for _, mode := range contentModes {
		opts := Options{Root: dir, ArchiveBytes: 1 << 20}
		opts = inMode(opts, mode)
		skip := opts
		skip.SkipArchiveBounds = true
		if res := cached(t, cacheDir, skip); !contentSkipped(res, "archive", "dist/bundle.zip") {
			t.Fatalf("%s: coverage %+v", mode, res.Coverage.Skipped)
		}
		store, err := cache.Open(cacheDir, 0, testCacheKey)
		if err != nil {
			t.Fatal(err)
		}
		opts.Cache, opts.CacheVersion = store, "test"
		var bound *ArchiveBoundError
		if _, err := New(opts).Scan(context.Background()); !errors.As(err, &bound) {
			t.Errorf("%s: the second run with the cache: %v, want the bound error", mode, err)
		}
	}
}

// TestNestedArchiveThatDoesNotOpen: a broken archive inside an archive
// does not hide the entries after it, and the coverage names it.
func TestNestedArchiveThatDoesNotOpen(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range []struct{ name, content string }{
		{"a-broken.zip", "PK\x03\x04" + strings.Repeat("\x00\xff", 64)},
		{"z-ci.env", "GITHUB_TOKEN=" + secretstest.GitHubPAT(t) + "\n"},
	} {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e.content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	dir := contentRepo(t, map[string][]byte{"release/bundle.zip": buf.Bytes()})
	for _, mode := range contentModes {
		opts := Options{Root: dir}
		opts = inMode(opts, mode)
		res := scan(t, opts)
		if !slices.ContainsFunc(res.Findings, func(f policy.Finding) bool { return f.Rule == "github-pat" && f.Context == "" }) {
			t.Errorf("%s: the token after a broken nested archive: %+v", mode, res.Findings)
		}
		if mode == "tree" && !contentSkipped(res, "archive", "release/bundle.zip!a-broken.zip") {
			t.Errorf("%s: coverage %+v", mode, res.Coverage.Skipped)
		}
	}
}
