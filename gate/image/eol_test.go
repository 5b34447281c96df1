package image

import (
	"archive/tar"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/secgate/secgate/gate/image/imagetest"
	"github.com/secgate/secgate/policy"
)

func day(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d.Add(12 * time.Hour)
}

// One row per distribution, on both sides of its end-of-life date (the
// last day of support is still supported).
func TestEOLTable(t *testing.T) {
	for _, tc := range []struct {
		osRelease string
		now       string
		label     string
		ended     bool
	}{
		{"ID=debian\nVERSION_ID=\"10\"\n", "2024-06-30", "Debian 10", false},
		{"ID=debian\nVERSION_ID=\"10\"\n", "2024-07-01", "Debian 10", true},
		{"ID=debian\nVERSION_ID=\"13\"\n", "2026-12-03", "Debian 13", false},
		{"ID=ubuntu\nVERSION_ID=\"20.04\"\n", "2025-05-31", "Ubuntu 20.04", false},
		{"ID=ubuntu\nVERSION_ID=\"20.04\"\n", "2025-06-01", "Ubuntu 20.04", true},
		{"ID=alpine\nVERSION_ID=3.21.3\n", "2026-11-01", "Alpine 3.21", false},
		{"ID=alpine\nVERSION_ID=3.21.3\n", "2026-11-02", "Alpine 3.21", true},
		{"ID=alpine\nVERSION_ID=3.22.1\n", "2026-12-03", "Alpine 3.22", false},
		{"ID=\"rhel\"\nVERSION_ID=\"7.9\"\n", "2024-07-01", "Red Hat Enterprise Linux (UBI) 7", true},
		{"ID=\"rhel\"\nVERSION_ID=\"9.4\"\n", "2026-12-03", "Red Hat Enterprise Linux (UBI) 9", false},
		{"NAME=\"CentOS Linux\"\nID=\"centos\"\nVERSION_ID=\"8\"\n", "2022-01-01", "CentOS 8", true},
		{"NAME=\"CentOS Stream\"\nID=\"centos\"\nVERSION_ID=\"9\"\n", "2026-12-03", "CentOS Stream 9", false},
		{"ID=\"amzn\"\nVERSION_ID=\"2\"\n", "2026-06-30", "Amazon Linux 2", false},
		{"ID=\"amzn\"\nVERSION_ID=\"2\"\n", "2026-07-01", "Amazon Linux 2", true},
		{"ID=fedora\nVERSION_ID=40\n", "2025-05-14", "Fedora 40", true},
		{"ID=\"opensuse-leap\"\nVERSION_ID=\"15.5\"\n", "2025-01-01", "openSUSE Leap 15.5", true},
		{"ID=\"opensuse-leap\"\nVERSION_ID=\"15.6\"\n", "2026-04-30", "openSUSE Leap 15.6", false},
	} {
		v, err := checkEOL(parseOSRelease([]byte(tc.osRelease)), "", day(tc.now))
		if err != nil || !v.known || v.label != tc.label || v.ended != tc.ended {
			t.Errorf("%q on %s: %+v, %v; want %s ended=%v", tc.osRelease, tc.now, v, err, tc.label, tc.ended)
		}
	}
}

func TestOSReleaseVariants(t *testing.T) {
	for _, tc := range []struct {
		in    string
		label string
		known bool
	}{
		{"PRETTY_NAME=\"Debian GNU/Linux 11 (bullseye)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"11\"\nID=debian\n", "Debian 11", true},
		{"ID='debian'\nVERSION_ID='11'\n", "Debian 11", true},
		{"# comment\n\nID=debian\r\nVERSION_ID=11\r\n", "Debian 11", true},
		// Distroless: Debian's, with its own PRETTY_NAME.
		{"PRETTY_NAME=\"Distroless\"\nNAME=\"Debian GNU/Linux\"\nID=\"debian\"\nVERSION_ID=\"12\"\nHOME_URL=\"https://github.com/GoogleContainerTools/distroless\"\n", "Debian 12", true},
		{"PRETTY_NAME=\"Distroless\"\nVERSION_ID=\"11\"\n", "Debian 11", true},
		// VERSION_ID missing (Debian testing, sid): no cycle to judge.
		{"PRETTY_NAME=\"Debian GNU/Linux trixie/sid\"\nID=debian\n", "Debian ", false},
		{"ID=alpine\nVERSION_ID=edge\n", "Alpine edge", false},
		{"ID=arch\nPRETTY_NAME=\"Arch Linux\"\n", "Arch Linux", false},
		{"ID=debian\nVERSION_ID=\"99\"\n", "Debian 99", false},
	} {
		v, err := checkEOL(parseOSRelease([]byte(tc.in)), "", day("2026-12-03"))
		if err != nil || v.label != tc.label || v.known != tc.known {
			t.Errorf("%q: %+v, %v; want %q known=%v", tc.in, v, err, tc.label, tc.known)
		}
	}
}

