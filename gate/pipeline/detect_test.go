package pipeline_test

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/secgate/secgate/gate/ci"
	"github.com/secgate/secgate/gate/pipeline"
)

// Detect picks the platform by its variables, in the registrations'
// order, else the local one; a platform that cannot read its run is an
// error with no platform (never a nil implementation in a non-nil
// interface, which the CLI would call).
func TestDetect(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(bad, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		env     map[string]string
		want    string
		wantErr bool
	}{
		{map[string]string{"GITHUB_ACTIONS": "true"}, "GitHub", false},
		{map[string]string{"GITLAB_CI": "true"}, "GitLab", false},
		{map[string]string{"GITHUB_ACTIONS": "true", "GITLAB_CI": "true"}, "GitHub", false},
		{map[string]string{"CI": "true", "GITHUB_ACTIONS": "false"}, "local", false},
		{map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_PATH": bad}, "", true},
	} {
		p, err := pipeline.Detect(func(k string) string { return tt.env[k] }, io.Discard)
		if tt.wantErr {
			if err == nil || p != nil {
				t.Errorf("%v: platform %v, error %v: want an error and no platform", tt.env, p, err)
			}
			continue
		}
		if err != nil || p.Name() != tt.want {
			t.Errorf("%v: %v, %v: want %s", tt.env, p, err, tt.want)
		}
	}
}

// The pipeline's steps are the documented order (README, DESIGN.md).
func TestStepOrder(t *testing.T) {
	var got []string
	for _, s := range pipeline.Steps() {
		got = append(got, s.Name)
	}
	want := []string{"range", "policy", "scan", "tickets", "issues", "sign", "respond", "files", "redact", "publish"}
	if len(got) != len(want) {
		t.Fatalf("steps %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("steps %v, want %v", got, want)
		}
	}
}

// CI set to a false value is not CI (issue 27, item 7): the run is a dry
// run.
func TestInCI(t *testing.T) {
	for v, want := range map[string]bool{"": false, "false": false, "0": false, "FALSE": false, "true": true, "1": true, "yes": true} {
		if got := ci.InCI(func(string) string { return v }); got != want {
			t.Errorf("CI=%q: %v, want %v", v, got, want)
		}
	}
}
