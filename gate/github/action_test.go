package github

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/secgate/secgate/gate/report"
)

// action.yml and the code agree: every input is read (mapped onto a flag,
// or read by the action), every output is written.
func TestActionYAMLMatchesTheCode(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		Inputs  map[string]struct{ Description, Default string }
		Outputs map[string]struct{ Description string }
		Runs    struct {
			Using, Image string
			Args         []string
		}
	}
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(maps.Keys(a.Inputs)), slices.Sorted(maps.Keys(Inputs)); !slices.Equal(got, want) {
		t.Errorf("action.yml inputs %v\nread by the code    %v", got, want)
	}
	for name, in := range a.Inputs {
		if in.Description == "" {
			t.Errorf("input %s has no description", name)
		}
	}
	if got, want := slices.Sorted(maps.Keys(a.Outputs)), slices.Sorted(slices.Values(Outputs)); !slices.Equal(got, want) {
		t.Errorf("action.yml outputs %v\nwritten by the code %v", got, want)
	}
	if a.Runs.Using != "docker" || len(a.Runs.Args) == 0 || a.Runs.Args[0] != "run" {
		t.Errorf("runs %+v", a.Runs)
	}

	// Publish writes every output.
	dir := t.TempDir()
	out := filepath.Join(dir, "output")
	env := map[string]string{"GITHUB_OUTPUT": out, "GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary")}
	act, err := New(func(k string) string { return env[k] }, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	rep := report.New()
	act.Publish(context.Background(), &rep, PublishOptions{})
	written, _ := os.ReadFile(out)
	for _, name := range Outputs {
		if !strings.Contains(string(written), name+"<<") {
			t.Errorf("output %s is never written", name)
		}
	}
}