// DIR/eol/<product>.json in endoflife.date's API format replaces the
// embedded row: extra fields, boolean eol, numeric cycles.
func TestEOLOverride(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.MkdirAll(filepath.Join(dir, "eol"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "eol", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("debian.json", `[
  {"cycle":"13","codename":"Trixie","releaseDate":"2025-08-09","eol":"2026-01-31","extendedSupport":"2030-06-30","latest":"13.2","latestReleaseDate":"2025-11-15","link":"https://www.debian.org/News/2025/20251115","lts":false},
  {"cycle":"12","codename":"Bookworm","releaseDate":"2023-06-10","eol":false,"latest":"12.12","lts":false},
  {"cycle":"11","codename":"Bullseye","releaseDate":"2021-08-14","eol":true,"latest":"11.11","lts":false}
]`)
	write("fedora.json", `[{"cycle": 44, "eol": "2027-05-12"}]`)
	now := day("2026-12-03")
	for in, want := range map[string]struct {
		ended bool
		date  string
	}{
		"ID=debian\nVERSION_ID=13\n": {true, "2026-01-31"}, // the file's date, not the table's 2030
		"ID=debian\nVERSION_ID=12\n": {false, ""},
		"ID=debian\nVERSION_ID=11\n": {true, "1970-01-01"},
		"ID=fedora\nVERSION_ID=44\n": {false, "2027-05-12"},
	} {
		v, err := checkEOL(parseOSRelease([]byte(in)), dir, now)
		if err != nil || !v.known || v.ended != want.ended || v.date != want.date || !strings.HasSuffix(v.source, ".json") {
			t.Errorf("%q: %+v, %v; want %+v", in, v, err, want)
		}
	}
	write("ubuntu.json", `{"error": "Product not found"}`)
	if _, err := checkEOL(parseOSRelease([]byte("ID=ubuntu\nVERSION_ID=22.04\n")), dir, now); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "eol", "ubuntu.json")) {
		t.Errorf("a broken override: %v", err)
	}
}

// The check in an image scan: an EOL Debian or Alpine is a high finding
// with a note; a current one is neither; a symlinked /etc/os-release is
// read where it leads (usr/lib); none is a note.
func TestImageOSEOL(t *testing.T) {
	scan := func(t *testing.T, entries ...imagetest.Entry) policy.ScanResult {
		t.Helper()
		img, err := mutate.AppendLayers(empty.Image, imagetest.Layer(t, entries...))
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := img.ConfigFile()
		cfg.Config.User = "10001"
		if img, err = mutate.ConfigFile(img, cfg); err != nil {
			t.Fatal(err)
		}
		path := imagetest.Layout(t, img)
		res, err := New(Options{Refs: []string{"oci-layout:" + path}, Now: day("2026-12-03")}).Scan(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	reg := func(name, content string) imagetest.Entry {
		return imagetest.Entry{Name: name, Mode: 0o644, Type: tar.TypeReg, Content: content}
	}
	eol := func(res policy.ScanResult) *policy.Finding {
		for _, f := range res.Findings {
			if f.Rule == CheckOSEOL {
				return &f
			}
		}
		return nil
	}
	for _, tc := range []struct {
		name    string
		entries []imagetest.Entry
		title   string // "": no finding
		note    string
	}{
		{"Debian 10", []imagetest.Entry{reg("etc/os-release", "ID=debian\nVERSION_ID=\"10\"\n")}, "the image's OS, Debian 10, reached its end of life on 2024-06-30", "its package advisories are incomplete"},
		{"Alpine 3.18 through a link", []imagetest.Entry{reg("usr/lib/os-release", "ID=alpine\nVERSION_ID=3.18.4\n"), {Name: "etc/os-release", Type: tar.TypeSymlink, Linkname: "../usr/lib/os-release"}}, "the image's OS, Alpine 3.18, reached its end of life on 2025-05-09", ""},
		{"Debian 13", []imagetest.Entry{reg("etc/os-release", "ID=debian\nVERSION_ID=\"13\"\n")}, "", ""},
		{"Alpine 3.22", []imagetest.Entry{reg("etc/os-release", "ID=alpine\nVERSION_ID=3.22.0\n")}, "", ""},
		{"no os-release", []imagetest.Entry{reg("app/main", "x")}, "", "no /etc/os-release or /usr/lib/os-release"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := scan(t, tc.entries...)
			f := eol(res)
			switch {
			case tc.title == "" && f != nil:
				t.Errorf("finding %q", f.Title)
			case tc.title != "" && (f == nil || !strings.HasPrefix(f.Title, tc.title) || f.Severity != policy.High):
				t.Errorf("finding %+v, want %q", f, tc.title)
			}
			if tc.note != "" && !strings.Contains(strings.Join(res.Notes, "\n"), tc.note) {
				t.Errorf("notes %q lack %q", res.Notes, tc.note)
			}
		})
	}
}
