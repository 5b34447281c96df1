package deps

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRealImagesAgree: on real images built by docker, the engines say
// the same of each (TestImageMetadataAgree's comparison): Alpine's apk
// packages with their layers, a file deleted and recreated in later
// layers, symlink attacks, cycles and depth.
func TestRealImagesAgree(t *testing.T) {
	for _, file := range scalibrImages(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			actions, _, err := newActions(New(Options{OfflineDB: sharedDB}).opts)
			if err != nil {
				t.Fatal(err)
			}
			actions.Image = file
			want := engineImage(t, osvScannerEngine{}, actions)
			got := engineImage(t, scalibrEngine{}, actions)
			if got != want {
				t.Errorf("the engines disagree:\n%s", lineDiff(want, got))
			}
			t.Logf("%d lines: %.300s", strings.Count(got, "\n"), got)
		})
	}
}
