package gate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/secgate/secgate/gate/image/imagetest"
)

// Issue 28's done-when for images: an end-of-life Debian or Alpine blocks
// production; current releases do not. The images run as a non-root user
// and hold no shell, so the OS is all that is judged. The clock is the
// run's (Config.Now), not the machine's: the same Alpine 3.23 passes on
// 2026-12-03 and blocks the day after its end of life (2027-11-01 in the
// embedded table), so the test does not break when that day comes.
func TestEOLImagesThroughRun(t *testing.T) {
	today := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	afterAlpine323 := time.Date(2027, 11, 2, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, osRelease string
		now             time.Time
		code            int
	}{
		{"Debian 10", "PRETTY_NAME=\"Debian GNU/Linux 10 (buster)\"\nID=debian\nVERSION_ID=\"10\"\n", today, 1},
		{"Alpine 3.17", "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.17.10\n", today, 1},
		{"Debian 13", "PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nID=debian\nVERSION_ID=\"13\"\n", today, 0},
		{"Alpine 3.23", "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.23.0\n", today, 0},
		{"Alpine 3.23", "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.23.0\n", afterAlpine323, 1},
	} {
		t.Run(tc.name+" on "+tc.now.Format(time.DateOnly), func(t *testing.T) {
			img := imagetest.Build(t, imagetest.Spec{Layers: []map[string]string{{"etc/os-release": tc.osRelease, "app/server": "binary"}}, User: "10001:10001"})
			path := imagetest.Archive(t, "registry.example/app:1", img)
			rep, err := Run(context.Background(), Config{Path: t.TempDir(), Only: []string{"image"}, Images: []string{"docker-archive:" + path},
				Environment: "production", Now: tc.now})
			if err != nil {
				t.Fatal(err)
			}
			var eol []string
			for _, f := range rep.Findings {
				if f.Rule == "image-os-eol" {
					eol = append(eol, f.Severity.String()+" "+string(f.Action)+" "+f.Title)
				}
			}
			if rep.ExitCode() != tc.code || (len(eol) == 1) != (tc.code == 1) {
				t.Fatalf("exit %d, want %d; image-os-eol findings %q; reasons %q", rep.ExitCode(), tc.code, eol, rep.Reasons)
			}
			if tc.code == 1 && !strings.HasPrefix(eol[0], "high block-production the image's OS, "+tc.name+", reached its end of life on ") {
				t.Errorf("finding %q", eol[0])
			}
		})
	}
}
